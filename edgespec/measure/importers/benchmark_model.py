"""TFLite / LiteRT `benchmark_model`: its log.

The tool logs one statistics line per phase, warm-up first, then the timed runs:
`count=1000 first=52162 curr=49785 min=49088 max=686105 avg=63743.2 std=60716 p5=49620
median=51891 p95=68628` (microseconds; p5/median/p95 in recent versions, earlier ones stop at
`std`), then `Inference timings in us: Init: ..., First inference: ..., Warmup (avg): ...,
Inference (avg): ...` (tensorflow/lite/tools/benchmark/benchmark_model.cc,
BenchmarkLoggingListener::OnBenchmarkEnd; the statistics line is tensorflow/core/util/stats_calculator's
Stat output). The last statistics line before the summary is the timed runs. Without a median
the record takes the mean and says so.
"""

from __future__ import annotations

import re

from edgespec.measure.importers.common import ImportError_, Timing

TOOL = "benchmark_model"
STAT = re.compile(r"count=(\d+)\s+first=\S+\s+curr=\S+\s+min=\S+\s+max=\S+\s+avg=([0-9.e+-]+)(.*)")
SUMMARY = "Inference timings in us:"


def parse(text: str) -> Timing:
    lines = text.splitlines()
    end = next((i for i, line in enumerate(lines) if SUMMARY in line), None)
    if end is None:
        raise ImportError_(
            f"no '{SUMMARY}' line: not a finished benchmark_model log",
            hint="pass the whole output of benchmark_model (stdout and stderr: 2>&1)",
        )
    stats = [(i, STAT.search(line)) for i, line in enumerate(lines[:end])]
    found = [(i, m) for i, m in stats if m]
    if not found:
        raise ImportError_("no statistics line (count=... avg=...) before the summary", end + 1)
    i, m = found[-1]
    count, avg, rest = int(m.group(1)), float(m.group(2)), m.group(3)
    extra = dict(re.findall(r"(\w+)=([0-9.e+-]+)", rest))
    if "median" in extra:
        p95 = float(extra["p95"]) / 1000 if "p95" in extra else None
        return Timing(float(extra["median"]) / 1000, p95, samples=count)
    return Timing(avg / 1000, samples=count, notes="benchmark_model mean (this version prints no median)")
