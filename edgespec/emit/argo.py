"""Argo Rollouts for a workload served on Kubernetes (Wavelength / EC2 nodes).

A canary `Rollout` that takes over the emitted Deployment (`workloadRef`), with a `setWeight` and
`pause` step per `rollout.stages` entry, and an `AnalysisTemplate` run in the background from the
first step: a failed analysis aborts the rollout and sends all traffic back to the stable pods.

Each metric of the analysis is a Prometheus query over what the gateway in the pod really
exports (router.py in server mode: edgespec_requests_total, edgespec_errors_total,
edgespec_request_duration_seconds, edgespec_confidence, edgespec_feedback_total), selected by the
`rollouts_pod_template_hash` label that Argo puts on canary and stable pods. Every query returns
exactly one finite number (no traffic or no labels yet read as 0), so a quiet canary is not
mistaken for a failing one.
"""

from __future__ import annotations

from edgespec.spec.models import Spec

WINDOW = "5m"            # rate window of error rate, latency and confidence
ACCURACY_WINDOW = "30m"  # labels arrive slowly: a longer window for labelled-feedback accuracy
INTERVAL = "1m"
FAILURE_LIMIT = 2        # a measurement may fail twice; the third failure fails the analysis


def template_name(workload: str) -> str:
    return f"{workload}-rollback"


def _sel(workload: str, which: str, extra: str = "") -> str:
    return f'{{workload="{workload}",rollouts_pod_template_hash="{{{{args.{which}-hash}}}}"{extra}}}'


def _ratio(numerator: str, denominator: str) -> str:
    """numerator / denominator, 0 when there is no traffic (never NaN, never empty)."""
    return f"(sum(rate({numerator}[{WINDOW}])) / clamp_min(sum(rate({denominator}[{WINDOW}])), 1e-9)) or vector(0)"


def _accuracy(workload: str, which: str) -> str:
    correct, everything = _sel(workload, which, ',result="correct"'), _sel(workload, which)
    return (f"sum(rate(edgespec_feedback_total{correct}[{ACCURACY_WINDOW}])) / "
            f"sum(rate(edgespec_feedback_total{everything}[{ACCURACY_WINDOW}]))")


def _mean_confidence(workload: str, which: str) -> str:
    s = _sel(workload, which)
    return f"sum(rate(edgespec_confidence_sum{s}[{WINDOW}])) / sum(rate(edgespec_confidence_count{s}[{WINDOW}]))"


def criteria(spec: Spec, workload: str) -> list[dict]:
    """[{name, threshold, query, explanation}]: the rollback criteria as analysis metrics."""
    rollback = spec.rollout.rollback if spec.rollout else None
    lat = spec.workloads[workload].latency
    budget = (rollback.latency_p95_ms if rollback and rollback.latency_p95_ms else None) or lat.p95_ms \
        or lat.p99_ms or lat.p50_ms
    canary = _sel(workload, "canary")
    out = []
    if rollback and rollback.error_rate is not None:
        out.append({"name": "error-rate", "threshold": rollback.error_rate,
                    "query": _ratio(f"edgespec_errors_total{canary}", f"edgespec_requests_total{canary}"),
                    "explanation": "canary errors / canary requests"})
    out.append({"name": "latency-p95-ms", "threshold": budget,
                "query": f"((histogram_quantile(0.95, sum by (le) (rate(edgespec_request_duration_seconds_bucket"
                         f"{canary}[{WINDOW}]))) * 1000) >= 0) or vector(0)",
                "explanation": "canary p95 latency (ms) against the budget"})
    if rollback and rollback.accuracy_drop is not None:
        out.append({"name": "accuracy-drop", "threshold": rollback.accuracy_drop,
                    "query": f"(({_accuracy(workload, 'stable')}) - ({_accuracy(workload, 'canary')}) > -2) or vector(0)",
                    "explanation": "stable minus canary labelled-feedback accuracy (0 until labels arrive)"})
        out.append({"name": "confidence-drop", "threshold": rollback.accuracy_drop,
                    "query": f"(({_mean_confidence(workload, 'stable')}) - ({_mean_confidence(workload, 'canary')})"
                             " > -2) or vector(0)",
                    "explanation": "stable minus canary mean top-class confidence (the accuracy proxy)"})
    return out


def analysis_template(spec: Spec, workload: str, labels: dict, prometheus: str) -> dict:
    metrics = [{
        "name": c["name"],
        "interval": INTERVAL,
        "failureLimit": FAILURE_LIMIT,
        "successCondition": f"result[0] <= {c['threshold']:g}",
        "provider": {"prometheus": {"address": "{{args.prometheus-address}}", "query": c["query"]}},
    } for c in criteria(spec, workload)]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": template_name(workload), "labels": labels},
        "spec": {
            "args": [{"name": "canary-hash"}, {"name": "stable-hash"},
                     {"name": "prometheus-address", "value": prometheus}],
            "metrics": metrics,
        },
    }


def steps(spec: Spec) -> list[dict]:
    out: list[dict] = []
    for stage in spec.rollout.stages:
        out.append({"setWeight": max(1, round(stage.percent))})
        if stage.soak:
            out.append({"pause": {"duration": f"{int(stage.soak)}s"}})
    return out


def rollout(spec: Spec, workload: str, labels: dict, selector: dict, replicas: int) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": workload, "labels": labels},
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector},
            "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload},
            "strategy": {"canary": {
                "steps": steps(spec),
                "analysis": {
                    "templates": [{"templateName": template_name(workload)}],
                    "startingStep": 1,  # from the first canary pods on
                    "args": [{"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}},
                             {"name": "stable-hash", "valueFrom": {"podTemplateHashValue": "Stable"}}],
                },
            }},
        },
    }
