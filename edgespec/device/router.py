"""Inference router for edgespec deployments.

Settings come from a JSON file; this code is the same for every deployment.

cascade: the local model answers (on the device's model server: Triton with the TensorRT engine
         on a Jetson, the Edge TPU server on a Coral); when its confidence is below the threshold
         the raw input goes to the remote endpoint. If the remote fails or times out, the local
         answer is returned with "degraded": true (the device keeps answering with the uplink
         down); if the local server fails, the remote answers alone.
split:   the local model runs the layers before the cut and its output (the activations) goes to
         the remote endpoint, which runs the rest. With the uplink down, requests are queued (a
         bounded queue) and replayed when it returns; the caller gets 202 with a queue position.
server:  a gateway in front of a model server that speaks KServe v2 (Triton on Kubernetes and on
         a Jetson, the Edge TPU server on a Coral): it takes the same raw tensors the device
         routers send, runs them on the server (binary tensor data extension) and reports the
         same metrics. Standard library only; NumPy, when installed, makes large outputs faster.

llm:     a gateway in front of an OpenAI-compatible LLM server (vLLM): POST /v1/chat/completions
         and /v1/completions are passed through with the served model's name and the planned
         max_tokens as the default, streamed back chunk by chunk when the request asks for a
         stream, and cut off with 504 when the server sends nothing for the planned timeout.

Outputs travel as binary tensor data from the model server (KServe v2's binary data extension)
and stay in that buffer: confidence and the predicted class are one pass over it.

POST /v1/infer with the raw input tensor (little-endian, the model's input dtype and shape,
Content-Type application/octet-stream) or, where the settings declare an image input, with the
image itself (Content-Type image/jpeg or image/png): the router decodes it, resizes it to the
input's height and width, scales and normalises it, lays it out NCHW or NHWC (Pillow and NumPy),
and forwards the image as it came (not the tensor) when it escalates. The answer carries an "id".
With `Accept: application/octet-stream` the answer's outputs come as binary tensor data too: a
JSON header of `Inference-Header-Content-Length` bytes whose outputs give datatype, shape and
binary_data_size, then the tensors' bytes in order.

With a token configured (`auth.token_file`, or EDGESPEC_TOKEN_FILE), every POST needs
`Authorization: Bearer <token>` (401 otherwise); GET /healthz and /metrics stay open for probes
and scrapes. With a certificate configured (`tls.cert_file` and `tls.key_file`, or
EDGESPEC_TLS_CERT_FILE and EDGESPEC_TLS_KEY_FILE; the key may be in the certificate's file), the
router serves HTTPS only (TLS 1.2 or newer): gateways that clients reach over a network do.

The remote tier of a cascade or split is called over HTTPS (the system's CAs, or
EDGESPEC_REMOTE_CA_FILE / `remote_ca_file` for a private CA) with its bearer token
(EDGESPEC_REMOTE_TOKEN_FILE / `remote_token_file`); a plain http:// remote is refused unless it
is this host itself, so an input never crosses a network in clear text.

POST /v1/feedback {"id": ..., "label": <class index>} when a label arrives. GET /healthz, GET /metrics (Prometheus text). With a telemetry endpoint configured, the same
metrics are pushed as OTLP/HTTP JSON; exports that fail are kept in a bounded spool on disk and
sent, oldest first, once the endpoint answers again.
"""

import argparse
import collections
import hmac
import json
import math
import os
import pathlib
import struct
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROVIDERS = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
# KServe v2 datatypes -> struct codes (little-endian)
DATATYPES = {
    "FP32": "f",
    "FP16": "e",
    "FP64": "d",
    "UINT8": "B",
    "INT8": "b",
    "INT16": "h",
    "INT32": "i",
    "INT64": "q",
    "BOOL": "?",
}
ONNX_TYPES = {
    "tensor(float)": "FP32",
    "tensor(float16)": "FP16",
    "tensor(uint8)": "UINT8",
    "tensor(int8)": "INT8",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
}
ERRORS = (OSError, ValueError, KeyError)  # network failures (URLError, HTTPError) are OSErrors
# Memory is bounded: a model server's answer above max_output_bytes is an error; the answers held
# at once stay within output_budget_bytes (a request that would pass it gets 503); an answer above
# JSON_OUTPUT_BYTES goes to clients as binary tensor data only (as JSON text it would take several
# times its size); at most max_inflight requests are served at once (more get 503).
MAX_OUTPUT_BYTES = 16 * 1024 * 1024
OUTPUT_BUDGET_BYTES = 64 * 1024 * 1024
JSON_OUTPUT_BYTES = 1024 * 1024
MAX_INFLIGHT = 4


class Busy(OSError):
    """The gateway is at one of its bounds; the client may retry."""


