"""The device-side router, run for real: ONNX Runtime on the CPU with a tiny model built here,
a fake remote on 127.0.0.1, and the uplink cut and restored."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.planner_helpers import model, spec
from tests.standin import StandIn
from tests.tools import load_module

CONFIDENT = np.array([[8.0, 0.0, 0.0, 0.0]], dtype=np.float32)  # softmax top ~ 0.999
UNSURE = np.zeros((1, 4), dtype=np.float32)  # three equal logits: 1/3


def tiny_onnx(path: Path) -> None:
    """x[1,4] @ W[4,3] -> logits[1,3]: the first input dimension drives class 0."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.eye(4, 3, dtype=np.float32), name="W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["logits"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])],
        [weights],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9), str(path))


class FakeRemote(StandIn):
    """The remote tier on 127.0.0.1: answers, answers slowly, or is gone (uplink down)."""

    def __init__(self):
        self.received: list[bytes] = []
        self.delay = 0.0
        super().__init__(self._respond)

    def _respond(self, method, path, headers, body):
        time.sleep(self.delay)
        self.received.append(body)
        return 200, {"label": "from-remote", "bytes": len(body)}

    @property
    def infer_url(self) -> str:
        return f"{self.url}/v1/infer"


def _compile(run, tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, _, err = run("compile", str(path), "-o", str(tmp_path / "out"))
    assert code == 0, err
    return tmp_path / "out" / "cam" / "router"


def cascade_doc() -> dict:
    return spec(
        {
            "clf": model(
                "image-classification",
                "25M",
                8.0,
                0.9,
                input={"shape": [1, 3, 224, 224], "dtype": "uint8", "encoding": "jpeg", "encoded_bytes": "20KB"},
                variants={"clf-small": {"params": "2M", "gflops": 0.5, "accuracy": {"value": 0.8}}},
            )
        },
        {
            "cam": {
                "hardware": "jetson-orin-nx-16gb",
                "count": 10,
                "jurisdiction": "us",
                "network": {"rtt_ms": 30, "uplink_mbps": 20},
            },
            "cloud": {"hardware": "aws-ec2", "region": "us-east-1", "count": 4, "network": {"rtt_ms": 30}},
        },
        {
            "sort": {
                "model": "clf",
                "data_source": ["cam"],
                "latency": {"p95_ms": 400},
                "throughput": {"rps": 1},
                "pattern": "cascade",
                "escalation": {"to": "cloud", "confidence_below": 0.6},
                "offline": "preferred",
            }
        },
    )


def split_doc() -> dict:
    doc = cascade_doc()
    doc["models"]["clf"]["split_points"] = [{"name": "mid", "flops_fraction": 0.5, "activation_bytes": "40KB"}]
    w = doc["workloads"]["sort"]
    w["pattern"] = "split"
    del w["escalation"], w["offline"]
    return doc


def start_router(router_dir: Path, tmp_path: Path, monkeypatch, remote: FakeRemote):
    (workload_config,) = [p for p in router_dir.glob("*.json")]
    config = json.loads(workload_config.read_text())
    work = tmp_path / "device"
    shutil.copytree(router_dir, work)
    env, local_server = local_model(config, work, tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("EDGESPEC_REMOTE_URL", remote.infer_url)
    module = load_module(work / "router.py", "emitted_router")
    router, server = module.serve(work / workload_config.name, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return config, router, server, f"http://127.0.0.1:{server.server_address[1]}", local_server


def local_model(config: dict, work: Path, tmp_path: Path):
    """The device's local model: a cascade's small model on the device's model server (a stand-in
    Triton serving the tiny model under the engine's name), a split head as an ONNX file.
    Returns (the environment that points the router at it, the stand-in server or None)."""
    from tests.kserve_stub import StandInTriton

    if "server_model" not in config:
        (work / "models").mkdir(exist_ok=True)
        tiny_onnx(work / config["local_model"])
        return {}, None
    tiny_onnx(tmp_path / "small.onnx")
    triton = StandInTriton(tmp_path / "small.onnx", config["server_model"])
    return {"EDGESPEC_SERVER_URL": triton.url}, triton


def post(base: str, tensor: np.ndarray | bytes) -> tuple[int, dict]:
    data = tensor if isinstance(tensor, bytes) else tensor.tobytes()
    try:
        with urllib.request.urlopen(
            urllib.request.Request(f"{base}/v1/infer", data=data, method="POST"), timeout=10
        ) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


class Scraped:
    """A router's /metrics, parsed by the Prometheus client's own parser: metrics(name, **labels)
    sums the matching samples; .labels holds the values of the labels every series carries."""

    def __init__(self, text: str):
        from prometheus_client.parser import text_string_to_metric_families

        self.samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
        common = set.intersection(*(set(s.labels) for s in self.samples))
        self.labels = {k: {s.labels[k] for s in self.samples} for k in common}

    def __call__(self, name: str, **labels: str) -> float:
        return sum(s.value for s in self.samples if s.name == name and labels.items() <= s.labels.items())


def scrape(base: str) -> Scraped:
    return Scraped(urllib.request.urlopen(f"{base}/metrics", timeout=5).read().decode())


def test_cascade_escalates_and_degrades_offline(run, tmp_path, monkeypatch):
    remote = FakeRemote()
    config, router, server, base, local_server = start_router(
        _compile(run, tmp_path, cascade_doc()), tmp_path, monkeypatch, remote
    )
    try:
        assert config["mode"] == "cascade" and config["confidence_below"] == 0.6
        status, body = post(base, CONFIDENT)
        assert status == 200 and body["source"] == "local" and body["confidence"] > 0.99
        assert remote.received == []  # a confident answer never leaves the device

        status, body = post(base, UNSURE)
        assert status == 200 and body["source"] == "remote" and body["result"]["label"] == "from-remote"
        assert remote.received == [UNSURE.tobytes()]  # exactly the raw input went up

        remote.delay = config["remote_timeout_ms"] / 1000 + 0.5  # slower than the timeout
        status, body = post(base, UNSURE)
        assert status == 200 and body["degraded"] is True and body["source"] == "local"

        remote.delay = 0.0
        remote.stop()  # the uplink goes down
        status, body = post(base, UNSURE)
        assert status == 200 and body["degraded"] is True and body["outputs"]

        status, body = post(base, b"\x00" * 3)
        assert status == 400 and "expected 16 bytes of FP32 [1, 4]" in body["error"]

        metrics = scrape(base)
        for outcome, n in (("local", 1), ("escalated", 1), ("degraded", 2), ("rejected", 1)):
            assert metrics("edgespec_requests_total", outcome=outcome) == n
        assert metrics("edgespec_escalations_total") == 3  # escalation attempts
        assert metrics("edgespec_errors_total", stage="remote") == 2
        assert metrics("edgespec_request_duration_seconds_count") == 4  # answered requests
        assert metrics("edgespec_confidence_count") == 4
        assert metrics("edgespec_confidence_bucket", le="0.4") == 3  # the three unsure ones
        # every series says which workload, target and package it comes from
        assert metrics.labels == {"workload": {"sort"}, "target": {"cam"}, "package": {"unversioned"}}
        assert metrics("edgespec_package_info", mode="cascade") == 1
        # the small model ran on the device's model server, as the engine the Jetson bundle builds
        assert len(local_server.infer_headers) == 4
        repository = tmp_path / "out" / "cam" / "model_repository"
        assert (repository / config["server_model"] / "config.pbtxt").is_file()
    finally:
        server.shutdown()
        server.server_close()
        local_server.stop()


def test_cascade_without_its_local_server_asks_the_remote(run, tmp_path, monkeypatch):
    remote = FakeRemote()
    config, router, server, base, local_server = start_router(
        _compile(run, tmp_path, cascade_doc()), tmp_path, monkeypatch, remote
    )
    try:
        assert post(base, CONFIDENT)[1]["source"] == "local"  # learns the input from the server's metadata
        local_server.stop()  # the device's model server is down
        status, body = post(base, CONFIDENT)
        assert status == 200 and body["source"] == "remote" and body["confidence"] is None
        remote.stop()  # and the uplink too: nothing can answer
        status, body = post(base, CONFIDENT)
        assert status == 503 and "did not answer" in body["error"]
        metrics = scrape(base)
        assert metrics("edgespec_errors_total", stage="local") == 2
        assert metrics("edgespec_errors_total", stage="remote") == 1
    finally:
        server.shutdown()
        server.server_close()


def test_split_queues_while_offline_and_drains_when_back(run, tmp_path, monkeypatch):
    remote = FakeRemote()
    config, router, server, base, local_server = start_router(
        _compile(run, tmp_path, split_doc()), tmp_path, monkeypatch, remote
    )
    port = remote.port
    try:
        assert config["mode"] == "split" and config["local_model"].endswith("-head.onnx")
        status, body = post(base, CONFIDENT)
        assert status == 200 and body["source"] == "remote"
        activations = (CONFIDENT @ np.eye(4, 3, dtype=np.float32)).tobytes()
        assert remote.received == [activations]  # the head's output went up, not the input

        remote.stop()  # uplink down: activations queue up
        for position in (1, 2):
            status, body = post(base, UNSURE)
            assert status == 202 and body["queued"] is True and body["position"] == position

        remote.start(port)  # uplink back: the next request drains the queue first, oldest first
        status, body = post(base, CONFIDENT)
        assert status == 200 and body["source"] == "remote"
        assert len(remote.received) == 4  # 1 before, 2 replayed, 1 new
        metrics = scrape(base)
        assert metrics("edgespec_requests_total", outcome="replayed") == 2
        assert metrics("edgespec_queue_depth") == 0
    finally:
        server.shutdown()
        server.server_close()
        remote.stop()


def test_unit_and_requirements(run, tmp_path):
    import configparser

    router_dir = _compile(run, tmp_path, cascade_doc())
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.read_string((router_dir / "edgespec-router-sort.service").read_text())
    assert unit["Service"]["ExecStart"].endswith("router/router.py /opt/edgespec/cam/router/sort.json")
    assert unit["Service"]["Restart"] == "always"
    # the cascade's small model is on the device's server: no ONNX Runtime; its JPEG input is decoded
    assert (router_dir / "requirements.txt").read_text().splitlines()[1:] == ["numpy==1.26.4", "Pillow==11.0.0"]
    raw = cascade_doc()
    raw["models"]["clf"]["input"] = {"shape": [1, 3, 224, 224], "dtype": "uint8"}
    (tmp_path / "raw").mkdir()
    router_dir = _compile(run, tmp_path / "raw", raw)
    assert (router_dir / "requirements.txt").read_text().splitlines()[1:] == []
    split = split_doc()
    (tmp_path / "split").mkdir()
    router_dir = _compile(run, tmp_path / "split", split)
    assert "onnxruntime==1.20.1" in (router_dir / "requirements.txt").read_text().splitlines()


def test_installer(run, tmp_path):
    """install.sh: shellcheck-clean, installs and starts every unit; a cascade needs no model file
    (its small model is an engine on the device's server) and, on raw tensors, no packages; a split
    head (which edgespec cannot cut) is asked for, not invented, and ONNX Runtime is installed for it."""
    import subprocess

    from tests.tools import executable

    raw = cascade_doc()
    raw["models"]["clf"]["input"] = {"shape": [1, 3, 224, 224], "dtype": "uint8"}
    for name, doc in (("cascade", raw), ("split", split_doc())):
        doc["models"]["clf"]["source"]["sha256"] = "a" * 64
        (tmp_path / name).mkdir()
        router_dir = _compile(run, tmp_path / name, doc)
        script = (router_dir / "install.sh").read_text()
        subprocess.run([executable("shellcheck"), str(router_dir / "install.sh")], check=True)
        config = json.loads((router_dir / "sort.json").read_text())
        assert "DEST=/opt/edgespec/cam\n" in script
        assert "systemctl restart edgespec-router-sort.service" in script
        assert 'install -m 0644 "$DEST/router/edgespec-router-sort.service" /etc/systemd/system/' in script
        if name == "cascade":
            assert "fetch()" not in script and 'pip" install' not in script and "local_model" not in config
        else:
            assert f'if [[ ! -f "$DEST/router/{config["local_model"]}" ]]; then' in script and "fetch s3" not in script
            assert 'pip" install --no-cache-dir --only-binary=:all: -r "$DEST/router/requirements.txt"' in script
        recipe = (router_dir.parent / "greengrass" / "greengrass.yaml").read_text()
        assert "bash router/install.sh" in recipe


class FakeCollector(StandIn):
    """An OTLP/HTTP receiver on 127.0.0.1 (what the device's collector listens on): every export
    is parsed with the OTLP protobuf definitions, so a malformed payload fails the test."""

    def __init__(self):
        self.exports: list = []
        super().__init__(self._respond)

    def _respond(self, method, path, headers, body):
        from google.protobuf import json_format
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceRequest,
        )

        assert path == "/v1/metrics" and headers["Content-Type"] == "application/json"
        self.exports.append(json_format.Parse(body, ExportMetricsServiceRequest()))
        return 200, {}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _points(export, name: str) -> dict[tuple, float]:
    out = {}
    for rm in export.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                if m.name == name:
                    for p in m.sum.data_points:
                        out[tuple(sorted((a.key, a.value.string_value) for a in p.attributes))] = p.as_int
    return out


def test_offline_device_keeps_answering_buffers_telemetry_and_drains(run, tmp_path):
    """The router as a real process: uplink (remote tier and telemetry endpoint) cut and restored."""
    import subprocess
    import sys

    doc = cascade_doc()
    doc["workloads"]["sort"]["privacy"] = {"pii": True}
    doc["telemetry"] = {"endpoint": "https://otel.example.com:4318", "offline_buffer": "1h"}
    router_dir = _compile(run, tmp_path, doc)
    config = json.loads((router_dir / "sort.json").read_text())
    assert config["telemetry"] == {
        "endpoint": "http://127.0.0.1:4318",
        "interval_s": 15,
        "spool_dir": "/var/lib/edgespec-router-sort/otlp-spool",
        "spool_limit": 240,
    }
    package = json.loads((router_dir.parent / "package.json").read_text())["package"]
    work = tmp_path / "device" / "router"
    shutil.copytree(router_dir, work)
    shutil.copy(router_dir.parent / "package.json", work.parent / "package.json")
    # the uplink, not the clock, decides here: a loaded CI machine may take longer than the budget
    (work / "sort.json").write_text(json.dumps({**config, "server_timeout_ms": 10_000}))
    local_env, local_server = local_model(config, work, tmp_path)  # the device's own model server
    remote, collector, spool, port = FakeRemote(), FakeCollector(), tmp_path / "spool", _free_port()
    env = {
        **os.environ,
        **local_env,
        "EDGESPEC_REMOTE_URL": remote.infer_url,
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "EDGESPEC_SPOOL_DIR": str(spool),
        "EDGESPEC_EXPORT_INTERVAL_S": "0.2",
        "AWS_IOT_THING_NAME": "lane-0042",
    }
    process = subprocess.Popen(
        [sys.executable, str(work / "router.py"), str(work / "sort.json"), "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert _wait(lambda: _healthy(base)), process.stderr.read1().decode() if process.poll() is not None else ""
        assert post(base, CONFIDENT)[1]["source"] == "local"
        assert _wait(lambda: collector.exports)

        remote.stop()
        collector.stop()  # the uplink is cut: no remote tier, no telemetry endpoint
        for _ in range(2):
            status, body = post(base, UNSURE)
            assert status == 200 and body["degraded"] is True and body["source"] == "local"  # still answering
        assert _wait(lambda: len(list(spool.glob("*.json"))) >= 3)  # telemetry kept on disk
        received_before = len(collector.exports)

        collector.start(collector.port)  # the uplink returns: the spool drains, oldest first
        assert _wait(lambda: not list(spool.glob("*.json")) and len(collector.exports) > received_before + 3)
    finally:
        process.terminate()
        process.wait(timeout=10)
        collector.stop()
        local_server.stop()

    # each export's snapshot time (every point of one export carries it; an export taken before the
    # first request holds gauges only, so no one metric type is in every export)
    times = [
        next(
            p.time_unix_nano
            for m in e.resource_metrics[0].scope_metrics[0].metrics
            for p in (*m.sum.data_points, *m.gauge.data_points, *m.histogram.data_points)
        )
        for e in collector.exports
    ]
    assert times == sorted(times)  # in the order they were taken: nothing reordered, nothing lost in between
    last = collector.exports[-1]
    requests = {dict(k)["outcome"]: v for k, v in _points(last, "edgespec_requests_total").items()}
    assert requests["degraded"] == 2 and requests["local"] == 1
    assert {dict(k)["package"] for k in _points(last, "edgespec_requests_total")} == {package}
    resource = {a.key: a.value.string_value for a in last.resource_metrics[0].resource.attributes}
    assert resource["service.version"] == package  # which device runs which version
    assert resource["service.instance.id"] == "lane-0042"  # and which device it is (the Greengrass thing)
    # privacy.pii: telemetry carries counts and histograms by these labels only, never inputs or outputs
    keys = {
        a.key
        for m in last.resource_metrics[0].scope_metrics[0].metrics
        for p in [*m.sum.data_points, *m.gauge.data_points, *m.histogram.data_points]
        for a in p.attributes
    }
    assert keys <= {"workload", "target", "package", "outcome", "stage", "result", "mode"}


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def test_spool_is_bounded_and_drops_the_oldest(tmp_path):
    module = load_module(_router_source(tmp_path), "emitted_router_spool")
    spool = module.Spool(tmp_path / "spool", limit=2)
    assert [spool.put(b"%d" % i) for i in range(3)] == [0, 0, 1]
    assert [p.read_bytes() for p in spool.files()] == [b"1", b"2"]


def test_a_refused_export_is_dropped_not_retried(tmp_path):
    """A payload the endpoint rejects (400) must not block the spool: it is dropped and counted;
    a server error (503) is transient: the export is kept for later."""
    module = load_module(_router_source(tmp_path), "emitted_router_exporter")
    status = {"code": 400}
    endpoint = StandIn(lambda method, path, headers, body: (status["code"], {}))
    metrics = module.Metrics({"service.name": "t"})
    exporter = module.Exporter(metrics, endpoint.url, module.Spool(tmp_path / "spool", limit=10))
    try:
        status["code"] = 503
        assert exporter.export() is False and len(exporter.spool.files()) == 1  # kept for later
        status["code"] = 400
        assert exporter.export() is True and exporter.spool.files() == []  # refused for good: dropped
        assert metrics.sums[("edgespec_telemetry_dropped", ())] == 2  # the spooled one and the current one
    finally:
        endpoint.stop()


def _router_source(tmp_path: Path) -> Path:
    from edgespec import __version__
    from edgespec.device import ship

    path = tmp_path / "router.py"
    path.write_bytes(ship("router", __version__))
    return path


class TlsRemote(FakeRemote):
    """The remote tier as deployed: HTTPS only (the test certificate) and a bearer token."""

    TOKEN = "remote-tier-token"

    def __init__(self):
        import ssl

        from tests.tls import certificate

        self.authorizations: list[str | None] = []
        super().__init__()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certificate())
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = self.url.replace("http://", "https://")

    def _respond(self, method, path, headers, body):
        self.authorizations.append(headers.get("Authorization"))
        if headers.get("Authorization") != f"Bearer {self.TOKEN}":
            return 401, {"error": "unauthorized"}
        return super()._respond(method, path, headers, body)


def test_the_remote_tier_is_called_over_tls_with_its_token(run, tmp_path, monkeypatch):
    """A cascade escalates over HTTPS (the remote's CA given, as for a private CA) with the remote
    gateway's bearer token; without the token the remote refuses and the device degrades."""
    from tests.tls import certificate

    remote = TlsRemote()
    (tmp_path / "remote-token").write_text(TlsRemote.TOKEN + "\n")
    monkeypatch.setenv("EDGESPEC_REMOTE_CA_FILE", certificate()[0])
    monkeypatch.setenv("EDGESPEC_REMOTE_TOKEN_FILE", str(tmp_path / "remote-token"))
    config, router, server, base, local_server = start_router(
        _compile(run, tmp_path, cascade_doc()), tmp_path, monkeypatch, remote
    )
    try:
        status, body = post(base, UNSURE)
        assert status == 200 and body["source"] == "remote", body
        assert remote.authorizations == [f"Bearer {TlsRemote.TOKEN}"]
        router.remote_token = b"wrong"  # a rotated token the device did not get: refused, answered locally
        status, body = post(base, UNSURE)
        assert status == 200 and body["source"] == "local" and body["degraded"] is True
    finally:
        server.shutdown()
        server.server_close()
        remote.stop()
        if local_server:
            local_server.stop()


def test_a_plain_http_remote_is_refused_unless_it_is_this_host(tmp_path):
    router = load_module(_router_source(tmp_path), "router_for_urls")
    with pytest.raises(SystemExit, match="must be called over https://"):
        router.remote_context("http://10.0.0.7:8090/v1/infer")
    with pytest.raises(SystemExit, match="must be called over https://"):
        router.remote_context("ftp://example.com/x")
    assert router.remote_context("http://127.0.0.1:8090/v1/infer") is None  # this host: never on a network
    assert router.remote_context("https://edge.example.com/v1/infer").verify_mode.name == "CERT_REQUIRED"
