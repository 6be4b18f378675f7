"""trtexec (TensorRT): `--exportTimes=FILE` and `--exportProfile=FILE`.

--exportTimes writes one object per inference of the timing trace, warm-up included:
`[{"startEnqMs", "endEnqMs", "startH2dMs", "endH2dMs", "startComputeMs", "endComputeMs",
"startD2hMs", "endD2hMs", "h2dMs", "computeMs", "d2hMs", "latencyMs", "endToEndMs"}, ...]`
(TensorRT samples/common/sampleReporting.cpp, exportJSONTrace). trtexec's own summary leaves out
the inferences that started computing within the warm-up (`--warmUp`, 200 ms by default) and
reports `latencyMs` (H2D + compute + D2H) as "Latency"; so does this importer.

--exportProfile writes per-layer times: `[{"count": N}, {"name", "timeMs", "averageMs",
["medianMs",] "percentage"}, ...]` (Profiler::exportJSONProfile). Their sum is the mean GPU time
of one inference without transfers, so the record says so in its notes and has no tail.
"""

from __future__ import annotations

import json

from edgespec.device import bench
from edgespec.measure.importers.common import ImportError_, Timing, from_samples

TOOL = "trtexec"
WARMUP_MS = bench.TRTEXEC_WARMUP_MS


def parse(text: str, warmup_ms: float = WARMUP_MS) -> Timing:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportError_(f"not JSON: {exc.msg}", exc.lineno) from None
    if not isinstance(data, list) or not data or not all(isinstance(x, dict) for x in data):
        raise ImportError_("expected a JSON array of objects, as --exportTimes and --exportProfile write")
    if "latencyMs" in data[0]:
        return _times(data, warmup_ms)
    if "count" in data[0]:
        return _profile(data)
    raise ImportError_(
        "neither a --exportTimes trace (objects with latencyMs) nor an --exportProfile (a leading {count})",
        hint="pass the file trtexec wrote for --exportTimes or --exportProfile",
    )


def _times(trace: list[dict], warmup_ms: float) -> Timing:
    try:
        timed = bench.trtexec_latencies(trace, warmup_ms)
    except (KeyError, TypeError, ValueError) as exc:
        raise ImportError_(f"a trace entry lacks a number for {exc}") from None
    if not timed:
        raise ImportError_(
            f"every inference of the trace started within the {warmup_ms:g} ms warm-up",
            hint="run trtexec longer (--duration), or pass the --warmUp it ran with",
        )
    return from_samples(timed, "trtexec Latency: H2D + GPU compute + D2H per inference")


def _profile(layers: list[dict]) -> Timing:
    count = layers[0].get("count")
    try:
        mean = sum(float(layer["averageMs"]) for layer in layers[1:])
    except (KeyError, TypeError, ValueError) as exc:
        raise ImportError_(f"a layer entry lacks a number for {exc}") from None
    if not layers[1:] or mean <= 0:
        raise ImportError_("the profile lists no layer times")
    return Timing(
        mean,
        samples=count if isinstance(count, int) and count > 0 else None,
        notes="trtexec --exportProfile: sum of the layers' mean GPU times (no transfers; a mean, not a median)",
    )
