"""A real Prometheus (Debian's `prometheus` package, installed by scripts/test.sh) holding series
the test writes: backfilled with `promtool tsdb create-blocks-from openmetrics`, then served on
127.0.0.1, so the emitted PromQL is evaluated by Prometheus itself, not by a stand-in that
matches query strings.

`Device(instance, labels, rps, latency_s, confidence)` is one device's router: its request rate
and the latency and confidence of every answer, as the router exports them (the same series
names, label sets and histogram buckets), sampled every 15 s over the last 30 minutes.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)  # router.py's
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
STEP_S, SPAN_S = 15, 1800


@dataclass
class Device:
    instance: str
    labels: dict
    rps: float
    latency_s: float
    confidence: float = 0.9


def _labels(labels: dict) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def openmetrics(devices: list[Device], now: int) -> str:
    times = range(now - SPAN_S, now - 5, STEP_S)
    out = ["# TYPE edgespec_package_info gauge"]
    for d in devices:
        out += [
            f"edgespec_package_info{_labels({**d.labels, 'instance': d.instance, 'mode': 'server'})} 1 {t}"
            for t in times
        ]
    out.append("# TYPE edgespec_requests counter")
    for d in devices:
        key = _labels({**d.labels, "instance": d.instance, "outcome": "server"})
        out += [f"edgespec_requests_total{key} {d.rps * (t - times[0]):.3f} {t}" for t in times]
    out.append("# TYPE edgespec_errors counter")
    for d in devices:
        key = _labels({**d.labels, "instance": d.instance, "stage": "server"})
        out += [f"edgespec_errors_total{key} 0 {t}" for t in times]
    for name, buckets, value in (
        ("edgespec_request_duration_seconds", LATENCY_BUCKETS, "latency_s"),
        ("edgespec_confidence", CONFIDENCE_BUCKETS, "confidence"),
    ):
        out.append(f"# TYPE {name} histogram")
        for d in devices:
            labels = {**d.labels, "instance": d.instance}
            for t in times:
                n = d.rps * (t - times[0])
                observed = getattr(d, value)
                out += [
                    f"{name}_bucket{_labels({**labels, 'le': str(b)})} {n if observed <= b else 0:.3f} {t}"
                    for b in buckets
                ]
                out += [
                    f"{name}_bucket{_labels({**labels, 'le': '+Inf'})} {n:.3f} {t}",
                    f"{name}_count{_labels(labels)} {n:.3f} {t}",
                    f"{name}_sum{_labels(labels)} {n * observed:.4f} {t}",
                ]
    out.append("# EOF")
    return "\n".join(out) + "\n"


def tools() -> tuple[str, str]:
    found = shutil.which("prometheus"), shutil.which("promtool")
    assert all(found), "prometheus/promtool not found: scripts/test.sh installs Debian's prometheus package"
    return found


class Prometheus:
    def __init__(self, folder: Path, devices: list[Device]):
        prometheus, promtool = tools()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "series.om").write_text(openmetrics(devices, int(time.time())))
        subprocess.run(
            [promtool, "tsdb", "create-blocks-from", "openmetrics", str(folder / "series.om"), str(folder / "data")],
            check=True,
            capture_output=True,
        )
        (folder / "prometheus.yml").write_text("global: {}\n")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(folder / "prometheus.log", "w")
        self.process = subprocess.Popen(
            [
                prometheus,
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/-/ready", timeout=1)
                break
            except OSError:
                assert self.process.poll() is None and time.monotonic() < deadline, (
                    folder / "prometheus.log"
                ).read_text()
                time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()
