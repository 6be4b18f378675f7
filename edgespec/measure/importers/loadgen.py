"""MLPerf Inference LoadGen: `mlperf_log_summary.txt`.

A SingleStream run's summary reports each query's latency: `Scenario : SingleStream`, `Result is :
VALID`, then under "Additional Stats" `50.00 percentile latency (ns) : ...`, `95.00 ...`,
`99.00 ...` (nanoseconds) and `Min/Max/Mean latency (ns)` (mlcommons/inference loadgen/results.cc).
Other scenarios time a load, not one inference, so they are refused. An INVALID run is imported
with that said in the notes: its percentiles are still what was measured.
"""

from __future__ import annotations

import re

from edgespec.measure.importers.common import ImportError_, Timing

TOOL = "mlperf-loadgen"
FIELD = re.compile(r"^([^:\n]+?)\s*:\s*(.+?)\s*$", re.M)
PROCESSED = re.compile(r"Processed at least \d+ queries \((\d+)\)")


def parse(text: str) -> Timing:
    fields = {k.strip(): v for k, v in FIELD.findall(text)}
    if "MLPerf Results Summary" not in text or "Scenario" not in fields:
        raise ImportError_(
            "not an MLPerf LoadGen summary (no 'MLPerf Results Summary' with a Scenario)",
            hint="pass mlperf_log_summary.txt from the run's output directory",
        )
    scenario = fields["Scenario"]
    if scenario != "SingleStream":
        raise ImportError_(
            f"a {scenario} run measures a load, not one inference's latency",
            hint="import a SingleStream run (--scenario SingleStream)",
        )

    def ns(q: str) -> float | None:
        v = fields.get(f"{q} percentile latency (ns)")
        return float(v) / 1e6 if v is not None else None

    p50 = ns("50.00")
    if p50 is None:
        raise ImportError_("the summary has no '50.00 percentile latency (ns)'")
    valid = fields.get("Result is")
    notes = None if valid == "VALID" else f"LoadGen result: {valid or 'unknown'}"
    processed = PROCESSED.search(text)  # the early-stopping block counts the queries run
    return Timing(p50, ns("95.00"), ns("99.00"), int(processed.group(1)) if processed else None, notes=notes)
