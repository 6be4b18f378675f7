"""The plan is a promise: what `compile` emits builds and serves exactly what `plan --format json`
chose. Read from the emitted files (not the lock) for every example: the engine each placement's
server loads (model, recipe, precision flags, batching), the model the routers and gateways ask
for, and timeouts never below the predicted p95 of what they wait for."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from edgespec.emit.jetson import engine_name
from tests.conftest import ROOT

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
PRECISION_FLAGS = {"fp32": set(), "fp16": {"--fp16"}, "int8": {"--int8", "--fp16"}}


def _compile_and_plan(run, spec: Path, out: Path) -> dict:
    code, _, err = run("compile", str(spec), "-o", str(out))
    assert code == 0, err
    code, text, err = run("plan", str(spec), "--format", "json")
    assert code == 0, err
    return json.loads(text)["workloads"]


def as_ec2(example: Path, folder: Path) -> Path:
    """The example with its pools on the default orchestrator (a CloudFormation stack of EC2
    instances) instead of `orchestrator: kubernetes`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / example.name
    path.write_text(
        "".join(
            line
            for line in example.read_text().splitlines(keepends=True)
            if not line.strip().startswith("orchestrator:")
        )
    )
    return path


def _k8s(out: Path, target: str, workload: str) -> dict:
    docs = list(yaml.safe_load_all((out / target / "k8s" / f"{workload}.yaml").read_text()))
    return {d["kind"]: d for d in docs if d}


def planned_input(spec: dict, model: str) -> dict | None:
    """What the spec says clients send, as a gateway must take it (independent of the emitters):
    None for raw tensors; for an image, its layout, size, dtype and normalisation."""
    root = next(m for name, m in spec["models"].items() if name == model or model in m.get("variants", {}))
    given = root["input"]
    if given.get("encoding", "raw") == "raw":
        return None
    shape = given["shape"]
    layout = given.get("layout") or ("NCHW" if shape[1] in (1, 3) else "NHWC")
    channels, height, width = (shape[1], shape[2], shape[3]) if layout == "NCHW" else (shape[3], shape[1], shape[2])
    norm = given.get("normalize") or {}
    return {
        "encoding": given["encoding"],
        "layout": layout,
        "channels": channels,
        "height": height,
        "width": width,
        "dtype": given["dtype"],
        "mean": norm.get("mean"),
        "std": norm.get("std"),
    }


def check_input(settings: dict, spec: dict, model: str) -> None:
    """A gateway decodes exactly the planned encoding into the model's input."""
    got = settings.get("input")
    want = planned_input(spec, model)
    assert (got and {k: v for k, v in got.items() if k != "max_bytes"}) == want, (model, got, want)


def check_pool(out: Path, workload: str, chosen: dict, p: dict, spec: dict) -> None:
    """A remote pool's pod builds the planned engine and serves it with the planned batching."""
    name = engine_name(p["model"], _recipe(p))
    docs = _k8s(out, p["target"], workload)
    data = docs["ConfigMap"]["data"]
    config = text_format.Parse(data["config.pbtxt"], model_config_pb2.ModelConfig())
    pool = chosen["estimates"]["pool"]
    assert config.name == name and config.platform == "tensorrt_plan"
    if pool["batching"] == "dynamic" and pool["batch"] > 1:
        assert config.max_batch_size == pool["batch"]
        assert list(config.dynamic_batching.preferred_batch_size) == [pool["batch"]]
        assert config.dynamic_batching.max_queue_delay_microseconds == max(1, round(pool["queue_delay_ms"] * 1000))
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    builds = [c for c in pod["initContainers"] if c["name"] == "build-engine"]
    assert len(builds) == 1
    args = builds[0]["command"]
    assert args[args.index("--precision") + 1] == p["recipe"]["precision"]
    assert args[args.index("--engine") + 1] == f"/models/{name}/1/model.plan"
    assert int(args[args.index("--max-batch") + 1]) == (pool["batch"] if pool["batching"] == "dynamic" else 1)
    triton = pod["containers"][0]
    assert {
        "mountPath": f"/models/{name}/config.pbtxt",
        "name": "gateway",
        "subPath": "config.pbtxt",
        "readOnly": True,
    } in triton["volumeMounts"]
    gateway = json.loads(data["gateway.json"])
    assert gateway["server_model"] == name
    assert gateway["server_timeout_ms"] >= pool["serving_p95_ms"]
    check_input(gateway, spec, p["model"])


