"""Coral bundles: fixed scripts that compile and lint, settings as data, the compiler log read as
the plan needs, and the model server answering real HTTP requests."""

from __future__ import annotations

import configparser
import json
import py_compile
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, compile_to
from tests.tools import executable, load_module

FLAGSHIP = str(ROOT / "examples" / "store-vision.yaml")

COMPILER_LOG = """\
Edge TPU Compiler version 16.0.384591198
Started a compilation timeout timer of 180 seconds.

Model compiled successfully in 1290 ms.

Input model: build/product-classifier-int8-p50_int8.tflite
Input size: 12.21MiB
Output model: build/product-classifier-int8-p50_int8_edgetpu.tflite
Output size: 12.47MiB
On-chip memory used for caching model parameters: 6.91MiB
On-chip memory remaining for caching model parameters: 1.25KiB
Off-chip memory used for streaming uncached model parameters: 5.12MiB
Number of Edge TPU subgraphs: 1
Total number of operations: 77
Operation log: build/product-classifier-int8-p50_int8_edgetpu.log

Operator                       Count      Status

QUANTIZE                       1          Operation is otherwise supported, but not mapped due to some unspecified limitation
CONV_2D                        53         Mapped to Edge TPU
ADD                            16         Mapped to Edge TPU
MEAN                           1          Mapped to Edge TPU
FULLY_CONNECTED                1          Mapped to Edge TPU
SOFTMAX                        1          Operation is working on an unsupported data type
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return compile_to(FLAGSHIP, tmp_path_factory.mktemp("coral") / "out") / "checkout-tpu"


def test_files_and_config(bundle):
    config = json.loads((bundle / "edgetpu.json").read_text())
    assert config["device"] == "usb" and config["hardware"] == "coral-usb"
    (model,) = config["models"]
    # the lanes run the distilled variant (the full model answers escalations in the metro)
    assert model["name"] == "product-classifier-mobile-int8" and model["prune"] == 0
    assert model["spill_expected"] is False  # 3.5 MB of int8 weights fit the usable 6.4 MB on chip


def test_python_compiles_and_shell_lints(bundle):
    scripts = sorted(bundle.glob("*.py"))
    assert {p.name for p in scripts} == {"convert_int8.py", "compile_edgetpu.py", "serve_edgetpu.py", "bench.py"}
    for script in scripts:
        py_compile.compile(str(script), doraise=True)
    result = subprocess.run([executable("shellcheck"), str(bundle / "setup_host.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    subprocess.run(["bash", "-n", str(bundle / "setup_host.sh")], check=True)


def test_systemd_unit(bundle):
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.read_string((bundle / "edgespec-checkout-tpu.service").read_text())
    assert unit["Service"]["ExecStart"].endswith("/opt/edgespec/checkout-tpu/serve_edgetpu.py")
    assert unit["Service"]["Restart"] == "always" and unit["Service"]["SupplementaryGroups"] == "plugdev"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_compiler_log_is_read(bundle):
    stats = load_module(bundle / "compile_edgetpu.py").parse(COMPILER_LOG)
    assert stats["on_chip"] == pytest.approx(6.91 * 2**20) and stats["off_chip"] == pytest.approx(5.12 * 2**20)
    assert stats["tpu_ops"] == 71 and stats["cpu_ops"] == 2


SCALE, ZERO_POINT = 0.05, -10  # the tiny model's int8 quantization (tests/tflite_model.py)


def cpu_server(bundle: Path, name: str):
    """The emitted Edge TPU server in its no-TPU mode (`--cpu`): LiteRT's CPU interpreter runs the
    converted full-int8 model, here a tiny one built by the test (float32 [1, 4] declared, int8 in
    the model), through the server's real quantize -> invoke -> dequantize path."""
    from tests.tflite_model import int8_reshape

    (bundle / "build").mkdir(exist_ok=True)
    (bundle / "build" / f"{name}_int8.tflite").write_bytes(int8_reshape(SCALE, ZERO_POINT))
    config = {"device": "usb", "port": 0, "models": [{"name": name, "input_shape": [1, 4], "input_dtype": "float32"}]}
    server = load_module(bundle / "serve_edgetpu.py").serve(config, "cpu", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_server_quantizes_inputs_and_dequantizes_outputs(bundle):
    server, base = cpu_server(bundle, "m")
    x = np.array([[1.0, 0.5, 0.0, -0.5]], dtype=np.float32)
    try:
        assert json.load(urllib.request.urlopen(f"{base}/healthz", timeout=5)) == {"models": ["m"]}
        meta = json.load(urllib.request.urlopen(f"{base}/v2/models/m", timeout=5))
        assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [1, 4]}]  # what clients send
        assert meta["outputs"][0]["datatype"] == "FP32"  # dequantized
        request = urllib.request.Request(f"{base}/v1/models/m/infer", data=x.tobytes(), method="POST")
        (out,) = json.load(urllib.request.urlopen(request, timeout=5))["outputs"]
        # the model's own numbers back, to its int8 resolution (not the int8 codes 10, 0, -10, -20)
        np.testing.assert_allclose(out, x, atol=SCALE / 2)
        # KServe v2 with binary outputs, as the gateway asks
        header = json.dumps(
            {
                "inputs": [
                    {"name": "input", "shape": [1, 4], "datatype": "FP32", "parameters": {"binary_data_size": 16}}
                ],
                "parameters": {"binary_data_output": True},
            }
        ).encode()
        request = urllib.request.Request(
            f"{base}/v2/models/m/infer",
            data=header + x.tobytes(),
            method="POST",
            headers={"Inference-Header-Content-Length": str(len(header))},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            size = int(response.headers["Inference-Header-Content-Length"])
            raw = response.read()
        (meta_out,) = json.loads(raw[:size])["outputs"]
        assert meta_out["datatype"] == "FP32" and meta_out["parameters"]["binary_data_size"] == 16
        np.testing.assert_allclose(np.frombuffer(raw[size:], dtype="<f4"), x.reshape(-1), atol=SCALE / 2)
        bad = urllib.request.Request(f"{base}/v1/models/m/infer", data=b"\x01", method="POST")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(bad, timeout=5)
        assert err.value.code == 400
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(
                urllib.request.Request(f"{base}/v1/models/nope/infer", data=b"", method="POST"), timeout=5
            )
        assert err.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_concurrent_requests_share_the_interpreter_safely(bundle):
    """Inference is serialized: many threads at once each get their own input's answer."""
    from concurrent.futures import ThreadPoolExecutor

    server, base = cpu_server(bundle, "m")

    def ask(i: int):
        x = np.array([[i % 5, 0.0, 1.0, -1.0]], dtype=np.float32) * 0.5
        request = urllib.request.Request(f"{base}/v1/models/m/infer", data=x.tobytes(), method="POST")
        return x, json.load(urllib.request.urlopen(request, timeout=10))["outputs"][0]

    try:
        with ThreadPoolExecutor(8) as pool:
            for x, out in pool.map(ask, range(64)):
                np.testing.assert_allclose(out, x, atol=SCALE / 2)
    finally:
        server.shutdown()
        server.server_close()


def test_gateway_fronts_the_edge_tpu_server(bundle, tmp_path, monkeypatch):
    """The lanes' router (a cascade: the Edge TPU answers, low confidence escalates to the metro's
    Wavelength pool) speaks KServe v2 to the Edge TPU server exactly as to Triton, and reports the
    rollback signals; its confidence comes from the dequantized outputs, strictly between 0 and 1."""
    from tests.test_router import post, scrape

    router_dir = bundle / "router"
    (config_path,) = router_dir.glob("*.json")
    config = json.loads(config_path.read_text())
    assert config["mode"] == "cascade" and config["server_url"] == "http://127.0.0.1:8080"
    assert config["remote_target"] == "metro-mec" and config["confidence_below"] == 0.6
    edgetpu = json.loads((bundle / "edgetpu.json").read_text())
    assert config["server_model"] in {m["name"] for m in edgetpu["models"]}

    server, server_url = cpu_server(bundle, config["server_model"])
    monkeypatch.setenv("EDGESPEC_SERVER_URL", server_url)
    gateway_module = load_module(router_dir / "router.py")
    router, gateway = gateway_module.serve(config_path, port=0)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{gateway.server_address[1]}"
    x = np.array([[4.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    try:
        status, body = post(base, x.tobytes())
        # confident (0.95 >= 0.6): answered on the lane, not escalated
        assert status == 200 and body["source"] == "local"
        np.testing.assert_allclose(body["outputs"], x, atol=SCALE / 2)
        softmax_top = 1 / np.exp(x - x.max()).sum()
        assert abs(body["confidence"] - softmax_top) < 1e-6 and 0 < body["confidence"] < 1
        assert post(base, b"\x01")[0] == 400  # the gateway knows the input size from the server
        metrics = scrape(base)
    finally:
        gateway.shutdown()
        gateway.server_close()
        server.shutdown()
        server.server_close()
    package = json.loads((bundle / "package.json").read_text())["package"]
    assert metrics.labels == {"workload": {config["workload"]}, "target": {"checkout-tpu"}, "package": {package}}
    assert metrics("edgespec_requests_total", outcome="local") == 1 and metrics("edgespec_confidence_count") == 1
