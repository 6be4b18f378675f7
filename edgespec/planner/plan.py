"""The plan stage: Spec → Plan, with ES5xx diagnostics at the workloads' positions."""

from __future__ import annotations

from collections import defaultdict

from edgespec.diagnostics import Diagnostic, sort_key
from edgespec.diagnostics.codes import diag
from edgespec.load.sourcemap import SourceMap
from edgespec.planner import candidates as cands
from edgespec.planner import device as device_mod
from edgespec.planner import estimate, select
from edgespec.planner.types import Candidate, Plan, WorkloadPlan
from edgespec.spec.models import Spec


def plan(spec: Spec, source: SourceMap) -> tuple[Plan, list[Diagnostic]]:
    """Plan every workload of a valid spec."""
    devices = {name: device_mod.resolve(name, t) for name, t in spec.targets.items()}
    memo: dict = {}
    workloads: dict[str, WorkloadPlan] = {}
    diagnostics: list[Diagnostic] = []
    for name in spec.workloads:
        ctx = cands.context(spec, name, devices, memo)
        candidates = cands.enumerate_all(ctx)
        chosen = select.best(ctx.workload.objective, candidates)
        workloads[name] = WorkloadPlan(name, ctx.workload.objective, chosen, tuple(candidates),
                                       why(ctx.workload.objective, chosen, candidates))
        if chosen is None:
            diagnostics.append(_infeasible(name, candidates, source))
        else:
            diagnostics += _missing_figures(name, chosen, ctx, source)
    diagnostics += _oversubscribed(workloads, source)
    return Plan(workloads), sorted(diagnostics, key=sort_key)


def why(objective: str, chosen: Candidate | None, candidates: list[Candidate]) -> str:
    """One line on the decision: what won on the objective, and why the other patterns lost."""
    misses = select.nearest_misses(candidates)
    feasible_patterns = {c.pattern for c in candidates if c.feasible}
    lost = [f"{p}: {misses[p].reasons[0]}" for p in sorted(misses) if p not in feasible_patterns]
    if chosen is None:
        return "; ".join(lost) or "no candidate could be formed (no targets for any pattern)"
    e = chosen.estimates
    metric = {"latency": f"p95 {e.p95_ms:.1f} ms", "energy": f"{e.energy_mj:.1f} mJ/inference",
              "accuracy": f"accuracy {e.accuracy:.3f}",
              "cost": f"${e.cost_usd_per_month:,.2f}/month" if e.cost_usd_per_month is not None
              else f"${e.cost_usd_per_1k:.4f}/1k"}[objective]
    others = len(feasible_patterns - {chosen.pattern})
    head = f"best {objective} ({metric})" + (f" of {others + 1} feasible patterns" if others else "")
    return head + (f"; {lost[0]}" if lost else "")


def _at(source: SourceMap, pointer: str) -> dict:
    _, span = source.locate(pointer, key=True)
    return dict(file=source.file, line=span.line, column=span.column, end_line=span.end_line,
                end_column=span.end_column, pointer=pointer)


def _infeasible(name: str, candidates: list[Candidate], source: SourceMap) -> Diagnostic:
    misses = select.nearest_misses(candidates)
    detail = "; ".join(f"{p}: {misses[p].reasons[0]}" for p in sorted(misses))
    return diag("ES501", f"no feasible plan for workload {name!r}: {detail or 'no candidates'}",
                hint=f"relax the constraint named above, or run `edgespec plan --explain {name}`",
                **_at(source, f"/workloads/{name}"))


def _missing_figures(name: str, chosen: Candidate, ctx: cands.Context, source: SourceMap) -> list[Diagnostic]:
    out = []
    for placement in chosen.placements:
        dev = ctx.devices[placement.target]
        if placement.role == "remote" and dev.rtt_ms is None:
            out.append(diag("ES503", f"{name}: {placement.target} has no network.rtt_ms; the plan leaves the "
                            "round trip out", **_at(source, f"/targets/{placement.target}")))
    if chosen.pattern in ("cloud", "mec", "split", "cascade"):
        for dev in ctx.sources:
            if dev.uplink_mbps is None:
                out.append(diag("ES503", f"{name}: {dev.target} has no network.uplink_mbps; upload time is left out",
                                **_at(source, f"/targets/{dev.target}")))
    return out


def _oversubscribed(workloads: dict[str, WorkloadPlan], source: SourceMap) -> list[Diagnostic]:
    load: dict[str, float] = defaultdict(float)
    names: dict[str, list[str]] = defaultdict(list)
    for name, wp in workloads.items():
        if wp.chosen is None or wp.chosen.estimates.utilisation is None:
            continue
        for target in {p.target for p in wp.chosen.placements if p.role == "device"}:
            load[target] += wp.chosen.estimates.utilisation
            names[target].append(name)
    return [diag("ES502", f"{target} runs {', '.join(sorted(names[target]))}: together {busy:.0%} busy "
                 f"(limit {estimate.UTILISATION_HEADROOM:.0%})", **_at(source, f"/targets/{target}"))
            for target, busy in sorted(load.items())
            if busy > estimate.UTILISATION_HEADROOM and len(names[target]) > 1]
