"""The Coral bundle's conversion, run for real: the emitted convert_int8.py turns a tiny ONNX CNN
(NCHW, built here) into a full-int8 NHWC TFLite model with onnx2tf and TensorFlow's converter, from
representative inputs in the declared layout; the emitted Edge TPU server then runs that model on
LiteRT's CPU interpreter (`--cpu`: only the TPU is stood in for) and answers what ONNX Runtime
answers, to int8 resolution; the router in front of it reads a dequantized confidence.

TensorFlow and onnx2tf are heavy (about 1 GB): scripts/test.sh installs the bundle's own
requirements-convert.txt into .venv-convert (bench/README.md records the size and time)."""

from __future__ import annotations

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

from tests.conftest import ROOT
from tests.tools import load_module

CONVERT_VENV = Path(os.environ.get("EDGESPEC_CONVERT_VENV", ROOT / ".venv-convert"))
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
    "targets": {"tpu": {"hardware": "coral-usb", "jurisdiction": "us"}},
    "workloads": {"sort": {"model": "clf", "data_source": ["tpu"], "latency": {"p95_ms": 100}, "pattern": "on-device"}},
}

pytestmark = pytest.mark.slow


def tiny_cnn(path: Path) -> None:
    """images[1,3,32,32] -> Conv 3x3 (8) -> Relu -> GlobalAveragePool -> MatMul (4) -> Softmax."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = [
        numpy_helper.from_array(rng.normal(0, 0.2, (8, 3, 3, 3)).astype(np.float32), "W"),
        numpy_helper.from_array(np.zeros(8, np.float32), "B"),
        numpy_helper.from_array(rng.normal(0, 0.5, (8, 4)).astype(np.float32), "F"),
    ]
    nodes = [
        helper.make_node("Conv", ["images", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("MatMul", ["f", "F"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 4])],
        weights,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(path))


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """The compiled bundle with the model and 16 calibration inputs in place, after convert_int8.py."""
    python = CONVERT_VENV / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: scripts/test.sh installs requirements-convert.txt there")
    tmp = tmp_path_factory.mktemp("coral")
    (tmp / "spec.yaml").write_text(yaml.safe_dump(SPEC, sort_keys=False))
    subprocess.run(
        [sys.executable, "-m", "edgespec", "compile", str(tmp / "spec.yaml"), "-o", str(tmp / "out")],
        check=True,
        capture_output=True,
    )
    bundle = tmp / "out" / "tpu"
    (name,) = [m["name"] for m in json.loads((bundle / "edgetpu.json").read_text())["models"]]
    (bundle / "models").mkdir()
    tiny_cnn(bundle / "models" / f"{name}.onnx")
    calibration = bundle / "calibration" / name
    calibration.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i in range(16):  # as clients send them: NCHW float32 in [0, 1]
        np.save(calibration / f"{i:02d}.npy", rng.random((1, 3, 32, 32), dtype=np.float32))
    env = {**os.environ, "PATH": f"{CONVERT_VENV / 'bin'}:{os.environ['PATH']}", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [str(python), "convert_int8.py"], cwd=bundle, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return bundle, name


def test_the_requirements_the_bundle_names_are_the_ones_tested(converted):
    bundle, _ = converted
    assert (bundle / "requirements-convert.txt").read_bytes() == (
        ROOT / "tools" / "requirements-convert.txt"
    ).read_bytes()


def test_the_conversion_is_full_int8_nhwc(converted):
    from ai_edge_litert.interpreter import Interpreter

    bundle, name = converted
    interpreter = Interpreter(model_path=str(bundle / "build" / f"{name}_int8.tflite"))
    (given,), (answer,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert list(given["shape"]) == [1, 32, 32, 3]  # onnx2tf moved the channels last
    assert given["dtype"] == np.int8 and answer["dtype"] == np.int8
    assert given["quantization"][0] > 0 and answer["quantization"][0] > 0  # the model's own scales
    # no float tensor left between input and output: every op runs in int8 (what the Edge TPU maps)
    assert {t["dtype"] for t in interpreter.get_tensor_details() if t["index"] not in (given["index"],)} <= {
        np.int8,
        np.int32,
    }


def test_the_server_answers_what_onnx_runtime_answers(converted, monkeypatch):
    """NCHW float32 in, as the spec declares; the server transposes and quantizes it, runs the int8
    model on LiteRT's CPU interpreter and dequantizes the answer: ONNX Runtime's probabilities to
    within the int8 output's resolution, and a confidence strictly between 0 and 1 at the router."""

    import onnxruntime as ort

    bundle, name = converted
    module = load_module(bundle / "serve_edgetpu.py", "converted_server")
    config = json.loads((bundle / "edgetpu.json").read_text())
    server = module.serve({**config, "port": 0}, "cpu", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    session = ort.InferenceSession(str(bundle / "models" / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(2)
    try:
        for _ in range(5):
            x = rng.random((1, 3, 32, 32), dtype=np.float32)
            want = session.run(None, {"images": x})[0].reshape(-1)
            request = urllib.request.Request(f"{base}/v1/models/{name}/infer", data=x.tobytes(), method="POST")
            (got,) = json.load(urllib.request.urlopen(request, timeout=10))["outputs"]
            np.testing.assert_allclose(np.asarray(got).reshape(-1), want, atol=0.02)  # int8: 1/256 steps
        monkeypatch.setenv("EDGESPEC_SERVER_URL", base)
        router_dir = bundle / "router"
        (settings,) = router_dir.glob("*.json")
        router_module = load_module(router_dir / "router.py", "converted_router")
        _, gateway = router_module.serve(settings, port=0)
        threading.Thread(target=gateway.serve_forever, daemon=True).start()
        try:
            request = urllib.request.Request(
                f"http://127.0.0.1:{gateway.server_address[1]}/v1/infer", data=x.tobytes(), method="POST"
            )
            body = json.load(urllib.request.urlopen(request, timeout=10))
            assert 0 < body["confidence"] < 1
            assert body["confidence"] == pytest.approx(float(np.max(want)), abs=0.02)
        finally:
            gateway.shutdown()
            gateway.server_close()
    finally:
        server.shutdown()
        server.server_close()
