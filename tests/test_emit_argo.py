"""Argo Rollouts for the Kubernetes tier, and the gateway whose metrics its analysis reads.

The Rollout and AnalysisTemplate are validated against the Argo Rollouts CRD schemas (strict
extracts, tests/vendor/argo-rollouts); every PromQL query parses (promql-parser) and reads only
series the gateway really exports, checked by running the emitted gateway against a stand-in
Triton and parsing its /metrics with the Prometheus client's own parser."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import yaml

from tests.conftest import ROOT, compile_to
from tests.kserve_stub import StandInTriton
from tests.test_router import CONFIDENT, UNSURE, tiny_onnx
from tests.tls import serve_tls
from tests.tools import load_module

VENDOR = ROOT / "tests" / "vendor" / "argo-rollouts"
ARGS = {"canary-hash": "6c9f7d8b5", "stable-hash": "5b8c6d7f4", "prometheus-address": "http://prometheus:9090"}


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> dict[str, dict]:
    return gateway_docs(tmp_path_factory.mktemp("ar"))


def gateway_docs(work: Path) -> dict[str, dict]:
    """ar-carrier-edge's Wavelength pool compiled into `work`: its Kubernetes documents by kind, the
    gateway's code and the Prometheus adapter's values (bench/bench_gateway.py reads them too)."""
    out = compile_to(ROOT / "examples" / "ar-carrier-edge.yaml", work / "out")
    k8s = out / "boston-wlz" / "k8s"
    docs = {d["kind"]: d for d in yaml.safe_load_all((k8s / "overlay.yaml").read_text())}
    (code,) = yaml.safe_load_all((k8s / "_gateway-code.yaml").read_text())
    adapter = yaml.safe_load((out / "boston-wlz" / "prometheus-adapter-values.yaml").read_text())
    return {**docs, "code": code, "adapter": adapter}


def validator(kind: str) -> jsonschema.Draft7Validator:
    schema = json.loads((VENDOR / f"{kind.lower()}_v1alpha1.extract.json").read_text())
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize("kind", ["Rollout", "AnalysisTemplate"])
def test_against_the_crd_schema(docs, kind):
    errors = sorted(validator(kind).iter_errors(docs[kind]), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_the_schema_is_strict(docs):
    """A misspelled step or field is rejected: the check can fail."""
    bad = json.loads(json.dumps(docs["Rollout"]))
    bad["spec"]["strategy"]["canary"]["steps"][0] = {"setWieght": 10}
    assert list(validator("Rollout").iter_errors(bad))
    bad = json.loads(json.dumps(docs["AnalysisTemplate"]))
    bad["spec"]["metrics"][0]["provider"]["prometheus"]["qurey"] = "up"
    assert list(validator("AnalysisTemplate").iter_errors(bad))


def test_rollout_follows_the_spec(docs):
    spec = yaml.safe_load((ROOT / "examples" / "ar-carrier-edge.yaml").read_text())
    rollout, deployment, hpa = docs["Rollout"], docs["Deployment"], docs["HorizontalPodAutoscaler"]
    # stages [10% for 30m, 50% for 2h, 100%]
    assert rollout["spec"]["strategy"]["canary"]["steps"] == [
        {"setWeight": 10},
        {"pause": {"duration": "1800s"}},
        {"setWeight": 50},
        {"pause": {"duration": "7200s"}},
        {"setWeight": 100},
    ]
    assert len(spec["rollout"]["stages"]) == 3
    ref = rollout["spec"]["workloadRef"]
    assert (ref["kind"], ref["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert deployment["spec"]["replicas"] == 0  # Argo runs the pods; the Deployment only holds the template
    assert (
        rollout["spec"]["selector"]["matchLabels"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "overlay"}
    analysis = rollout["spec"]["strategy"]["canary"]["analysis"]
    assert analysis["templates"] == [{"templateName": docs["AnalysisTemplate"]["metadata"]["name"]}]
    assert {a["name"]: a["valueFrom"]["podTemplateHashValue"] for a in analysis["args"]} == {
        "canary-hash": "Latest",
        "stable-hash": "Stable",
    }


def test_analysis_thresholds_come_from_the_spec(docs):
    metrics = {m["name"]: m for m in docs["AnalysisTemplate"]["spec"]["metrics"]}
    # rollback: {accuracy_drop: 0.02, error_rate: 0.01}; the workload's p95 budget is 50 ms
    assert {n: m["successCondition"] for n, m in metrics.items()} == {
        "canary-reporting": "result[0] >= 1",
        "error-rate": "result[0] <= 0.01",
        "latency-p95-ms": "result[0] <= 50",
        "accuracy-drop": "result[0] <= 0.02",
        "confidence-drop": "result[0] <= 0.02",
    }
    # no canary series at all is neither success nor failure: inconclusive, which pauses the rollout
    reporting = metrics["canary-reporting"]
    assert reporting["failureCondition"] == "result[0] < 0" and reporting["initialDelay"] == "5m"
    assert "failureCondition" not in metrics["error-rate"]
    declared = {a["name"] for a in docs["AnalysisTemplate"]["spec"]["args"]}
    for m in metrics.values():
        used = set(re.findall(r"\{\{args\.([a-z-]+)\}\}", json.dumps(m)))
        assert used and used <= declared
    pod_annotations = docs["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert pod_annotations["prometheus.io/scrape"] == "true" and pod_annotations["prometheus.io/port"] == "8090"


def _resolve(query: str) -> str:
    return re.sub(r"\{\{args\.([a-z-]+)\}\}", lambda m: ARGS[m.group(1)], query)


def selectors(query: str) -> list:
    import promql_parser

    found = []
    promql_parser.walk(
        promql_parser.parse(_resolve(query)),
        lambda node: found.append(node) if isinstance(node, promql_parser.VectorSelector) else None,
    )
    return found


TOKEN = "test-gateway-token"  # what the Secret <workload>-gateway-token holds, in these tests
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def start_gateway(docs, tmp_path, monkeypatch, server_url: str):
    """The gateway as the pod runs it: its code and settings, the Secret's token as a file."""
    (tmp_path / "router.py").write_text(docs["code"]["data"]["router.py"])
    (tmp_path / "gateway.json").write_text(docs["ConfigMap"]["data"]["gateway.json"])
    (tmp_path / "token").write_text(TOKEN + "\n")
    monkeypatch.setenv("EDGESPEC_TOKEN_FILE", str(tmp_path / "token"))  # the Secret volume's file, here
    monkeypatch.setenv("EDGESPEC_SERVER_URL", server_url)
    serve_tls(monkeypatch)  # the kubernetes.io/tls Secret's files, here
    package = docs["Deployment"]["spec"]["template"]["spec"]["containers"][1]["env"][0]
    monkeypatch.setenv(package["name"], package["value"])
    module = load_module(tmp_path / "router.py", "emitted_gateway")
    router, server = module.serve(tmp_path / "gateway.json", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return router, server, f"https://127.0.0.1:{server.server_address[1]}"


def call(url: str, data: bytes, content_type="application/octet-stream", auth=AUTH) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": content_type, **auth})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_gateway_serves_through_triton_and_exports_what_the_analysis_reads(docs, tmp_path, monkeypatch):
    from prometheus_client.parser import text_string_to_metric_families

    gateway = json.loads(docs["ConfigMap"]["data"]["gateway.json"])
    assert gateway["mode"] == "server" and gateway["server_url"] == "http://127.0.0.1:8000"
    tiny_onnx(tmp_path / "model.onnx")
    triton = StandInTriton(tmp_path / "model.onnx", gateway["server_model"])
    router, server, base = start_gateway(docs, tmp_path, monkeypatch, triton.url)
    try:
        status, body = call(f"{base}/v1/infer", CONFIDENT.tobytes())
        assert status == 200 and body["source"] == "server" and body["confidence"] > 0.99
        np.testing.assert_allclose(body["outputs"][0], (CONFIDENT @ np.eye(4, 3, dtype=np.float32)).reshape(-1))
        assert triton.infer_headers[-1]["inputs"][0] == {
            "name": "x",
            "shape": [1, 4],
            "datatype": "FP32",
            "parameters": {"binary_data_size": 16},
        }
        assert call(f"{base}/v1/feedback", json.dumps({"id": body["id"], "label": 0}).encode(), "application/json") == (
            200,
            {"correct": True},
        )
        status, body = call(f"{base}/v1/infer", UNSURE.tobytes())
        assert status == 200 and body["confidence"] < 0.4
        assert call(f"{base}/v1/feedback", json.dumps({"id": body["id"], "label": 2}).encode(), "application/json") == (
            200,
            {"correct": False},
        )
        assert (
            call(f"{base}/v1/feedback", json.dumps({"id": body["id"], "label": 2}).encode(), "application/json")[0]
            == 404
        )  # scored once
        assert call(f"{base}/v1/feedback", b"{not json", "application/json")[0] == 400
        assert call(f"{base}/v1/infer", b"\x00" * 3)[0] == 400
        triton.stop()  # the model server goes away: errors, counted
        assert call(f"{base}/v1/infer", CONFIDENT.tobytes())[0] == 503

        text = urllib.request.urlopen(f"{base}/metrics", timeout=5).read().decode()
        samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
    finally:
        server.shutdown()
        server.server_close()

    def value(name, **labels):
        return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())

    assert value("edgespec_requests_total", outcome="server") == 2
    assert value("edgespec_errors_total", stage="server") == 1
    assert value("edgespec_feedback_total", result="correct") == 1
    assert value("edgespec_feedback_total", result="incorrect") == 1
    assert value("edgespec_request_duration_seconds_count") == 3  # answered or failed, not rejected
    package = docs["Deployment"]["spec"]["template"]["spec"]["containers"][1]["env"][0]["value"]
    assert value("edgespec_package_info", package=package, mode="server") == 1

    exported: dict[str, set[str]] = {}
    for s in samples:
        exported.setdefault(s.name, set()).update(s.labels)
    for metric in docs["AnalysisTemplate"]["spec"]["metrics"]:
        found = selectors(metric["provider"]["prometheus"]["query"])
        assert found, metric["name"]
        for selector in found:
            assert selector.name in exported, (metric["name"], selector.name)
            # rollouts_pod_template_hash is the pod label Prometheus attaches at scrape time
            labels = {m.name for m in selector.matchers.matchers} - {"rollouts_pod_template_hash"}
            assert labels <= exported[selector.name], (selector.name, labels)
            assert {m.name: m.value for m in selector.matchers.matchers}["workload"] == "overlay"


