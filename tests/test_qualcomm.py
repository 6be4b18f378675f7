"""Snapdragon targets (issue 17, point 3): a Qualcomm bundle that builds what the plan chose, on
both real paths. ONNX Runtime's QNN execution provider (onnxruntime-qnn, in .venv-qnn, which
scripts/test.sh installs from the bundle's own requirements-convert.txt) really compiles a tiny
quantized ONNX model for the HTP of every catalog chip; its report of the ops left to the CPU is
checked against the plan's CPU-fallback share; the AI Hub script runs against a stand-in for AI
Hub's REST layer under the real qai-hub client (tests/aihub_stub.py); and the board's model server
answers through ONNX Runtime on the CPU, with the edgespec router in front. Only the NPU is stood
in for."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import yaml

from edgespec import catalog
from tests.conftest import ROOT
from tests.test_coral_convert import tiny_cnn
from tests.tools import load_module

QNN_VENV = Path(os.environ.get("EDGESPEC_QNN_VENV", ROOT / ".venv-qnn"))
CHIPS = sorted(h for h, e in catalog.hardware().items() if e["kind"] == "snapdragon")
SPEC = {
    "apiVersion": "edgespec/v1",
    "kind": "EdgeDeployment",
    "metadata": {"name": "lane", "version": "1.0.0"},
    "models": {
        "clf": {
            "task": "image-classification",
            "source": {"uri": "s3://m/clf.onnx", "format": "onnx"},
            "params": "0.01M",
            "gflops": 0.01,
            "input": {"shape": [1, 3, 32, 32], "dtype": "float32"},
            "accuracy": {"metric": "top1", "value": 0.9},
        }
    },
    "targets": {"cam": {"hardware": "qcs6490", "count": 10, "jurisdiction": "us"}},
    "workloads": {
        "sort": {
            "model": "clf",
            "data_source": ["cam"],
            "latency": {"p95_ms": 100},
            "pattern": "on-device",
            "optimize": {"precision": "int8", "prune": "none"},
        }
    },
}


def spec_with(hardware: str = "qcs6490", precision: str = "int8", cpu_share: float | None = None) -> dict:
    spec = copy.deepcopy(SPEC)
    spec["targets"]["cam"]["hardware"] = hardware
    spec["workloads"]["sort"]["optimize"]["precision"] = precision
    if cpu_share is not None:
        spec["models"]["clf"]["cpu_fallback_fraction"] = cpu_share
    return spec


def compile_spec(tmp: Path, spec: dict) -> subprocess.CompletedProcess:
    (tmp / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return subprocess.run(
        [sys.executable, "-m", "edgespec", "compile", str(tmp / "spec.yaml"), "-o", str(tmp / "out")],
        capture_output=True,
        text=True,
    )


def plan_of(spec: Path) -> dict:
    return json.loads(
        subprocess.run(
            [sys.executable, "-m", "edgespec", "plan", str(spec), "--format", "json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )


# -- the bundle ------------------------------------------------------------------------------------
def test_the_camera_example_builds_what_the_plan_chose(tmp_path):
    example = ROOT / "examples" / "smart-camera.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "edgespec", "compile", str(example), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and "ES602" not in result.stderr, result.stderr
    bundle = tmp_path / "o" / "cameras"
    config = json.loads((bundle / "qnn.json").read_text())
    (placement,) = plan_of(example)["workloads"]["count-people"]["placements"]
    (model,) = config["models"]
    assert (
        (model["model"], model["precision"])
        == (placement["model"], placement["recipe"]["precision"])
        == ("people-detector", "int8")
    )
    assert model["cpu_fallback_fraction"] == 0.05  # what the plan assumed, checked by compile_qnn.py
    assert config["chip"] == {
        "os": "linux",
        "htp_arch": 68,
        "soc_model": 93,
        "ai_hub_chipsets": ["qualcomm-qcs6490", "qualcomm-qcs6490-proxy"],
    }
    # a Linux board: the server, its unit, the router in front, and a Greengrass package
    router = json.loads((bundle / "router" / "count-people.json").read_text())
    assert router["server_url"] == "http://127.0.0.1:8080" and router["server_model"] == model["name"]
    recipe = json.loads((bundle / "greengrass" / "recipe.json").read_text())
    assert recipe["Manifests"][0]["Platform"] == {"os": "linux", "architecture": "aarch64"}
    assert "serve_qnn.py" in (bundle / "edgespec-cameras.service").read_text()
    assert (bundle / "otel" / "collector.yaml").exists()


@pytest.mark.parametrize("hardware", ["snapdragon-8-gen-2", "snapdragon-8-gen-3", "snapdragon-8-elite"])
def test_a_phone_soc_gets_compiled_models_not_a_fleet_agent(tmp_path, hardware):
    assert compile_spec(tmp_path, spec_with(hardware)).returncode == 0
    bundle = tmp_path / "out" / "cam"
    files = sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())
    assert files == ["README.md", "aihub.py", "compile_qnn.py", "qnn.json", "requirements-convert.txt"]
    chip = json.loads((bundle / "qnn.json").read_text())["chip"]
    entry = catalog.hardware()[hardware]
    assert (chip["os"], chip["htp_arch"], chip["soc_model"]) == (
        "android",
        entry["htp_arch"]["value"],
        entry["qnn_soc_model"]["value"],
    )
    assert "Android app" in (bundle / "README.md").read_text()


def test_a_high_cpu_share_is_a_warning_at_its_line(tmp_path):
    result = compile_spec(tmp_path, spec_with(cpu_share=0.4))
    assert result.returncode == 0
    assert "warning[ES609]: cam: 40% of clf runs on qcs6490's CPU" in result.stderr
    assert "spec.yaml:" in result.stderr and "cpu_fallback_fraction" in result.stderr


def test_the_plan_counts_the_cpu_share_where_the_catalog_knows_the_cpu(tmp_path):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(spec_with(cpu_share=0.0)))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(spec_with(cpu_share=0.5)))
    fast = plan_of(tmp_path / "a.yaml")["workloads"]["sort"]["estimates"]["latency_ms"]["p50"]
    slow = plan_of(tmp_path / "b.yaml")["workloads"]["sort"]["estimates"]["latency_ms"]["p50"]
    assert slow > fast


def test_onnx_is_the_format_a_snapdragon_takes(tmp_path):
    spec = spec_with()
    spec["models"]["clf"]["source"]["format"] = "tflite"
    result = compile_spec(tmp_path, spec)
    assert result.returncode == 1 and "error[ES501]" in result.stderr
    assert "cannot load tflite models" in result.stderr and "torch.onnx.export" in result.stderr


def test_the_requirements_the_bundle_names_are_the_ones_tested(tmp_path):
    assert compile_spec(tmp_path, spec_with()).returncode == 0
    assert (tmp_path / "out" / "cam" / "requirements-convert.txt").read_bytes() == (
        ROOT / "tools" / "requirements-qnn.txt"
    ).read_bytes()


# -- compiled for real ---------------------------------------------------------------------------------
def qnn_python() -> Path:
    python = QNN_VENV / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: scripts/test.sh installs tools/requirements-qnn.txt there")
    return python


def bundle_for(tmp: Path, spec: dict, model_writer=tiny_cnn) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    assert compile_spec(tmp, spec).returncode == 0
    bundle = tmp / "out" / "cam"
    (name,) = [m["name"] for m in json.loads((bundle / "qnn.json").read_text())["models"]]
    (bundle / "models").mkdir()
    model_writer(bundle / "models" / f"{name}.onnx")
    calibration = bundle / "calibration" / "clf"
    calibration.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i in range(16):
        np.save(calibration / f"{i:02d}.npy", rng.random((1, 3, 32, 32), dtype=np.float32))
    return bundle


def run_compile(bundle: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(qnn_python()), "compile_qnn.py"], cwd=bundle, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
@pytest.mark.parametrize("hardware", CHIPS)
def test_the_qnn_execution_provider_compiles_for_every_catalog_chip(tmp_path, hardware):
    bundle = bundle_for(tmp_path, spec_with(hardware))
    result = run_compile(bundle)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    import onnx

    name = json.loads((bundle / "qnn.json").read_text())["models"][0]["name"]
    context = onnx.load(str(bundle / "build" / f"{name}_ctx.onnx"), load_external_data=False)
    # the whole model is one EPContext node between the input's quantization and the output's
    # dequantization (the model keeps float inputs and outputs): nothing left to the CPU
    (node,) = [n for n in context.graph.node if n.op_type not in ("QuantizeLinear", "DequantizeLinear")]
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert node.op_type == "EPContext" and attributes["source"] == b"QNNExecutionProvider"
    assert attributes["embed_mode"] == 0
    binary = bundle / "build" / attributes["ep_cache_context"].decode()
    assert binary.stat().st_size > 1000  # the HTP context binary beside it
    (report,) = json.loads((bundle / "build" / "qnn-report.json").read_text())
    htp = catalog.hardware()[hardware]["htp_arch"]["value"]
    assert report["htp_arch"] == htp and report["cpu_nodes"] == 0 and f"HTP v{htp}" in result.stdout


def with_unsupported_op(path: Path) -> None:
    """The tiny CNN whose probabilities then go through Det, an op the HTP does not run."""
    import onnx
    from onnx import TensorProto, helper

    tiny_cnn(path)
    model = onnx.load(str(path))
    graph = model.graph
    graph.node.append(helper.make_node("Reshape", ["probs", "square"], ["grid"]))
    graph.node.append(helper.make_node("Det", ["grid"], ["det"]))
    graph.initializer.append(onnx.numpy_helper.from_array(np.array([2, 2], np.int64), "square"))
    graph.output.append(helper.make_tensor_value_info("det", TensorProto.FLOAT, []))
    onnx.save(model, str(path))


@pytest.mark.slow
def test_ops_left_to_the_cpu_are_reported_and_checked_against_the_plan(tmp_path):
    bundle = bundle_for(tmp_path / "a", spec_with(), with_unsupported_op)
    result = run_compile(bundle)
    (report,) = json.loads((bundle / "build" / "qnn-report.json").read_text())
    assert "Det" in report["cpu_ops"] and 0 < report["cpu_fallback_fraction"] < 1
    assert result.returncode == 1  # the plan assumed nothing on the CPU
    assert f"declare `cpu_fallback_fraction: {report['cpu_fallback_fraction']}` on clf" in result.stderr
    # declared as measured, the same model compiles
    declared = bundle_for(tmp_path / "b", spec_with(cpu_share=report["cpu_fallback_fraction"]), with_unsupported_op)
    assert run_compile(declared).returncode == 0


@pytest.mark.slow
def test_the_ai_hub_script_against_ai_hubs_api_layer(tmp_path):
    bundle = bundle_for(tmp_path, spec_with())
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home)}
    configure = subprocess.run(
        [
            str(QNN_VENV / "bin" / "qai-hub"),
            "configure",
            "--api_token",
            "test-token",
            "--api_url",
            "http://aihub.invalid",
            "--web_url",
            "http://aihub.invalid",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert configure.returncode == 0, configure.stderr
    log = tmp_path / "calls.json"
    result = subprocess.run(
        [str(qnn_python()), str(ROOT / "tests" / "aihub_stub.py"), str(bundle), str(log)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    calls = json.loads(log.read_text())
    # the device by chipset attribute, the first the catalog names, then its hosted proxy
    assert [c["attributes"] for c in calls if c["call"] == "get_device_list"][:2] == [
        ["chipset:qualcomm-qcs6490"],
        ["chipset:qualcomm-qcs6490-proxy"],
    ]
    (quantize,) = [c for c in calls if c["call"] == "create_quantize_job"]  # int8: AI Hub's quantizer, w8a8
    assert (quantize["weights"], quantize["activations"]) == ("QUANTIZE_DTYPE_INT8", "QUANTIZE_DTYPE_INT8")
    (compiled,) = [c for c in calls if c["call"] == "create_compile_job"]
    assert compiled["options"] == "--target_runtime qnn_context_binary" and compiled["model"] == "quantized-model"
    assert compiled["input_specs"] == {"images": [[1, 3, 32, 32], "TENSOR_DTYPE_FLOAT32"]}
    assert "chipset:qualcomm-qcs6490-proxy" in compiled["attributes"]
    (profiled,) = [c for c in calls if c["call"] == "create_inference_job"]
    assert profiled["profiling"] is True and profiled["model"] == "target-model"
    (summary,) = json.loads((bundle / "build" / "aihub" / "summary.json").read_text())
    assert summary["estimated_inference_time_ms"] == 4.321 and summary["chipset"] == "qualcomm-qcs6490-proxy"
    assert (bundle / "build" / "aihub" / summary["file"]).read_bytes() == b"compiled by the stand-in"


@pytest.mark.slow
def test_a_wrong_runtime_is_refused_before_ai_hub_is_called(tmp_path):
    bundle = bundle_for(tmp_path, spec_with())
    result = subprocess.run(
        [
            str(qnn_python()),
            str(ROOT / "tests" / "aihub_stub.py"),
            str(bundle),
            str(tmp_path / "calls.json"),
            "--runtime",
            "coreml",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "invalid choice: 'coreml'" in result.stderr


# -- the board's data path ------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_board_server_and_router_answer_through_onnx_runtime(tmp_path, monkeypatch):
    """The quantized model compile_qnn.py made, on ONNX Runtime's CPU provider (`--cpu`), behind
    the router the bundle ships, in server mode: the router's answer carries the model's own
    probabilities."""
    import onnxruntime as ort

    bundle = bundle_for(tmp_path, spec_with())
    assert run_compile(bundle).returncode == 0
    config = json.loads((bundle / "qnn.json").read_text())
    server = load_module(bundle / "serve_qnn.py", "qnn_server").serve({**config, "port": 0}, cpu=True, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("EDGESPEC_SERVER_URL", f"http://127.0.0.1:{server.server_address[1]}")
    router_module = load_module(bundle / "router" / "router.py", "qnn_router")
    _, gateway = router_module.serve(bundle / "router" / "sort.json", port=0)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    x = np.random.default_rng(3).random((1, 3, 32, 32), dtype=np.float32)
    reference = ort.InferenceSession(
        str(bundle / "build" / "work" / f"{config['models'][0]['name']}.qdq.onnx"), providers=["CPUExecutionProvider"]
    ).run(None, {"images": x})[0]
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{gateway.server_address[1]}/v1/infer",
            data=x.tobytes(),
            headers={"Content-Type": "application/octet-stream"},
        )
        answer = json.loads(urllib.request.urlopen(request, timeout=30).read())
    finally:
        gateway.shutdown()
        gateway.server_close()
        server.shutdown()
        server.server_close()
    assert answer["source"] == "server"
    probs = np.asarray(answer["outputs"][0], np.float32)
    assert np.allclose(probs, reference.reshape(-1), atol=1e-6)
    assert abs(answer["confidence"] - float(reference.max())) < 1e-6


def test_the_qcs6490_npu_runs_quantized_models_only(tmp_path):
    """HTP v68 runs no fp16 graphs (AI Hub measures only quantized models there): an fp16 pin is a
    capability miss at the workload, never a bundle compile_qnn.py would fail on."""
    result = compile_spec(tmp_path, spec_with(precision="fp16"))
    assert result.returncode == 1 and "error[ES501]" in result.stderr
    assert "capability: qcs6490 runs int8, not fp16" in result.stderr
    phone = tmp_path / "phone"
    phone.mkdir()
    assert compile_spec(phone, spec_with("snapdragon-8-gen-3", "fp16")).returncode == 0  # v75 runs fp16
