"""Jetson targets: Triton on the device, TensorRT engines built on the device by trtexec; LLMs in
llama.cpp's server from GGUF files.

Per target: a Dockerfile and compose.yaml for the servers, a Triton model repository
(config.pbtxt per engine), build_engine.sh with the recipe's trtexec flags (it also fetches each
LLM's GGUF file and checks with check_gguf.py that it stores the planned precision), power-mode.sh
when the plan assumed a power mode, health.json (what the servers answer to when ready) and an
operator README. An LLM runs in llama-server (NVIDIA's jetson-containers image for the JetPack):
all layers on the GPU, one sequence at a time with the planned prompt and output as its context,
which is what the planner priced (estimate.held). A placement that runs only part of a model
(split head, federated cut) has no model file to build from yet: it is reported (ES605).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edgespec import __version__, catalog
from edgespec.catalog import value
from edgespec.device import ship
from edgespec.emit.common import (
    bench_json,
    budget_ms,
    generates,
    no_llm_runtime,
    placement_calibration,
    placement_source,
    placements_on,
    root_model,
    whole_models_on,
)
from edgespec.emit.pbtxt import Enum, dumps
from edgespec.emit.serialize import json_bytes, yaml_documents
from edgespec.emit.templating import render
from edgespec.kinds import jetson as kinds_jetson
from edgespec.load.sourcemap import SourceMap
from edgespec.planner.types import Plan, Recipe
from edgespec.spec.models import Spec

MAX_BATCH = 16


@dataclass(frozen=True)
class Engine:
    name: str  # Triton model name
    model: str  # spec model or variant
    recipe: Recipe
    workloads: tuple[str, ...]
    max_batch: int
    queue_delay_us: int
    uri: str
    sha256: str
    flags: tuple[str, ...]
    calibration_uri: str = ""  # int8: the declared TensorRT calibration cache
    calibration_sha256: str = ""

    @property
    def env(self) -> str:
        return self.name.upper().replace("-", "_")


TRITON_HTTP = kinds_jetson.TRITON_HTTP  # Triton's HTTP/REST port on the device: the kind's
LLAMA_HTTP = 8081  # the first llama-server's port on the device (one server per LLM, counting up)
LLAMA_CONTAINER_PORT = 8080  # llama-server's default port


@dataclass(frozen=True)
class LlmServer:
    """One LLM in llama-server: the planned model at the planned precision's GGUF type."""

    name: str  # the served model name (engine_name: model and recipe)
    model: str
    precision: str
    quant_type: str  # the GGUF type the planner priced (serving.yaml, llama_cpp)
    file_types: tuple[int, ...]  # general.file_type values that store the precision
    workloads: tuple[str, ...]
    context: int  # tokens: the planned prompt plus output (the largest over the workloads)
    port: int
    uri: str
    sha256: str


def llm_servers(
    spec: Spec, plan: Plan, target: str, source: SourceMap | None = None, diagnostics: list | None = None
) -> list[LlmServer]:
    """The LLMs the plan runs on `target`, one llama-server each, on ports from LLAMA_HTTP. Only an
    on-device LLM gets one: a cascade escalates on the local answer's confidence, which a text
    generator does not give (ES606 then)."""
    table = catalog._load("serving.yaml")["llama_cpp"]
    found: dict[str, dict] = {}
    for workload, c, p in placements_on(plan, target, roles=("device",)):
        if not generates(spec, p.model):
            continue
        if c.pattern != "on-device":
            if diagnostics is not None and source is not None:
                diagnostics.append(
                    no_llm_runtime(
                        spec,
                        workload,
                        target,
                        p.model,
                        source,
                        f"a {c.pattern} of LLMs (it escalates on a confidence a text generator does not give)",
                    )
                )
            continue
        gen = spec.workloads[workload].generation
        name = engine_name(p.model, p.recipe)
        src = placement_source(p)
        entry = found.setdefault(
            name,
            {
                "model": p.model,
                "precision": p.recipe.precision,
                "workloads": set(),
                "context": 0,
                "uri": src.uri,
                "sha256": src.sha256 or "",
            },
        )
        entry["workloads"].add(workload)
        entry["context"] = max(entry["context"], gen.prompt_tokens + gen.output_tokens if gen else 0)
    return [
        LlmServer(
            name,
            e["model"],
            e["precision"],
            table["quant_types"][e["precision"]]["type"],
            tuple(table["accepted_file_types"][e["precision"]]),
            tuple(sorted(e["workloads"])),
            e["context"],
            LLAMA_HTTP + i,
            e["uri"],
            e["sha256"],
        )
        for i, (name, e) in enumerate(sorted(found.items()))
    ]


def llama_command(server: LlmServer) -> list[str]:
    """llama-server on the GGUF file: every layer on the GPU, one slot (the plan runs one sequence
    at a time) with the planned context, the served model named as planned, Prometheus metrics."""
    return [
        "llama-server",
        "--model",
        f"/models/{server.name}.gguf",
        "--alias",
        server.name,
        "--host",
        "0.0.0.0",
        "--port",
        str(LLAMA_CONTAINER_PORT),
        "--n-gpu-layers",
        "999",
        "--parallel",
        "1",
        "--ctx-size",
        str(server.context),
        "--metrics",
    ]