def test_the_pod_mounts_what_the_gateway_reads(docs):
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    gateway = next(c for c in pod["containers"] if c["name"] == "gateway")
    volumes = {v["name"]: v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v}
    mounts = {m["mountPath"]: volumes.get(m["name"], m["name"]) for m in gateway["volumeMounts"]}
    script, settings = gateway["command"][1], gateway["command"][2]
    assert mounts[script.rsplit("/", 1)[0]] == docs["code"]["metadata"]["name"] and script.endswith("/router.py")
    assert mounts[settings.rsplit("/", 1)[0]] == docs["ConfigMap"]["metadata"]["name"]
    assert settings.endswith("/gateway.json") and "gateway.json" in docs["ConfigMap"]["data"]
    # the JPEG frames it decodes: Pillow and NumPy, installed by an init step into the volume on its path
    (path,) = [e["value"] for e in gateway["env"] if e["name"] == "PYTHONPATH"]
    assert mounts[path] == "gateway-packages"
    install = next(c for c in pod["initContainers"] if c["name"] == "gateway-packages")
    assert install["image"] == gateway["image"]  # the same Python, so the wheels fit
    assert install["command"][-3:] == [path, "numpy==1.26.4", "Pillow==11.0.0"]
    assert {"name": "gateway-packages", "mountPath": path} in install["volumeMounts"]


