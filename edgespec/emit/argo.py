"""Argo Rollouts for a workload served on Kubernetes (Wavelength / EC2 nodes).

A canary `Rollout` that takes over the emitted Deployment (`workloadRef`), with a `setWeight` and
`pause` step per `rollout.stages` entry, and an `AnalysisTemplate` run in the background from the
first step: a failed analysis aborts the rollout and sends all traffic back to the stable pods.

Each metric of the analysis is one of the spec's rollback criteria (rollback.py) over what the
gateway in the pod really exports, with canary and stable pods told apart by the
`rollouts_pod_template_hash` label that Argo puts on them.

Those queries read 0 when the canary's series are missing, so a scrape that drops the pod
label would make every check pass unseen. One more metric, `canary-reporting`, guards that: it
counts the canary pods' `edgespec_package_info` series and is inconclusive (neither success nor
failure) when there are none, which pauses the rollout for a person instead of promoting blind.
"""

from __future__ import annotations

from edgespec.emit import rollback
from edgespec.spec.models import Spec


def template_name(workload: str) -> str:
    return f"{workload}-rollback"


def _pods(workload: str) -> rollback.Select:
    def select(which: str, extra: str) -> str:
        return f'{{workload="{workload}",rollouts_pod_template_hash="{{{{args.{which}-hash}}}}"{extra}}}'

    return select


REPORTING_DELAY = "5m"  # time for canary pods to fetch the model, load it and be scraped


def analysis_template(spec: Spec, workload: str, labels: dict, prometheus: str) -> dict:
    canary = _pods(workload)("canary", "")
    reporting = {
        "name": "canary-reporting",
        "initialDelay": REPORTING_DELAY,
        "interval": f"{rollback.INTERVAL_S}s",
        "successCondition": "result[0] >= 1",
        "failureCondition": "result[0] < 0",  # never: no series is inconclusive, which pauses
        "provider": {
            "prometheus": {"address": "{{args.prometheus-address}}", "query": rollback.reporting_query(canary)}
        },
    }
    metrics = [reporting] + [
        {
            "name": c["name"],
            "interval": f"{rollback.INTERVAL_S}s",
            "failureLimit": rollback.FAILURE_LIMIT,
            "successCondition": f"result[0] <= {c['threshold']:g}",
            "provider": {"prometheus": {"address": "{{args.prometheus-address}}", "query": c["query"]}},
        }
        for c in rollback.criteria(spec, workload, _pods(workload))
    ]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": template_name(workload), "labels": labels},
        "spec": {
            "args": [
                {"name": "canary-hash"},
                {"name": "stable-hash"},
                {"name": "prometheus-address", "value": prometheus},
            ],
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
            "strategy": {
                "canary": {
                    "steps": steps(spec),
                    "analysis": {
                        "templates": [{"templateName": template_name(workload)}],
                        "startingStep": 1,  # from the first canary pods on
                        "args": [
                            {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}},
                            {"name": "stable-hash", "valueFrom": {"podTemplateHashValue": "Stable"}},
                        ],
                    },
                }
            },
        },
    }
