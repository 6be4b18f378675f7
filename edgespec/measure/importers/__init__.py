"""Importers: the output of the benchmark tools people run, as measurement records.

Each module reads one tool's output (text in, `Timing` out, pure) and says where its format is
defined. The tool does not know the catalog's hardware id or the spec's model name, so the command
line adds them (`edgespec measurements import`). Registered here by explicit import.
"""

from __future__ import annotations

from edgespec.measure.importers import aihub, benchmark_model, harness, loadgen, ort_perf, trtexec
from edgespec.measure.importers.common import ImportError_, Timing

IMPORTERS = {
    "trtexec": trtexec,
    "benchmark_model": benchmark_model,
    "onnxruntime_perf_test": ort_perf,
    "mlperf-loadgen": loadgen,
    "qai-hub": aihub,
    "edgespec-bench": harness,
}

__all__ = ["IMPORTERS", "ImportError_", "Timing"]