def test_no_rollout_no_argo(run, tmp_path):
    text = (ROOT / "examples" / "ar-carrier-edge.yaml").read_text()
    path = tmp_path / "spec.yaml"
    path.write_text(text[: text.index("\nrollout:")] + "\n")
    code, _, err = run("compile", str(path), "-o", str(tmp_path / "out"))
    assert code == 0, err
    kinds = [
        d["kind"] for d in yaml.safe_load_all((tmp_path / "out" / "boston-wlz" / "k8s" / "overlay.yaml").read_text())
    ]
    assert kinds == [
        "ConfigMap",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "PodDisruptionBudget",
    ]


def test_the_hpa_metric_comes_from_the_gateways_counter(docs):
    """prometheus-adapter's rule turns the gateway's request counter into the per-pod rate the HPA
    holds: the names agree, and the query, with the adapter's template filled, is valid PromQL."""
    import promql_parser

    (rule,) = docs["adapter"]["rules"]["custom"]
    metric = docs["HorizontalPodAutoscaler"]["spec"]["metrics"][0]["pods"]["metric"]["name"]
    assert rule["name"]["as"] == metric == "edgespec_requests_per_second"
    series = promql_parser.parse(rule["seriesQuery"])
    assert series.name == "edgespec_requests_total"  # what the gateway exports (the test above reads it)
    query = (
        rule["metricsQuery"]
        .replace("<<.Series>>", "edgespec_requests_total")
        .replace("<<.LabelMatchers>>", 'namespace="field",pod=~"overlay-.*"')
        .replace("<<.GroupBy>>", "pod")
    )
    parsed = promql_parser.parse(query)
    assert isinstance(parsed, promql_parser.AggregateExpr) and str(parsed.op) == "sum"
    assert isinstance(parsed.expr, promql_parser.Call) and parsed.expr.func.name == "rate"  # per second, per pod


