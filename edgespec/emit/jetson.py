"""Jetson targets: Triton on the device, TensorRT engines built on the device by trtexec.

Per target: a Dockerfile and compose.yaml for the server, a Triton model repository
(config.pbtxt per engine), build_engine.sh with the recipe's trtexec flags, power-mode.sh when
the plan assumed a power mode, and an operator README. A placement that runs only part of a
model (split head, federated cut) has no model file to build from yet: it is reported (ES605).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edgespec import __version__, catalog
from edgespec.catalog import value
from edgespec.emit.common import budget_ms, model_source, root_model, whole_models_on
from edgespec.emit.pbtxt import Enum, dumps
from edgespec.emit.serialize import yaml_documents
from edgespec.emit.templating import render
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

    @property
    def env(self) -> str:
        return self.name.upper().replace("-", "_")


TRITON_HTTP = 8000  # Triton's HTTP/REST port on the device


def engine_name(model: str, recipe: Recipe) -> str:
    suffix = recipe.precision + (f"-p{round(recipe.prune * 100)}" if recipe.prune else "") + \
        ("-dla" if recipe.accelerator == "dla" else "")
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
        flags += [f"--minShapes={input_name}:1x{dims}", f"--optShapes={input_name}:{max(1, max_batch // 2)}x{dims}",
                  f"--maxShapes={input_name}:{max_batch}x{dims}"]
    return tuple(flags)


def engines(spec: Spec, plan: Plan, target: str, source: SourceMap, diagnostics: list) -> list[Engine]:
    found: dict[str, Engine] = {}
    memory_gb = value(catalog.hardware()[spec.targets[target].hardware].get("memory_gb"), 8)
    workspace = int(min(2048, memory_gb * 1024 / 8))
    for workload, c, p in whole_models_on(plan, target, source, diagnostics, "engine", spec):
        root = root_model(spec, p.model)
        src = model_source(spec, p.model)
        name = engine_name(p.model, p.recipe)
        input_name = root.input.name
        batch, delay = _batch(spec, workload, c.estimates.p95_ms) if input_name else (0, 0)
        previous = found.get(name)
        if previous:  # several workloads on one engine: the largest batch, the shortest wait
            batch = max(batch, previous.max_batch)
            delay = min(d for d in (delay, previous.queue_delay_us) if d) if (delay or previous.queue_delay_us) else 0
        flags = _flags(p.recipe, input_name, root.input.shape, batch, workspace)
        flags = tuple(f.format(name=name) for f in flags)
        found[name] = Engine(name, p.model, p.recipe,
                             tuple(sorted({*(previous.workloads if previous else ()), workload})),
                             batch, delay, src.uri, src.sha256 or "", flags)
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


def compose(spec: Spec, target: str, power_mode: str | None) -> bytes:
    labels = {"com.edgespec.deployment": spec.metadata.name, "com.edgespec.target": target,
              "com.edgespec.version": spec.metadata.version}
    if power_mode:
        labels["com.edgespec.power-mode"] = power_mode  # the plan's figures assume it: ./power-mode.sh
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
        "healthcheck": {
            "test": ["CMD", "python3", "-c", "import urllib.request; "
                     "urllib.request.urlopen('http://127.0.0.1:8000/v2/health/ready', timeout=2)"],
            "interval": "15s", "timeout": "3s", "retries": 3, "start_period": "120s",
        },
        "labels": labels,
    }
    return yaml_documents([{"name": f"{spec.metadata.name}-{target}", "services": {"triton": service}}])


def emit(spec: Spec, plan: Plan, target: str, toolchain: dict, source: SourceMap):
    from edgespec.emit import Emitted
    from edgespec.planner.device import resolve

    out = Emitted()
    found = engines(spec, plan, target, source, out.diagnostics)
    if not found:
        return out
    device = resolve(target, spec.targets[target])
    common = dict(version=__version__, target=target, hardware=device.hardware,
                  triton_image=toolchain["triton_server_jetson"]["image"], jetpack=toolchain["jetpack"]["version"])
    view = [dict(name=e.name, env=e.env, uri=e.uri, sha256=e.sha256, precision=e.recipe.precision,
                 prune=e.recipe.prune, prune_percent=round(e.recipe.prune * 100), flags=list(e.flags),
                 recipe=e.recipe.label(), workloads=", ".join(e.workloads)) for e in found]
    out.files[f"{target}/Dockerfile"] = render("jetson/Dockerfile.j2", **common)
    out.files[f"{target}/compose.yaml"] = compose(spec, target, device.power_mode)
    out.files[f"{target}/build_engine.sh"] = render("jetson/build_engine.sh.j2", engines=view, **common)
    if device.power_mode:
        out.files[f"{target}/power-mode.sh"] = render("jetson/power-mode.sh.j2", power_mode=device.power_mode, **common)
    for e in found:
        out.files[f"{target}/model_repository/{e.name}/config.pbtxt"] = config(e)
    out.files[f"{target}/README.md"] = render(
        "jetson/README.md.j2", engines=view, power_mode=device.power_mode, spec_name=spec.metadata.name,
        spec_version=spec.metadata.version, any_int8=any(e.recipe.precision == "int8" for e in found),
        batching=any(e.max_batch for e in found), **common)
    return out