def engine_name(model: str, recipe: Recipe) -> str:
    suffix = (
        recipe.precision
        + (f"-p{round(recipe.prune * 100)}" if recipe.prune else "")
        + ("-dla" if recipe.accelerator == "dla" else "")
    )
    return f"{model}-{suffix}"


def _batch(spec: Spec, workload: str, p95_ms: float) -> tuple[int, int]:
    """(max batch, queue delay in µs): requests arriving within the latency budget can wait for each
    other without breaking it, so the batch is that count (a power of two, at most 16) and the
    queue may hold a request for half the slack between the budget and the predicted p95."""
    w = spec.workloads[workload]
    budget = budget_ms(spec, workload)
    if w.throughput is None or budget is None:
        return 0, 0
    arrivals = w.throughput.rps * budget / 1000
    if arrivals < 2:
        return 0, 0
    delay_us = int(max(100, min(5000, (budget - p95_ms) / 2 * 1000)))
    return min(MAX_BATCH, 2 ** math.ceil(math.log2(arrivals))), delay_us


def _flags(recipe: Recipe, input_name: str | None, shape: list[int], max_batch: int, workspace_mib: int) -> tuple:
    flags = []
    if recipe.precision == "fp16":
        flags.append("--fp16")
    elif recipe.precision == "int8":
        flags += ["--int8", "--fp16", "--calib=calibration/{name}.cache"]
    if recipe.accelerator == "dla":
        flags += ["--useDLACore=0", "--allowGPUFallback"]
    flags.append(f"--memPoolSize=workspace:{workspace_mib}")
    if max_batch and input_name:
        dims = "x".join(str(d) for d in shape[1:])
        flags += [
            f"--minShapes={input_name}:1x{dims}",
            f"--optShapes={input_name}:{max(1, max_batch // 2)}x{dims}",
            f"--maxShapes={input_name}:{max_batch}x{dims}",
        ]
    return tuple(flags)


def engines(spec: Spec, plan: Plan, target: str, source: SourceMap, diagnostics: list) -> list[Engine]:
    found: dict[str, Engine] = {}
    memory_gb = value(catalog.hardware()[spec.targets[target].hardware].get("memory_gb"), 8)
    workspace = int(min(2048, memory_gb * 1024 / 8))
    for workload, c, p in whole_models_on(plan, target, source, diagnostics, "engine"):
        if generates(spec, p.model):  # an LLM: llama-server (llm_servers), never a TensorRT engine
            continue
        root = root_model(spec, p.model)
        src = placement_source(p)
        name = engine_name(p.model, p.recipe)
        input_name = root.input.name
        batch, delay = _batch(spec, workload, c.estimates.p95_ms) if input_name else (0, 0)
        previous = found.get(name)
        if previous:  # several workloads on one engine: the largest batch, the shortest wait
            batch = max(batch, previous.max_batch)
            delay = min(d for d in (delay, previous.queue_delay_us) if d) if (delay or previous.queue_delay_us) else 0
        flags = _flags(p.recipe, input_name, root.input.shape, batch, workspace)
        flags = tuple(f.format(name=name) for f in flags)
        calibration = placement_calibration(spec, p)
        found[name] = Engine(
            name,
            p.model,
            p.recipe,
            tuple(sorted({*(previous.workloads if previous else ()), workload})),
            batch,
            delay,
            src.uri,
            src.sha256 or "",
            flags,
            calibration.uri if calibration else "",
            (calibration.sha256 or "") if calibration else "",
        )
    return [found[k] for k in sorted(found)]


def config(engine: Engine) -> bytes:
    doc = {
        "name": engine.name,
        "platform": "tensorrt_plan",
        "max_batch_size": engine.max_batch,
        "instance_group": [{"kind": Enum("KIND_GPU"), "count": 1}],
    }
    if engine.max_batch:
        doc["dynamic_batching"] = {"max_queue_delay_microseconds": engine.queue_delay_us}
    return dumps(doc)


def _probe(url: str) -> dict:
    return {
        "test": ["CMD", "python3", "-c", f"import urllib.request; urllib.request.urlopen('{url}', timeout=2)"],
        "interval": "15s",
        "timeout": "3s",
        "retries": 3,
        "start_period": "120s",
    }