def check_stack(out: Path, workload: str, chosen: dict, p: dict, spec: dict) -> None:
    """The CloudFormation stack's instances build the same engine and serve it with the same
    batching (their user data), behind a gateway that takes the planned input (cfn-init files)."""
    name = engine_name(p["model"], _recipe(p))
    doc = yaml.safe_load((out / p["target"] / "cloudformation.yaml").read_text())
    user_data = doc["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]
    script = user_data["Fn::Base64"]["Fn::Sub"].replace("\\\n", " ")
    builds = [line for line in script.splitlines() if f"--engine /models/{name}/1/model.plan" in line]
    assert len(builds) == 1, (name, "no engine built for the planned recipe")
    build = builds[0]
    pool = chosen["estimates"]["pool"]
    assert f"--precision {p['recipe']['precision']} " in build
    assert f"--max-batch {pool['batch'] if pool['batching'] == 'dynamic' else 1} " in build
    config = script.split(f"cat > /opt/models/{name}/config.pbtxt <<'CONFIG'\n", 1)[1].split("CONFIG\n", 1)[0]
    parsed = text_format.Parse(config, model_config_pb2.ModelConfig())
    assert parsed.name == name and parsed.platform == "tensorrt_plan"
    if pool["batching"] == "dynamic" and pool["batch"] > 1:
        assert parsed.max_batch_size == pool["batch"]
    files = doc["Resources"]["LaunchTemplate"]["Metadata"]["AWS::CloudFormation::Init"]["config"]["files"]
    gateway = json.loads(files[f"/opt/edgespec/gateway/{workload}.json"]["content"])
    assert gateway["server_model"] == name and gateway["server_timeout_ms"] >= pool["serving_p95_ms"]
    check_input(gateway, spec, p["model"])
    assert f"router.py /opt/edgespec/gateway/{workload}.json" in script


def check_jetson(out: Path, workload: str, p: dict) -> None:
    name = engine_name(p["model"], _recipe(p))
    script = (out / p["target"] / "build_engine.sh").read_text()
    # each trtexec call, its continued lines joined: the one that writes this engine
    calls = re.findall(r'"\$TRTEXEC" \\\n((?:.*\\\n)*.*)', script)
    (call,) = [c for c in calls if f"--saveEngine=model_repository/{name}/1/model.plan" in c]
    flags = set(re.findall(r"--(?:fp16|int8)\b", call))
    assert flags == PRECISION_FLAGS[p["recipe"]["precision"]], (name, call)
    assert (out / p["target"] / "model_repository" / name / "config.pbtxt").is_file()


def check_llama(out: Path, workload: str, chosen: dict, p: dict, spec: dict) -> None:
    """An LLM on a Jetson: llama-server serves the planned file under the planned name with the
    planned context, after a check that the file stores the planned precision."""
    from edgespec import catalog

    name = engine_name(p["model"], _recipe(p))
    services = yaml.safe_load((out / p["target"] / "compose.yaml").read_text())["services"]
    command = services[f"llama-{name}"]["command"]
    gen = spec["workloads"][workload]["generation"]
    assert command[command.index("--model") + 1] == f"/models/{name}.gguf"
    assert command[command.index("--alias") + 1] == name
    assert int(command[command.index("--ctx-size") + 1]) >= gen["prompt_tokens"] + gen["output_tokens"]
    precision = p["recipe"]["precision"]
    types = catalog._load("serving.yaml")["llama_cpp"]["accepted_file_types"][precision]
    script = (out / p["target"] / "build_engine.sh").read_text()
    assert f"check_gguf.py models/{name}.gguf {precision} {' '.join(map(str, types))}\n" in script


def check_coral(out: Path, p: dict) -> None:
    config = json.loads((out / p["target"] / "edgetpu.json").read_text())
    assert {(m["model"], m["name"]) for m in config["models"]} >= {(p["model"], engine_name(p["model"], _recipe(p)))}


def check_router(out: Path, workload: str, chosen: dict, p: dict, spec: dict) -> None:
    path = out / p["target"] / "router" / f"{workload}.json"
    config = json.loads(path.read_text())
    check_input(config, spec, p["model"])
    latency = chosen["estimates"]["latency_ms"]
    if "server_model" in config:  # the device's own server runs the planned engine
        assert config["server_model"] == engine_name(p["model"], _recipe(p))
        assert config["server_timeout_ms"] >= (latency["local_p95"] or latency["p95"])
    if config["mode"] == "llm":
        assert config["max_tokens"] == spec["workloads"][workload]["generation"]["output_tokens"]
    if "remote_timeout_ms" in config:
        assert config["remote_timeout_ms"] >= latency["remote_p95"]


def _recipe(p: dict):
    from edgespec.planner.types import Recipe

    r = p["recipe"]
    return Recipe(r["precision"], r["prune"], r["variant"], r["accelerator"])


def kind_of(spec: dict, target: str) -> str:
    from edgespec import catalog

    return catalog.hardware()[spec["targets"][target]["hardware"]]["kind"]


def _root(spec: dict, model: str) -> dict:
    return next(m for name, m in spec["models"].items() if name == model or model in m.get("variants", {}))


def check(out: Path, spec: dict, plans: dict) -> int:
    """Every placement's artifacts against its plan; the number of placements read."""
    checked = 0
    for workload, wp in plans.items():
        for p in wp["placements"]:
            kind = kind_of(spec, p["target"])
            device = p["role"] == "device" and kind in ("jetson", "coral")
            if p["role"] == "remote" and kind in ("wavelength", "ec2"):
                # one form per pool, never both: pods on Kubernetes, or the EC2 stack
                if spec["targets"][p["target"]].get("orchestrator") == "kubernetes":
                    check_pool(out, workload, wp, p, spec)
                    assert not (out / p["target"] / "cloudformation.yaml").exists()
                else:
                    check_stack(out, workload, wp, p, spec)
                    assert not (out / p["target"] / "k8s").exists()
            elif device and kind == "jetson" and _root(spec, p["model"])["task"] == "text-generation":
                check_llama(out, workload, wp, p, spec)
            elif device and kind == "jetson" and wp["pattern"] in ("on-device", "cascade"):
                check_jetson(out, workload, p)
            elif device and kind == "coral" and wp["pattern"] in ("on-device", "cascade"):
                check_coral(out, p)
            elif not (device and wp["pattern"] == "split"):  # a split head has no engine (ES605), only a router
                continue
            checked += 1
            if device and wp["pattern"] in ("on-device", "cascade", "split"):
                check_router(out, workload, wp, p, spec)
    return checked


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_serves_what_its_plan_chose(run, tmp_path, example):
    spec = yaml.safe_load(example.read_text())
    plans = _compile_and_plan(run, example, tmp_path / "out")
    check(tmp_path / "out", spec, plans)


def test_the_examples_cover_every_served_kind(run, tmp_path):
    kinds = set()
    for example in EXAMPLES:
        spec = yaml.safe_load(example.read_text())
        plans = _compile_and_plan(run, example, tmp_path / example.stem)
        if check(tmp_path / example.stem, spec, plans):
            kinds |= {kind_of(spec, p["target"]) for wp in plans.values() for p in wp["placements"]}
    assert {"jetson", "coral", "wavelength"} <= kinds, kinds
    assert any(e.stem == "factory-assistant" for e in EXAMPLES)  # an LLM on a Jetson


def test_a_dropped_recipe_is_caught(run, tmp_path, monkeypatch):
    """Break an emitter on purpose (the Kubernetes one builds every engine at fp32; the
    CloudFormation one serves the raw model): the check fails."""
    from edgespec.emit import cloudformation, kubernetes

    example = ROOT / "examples" / "store-vision.yaml"
    real = kubernetes._init_containers
    with monkeypatch.context() as m:
        m.setattr(
            kubernetes,
            "_init_containers",
            lambda spec, placement, *rest: real(
                spec, placement._replace(recipe=placement.recipe._replace(precision="fp32")), *rest
            ),
        )
        plans = _compile_and_plan(run, example, tmp_path / "k8s")
    with pytest.raises(AssertionError):
        check(tmp_path / "k8s", yaml.safe_load(example.read_text()), plans)
    real_name = cloudformation.engine_name
    ec2 = as_ec2(example, tmp_path / "ec2")  # its Wavelength pool as an EC2 stack
    with monkeypatch.context() as m:
        m.setattr(cloudformation, "engine_name", lambda model, recipe: model)  # the ONNX model as it is
        plans = _compile_and_plan(run, ec2, tmp_path / "cfn")
    assert cloudformation.engine_name is real_name
    with pytest.raises(AssertionError):
        check(tmp_path / "cfn", yaml.safe_load(ec2.read_text()), plans)


def test_a_dropped_encoding_is_caught(run, tmp_path, monkeypatch):
    """Break the gateways on purpose (they take raw tensors although the spec sends JPEG frames,
    so clients would send 786 KB where the plan priced 60 KB): the check fails, on each emitter."""
    from edgespec.emit import cloudformation, kubernetes, router

    example = ROOT / "examples" / "store-vision.yaml"
    for module in (kubernetes, cloudformation, router):
        source = as_ec2(example, tmp_path / "ec2") if module is cloudformation else example
        spec = yaml.safe_load(source.read_text())
        with monkeypatch.context() as m:
            m.setattr(module, "input_config", lambda spec, model: None)
            plans = _compile_and_plan(run, source, tmp_path / module.__name__)
        with pytest.raises(AssertionError):
            check(tmp_path / module.__name__, spec, plans)
        plans = _compile_and_plan(run, source, tmp_path / f"{module.__name__}-intact")
        assert check(tmp_path / f"{module.__name__}-intact", spec, plans)


def test_the_build_script_builds_the_planned_engine(run, tmp_path):
    """The emitted build_engine.py, run for real against a CPU stand-in for NVIDIA's `tensorrt`
    package (the missing GPU) on a tiny ONNX model built here with a dynamic batch dimension."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, 8, 8])],
    )
    onnx.save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9),
        str(tmp_path / "model.onnx"),
    )
    plans = _compile_and_plan(run, ROOT / "examples" / "store-vision.yaml", tmp_path / "out")
    code = yaml.safe_load((tmp_path / "out" / "metro-mec" / "k8s" / "_gateway-code.yaml").read_text())
    (tmp_path / "build_engine.py").write_text(code["data"]["build_engine.py"])
    docs = _k8s(tmp_path / "out", "metro-mec", "checkout-recognition")
    (build,) = [
        c for c in docs["Deployment"]["spec"]["template"]["spec"]["initContainers"] if c["name"] == "build-engine"
    ]
    args = [
        a.replace("/build/", f"{tmp_path}/").replace("/models/", f"{tmp_path}/models/") for a in build["command"][2:]
    ]
    env = {"PYTHONPATH": str(ROOT / "tests" / "standins")}
    result = subprocess.run(
        [sys.executable, str(tmp_path / "build_engine.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    engine = json.loads(next((tmp_path / "models").rglob("model.plan")).read_text())
    pool = plans["checkout-recognition"]["estimates"]["pool"]
    assert engine["flags"] == ["FP16"]  # the plan's fp16
    assert engine["profiles"] == [{"x": [[1, 3, 8, 8], [pool["batch"] // 2, 3, 8, 8], [pool["batch"], 3, 8, 8]]}]
    # int8 without its calibration cache stops with the reason; with it, the cache is used
    int8 = [a if a != "fp16" else "int8" for a in args]
    result = subprocess.run(
        [sys.executable, str(tmp_path / "build_engine.py"), *int8],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 1 and "calibration cache" in result.stderr
    (tmp_path / "calibration.cache").write_text("TRT-1003-EntropyCalibration2\n")
    cache = ["--calibration-cache", str(tmp_path / "calibration.cache")]
    result = subprocess.run(
        [sys.executable, str(tmp_path / "build_engine.py"), *int8, *cache],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    engine = json.loads(next((tmp_path / "models").rglob("model.plan")).read_text())
    assert engine["flags"] == ["FP16", "INT8"] and engine["calibration_cache"].startswith("TRT-1003")
    # a model exported with a fixed batch of 1 cannot serve the planned batch: said, not built
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "fixed",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])],
    )
    onnx.save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9),
        str(tmp_path / "model.onnx"),
    )
    result = subprocess.run(
        [sys.executable, str(tmp_path / "build_engine.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 1 and "dynamic batch dimension" in result.stderr


def pattern_doc(pattern: str) -> dict:
    """One workload pinned to `pattern` on Jetson cameras, with every remote tier it may use."""
    from tests.planner_helpers import model, spec

    det = model(
        "image-classification",
        "25M",
        8.0,
        0.9,
        input={
            "shape": [1, 3, 224, 224],
            "dtype": "float32",
            "encoding": "jpeg",
            "encoded_bytes": "20KB",
            "name": "images",
        },
        split_points=[{"name": "mid", "flops_fraction": 0.3, "activation_bytes": "100KB"}],
        variants={"det-small": {"params": "3M", "gflops": 0.6, "accuracy": {"value": 0.84}}},
    )
    det["source"]["uri"] = "s3://m/det.onnx"
    network = {"rtt_ms": 20, "uplink_mbps": 50}
    targets = {
        "cam": {"hardware": "jetson-orin-nano-8gb", "count": 8, "site": "s1", "jurisdiction": "us", "network": network},
        "hub": {"hardware": "jetson-agx-orin-64gb", "site": "s1", "jurisdiction": "us", "network": network},
        "cloud": {
            "hardware": "aws-ec2",
            "region": "us-east-1",
            "instance_type": "g6.xlarge",
            "network": {"rtt_ms": 20},
        },
        "edge": {
            "hardware": "aws-wavelength",
            "zone": "us-east-1-wl1-bos-wlz-1",
            "instance_type": "g4dn.2xlarge",
            "network": {"rtt_ms": 10},
        },
    }
    workload = {
        "model": "det",
        "data_source": ["cam"],
        "latency": {"p95_ms": 400},
        "throughput": {"rps": 2},
        "pattern": pattern,
        "privacy": {"raw_data": "anywhere", "features": "anywhere"},
    }
    if pattern == "cascade":
        workload["escalation"] = {"to": "cloud", "confidence_below": 0.6}
    return spec({"det": det}, targets, {"w": workload})


@pytest.mark.parametrize("pattern", ["on-device", "cascade", "split", "federated", "mec", "cloud"])
def test_every_pattern_serves_what_its_plan_chose(run, tmp_path, pattern):
    """Beyond the examples: each pattern pinned, its artifacts read against its plan."""
    path = tmp_path / "spec.yaml"
    doc = pattern_doc(pattern)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, _, err = run("compile", str(path), "-o", str(tmp_path / "out"))
    assert code == 0, err
    plans = _compile_and_plan(run, path, tmp_path / "out")
    assert plans["w"]["pattern"] == pattern
    if pattern == "federated":  # every placement runs a cut of the model: reported, nothing half-emitted
        assert "warning[ES605]" in err and check(tmp_path / "out", doc, plans) == 0
        assert not list((tmp_path / "out").rglob("config.pbtxt"))
    else:
        assert check(tmp_path / "out", doc, plans) >= 1
