"""Qualcomm AI Hub: a profile job's results (`ProfileJob.download_profile()` saved as JSON, as the
Snapdragon bundle's aihub.py saves `<model>-<runtime>-profile.json`).

`execution_summary.estimated_inference_time` is AI Hub's inference time in microseconds, and
profiles of format 1.2 on also list `all_inference_times` (qai_hub/client.py,
_profile_pb_to_python_dict). With the list the record takes its percentiles; without it, AI Hub's
estimate as the p50.
"""

from __future__ import annotations

import json

from edgespec.measure.importers.common import ImportError_, Timing, from_samples

TOOL = "qai-hub"


def parse(text: str) -> Timing:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportError_(f"not JSON: {exc.msg}", exc.lineno) from None
    summary = data.get("execution_summary") if isinstance(data, dict) else None
    if not isinstance(summary, dict):
        raise ImportError_(
            "no execution_summary: not an AI Hub profile",
            hint="pass the JSON of ProfileJob.download_profile() (the bundle's build/aihub/*-profile.json)",
        )
    times = summary.get("all_inference_times")
    if isinstance(times, list) and times and all(isinstance(t, int | float) and t > 0 for t in times):
        return from_samples([t / 1000 for t in times])
    micros = summary.get("estimated_inference_time")
    if not isinstance(micros, int | float) or micros <= 0:
        raise ImportError_("the profile has no inference time (execution_summary.estimated_inference_time)")
    return Timing(micros / 1000, notes="AI Hub estimated_inference_time")