def compose(
    spec: Spec,
    target: str,
    power_mode: str | None,
    triton: bool = True,
    llms: list[LlmServer] = (),
    llama_image: str = "",
) -> bytes:
    labels = {
        "com.edgespec.deployment": spec.metadata.name,
        "com.edgespec.target": target,
        "com.edgespec.version": spec.metadata.version,
    }
    if power_mode:
        labels["com.edgespec.power-mode"] = power_mode  # the plan's figures assume it: ./power-mode.sh
    services = {}
    for server in llms:
        services[f"llama-{server.name}"] = {
            "image": llama_image,
            "pull_policy": "missing",  # a pinned tag of NVIDIA's jetson-containers
            "runtime": "nvidia",
            "restart": "unless-stopped",
            "command": llama_command(server),
            "ports": [f"127.0.0.1:{server.port}:{LLAMA_CONTAINER_PORT}"],  # the router is the front door
            "volumes": ["./models:/models:ro"],  # build_engine.sh puts the GGUF files there
            "healthcheck": _probe(f"http://127.0.0.1:{LLAMA_CONTAINER_PORT}/health"),
            "labels": labels,
        }
    if not triton:
        return yaml_documents([{"name": f"{spec.metadata.name}-{target}", "services": services}])
    service = {
        "build": ".",
        # the image is built here, never pulled: a registry name someone else claims cannot serve it
        "pull_policy": "build",
        "image": f"edgespec/{spec.metadata.name}-{target}:{spec.metadata.version.replace('+', '-')}",
        "runtime": "nvidia",
        "restart": "unless-stopped",
        # on the device only: clients reach the model through the router/gateway, the collector
        # scrapes the metrics locally
        "ports": ["127.0.0.1:8000:8000", "127.0.0.1:8001:8001", "127.0.0.1:8002:8002"],
        "volumes": ["./model_repository:/models:ro"],
        "healthcheck": _probe("http://127.0.0.1:8000/v2/health/ready"),
        "labels": labels,
    }
    return yaml_documents([{"name": f"{spec.metadata.name}-{target}", "services": {"triton": service, **services}}])


def health_urls(engines: list[Engine], llms: list[LlmServer]) -> list[str]:
    """What answers when the target's servers are ready (the Greengrass Run step watches them)."""
    return ([f"http://127.0.0.1:{TRITON_HTTP}/v2/health/ready"] if engines else []) + [
        f"http://127.0.0.1:{s.port}/health" for s in llms
    ]


def emit(spec: Spec, plan: Plan, target: str, toolchain: dict, source: SourceMap):
    from edgespec.emit import Emitted
    from edgespec.planner.device import resolve

    out = Emitted()
    found = engines(spec, plan, target, source, out.diagnostics)
    llms = llm_servers(spec, plan, target, source, out.diagnostics)
    if not found and not llms:
        return out
    device = resolve(target, spec.targets[target])
    common = dict(
        version=__version__,
        target=target,
        hardware=device.hardware,
        triton_image=toolchain["triton_server_jetson"]["image"],
        jetpack=toolchain["jetpack"]["version"],
        llama_image=toolchain["llama_cpp_jetson"]["image"],
    )
    view = [
        dict(
            name=e.name,
            env=e.env,
            uri=e.uri,
            sha256=e.sha256,
            precision=e.recipe.precision,
            calibration_uri=e.calibration_uri,
            calibration_sha256=e.calibration_sha256,
            prune=e.recipe.prune,
            prune_percent=round(e.recipe.prune * 100),
            flags=list(e.flags),
            recipe=e.recipe.label(),
            workloads=", ".join(e.workloads),
        )
        for e in found
    ]
    llm_view = [
        dict(
            name=s.name,
            uri=s.uri,
            sha256=s.sha256,
            precision=s.precision,
            quant_type=s.quant_type,
            file_types=" ".join(str(t) for t in s.file_types),
            workloads=", ".join(s.workloads),
            context=s.context,
            port=s.port,
        )
        for s in llms
    ]
    if found:
        out.files[f"{target}/Dockerfile"] = render("jetson/Dockerfile.j2", **common)
    out.files[f"{target}/compose.yaml"] = compose(
        spec, target, device.power_mode, bool(found), llms, toolchain["llama_cpp_jetson"]["image"]
    )
    out.files[f"{target}/build_engine.sh"] = render("jetson/build_engine.sh.j2", engines=view, llms=llm_view, **common)
    out.files[f"{target}/health.json"] = json_bytes({"urls": health_urls(found, llms)})
    if llms:
        out.files[f"{target}/check_gguf.py"] = ship("jetson_check_gguf", __version__)
    if device.power_mode:
        out.files[f"{target}/power-mode.sh"] = render("jetson/power-mode.sh.j2", power_mode=device.power_mode, **common)
    for e in found:
        out.files[f"{target}/model_repository/{e.name}/config.pbtxt"] = config(e)
    if found:
        out.files[f"{target}/bench.py"] = ship("bench", __version__)
        out.files[f"{target}/bench.json"] = bench_json(
            "tensorrt",
            device.hardware,
            [
                {
                    "name": e.name,
                    "model": e.model,
                    "precision": e.recipe.precision,
                    "accelerator": e.recipe.accelerator,
                    "sha256": e.sha256 or None,
                    "file": f"model_repository/{e.name}/1/model.plan",
                    "cpu_file": f"models/{e.name}.onnx",
                }
                for e in found
            ],
            power_mode=device.power_mode,
        )
    out.files[f"{target}/README.md"] = render(
        "jetson/README.md.j2",
        engines=view,
        llms=llm_view,
        power_mode=device.power_mode,
        spec_name=spec.metadata.name,
        spec_version=spec.metadata.version,
        any_int8=any(e.recipe.precision == "int8" for e in found),
        batching=any(e.max_batch for e in found),
        **common,
    )
    return out
