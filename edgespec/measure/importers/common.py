"""What every importer returns, and the percentile rule they share."""

from __future__ import annotations

from typing import NamedTuple

from edgespec.device import bench


class Timing(NamedTuple):
    """Latency figures read from a tool's output, in milliseconds."""

    p50_ms: float
    p95_ms: float | None = None
    p99_ms: float | None = None
    samples: int | None = None
    batch: int | None = None  # when the output says (the command line may too)
    notes: str | None = None  # what the figures are, when not plain per-inference percentiles
    tokens_per_s: float | None = None


class ImportError_(ValueError):  # noqa: N801 - not the builtin ImportError
    """The output is not what the tool writes; `line` (1-based) where that shows, if known."""

    def __init__(self, message: str, line: int | None = None, hint: str | None = None):
        super().__init__(message)
        self.line = line
        self.hint = hint


def from_samples(values_ms: list[float], notes: str | None = None) -> Timing:
    """p50/p95/p99 of per-inference times, by the rule the bundles' harness uses (nearest rank;
    p95/p99 only with 20 and 100 samples): edgespec/device/bench.py's `summary`."""
    if not values_ms:
        raise ImportError_("no timings to take percentiles of")
    s = bench.summary(values_ms)
    return Timing(s["p50_ms"], s["p95_ms"], s["p99_ms"], s["samples"], notes=notes)
