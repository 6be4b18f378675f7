"""The planned input encoding, end to end: a spec declares JPEG/PNG frames, the emitted gateway
decodes, resizes and normalises them (Pillow, NumPy) in front of a stand-in Triton that runs a
tiny ONNX model built here, and a cascade escalates the image as it came, not the tensor.

The model averages each channel (GlobalAveragePool), so its outputs are the normalised channel
values the gateway produced: exact for a lossless PNG, close for a JPEG."""

from __future__ import annotations

import io
import json
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from tests.kserve_stub import StandInTriton
from tests.planner_helpers import model, spec
from tests.standin import StandIn
from tests.tools import load_module

MEAN, STD = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]
COLOUR = (255, 0, 128)
EXPECTED = [(c / 255 - m) / s for c, m, s in zip(COLOUR, MEAN, STD)]  # [2.0, -2.0, 0.0078...]


def channel_means_onnx(path: Path, size: int = 32) -> None:
    """images[1,3,size,size] -> means[1,3]: each channel's average."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["images"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["means"]),
        ],
        "means",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("means", TensorProto.FLOAT, [1, 3])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9), str(path))


def image_doc(pattern: str = "on-device", **input_fields) -> dict:
    given = {
        "shape": [1, 3, 32, 32],
        "dtype": "float32",
        "encoding": "png",
        "normalize": {"mean": MEAN, "std": STD},
        "encoded_bytes": "2KB",
        **input_fields,
    }
    workload = {
        "model": "clf",
        "data_source": ["cam"],
        "latency": {"p95_ms": 400},
        "throughput": {"rps": 1},
        "pattern": pattern,
    }
    targets = {
        "cam": {
            "hardware": "jetson-orin-nx-16gb",
            "count": 2,
            "jurisdiction": "us",
            "network": {"rtt_ms": 30, "uplink_mbps": 20},
        }
    }
    models = {"clf": model("image-classification", "25M", 8.0, 0.9, input=given)}
    if pattern == "cascade":
        models["clf"]["variants"] = {"clf-small": {"params": "2M", "gflops": 0.5, "accuracy": {"value": 0.8}}}
        targets["cloud"] = {"hardware": "aws-ec2", "region": "us-east-1", "count": 4, "network": {"rtt_ms": 30}}
        workload["escalation"] = {"to": "cloud", "confidence_below": 0.99}  # the means' softmax top is ~0.87
        workload["offline"] = "preferred"
    return spec(models, targets, {"sort": workload})


def compiled(run, tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, _, err = run("compile", str(path), "-o", str(tmp_path / "out"))
    assert code == 0, err
    return tmp_path / "out"


def encoded(fmt: str, size=(64, 48), colour=COLOUR) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def router_module(router_dir: Path):
    module = load_module(router_dir / "router.py", "emitted_router_images")
    return module


class Gateway:
    """The emitted router, from its own settings file, in front of a stand-in Triton."""

    def __init__(self, router_dir: Path, tmp_path: Path, monkeypatch, edit=None):
        (settings,) = router_dir.glob("*.json")
        config = json.loads(settings.read_text())
        if edit:
            edit(config)
        work = tmp_path / "device"
        shutil.copytree(router_dir, work)
        (work / settings.name).write_text(json.dumps(config))
        channel_means_onnx(tmp_path / "means.onnx")
        self.triton = StandInTriton(tmp_path / "means.onnx", config["server_model"])
        monkeypatch.setenv("EDGESPEC_SERVER_URL", self.triton.url)
        self.module = router_module(work)
        self.router, self.server = self.module.serve(work / settings.name, port=0)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/infer"
        self.config = config

    def post(self, body: bytes, content_type: str) -> tuple[int, dict]:
        request = urllib.request.Request(self.url, data=body, method="POST", headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def close(self):
        self.server.shutdown()
        self.triton.stop()


@pytest.fixture
def gateway(run, tmp_path, monkeypatch):
    opened = []

    def start(doc=None, edit=None):
        for d in (f"c{len(opened)}", f"g{len(opened)}"):
            (tmp_path / d).mkdir()
        out = compiled(run, tmp_path / f"c{len(opened)}", doc or image_doc())
        g = Gateway(out / "cam" / "router", tmp_path / f"g{len(opened)}", monkeypatch, edit)
        opened.append(g)
        return g

    yield start
    for g in opened:
        g.close()


def test_the_settings_carry_the_planned_encoding(run, tmp_path):
    out = compiled(run, tmp_path, image_doc())
    config = json.loads((out / "cam" / "router" / "sort.json").read_text())
    assert config["input"] == {
        "encoding": "png",
        "layout": "NCHW",
        "channels": 3,
        "height": 32,
        "width": 32,
        "dtype": "float32",
        "mean": MEAN,
        "std": STD,
        "max_bytes": 20_000_000,
    }
    assert "Pillow==11.0.0" in (out / "cam" / "router" / "requirements.txt").read_text().splitlines()


def test_a_png_is_decoded_resized_and_normalised_exactly(gateway):
    g = gateway()
    status, body = g.post(encoded("PNG"), "image/png")
    assert status == 200, body
    assert body["outputs"][0] == pytest.approx(EXPECTED, abs=1e-5)
    # what reached the model server is the planned tensor: float32 [1, 3, 32, 32], binary
    (header,) = g.triton.infer_headers
    assert header["inputs"] == [
        {
            "name": "images",
            "shape": [1, 3, 32, 32],
            "datatype": "FP32",
            "parameters": {"binary_data_size": 3 * 32 * 32 * 4},
        }
    ]


def test_a_jpeg_is_decoded_too_and_raw_tensors_still_work(gateway):
    g = gateway()
    status, body = g.post(encoded("JPEG"), "image/jpeg; charset=binary")
    assert status == 200, body
    assert body["outputs"][0] == pytest.approx(EXPECTED, abs=0.05)  # JPEG is lossy
    tensor = np.ones((1, 3, 32, 32), np.float32)
    status, body = g.post(tensor.tobytes(), "application/octet-stream")
    assert status == 200 and body["outputs"][0] == pytest.approx([1, 1, 1])


def test_what_is_not_the_declared_image_is_refused_with_a_reason(gateway):
    g = gateway(edit=lambda c: c["input"].update(max_bytes=4096))
    status, body = g.post(b"\xff\xd8 not really a jpeg", "image/jpeg")
    assert status == 400 and "not a readable JPEG image" in body["error"]
    status, body = g.post(encoded("PNG"), "image/jpeg")  # the wrong type for the bytes
    assert status == 400 and "JPEG" in body["error"]
    status, body = g.post(b"\0" * 5000, "image/png")
    assert status == 413 and "4096 bytes" in body["error"]
    status, body = g.post(b"\0" * 12, "application/octet-stream")
    assert status == 400 and "or a JPEG/PNG image" in body["error"]
    assert g.triton.infer_headers == []  # nothing refused reached the model server


def test_a_raw_model_refuses_images(gateway):
    g = gateway(image_doc(encoding="raw", normalize=None, encoded_bytes=None))
    assert g.config["input"] is None
    status, body = g.post(encoded("PNG"), "image/png")
    assert status == 415 and "raw tensors" in body["error"]


@pytest.mark.parametrize(
    "shape, dtype", [([1, 32, 32, 3], "uint8"), ([1, 1, 32, 32], "float16"), ([1, 3, 32, 32], "float32")]
)
def test_layouts_and_dtypes_follow_the_input(run, tmp_path, shape, dtype):
    """The decoded tensor matches what the same steps in NumPy give, for NHWC pixels, a grey
    half-float image and scaled floats without normalisation."""
    doc = image_doc(shape=shape, dtype=dtype, normalize=None)
    out = compiled(run, tmp_path, doc)
    config = json.loads((out / "cam" / "router" / "sort.json").read_text())["input"]
    module = router_module(out / "cam" / "router")
    rng = np.random.default_rng(0)
    picture = Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    tensor = np.frombuffer(module.image_tensor(buffer.getvalue(), "image/png", config), dtype=np.dtype(dtype))
    resized = np.asarray(
        picture.convert("RGB" if config["channels"] == 3 else "L").resize((32, 32), Image.Resampling.BILINEAR),
        dtype=np.uint8,
    ).reshape(32, 32, -1)
    want = resized if dtype == "uint8" else (resized.astype(np.float32) / 255).astype(dtype)
    if config["layout"] == "NCHW":
        want = want.transpose(2, 0, 1)
    assert tensor.reshape(shape).tolist() == want[None].tolist()


class Remote(StandIn):
    def __init__(self):
        self.seen: list[tuple[str, bytes]] = []
        super().__init__(self._respond)

    def _respond(self, method, path, headers, body):
        self.seen.append((headers.get("Content-Type"), body))
        return 200, {"label": "from-remote"}


def test_a_cascade_escalates_the_image_not_the_tensor(gateway, monkeypatch):
    """The plan priced the uplink at the encoded size: the remote tier gets the PNG itself."""
    remote = Remote()
    monkeypatch.setenv("EDGESPEC_REMOTE_URL", f"{remote.url}/v1/infer")
    try:
        g = gateway(image_doc("cascade"))
        png = encoded("PNG")
        status, body = g.post(png, "image/png")
        assert status == 200 and body["source"] == "remote", body
        assert body["confidence"] == pytest.approx(float(np.exp(EXPECTED).max() / np.exp(EXPECTED).sum()), abs=1e-4)
        assert remote.seen == [("image/png", png)]
    finally:
        remote.stop()


def test_pools_decode_too(run, tmp_path):
    """The remote tier's gateways carry the same settings: Kubernetes installs Pillow and NumPy in an
    init step, CloudFormation writes the gateway through cfn-init and installs them beside it."""
    import base64
    import gzip

    doc = image_doc("cascade")
    out = compiled(run, tmp_path, doc)
    want = json.loads((out / "cam" / "router" / "sort.json").read_text())["input"]
    template = yaml.safe_load((out / "cloud" / "cloudformation.yaml").read_text())  # JSON-form intrinsics only
    launch = template["Resources"]["LaunchTemplate"]
    files = launch["Metadata"]["AWS::CloudFormation::Init"]["config"]["files"]
    settings = json.loads(files["/opt/edgespec/gateway/sort.json"]["content"])
    assert settings["input"] == want and settings["mode"] == "server"
    code = gzip.decompress(base64.b64decode(files["/opt/edgespec/gateway/router.py.gz"]["content"]))
    assert code == (out / "cam" / "router" / "router.py").read_bytes()
    user_data = launch["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert "--target /opt/edgespec/gateway/packages numpy==1.26.4 Pillow==11.0.0" in user_data
    assert "-p 127.0.0.1:8000:8000" in user_data  # only the gateway faces clients
    # only the gateway's port is reachable, and only from the load balancer, which listens there
    ingress = template["Resources"]["InstancesFromLoadBalancer"]["Properties"]
    assert (ingress["FromPort"], ingress["ToPort"]) == (settings["port"], settings["port"])
    assert template["Resources"]["Listener0"]["Properties"]["Port"] == settings["port"]


def test_an_encoding_that_does_not_fit_is_refused_at_its_line(run, tmp_path):
    """ES319: a compressed size on a raw input (the plan would price bytes no client sends), an
    image on a non-image shape, normalisation on pixels, and a mean per channel."""
    text = (Path(__file__).parent.parent / "examples" / "store-vision.yaml").read_text()
    broken = text.replace("dtype: float32, encoding: jpeg, encoded_bytes: 60KB", "dtype: float32, encoded_bytes: 60KB")
    broken = broken.replace(
        "      shape: [1, 3, 224, 224]\n      dtype: float32\n", "      shape: [1, 3, 224, 224]\n      dtype: uint8\n"
    )
    broken = broken.replace("mean: [0.485, 0.456, 0.406]", "mean: [0.485]")
    assert broken.count("encoding: jpeg") == 1 and "dtype: uint8" in broken
    path = tmp_path / "spec.yaml"
    path.write_text(broken)
    code, out, err = run("validate", str(path), "--format", "json")
    assert code == 1 and "Traceback" not in err
    found = [(d["code"], d["line"], d["message"]) for d in json.loads(out)["diagnostics"]]
    lines = broken.splitlines()
    at = {
        c: next(i + 1 for i, line in enumerate(lines) if c in line) for c in ("encoded_bytes: 60KB", "normalize: {mean")
    }
    assert ("ES319", at["encoded_bytes: 60KB"]) in [(c, n) for c, n, _ in found]
    normalize = [m for c, n, m in found if c == "ES319" and n == at["normalize: {mean"]]
    assert any("applies to float inputs" in m for m in normalize), found
    assert any("has 1 value for 3 channels" in m for m in normalize), found
    assert {c for c, _, _ in found} == {"ES319"}
