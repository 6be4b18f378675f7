"""ONNX Runtime `onnxruntime_perf_test`: its standard output, or its result file.

The tool prints `Total inference requests: N` and `Average inference time cost: X ms`, and with
statistics `P50 Latency: 0.00231 s`, `P90`, `P95`, `P99`, `P999` (seconds; nearest rank on the
sorted times). Given a result file it writes one CSV line per run, `model,seconds,peak working
set,CPU %,run` (onnxruntime/test/perftest/performance_runner.cc, PerformanceResult::DumpToFile).
"""

from __future__ import annotations

import re

from edgespec.measure.importers.common import ImportError_, Timing, from_samples

TOOL = "onnxruntime_perf_test"
LATENCY = re.compile(r"^P(50|95|99) Latency: ([0-9.e+-]+) s\s*$", re.M)
REQUESTS = re.compile(r"^Total inference requests: (\d+)", re.M)
AVERAGE = re.compile(r"^Average inference time cost: ([0-9.e+-]+) ms", re.M)


def parse(text: str) -> Timing:
    found = {k: float(v) * 1000 for k, v in LATENCY.findall(text)}
    requests = REQUESTS.search(text)
    samples = int(requests.group(1)) if requests else None
    if "50" in found:
        return Timing(found["50"], found.get("95"), found.get("99"), samples)
    runs = _result_file(text)
    if runs:
        return from_samples(runs)
    average = AVERAGE.search(text)
    if average:
        return Timing(float(average.group(1)), samples=samples, notes="onnxruntime_perf_test mean")
    raise ImportError_(
        "no 'P50 Latency', no per-run result lines and no 'Average inference time cost'",
        hint="pass onnxruntime_perf_test's standard output, or the result file it was given",
    )


def _result_file(text: str) -> list[float]:
    runs = []
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split(",")
        if len(parts) != 5:
            continue
        try:
            runs.append(float(parts[1]) * 1000)
        except ValueError:
            raise ImportError_(f"result line {n}: {parts[1]!r} is not seconds", n) from None
    return runs
