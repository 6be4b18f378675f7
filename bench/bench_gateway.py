"""Time the emitted Kubernetes gateway answering a large model output as binary data.

It compiles examples/ar-carrier-edge.yaml, starts the gateway the pod runs (its router.py and
gateway.json, over TLS, with the Secret's token) in front of a stand-in Triton (tests/kserve_stub.py,
ONNX Runtime on CPU) serving a model whose output has `--values` floats (a detector's: YOLOv8 has
705,600), and times `--requests` binary requests end to end from a client: the gateway asks the
server for binary outputs, computes the confidence over all of them, and writes the tensor's bytes.
The planned budget it must fit is the gateway's `server_timeout_ms`. tests/test_emit_argo.py checks
what the answer holds; this measures how long it takes (a wall-clock bound in a unit test failed
under the full suite's load).

Usage: python bench/bench_gateway.py [--values 1000000] [--requests 30]
Prints a markdown row; paste it into bench/README.md. No peer gateway serves these bundles.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.kserve_stub import StandInTriton  # noqa: E402
from tests.test_emit_argo import AUTH, gateway_docs, start_gateway, tiled_onnx  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        work = Path(tmp)
        docs = gateway_docs(work)
        gateway = json.loads(docs["ConfigMap"]["data"]["gateway.json"])
        tiled_onnx(work / "model.onnx", args.values)
        triton = StandInTriton(work / "model.onnx", gateway["server_model"])
        _, server, base = start_gateway(docs, work, mp, triton.url)
        url = f"{base}/v1/infer"
        x = np.array([[8.0, 0.0, 0.0, 0.0]], dtype=np.float32).tobytes()
        headers = {"Content-Type": "application/octet-stream", "Accept": "application/octet-stream", **AUTH}
        times = []
        try:
            for i in range(args.requests + 1):
                start = time.perf_counter()
                request = urllib.request.Request(url, data=x, method="POST", headers=headers)
                with urllib.request.urlopen(request, timeout=30) as response:
                    body = response.read()
                elapsed = (time.perf_counter() - start) * 1000
                assert len(body) > 4 * args.values
                if i:  # the first request warms the server's session and the model
                    times.append(elapsed)
        finally:
            server.shutdown()
            server.server_close()
            triton.stop()
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    print("| output values | requests | median | p95 | max | budget (server_timeout_ms) |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.values:,} | {len(times)} | {statistics.median(times):.1f} ms | {p95:.1f} ms "
        f"| {times[-1]:.1f} ms | {gateway['server_timeout_ms']} ms |"
    )


if __name__ == "__main__":
    main()
