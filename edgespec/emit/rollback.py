"""The spec's rollback criteria as PromQL over the series the routers and gateways export.

One definition serves both engines that act on them: Argo Rollouts' AnalysisTemplate (canary and
stable pods told apart by `rollouts_pod_template_hash`) and the Greengrass rollout watcher
(canary and stable devices told apart by the `package` label). `select(which)` gives the label
matchers of "canary" or "stable". Every query returns exactly one finite number: no traffic or
no labels yet read as 0, so a quiet canary is not mistaken for a failing one.

A fleet's devices are separate series (`instance`, the OTLP resource's service.instance.id), and
the sums above pool them: twelve canary devices at 20 ms hide one at 400 ms. For device fleets
`criteria(..., per_device=True)` adds the worst canary device's p95 against the same budget (a
latency budget holds on every device, not on their mix), as `topk(1, ...)` so that the series
that fails names its device.
"""

from __future__ import annotations

from collections.abc import Callable

from edgespec.emit.common import budget_ms
from edgespec.spec.models import Spec

WINDOW = "5m"  # rate window of error rate, latency and confidence
ACCURACY_WINDOW = "30m"  # labels arrive slowly: a longer window for labelled-feedback accuracy
INTERVAL_S = 60  # one measurement a minute
FAILURE_LIMIT = 2  # a measurement may fail twice; the third failure fails the analysis

DEVICE = "instance"  # the label that tells a fleet's devices apart (OTLP service.instance.id)

Select = Callable[[str, str], str]  # (which, extra matchers) -> "{...}"


def _ratio(numerator: str, denominator: str) -> str:
    """numerator / denominator, 0 when there is no traffic (never NaN, never empty)."""
    return f"(sum(rate({numerator}[{WINDOW}])) / clamp_min(sum(rate({denominator}[{WINDOW}])), 1e-9)) or vector(0)"


def _accuracy(select: Select, which: str) -> str:
    correct, everything = select(which, ',result="correct"'), select(which, "")
    return (
        f"sum(rate(edgespec_feedback_total{correct}[{ACCURACY_WINDOW}])) / "
        f"sum(rate(edgespec_feedback_total{everything}[{ACCURACY_WINDOW}]))"
    )


def _mean_confidence(select: Select, which: str) -> str:
    s = select(which, "")
    return f"sum(rate(edgespec_confidence_sum{s}[{WINDOW}])) / sum(rate(edgespec_confidence_count{s}[{WINDOW}]))"


def reporting_query(canary: str) -> str:
    """How many canary processes report at all (edgespec_package_info per `canary` selector): with
    none, the criteria judge nothing."""
    return f"count(edgespec_package_info{canary}) or vector(0)"


def latency_budget_ms(spec: Spec, workload: str) -> float:
    rollback = spec.rollout.rollback if spec.rollout else None
    return (rollback.latency_p95_ms if rollback else None) or budget_ms(spec, workload)


def criteria(spec: Spec, workload: str, select: Select, per_device: bool = False) -> list[dict]:
    """[{name, threshold, query, explanation}]: each passes while the query's value <= threshold."""
    rollback = spec.rollout.rollback if spec.rollout else None
    canary = select("canary", "")
    out = []
    if rollback and rollback.error_rate is not None:
        out.append(
            {
                "name": "error-rate",
                "threshold": rollback.error_rate,
                "query": _ratio(f"edgespec_errors_total{canary}", f"edgespec_requests_total{canary}"),
                "explanation": "canary errors / canary requests",
            }
        )
    out.append(
        {
            "name": "latency-p95-ms",
            "threshold": latency_budget_ms(spec, workload),
            "query": f"((histogram_quantile(0.95, sum by (le) (rate(edgespec_request_duration_seconds_bucket"
            f"{canary}[{WINDOW}]))) * 1000) >= 0) or vector(0)",
            "explanation": "canary p95 latency (ms) against the budget",
        }
    )
    if per_device:
        out.append(
            {
                "name": "device-latency-p95-ms",
                "threshold": latency_budget_ms(spec, workload),
                "query": f"topk(1, (histogram_quantile(0.95, sum by (le, {DEVICE}) (rate("
                f"edgespec_request_duration_seconds_bucket{canary}[{WINDOW}]))) * 1000) >= 0) "
                "or vector(0)",
                "explanation": "p95 latency (ms) of the slowest canary device against the budget",
            }
        )
    if rollback and rollback.accuracy_drop is not None:
        out.append(
            {
                "name": "accuracy-drop",
                "threshold": rollback.accuracy_drop,
                "query": f"(({_accuracy(select, 'stable')}) - ({_accuracy(select, 'canary')}) > -2) or vector(0)",
                "explanation": "stable minus canary labelled-feedback accuracy (0 until labels arrive)",
            }
        )
        out.append(
            {
                "name": "confidence-drop",
                "threshold": rollback.accuracy_drop,
                "query": f"(({_mean_confidence(select, 'stable')}) - ({_mean_confidence(select, 'canary')})"
                " > -2) or vector(0)",
                "explanation": "stable minus canary mean top-class confidence (the accuracy proxy)",
            }
        )
    return out
