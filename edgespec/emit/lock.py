"""edgespec.lock.json: what was compiled, from what, with which tools, and every file's hash."""

from __future__ import annotations

from edgespec import __version__
from edgespec.emit.package import file_hashes, sha256
from edgespec.emit.serialize import json_bytes
from edgespec.planner.types import Plan
from edgespec.spec.models import Spec
from edgespec.spec.targets import device_count

LOCK_VERSION = 1


def plan_summary(plan: Plan, spec: Spec) -> dict:
    """Each workload's chosen plan as the lock (and `edgespec diff`) records it, with the p95 budget
    it was planned against (None: none declared); None when infeasible."""
    summary = {}
    for name, wp in sorted(plan.workloads.items()):
        c = wp.chosen
        latency = spec.workloads[name].latency if name in spec.workloads else None
        summary[name] = (
            None
            if c is None
            else {
                "pattern": c.pattern,
                "placements": [
                    {
                        "target": p.target,
                        "role": p.role,
                        "model": p.model,
                        "recipe": p.recipe.label(),
                        # the declared source this target's bundle fetches, and its conversion
                        "source": p.source.as_json() if p.source is not None else None,
                    }
                    for p in c.placements
                ],
                "estimates": {
                    "latency": c.estimates.basis,
                    "p50_ms": round(c.estimates.p50_ms, 3),
                    "p95_ms": round(c.estimates.p95_ms, 3),
                    "p99_ms": round(c.estimates.p99_ms, 3),
                    # the budgets the plan was made for (None: not budgeted at that percentile)
                    "p50_budget_ms": latency.p50_ms if latency else None,
                    "p95_budget_ms": latency.p95_ms if latency else None,
                    "p99_budget_ms": latency.p99_ms if latency else None,
                    "accuracy": round(c.estimates.accuracy, 4),
                    "energy_mj": None if c.estimates.energy_mj is None else round(c.estimates.energy_mj, 3),
                    "instances": c.estimates.instances,
                    "cost_usd_per_month": None
                    if c.estimates.cost_usd_per_month is None
                    else round(c.estimates.cost_usd_per_month, 2),
                },
            }
        )
    return summary


def fleet_entries(spec: Spec) -> dict:
    """Each target as the lock records it: hardware, count, power mode, instance type, zone, region."""
    return {
        name: {
            k: v
            for k, v in (
                ("hardware", t.hardware),
                ("count", device_count(t)),
                ("power_mode", t.power_mode),
                ("instance_type", t.instance_type),
                ("zone", t.zone),
                ("region", t.region),
            )
            if v is not None
        }
        for name, t in sorted(spec.targets.items())
    }


def rollout_entries(spec: Spec) -> list[dict]:
    return [{"percent": s.percent, "soak_s": s.soak} for s in spec.rollout.stages] if spec.rollout else []


def lock(
    spec_text: str,
    spec: Spec,
    plan: Plan,
    files: dict[str, bytes],
    toolchain: dict,
    measurements: tuple[tuple[str, str], ...] = (),
) -> bytes:
    """The lock's document. `measurements`: (path as named, sha256) of each measurement file the
    plan read; with the spec's digest they pin what the plan was made from."""
    summary = plan_summary(plan, spec)
    return json_bytes(
        {
            "version": LOCK_VERSION,
            "compiler": {"name": "edgespec", "version": __version__},
            "spec": {"sha256": sha256(spec_text.encode("utf-8")), "labels": dict(sorted(spec.metadata.labels.items()))},
            "measurements": [{"path": path, "sha256": digest} for path, digest in measurements],
            "plan": summary,
            "rollout": rollout_entries(spec),
            "targets": fleet_entries(spec),
            "toolchain": {k: v.get("image") or v["version"] for k, v in sorted(toolchain.items())},
            "files": file_hashes(files),
        }
    )