class Budget:
    """Bytes of model-server answers held at once: taken before an answer is read, given back after."""

    def __init__(self, total):
        self.total, self.used = total, 0
        self.lock = threading.Lock()

    def take(self, n):
        with self.lock:
            if self.used + n > self.total:
                raise Busy(f"{self.used} of {self.total} answer bytes in use")
            self.used += n

    def give(self, n):
        with self.lock:
            self.used -= n


class Metrics:
    """Counters, gauges and histograms with labels: Prometheus text for scrapes, OTLP JSON for pushes."""

    def __init__(self, resource):
        self.resource = resource
        self.start_ns = time.time_ns()
        self.lock = threading.Lock()
        self.sums = {}  # (name, labels) -> int
        self.gauges = {}  # (name, labels) -> number
        self.histograms = {}  # (name, labels) -> [bounds, per-bucket counts, sum, count]

    def inc(self, name, labels, n=1):
        key = (name, tuple(sorted(labels.items())))
        with self.lock:
            self.sums[key] = self.sums.get(key, 0) + n

    def set(self, name, labels, value):
        with self.lock:
            self.gauges[(name, tuple(sorted(labels.items())))] = value

    def observe(self, name, labels, value, bounds):
        key = (name, tuple(sorted(labels.items())))
        with self.lock:
            h = self.histograms.setdefault(key, [bounds, [0] * (len(bounds) + 1), 0.0, 0])
            h[1][next((i for i, b in enumerate(bounds) if value <= b), len(bounds))] += 1
            h[2] += value
            h[3] += 1

    @staticmethod
    def _labels(labels, extra=()):
        return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in (*labels, *extra)) + "}"

    def prometheus(self):
        lines, typed = [], set()
        with self.lock:
            for (name, labels), value in sorted(self.sums.items()):
                if name not in typed:
                    lines.append(f"# TYPE {name}_total counter")
                    typed.add(name)
                lines.append(f"{name}_total{self._labels(labels)} {value}")
            for (name, labels), value in sorted(self.gauges.items()):
                if name not in typed:
                    lines.append(f"# TYPE {name} gauge")
                    typed.add(name)
                lines.append(f"{name}{self._labels(labels)} {value}")
            for (name, labels), (bounds, counts, total, count) in sorted(self.histograms.items()):
                if name not in typed:
                    lines.append(f"# TYPE {name} histogram")
                    typed.add(name)
                cumulative = 0
                for bound, n in zip((*bounds, "+Inf"), counts):
                    cumulative += n
                    lines.append(f"{name}_bucket{self._labels(labels, (('le', bound),))} {cumulative}")
                lines.append(f"{name}_sum{self._labels(labels)} {total}")
                lines.append(f"{name}_count{self._labels(labels)} {count}")
        return "\n".join(lines) + "\n"

    def otlp(self):
        """An ExportMetricsServiceRequest (OTLP/JSON), cumulative temporality."""
        now, start = str(time.time_ns()), str(self.start_ns)

        def attrs(labels):
            return [{"key": k, "value": {"stringValue": str(v)}} for k, v in labels]

        metrics = {}
        with self.lock:
            # Named as they are scraped (counters end in _total, the latency unit is in the name), so a
            # Prometheus-compatible backend shows the same series with or without OTLP name suffixes.
            for (name, labels), value in sorted(self.sums.items()):
                m = metrics.setdefault(
                    name,
                    {
                        "name": f"{name}_total",
                        "sum": {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": []},
                    },
                )
                m["sum"]["dataPoints"].append(
                    {"attributes": attrs(labels), "startTimeUnixNano": start, "timeUnixNano": now, "asInt": str(value)}
                )
            for (name, labels), value in sorted(self.gauges.items()):
                m = metrics.setdefault(name, {"name": name, "gauge": {"dataPoints": []}})
                m["gauge"]["dataPoints"].append(
                    {"attributes": attrs(labels), "timeUnixNano": now, "asDouble": float(value)}
                )
            for (name, labels), (bounds, counts, total, count) in sorted(self.histograms.items()):
                m = metrics.setdefault(
                    name, {"name": name, "histogram": {"aggregationTemporality": 2, "dataPoints": []}}
                )
                if name.endswith("_seconds"):
                    m["unit"] = "s"
                m["histogram"]["dataPoints"].append(
                    {
                        "attributes": attrs(labels),
                        "startTimeUnixNano": start,
                        "timeUnixNano": now,
                        "count": str(count),
                        "sum": total,
                        "bucketCounts": [str(n) for n in counts],
                        "explicitBounds": list(bounds),
                    }
                )
        return {
            "resourceMetrics": [
                {
                    "resource": {"attributes": attrs(sorted(self.resource.items()))},
                    "scopeMetrics": [{"scope": {"name": "edgespec.router"}, "metrics": list(metrics.values())}],
                }
            ]
        }


def _escape(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Spool:
    """OTLP exports that could not be sent, one file each, oldest first, at most `limit` files."""

    def __init__(self, directory, limit):
        self.dir = pathlib.Path(directory)
        self.limit = limit
        self.dir.mkdir(parents=True, exist_ok=True)
        self.seq = 0

    def files(self):
        return sorted(self.dir.glob("*.json"))

    def put(self, payload):
        """Keep one export; the oldest go when the spool is full. Returns how many were dropped."""
        self.seq += 1
        path = self.dir / f"{time.time_ns():020d}-{self.seq:06d}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(payload)
        os.replace(tmp, path)
        dropped = 0
        for old in self.files()[: -self.limit] if self.limit else []:
            old.unlink()
            dropped += 1
        return dropped


class Exporter:
    """Pushes the metrics to an OTLP/HTTP endpoint; spools what fails and drains the spool first."""

    def __init__(self, metrics, endpoint, spool, timeout_s=5.0):
        self.metrics = metrics
        self.url = endpoint.rstrip("/") + "/v1/metrics"
        self.spool = spool
        self.timeout_s = timeout_s

    def send(self, payload):
        request = urllib.request.Request(
            self.url, data=payload, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            response.read()

    def export(self):
        """One export cycle: the spooled exports, oldest first, then the current snapshot. An
        export the endpoint refuses outright (a 4xx other than 408/429) is dropped, not retried:
        it would block the spool forever."""
        payload = json.dumps(self.metrics.otlp(), separators=(",", ":")).encode()
        try:
            for path in self.spool.files():
                if not self._delivered(path.read_bytes()):
                    self.metrics.inc("edgespec_telemetry_dropped", {})
                path.unlink()
            if not self._delivered(payload):
                self.metrics.inc("edgespec_telemetry_dropped", {})
            return True
        except ERRORS:
            dropped = self.spool.put(payload)
            if dropped:
                self.metrics.inc("edgespec_telemetry_dropped", {}, dropped)
            return False

    def _delivered(self, payload):
        """True when sent, False when refused for good; raises while the endpoint is unreachable."""
        try:
            self.send(payload)
            return True
        except urllib.error.HTTPError as err:
            if 400 <= err.code < 500 and err.code not in (408, 429):
                return False
            raise

    def run(self, interval_s, stop):
        while not stop.wait(interval_s):
            self.export()


class Router:
    def __init__(self, config, base):
        self.config = config
        self.mode = config["mode"]
        package = os.environ.get("EDGESPEC_PACKAGE") or _package(base)
        # on every series: which package served it (a rollout compares canary and stable by it)
        self.workload = {"workload": config["workload"], "target": config.get("target", ""), "package": package}
        self.metrics = Metrics(
            {
                "service.name": f"edgespec-router-{config['workload']}",
                "service.version": package,
                "service.instance.id": device_id(),
                "edgespec.workload": config["workload"],
                "edgespec.mode": self.mode,
            }
        )
        self.metrics.set("edgespec_package_info", {**self.workload, "mode": self.mode}, 1)
        self.input = None  # (name, datatype, shape) once known
        # A KServe v2 model server runs the local model (server mode, cascade); else ONNX Runtime (split head).
        self.server = os.environ.get("EDGESPEC_SERVER_URL") or config.get("server_url")
        if not self.server and self.mode != "llm":
            import onnxruntime as ort

            available = set(ort.get_available_providers())
            self.session = ort.InferenceSession(
                str(base / config["local_model"]), providers=[p for p in PROVIDERS if p in available]
            )
            i = self.session.get_inputs()[0]
            self.input = (i.name, ONNX_TYPES[i.type], [d if isinstance(d, int) else 1 for d in i.shape])
        # The remote's address exists only once it is deployed: EDGESPEC_REMOTE_URL overrides the file.
        self.url = os.environ.get("EDGESPEC_REMOTE_URL") or config.get("remote_url", "")
        self.remote_tls = remote_context(
            self.url, os.environ.get("EDGESPEC_REMOTE_CA_FILE") or config.get("remote_ca_file")
        )
        self.remote_token = _token(
            os.environ.get("EDGESPEC_REMOTE_TOKEN_FILE") or config.get("remote_token_file"), "the remote tier's token"
        )
        self.queue = collections.deque(maxlen=config.get("queue_limit", 1))
        self.slots = threading.BoundedSemaphore(config.get("max_inflight", MAX_INFLIGHT))
        self.budget = Budget(config.get("output_budget_bytes", OUTPUT_BUDGET_BYTES))
        self.held = threading.local()  # the answer bytes this request holds, until its answer is sent
        self.token = _token(os.environ.get("EDGESPEC_TOKEN_FILE") or (config.get("auth") or {}).get("token_file"))
        self.answers = collections.OrderedDict()  # id -> predicted class, for labelled feedback
        self.lock = threading.Lock()
        self.exporter = None
        telemetry = config.get("telemetry")
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or (telemetry or {}).get("endpoint")
        if telemetry and endpoint:
            spool = Spool(os.environ.get("EDGESPEC_SPOOL_DIR") or telemetry["spool_dir"], telemetry["spool_limit"])
            self.exporter = Exporter(self.metrics, endpoint, spool)

    # -- the stages ------------------------------------------------------------------------------
    def expected_bytes(self):
        if self.input is None:
            self.input = self._server_input()
        _, datatype, shape = self.input
        return math.prod(shape) * struct.calcsize("<" + DATATYPES[datatype])

    def _server_input(self):
        meta = self._get(f"{self.server}/v2/models/{self.config['server_model']}")
        first = meta["inputs"][0]
        return first["name"], first["datatype"], [d if d > 0 else 1 for d in first["shape"]]

    def _get(self, url):
        with urllib.request.urlopen(url, timeout=self.config["server_timeout_ms"] / 1000) as response:
            return json.loads(response.read())

    def local(self, payload):
        """The model's outputs: flat lists of numbers from the model server (server mode, cascade), or
        arrays from ONNX Runtime (a split head, whose output is only forwarded)."""
        name, datatype, shape = self.input
        if self.server:
            header = json.dumps(
                {
                    "inputs": [
                        {
                            "name": name,
                            "shape": shape,
                            "datatype": datatype,
                            "parameters": {"binary_data_size": len(payload)},
                        }
                    ],
                    "parameters": {"binary_data_output": True},
                }
            ).encode()
            request = urllib.request.Request(
                f"{self.server}/v2/models/{self.config['server_model']}/infer",
                data=header + payload,
                method="POST",
                headers={
                    "Content-Type": "application/octet-stream",
                    "Inference-Header-Content-Length": str(len(header)),
                },
            )
            limit = self.config.get("max_output_bytes", MAX_OUTPUT_BYTES)
            with urllib.request.urlopen(request, timeout=self.config["server_timeout_ms"] / 1000) as response:
                declared = int(response.headers.get("Content-Length") or limit)
                if declared > limit:
                    raise ValueError(f"the model server's answer is {declared} bytes, above max_output_bytes ({limit})")
                self.hold(declared)  # Busy when the answers in flight would pass the budget
                body = response.read(declared + 1)
                if len(body) > declared:
                    raise ValueError("the model server sent more than its Content-Length")
                return _kserve_outputs(body, response.headers.get("Inference-Header-Content-Length"))
        import numpy as np

        tensor = np.frombuffer(payload, dtype=np.dtype("<" + DATATYPES[datatype])).reshape(shape)
        return [np.asarray(o) for o in self.session.run(None, {name: tensor})]

    @staticmethod
    def confidence(outputs):
        """Top-class probability of the first output; logits go through a softmax first (whose top
        is 1 / sum(exp(s - max))). One pass over the output: O(n)."""
        np = _numpy()
        if np is not None:
            scores = np.asarray(_flat(outputs[0]), dtype=np.float64).reshape(-1)
            if scores.size == 0:
                return 0.0
            top = float(scores.max())
            if scores.min() < 0 or top > 1 or abs(float(scores.sum()) - 1) > 1e-3:
                return float(1.0 / np.exp(scores - top).sum())
            return top
        scores = _flat(outputs[0])
        if not len(scores):
            return 0.0
        top = max(scores)
        if min(scores) < 0 or top > 1 or abs(math.fsum(scores) - 1) > 1e-3:
            return 1.0 / math.fsum(math.exp(s - top) for s in scores)
        return float(top)

    def authorized(self, header):
        """Without a token configured (a device's router, on its loopback) every caller is; with one,
        only `Authorization: Bearer <token>`, compared in constant time."""
        if self.token is None:
            return True
        scheme, _, given = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token)

    def hold(self, n):
        self.budget.take(n)
        self.held.bytes = getattr(self.held, "bytes", 0) + n

    def release(self):
        """Give back what this request held (the handler calls it once the answer is written)."""
        self.budget.give(getattr(self.held, "bytes", 0))
        self.held.bytes = 0

    def remote(self, payload, content_type="application/octet-stream"):
        if not self.url:
            raise OSError("no remote endpoint configured (set EDGESPEC_REMOTE_URL)")
        headers = {"Content-Type": content_type}
        if self.remote_token:
            headers["Authorization"] = "Bearer " + self.remote_token.decode()
        request = urllib.request.Request(self.url, data=payload, method="POST", headers=headers)
        with urllib.request.urlopen(
            request, timeout=self.config["remote_timeout_ms"] / 1000, context=self.remote_tls
        ) as response:
            return json.loads(response.read())

    def count(self, outcome):
        self.metrics.inc("edgespec_requests", {**self.workload, "outcome": outcome})

    def error(self, stage):
        self.metrics.inc("edgespec_errors", {**self.workload, "stage": stage})

    def remember(self, outputs):
        """An id for the answer, kept (bounded) so a label arriving later can be scored."""
        predicted = _argmax(outputs[0]) if outputs else None
        answer_id = uuid.uuid4().hex
        with self.lock:
            self.answers[answer_id] = predicted
            while len(self.answers) > 10_000:
                self.answers.popitem(last=False)
        return answer_id

    def feedback(self, answer_id, label):
        with self.lock:
            predicted = self.answers.pop(answer_id, "unknown")
        if predicted == "unknown":
            return None
        correct = predicted == label
        self.metrics.inc("edgespec_feedback", {**self.workload, "result": "correct" if correct else "incorrect"})
        return correct

    # -- one request -----------------------------------------------------------------------------
    def infer(self, payload, sent=None):
        """One request: `payload` is the input tensor; `sent` is (body, content type) as the client
        sent it, which is what a cascade escalates (an image stays an image on the uplink)."""
        forward = sent or (payload, "application/octet-stream")
        try:
            outputs = self.local(payload)
        except ERRORS as err:
            if isinstance(err, Busy) and self.mode != "cascade":  # a cascade's remote tier may answer
                self.count("busy")
                return 503, {"error": "busy: too many answers in flight; retry"}
            self.error("server" if self.mode == "server" else "local")
            if self.mode == "cascade":  # the device's model is down: the remote tier answers alone
                try:
                    result = self.remote(*forward)
                    self.count("escalated")
                    remote_outputs = result.get("outputs") if isinstance(result, dict) else None
                    return 200, {
                        "source": "remote",
                        "confidence": None,
                        "result": result,
                        "id": self.remember(remote_outputs),
                    }
                except ERRORS:
                    self.error("remote")
            self.count("error")
            return 503, {"error": "the model server did not answer"}
        if self.mode in ("cascade", "server"):
            confidence = self.confidence(outputs)
            self.metrics.observe("edgespec_confidence", self.workload, confidence, CONFIDENCE_BUCKETS)
            answer = {
                "source": "server" if self.mode == "server" else "local",
                "confidence": confidence,
                "outputs": outputs,
            }  # buffers: the handler writes them as JSON or binary data
            if self.mode == "server" or confidence >= self.config["confidence_below"]:
                self.count("server" if self.mode == "server" else "local")
                return 200, {**answer, "id": self.remember(outputs)}
            self.metrics.inc("edgespec_escalations", self.workload)
            try:
                result = self.remote(*forward)
                self.count("escalated")
                remote_outputs = result.get("outputs") if isinstance(result, dict) else None
                return 200, {
                    "source": "remote",
                    "confidence": confidence,
                    "result": result,
                    "id": self.remember(remote_outputs or outputs),
                }
            except ERRORS:
                self.error("remote")
                self.count("degraded")
                return 200, {**answer, "degraded": True, "id": self.remember(outputs)}
        activations = _tobytes(outputs[0])
        try:
            self.drain()
            result = self.remote(activations)
            self.count("forwarded")
            remote_outputs = result.get("outputs") if isinstance(result, dict) else None
            return 200, {"source": "remote", "result": result, "id": self.remember(remote_outputs)}
        except ERRORS:
            self.error("remote")
            with self.lock:
                self.queue.append(activations)
                depth = len(self.queue)
            self.count("queued")
            return 202, {"queued": True, "position": depth}

    def drain(self):
        """Replay queued activations, oldest first, while the remote answers."""
        while True:
            with self.lock:
                if not self.queue:
                    return
                item = self.queue[0]
            self.remote(item)  # raises while the uplink is down; the item stays queued
            with self.lock:
                if self.queue and self.queue[0] is item:
                    self.queue.popleft()
            self.count("replayed")

    def prometheus(self):
        with self.lock:
            depth = len(self.queue)
        self.metrics.set("edgespec_queue_depth", self.workload, depth)
        return self.metrics.prometheus()


def _token(path, what="the gateway's token"):
    """A bearer token from a file the platform's secret store fills (a Kubernetes Secret volume, a
    file the instance fetched from Secrets Manager). A configured file that is missing or empty
    stops the router: a gateway never serves open, and a remote is never called without it."""
    if not path:
        return None
    try:
        token = pathlib.Path(path).read_text().strip().encode()
    except OSError as err:
        raise SystemExit(f"{path}: cannot read {what} ({err.strerror}); the router does not start without it")
    if not token:
        raise SystemExit(f"{path}: {what} is empty")
    return token


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def remote_context(url, cafile=None):
    """The TLS context for the remote tier: https with the system's CAs, or `cafile` for a private
    CA. Plain http only to this host itself; anything else stops the router with the fix."""
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        import ssl

        try:
            return ssl.create_default_context(cafile=cafile)
        except OSError as err:
            raise SystemExit(f"{cafile}: cannot read the remote tier's CA ({err.strerror})")
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return None
    raise SystemExit(
        f"{url}: the remote tier must be called over https:// (inputs would cross the network in "
        "clear text); the edgespec gateways serve TLS with the certificate you give them"
    )


def server_tls(config):
    """The TLS context of this router's own port, when a certificate is configured (else None)."""
    tls = config.get("tls") or {}
    cert = os.environ.get("EDGESPEC_TLS_CERT_FILE") or tls.get("cert_file")
    key = os.environ.get("EDGESPEC_TLS_KEY_FILE") or tls.get("key_file") or None
    if not cert:
        return None
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as err:
        raise SystemExit(f"{cert}: cannot load the router's certificate and key ({err})")
    return context


def device_id():
    """Which device this is, on every exported series (OTLP's service.instance.id, the `instance`
    label in Prometheus), so a fleet's devices stay apart: EDGESPEC_DEVICE_ID, else the Greengrass
    thing name (AWS_IOT_THING_NAME, set for components), else the host name."""
    import socket

    return os.environ.get("EDGESPEC_DEVICE_ID") or os.environ.get("AWS_IOT_THING_NAME") or socket.gethostname()


def _numpy():
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def _flat(values):
    """The values of a tensor in one flat sequence: an array or buffer as it is (no copy), nested
    lists flattened."""
    if not isinstance(values, (list, tuple)) or not any(isinstance(v, (list, tuple)) for v in values):
        return values
    out = []
    for v in values:
        if isinstance(v, (list, tuple)):
            out.extend(_flat(v))
        else:
            out.append(v)
    return out


def _argmax(values):
    """The index of the largest value (the predicted class), in one pass; None when empty."""
    values = _flat(values)
    np = _numpy()
    if np is not None:
        array = np.asarray(values).reshape(-1)
        return int(array.argmax()) if array.size else None
    best, index = None, None
    for i, v in enumerate(values):
        if best is None or v > best:
            best, index = v, i
    return index


IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG"}  # Content-Type -> the format Pillow must find
MAX_PIXELS = 50_000_000  # larger images are refused before they are decoded (decompression bombs)


def image_tensor(data, content_type, spec):
    """An encoded image -> the model's input tensor (little-endian bytes), as the settings' `input`
    says: decoded (Pillow), converted to RGB (grey for one channel), resized to the input's width and
    height (bilinear with antialiasing, as torchvision's Resize on images), then for float inputs
    scaled to [0, 1] and normalised per channel, laid out NCHW or NHWC, batch of one. Raises
    ValueError for anything that is not such an image."""
    import io

    import numpy as np
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=[IMAGE_TYPES[content_type]]) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ValueError(f"image of {image.width}x{image.height} pixels is too large")
            image = image.convert("RGB" if spec["channels"] == 3 else "L")
            image = image.resize((spec["width"], spec["height"]), Image.Resampling.BILINEAR)
    except (OSError, SyntaxError, Image.DecompressionBombError) as err:  # truncated or not that format
        raise ValueError(f"not a readable {IMAGE_TYPES[content_type]} image ({err})") from None
    array = np.asarray(image, dtype=np.uint8).reshape(spec["height"], spec["width"], spec["channels"])
    if spec["dtype"] != "uint8":
        array = array.astype(np.float32) / np.float32(255)
        if spec.get("mean") is not None:
            array = (array - np.asarray(spec["mean"], np.float32)) / np.asarray(spec["std"], np.float32)
    if spec["layout"] == "NCHW":
        array = array.transpose(2, 0, 1)
    return np.ascontiguousarray(array[None], dtype=np.dtype(spec["dtype"]).newbyteorder("<")).tobytes()


def _decode(data, datatype):
    """A tensor's values from its little-endian bytes: a NumPy array when NumPy is installed, else
    a memoryview over the bytes (neither copies them)."""
    code = DATATYPES[datatype]
    np = _numpy()
    if np is not None:
        return np.frombuffer(data, dtype=np.dtype("<" + code))
    if code == "e" or sys.byteorder != "little":  # no native view: unpack (half floats, big-endian hosts)
        return struct.unpack(f"<{len(data) // struct.calcsize(code)}{code}", data)
    return memoryview(data).cast(code)


def _kserve_outputs(body, header_size):
    """A KServe v2 answer's outputs: binary tensor data after a JSON header of `header_size` bytes
    (the binary data extension), or JSON data when the server sent none."""
    if header_size is None:
        return [o["data"] for o in json.loads(body)["outputs"]]
    size = int(header_size)
    header = json.loads(body[:size])
    data = memoryview(body)[size:]
    outputs, offset = [], 0
    for o in header["outputs"]:
        n = (o.get("parameters") or {}).get("binary_data_size")
        if n is None:
            outputs.append(o["data"])
            continue
        outputs.append(_decode(data[offset : offset + n], o["datatype"]))
        offset += n
    return outputs


KSERVE_OF = {
    "f": "FP32",
    "e": "FP16",
    "d": "FP64",
    "B": "UINT8",
    "b": "INT8",
    "h": "INT16",
    "i": "INT32",
    "q": "INT64",
    "?": "BOOL",
}  # memoryview formats
KSERVE_OF_NUMPY = {
    "float32": "FP32",
    "float16": "FP16",
    "float64": "FP64",
    "uint8": "UINT8",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "bool": "BOOL",
}


def _binary(values):
    """(KServe datatype, little-endian bytes) of an output, for a binary answer."""
    values = _flat(values)
    np = _numpy()
    if np is not None:
        array = np.asarray(values)
        if array.dtype.name not in KSERVE_OF_NUMPY:
            array = array.astype(np.float32)
        return KSERVE_OF_NUMPY[array.dtype.name], array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
    if isinstance(values, memoryview) and values.format in KSERVE_OF and sys.byteorder == "little":
        return KSERVE_OF[values.format], values.tobytes()
    floats = [float(v) for v in values]
    return "FP32", struct.pack(f"<{len(floats)}f", *floats)


def _jsonable(values):
    """An output as JSON can carry it: a list of numbers."""
    values = _flat(values)
    if isinstance(values, list):
        return values
    if hasattr(values, "tolist"):
        return values.tolist()
    return list(values)


def _nbytes(values):
    """The size of an output's values as binary data."""
    values = _flat(values)
    if hasattr(values, "nbytes"):
        return values.nbytes
    return len(values) * 4  # lists and memoryview casts: 4 bytes a value or fewer


def _tobytes(values):
    import numpy as np

    return np.ascontiguousarray(values).tobytes()


def _package(base):
    """The package identity from the target's package.json (one level above the router), if any."""
    for path in (base / "package.json", base.parent / "package.json"):
        if path.is_file():
            return json.loads(path.read_text())["package"]
    return "unversioned"


def handler(router):
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status, body, content_type="application/json"):
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _answer(self, status, body):
            """An inference answer: its outputs as JSON lists, or as binary tensor data after a JSON
            header when the client accepts application/octet-stream."""
            outputs = body.pop("outputs", None)
            if outputs is None:
                return self._send(status, body)
            if "application/octet-stream" not in (self.headers.get("Accept") or ""):
                size = sum(_nbytes(o) for o in outputs)
                if size > JSON_OUTPUT_BYTES:
                    return self._send(
                        406,
                        {
                            "error": f"the outputs are {size} bytes: ask for them as binary tensor "
                            "data (Accept: application/octet-stream)"
                        },
                    )
                return self._send(status, {**body, "outputs": [_jsonable(o) for o in outputs]})
            tensors = [_binary(o) for o in outputs]
            header = json.dumps(
                {
                    **body,
                    "outputs": [
                        {
                            "datatype": datatype,
                            "shape": [len(data) // struct.calcsize(DATATYPES[datatype])],
                            "parameters": {"binary_data_size": len(data)},
                        }
                        for datatype, data in tensors
                    ],
                }
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Inference-Header-Content-Length", str(len(header)))
            self.send_header("Content-Length", str(len(header) + sum(len(d) for _, d in tensors)))
            self.end_headers()
            self.wfile.write(header)
            for _, data in tensors:
                self.wfile.write(data)

        def log_message(self, *args):  # quiet: the metrics carry the counts
            pass

        def do_GET(self):  # noqa: N802 - http.server's naming
            if self.path == "/healthz":
                self._send(200, {"workload": router.config["workload"], "mode": router.mode})
            elif self.path == "/metrics":
                self._send(200, router.prometheus(), "text/plain; version=0.0.4")
            else:
                self._send(404, {"error": "not found"})

        def _generate(self, length):
            """llm mode: the request to the LLM server, its answer passed through (streamed)."""
            if length > router.config.get("max_body_bytes", 1_000_000):
                router.count("rejected")
                return self._send(413, {"error": "request body too large"})
            try:
                body = json.loads(self.rfile.read(length))
                if not isinstance(body, dict):
                    raise ValueError("not an object")
            except ValueError:
                router.count("rejected")
                return self._send(400, {"error": "expected a JSON request (OpenAI API)"})
            body["model"] = router.config["server_model"]  # the planned model, whatever the client names
            if router.config.get("max_tokens"):
                body.setdefault("max_tokens", router.config["max_tokens"])  # what the plan assumed
            request = urllib.request.Request(
                router.server + self.path,
                data=json.dumps(body).encode(),
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            start = time.perf_counter()
            try:
                response = urllib.request.urlopen(request, timeout=router.config["server_timeout_ms"] / 1000)
            except urllib.error.HTTPError as err:  # the server's own answer (400, 404, ...): passed on
                router.count("error")
                data = err.read()
                self.send_response(err.code)
                self.send_header("Content-Type", err.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                return self.wfile.write(data)
            except TimeoutError:
                router.error("server")
                router.count("timeout")
                return self._send(504, {"error": "the LLM server did not answer within the planned timeout"})
            except OSError:
                router.error("server")
                router.count("error")
                return self._send(503, {"error": "the LLM server did not answer"})
            with response:
                self.send_response(response.status)
                self.send_header("Content-Type", response.headers.get("Content-Type", "application/json"))
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()  # no length: the answer streams until the server closes it
                try:
                    while True:
                        chunk = response.read1(65536)  # what has arrived, without waiting for more
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except TimeoutError:  # the stream stalled for the planned timeout
                    router.error("server")
                    router.count("timeout")
                    self.close_connection = True
                    return None
            router.count("server")
            router.metrics.observe(
                "edgespec_request_duration_seconds", router.workload, time.perf_counter() - start, LATENCY_BUCKETS
            )
            return None

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            if not router.authorized(self.headers.get("Authorization")):
                router.count("unauthorized")
                self.close_connection = True  # the body is not read
                return self._send(401, {"error": "a bearer token is required (Authorization: Bearer <token>)"})
            if router.mode == "llm":
                if self.path not in ("/v1/chat/completions", "/v1/completions"):
                    return self._send(404, {"error": "not found"})
                return self._generate(length)
            if self.path == "/v1/feedback":
                try:
                    body = json.loads(self.rfile.read(min(length, 4096)))
                    correct = router.feedback(str(body["id"]), int(body["label"]))
                except (ValueError, KeyError, TypeError):
                    return self._send(400, {"error": 'expected {"id": "<answer id>", "label": <class index>}'})
                if correct is None:
                    return self._send(404, {"error": "unknown or expired answer id"})
                return self._send(200, {"correct": correct})
            if self.path != "/v1/infer":
                return self._send(404, {"error": "not found"})
            if not router.slots.acquire(blocking=False):  # bounded memory: at most max_inflight at once
                router.count("busy")
                return self._send(503, {"error": "busy: too many requests in flight; retry"})
            try:
                return self._infer(length)
            finally:
                router.release()
                router.slots.release()

        def _infer(self, length):
            content_type = (self.headers.get("Content-Type") or "application/octet-stream").split(";")[0]
            content_type = content_type.strip().lower()
            image = router.config.get("input")
            if content_type in IMAGE_TYPES and image is None:
                router.count("rejected")
                return self._send(415, {"error": "this model takes raw tensors (application/octet-stream)"})
            if content_type in IMAGE_TYPES and length > image["max_bytes"]:
                router.count("rejected")
                return self._send(413, {"error": f"an image may have at most {image['max_bytes']} bytes"})
            try:
                expected = router.expected_bytes()
            except ERRORS:
                router.error("server")
                router.count("error")
                return self._send(503, {"error": "the model server did not answer"})
            _, datatype, shape = router.input
            start = time.perf_counter()  # decoding is part of the request's latency
            if content_type in IMAGE_TYPES:
                sent = (self.rfile.read(length), content_type)
                try:
                    tensor = image_tensor(sent[0], content_type, image)
                except ValueError as err:
                    router.count("rejected")
                    return self._send(400, {"error": str(err)})
                if len(tensor) != expected:  # the settings and the server disagree: a broken bundle
                    router.error("decode")
                    router.count("error")
                    return self._send(
                        500,
                        {
                            "error": f"the decoded image is {len(tensor)} bytes; the model "
                            f"server takes {expected} bytes of {datatype} {shape}"
                        },
                    )
                status, body = router.infer(tensor, sent)
            elif length != expected:
                router.count("rejected")
                hint = " or a JPEG/PNG image (Content-Type image/jpeg, image/png)" if image else ""
                return self._send(400, {"error": f"expected {expected} bytes of {datatype} {shape}{hint}"})
            else:
                status, body = router.infer(self.rfile.read(length))
            elapsed = time.perf_counter() - start
            router.metrics.observe("edgespec_request_duration_seconds", router.workload, elapsed, LATENCY_BUCKETS)
            body["latency_ms"] = elapsed * 1000
            self._answer(status, body)

    return Handler


def serve(config_path, host="127.0.0.1", port=None):
    path = pathlib.Path(config_path).resolve()
    router = Router(json.loads(path.read_text()), path.parent)
    server = ThreadingHTTPServer((host, router.config["port"] if port is None else port), handler(router))
    context = server_tls(router.config)
    if context:  # the handshake happens in the request's thread, not in the accept loop
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return router, server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("config", help="the router's JSON settings")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="instead of the port in the settings")
    args = parser.parse_args()
    router, server = serve(args.config, args.host, args.port)
    if router.exporter:
        stop = threading.Event()
        interval = float(os.environ.get("EDGESPEC_EXPORT_INTERVAL_S") or router.config["telemetry"]["interval_s"])
        threading.Thread(target=router.exporter.run, args=(interval, stop), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