def tiled_onnx(path: Path, values: int) -> None:
    """x[1,4] tiled to [1, values]: an output as large as a detector's (YOLOv8: 705,600 values)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    repeats = numpy_helper.from_array(np.array([1, values // 4], dtype=np.int64), name="repeats")
    graph = helper.make_graph(
        [helper.make_node("Tile", ["x", "repeats"], ["scores"])],
        "tiled",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, values])],
        [repeats],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9), str(path))


def test_a_million_value_output_travels_as_binary(docs, tmp_path, monkeypatch):
    """The gateway asks the model server for binary outputs, computes the confidence in one pass,
    and answers a client that accepts binary data with the tensor's bytes. How long that takes
    against the gateway's budget is measured in bench/bench_gateway.py (bench/README.md), not
    asserted here: a wall-clock bound failed under the full suite's load."""
    gateway = json.loads(docs["ConfigMap"]["data"]["gateway.json"])
    values = 1_000_000
    tiled_onnx(tmp_path / "model.onnx", values)
    triton = StandInTriton(tmp_path / "model.onnx", gateway["server_model"])
    router, server, base = start_gateway(docs, tmp_path, monkeypatch, triton.url)
    x = np.array([[8.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    try:
        # 4 MB as JSON text would take several times that in the gateway: binary data only
        status, refused = call(f"{base}/v1/infer", x.tobytes())
        assert status == 406 and "Accept: application/octet-stream" in refused["error"]
        assert triton.infer_headers[-1]["parameters"] == {"binary_data_output": True}

        request = urllib.request.Request(
            f"{base}/v1/infer",
            data=x.tobytes(),
            method="POST",
            headers={"Content-Type": "application/octet-stream", "Accept": "application/octet-stream", **AUTH},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            size = int(response.headers["Inference-Header-Content-Length"])
            raw = response.read()
    finally:
        server.shutdown()
        server.server_close()
        triton.stop()
    header = json.loads(raw[:size])
    (output,) = header["outputs"]
    assert output["datatype"] == "FP32" and output["parameters"]["binary_data_size"] == 4 * values
    np.testing.assert_array_equal(np.frombuffer(raw[size:], dtype="<f4"), np.tile(x.reshape(-1), values // 4))
    # softmax over 250,000 logits of 8 and 750,000 of 0: the top class's probability
    assert header["confidence"] == pytest.approx(1 / (values / 4 + 3 * values / 4 * np.exp(-8.0)), rel=1e-6)
    assert 0 < header["confidence"] < 1 and header["source"] == "server"
    assert len(raw) == size + 4 * values  # no JSON copy of the tensor


def test_the_gateways_memory_is_bounded(docs, tmp_path, monkeypatch):
    """The pod's memory limit covers the gateway's bounds (its answer budget held twice, plus its
    base); an answer above max_output_bytes is refused, and answers that would pass the budget get
    503 busy instead of growing the process."""
    from edgespec.emit.common import BASE_MEMORY_MIB

    gateway = json.loads(docs["ConfigMap"]["data"]["gateway.json"])
    container = next(c for c in docs["Deployment"]["spec"]["template"]["spec"]["containers"] if c["name"] == "gateway")
    limit = int(container["resources"]["limits"]["memory"].removesuffix("Mi"))
    assert limit == BASE_MEMORY_MIB + 2 * gateway["output_budget_bytes"] // 2**20
    assert gateway["max_output_bytes"] <= gateway["output_budget_bytes"] and gateway["max_inflight"] >= 4
    values = 300_000  # 1.2 MB of FP32 per answer
    tiled_onnx(tmp_path / "model.onnx", values)
    triton = StandInTriton(tmp_path / "model.onnx", gateway["server_model"])
    x = np.array([[8.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    binary = {"Accept": "application/octet-stream", **AUTH}
    for bound, setting, status in (
        ("max_output_bytes", 1_000_000, 503),
        ("output_budget_bytes", 1_000_000, 503),
        ("output_budget_bytes", 2_000_000, 200),
    ):
        settings = {**gateway, bound: setting, "server_timeout_ms": 10_000}  # bounds, not the clock, decide
        edited = {**docs, "ConfigMap": {"data": {"gateway.json": json.dumps(settings)}}}
        router, server, base = start_gateway(edited, tmp_path, monkeypatch, triton.url)
        try:
            request = urllib.request.Request(f"{base}/v1/infer", data=x.tobytes(), method="POST", headers=binary)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    got = response.status
            except urllib.error.HTTPError as err:
                got = err.code
                reason = json.loads(err.read())["error"]
                assert ("busy" in reason) == (bound == "output_budget_bytes"), reason
            assert got == status, (bound, setting)
            deadline = time.monotonic() + 5  # given back once the answer is written (after the client has it)
            while router.budget.used and time.monotonic() < deadline:
                time.sleep(0.01)
            assert router.budget.used == 0
        finally:
            server.shutdown()
            server.server_close()
    triton.stop()


def test_requests_beyond_max_inflight_are_turned_away(docs, tmp_path, monkeypatch):
    """One request in flight at max_inflight 1 (a slow model server): the next gets 503 at once."""
    gateway = json.loads(docs["ConfigMap"]["data"]["gateway.json"])
    tiled_onnx(tmp_path / "model.onnx", 4)

    class Slow(StandInTriton):
        def _respond(self, method, path, headers, body):
            if method == "POST":
                time.sleep(1.0)
            return super()._respond(method, path, headers, body)

    triton = Slow(tmp_path / "model.onnx", gateway["server_model"])
    settings = {**gateway, "max_inflight": 1, "server_timeout_ms": 5000}  # the slow server still answers
    edited = {**docs, "ConfigMap": {"data": {"gateway.json": json.dumps(settings)}}}
    router, server, base = start_gateway(edited, tmp_path, monkeypatch, triton.url)
    x = np.array([[1.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    try:
        first: list = []
        worker = threading.Thread(target=lambda: first.append(call(f"{base}/v1/infer", x.tobytes())))
        worker.start()
        time.sleep(0.3)
        start = time.perf_counter()
        status, body = call(f"{base}/v1/infer", x.tobytes())
        assert status == 503 and "busy" in body["error"] and time.perf_counter() - start < 0.5
        worker.join()
        assert first[0][0] == 200
    finally:
        server.shutdown()
        server.server_close()
        triton.stop()


def test_the_gateway_requires_the_secrets_token(docs, tmp_path, monkeypatch):
    """The pod mounts the Secret <workload>-gateway-token where gateway.json says; without the right
    bearer token a request is refused, and a gateway whose token file is missing does not start."""
    gateway = json.loads(docs["ConfigMap"]["data"]["gateway.json"])
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "gateway")
    volumes = {v["name"]: v for v in pod["volumes"] if "secret" in v}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert set(volumes) == {"gateway-token", "gateway-tls"}
    assert gateway["auth"]["token_file"] == f"{mounts['gateway-token']['mountPath']}/token"
    assert volumes["gateway-token"]["secret"]["secretName"] == f"{docs['Deployment']['metadata']['name']}-gateway-token"
    # HTTPS with the kubernetes.io/tls Secret's files (tls.crt, tls.key); probes speak HTTPS too
    assert gateway["tls"] == {
        "cert_file": f"{mounts['gateway-tls']['mountPath']}/tls.crt",
        "key_file": f"{mounts['gateway-tls']['mountPath']}/tls.key",
    }
    assert volumes["gateway-tls"]["secret"]["secretName"] == f"{docs['Deployment']['metadata']['name']}-gateway-tls"
    assert all(mounts[name]["readOnly"] for name in volumes)
    assert (
        container["readinessProbe"]["httpGet"]["scheme"] == container["livenessProbe"]["httpGet"]["scheme"] == "HTTPS"
    )
    assert not any(d.get("kind") == "Secret" for d in docs.values() if isinstance(d, dict))  # never emitted
    tiled_onnx(tmp_path / "model.onnx", 4)
    triton = StandInTriton(tmp_path / "model.onnx", gateway["server_model"])
    router, server, base = start_gateway(docs, tmp_path, monkeypatch, triton.url)
    x = np.array([[1.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    try:
        assert call(f"{base}/v1/infer", x.tobytes(), auth={})[0] == 401
        assert call(f"{base}/v1/infer", x.tobytes(), auth={"Authorization": "Bearer wrong"})[0] == 401
        assert call(f"{base}/v1/infer", x.tobytes())[0] == 200
        assert urllib.request.urlopen(f"{base}/healthz", timeout=5).status == 200  # probes need no token
        with pytest.raises(OSError):  # plain HTTP is not served: the port speaks TLS only
            urllib.request.urlopen(base.replace("https://", "http://") + "/healthz", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
        triton.stop()
    monkeypatch.setenv("EDGESPEC_TOKEN_FILE", str(tmp_path / "absent"))
    with pytest.raises(SystemExit, match="cannot read the gateway's token"):
        router.__class__(gateway, tmp_path)
