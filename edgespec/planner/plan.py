"""The plan stage: Spec → Plan, with ES5xx diagnostics at the workloads' positions.

Workloads are planned independently (only the device-load check looks across them), so a large
spec is planned by this process and forked workers together, one per core: each claims the next
chunk of workloads from a shared counter until none is left, and the results are merged in spec
order, so the plan is the same whatever the number of processes. This process plans its own
chunks in place (only the workers' results cross a pipe). Unless `keep_all` is asked for (`plan
--explain`, tests), a workload keeps only the candidates its outputs show: the chosen one and the
closest miss per pattern and target.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from edgespec.diagnostics import Diagnostic, sort_key
from edgespec.diagnostics.codes import diag
from edgespec.load.sourcemap import SourceMap
from edgespec.planner import candidates as cands
from edgespec.planner import device as device_mod
from edgespec.planner import constraints, estimate, select
from edgespec.planner.types import Candidate, Plan, WorkloadPlan
from edgespec.spec.models import Spec

LOCAL_RUN = ("on-device", "split", "cascade", "federated")  # patterns that run on the data sources
PARALLEL_FROM = 200  # workloads: below this, starting processes costs more than it saves
CHUNK = 20  # workloads at most: small, so the processes finish together


def plan(spec: Spec, source: SourceMap, *, keep_all: bool = True, jobs: int | None = None,
         fragment: Callable[[WorkloadPlan], str] | None = None) -> tuple[Plan, list[Diagnostic]]:
    """Plan every workload of a valid spec. `jobs`: worker processes (default: the usable cores
    for large specs, EDGESPEC_JOBS overrides; 1 plans in this process). `fragment`: a renderer's
    text for one workload, made in the process that planned it (Plan.fragments)."""
    # The spec, its source map and the imported modules are tens of thousands of objects that
    # planning never frees: frozen, the collector stops walking them on every full collection
    # (2% of planning's instructions), and forked workers do not write to their pages.
    frozen = gc.isenabled()
    if frozen:
        gc.freeze()
    try:
        return _plan(spec, source, keep_all, jobs, fragment)
    finally:
        if frozen:
            gc.unfreeze()


def _plan(spec: Spec, source: SourceMap, keep_all: bool, jobs: int | None,
          fragment: Callable[[WorkloadPlan], str] | None) -> tuple[Plan, list[Diagnostic]]:
    global _STATE
    devices = {name: device_mod.resolve(name, t) for name, t in spec.targets.items()}
    job = _Job(spec, source, devices, {}, keep_all, fragment)
    names = list(spec.workloads)
    jobs = _jobs(jobs, len(names))
    if jobs > 1:
        fork = multiprocessing.get_context("fork")
        chunks = _chunks(spec, names)
        _STATE = (job, chunks, fork.Value("i", 0))
        try:
            with fork.Pool(jobs - 1) as pool:
                # one task per chunk, each claiming whichever chunk is next (None once all are
                # claimed), so results stream back while this process plans its own share
                theirs = pool.imap_unordered(_claim_chunk, range(len(chunks)))
                done = dict(iter(lambda: _claim_chunk(None), None))
                done.update(claimed for claimed in theirs if claimed is not None)
        finally:
            _STATE = None
        by_name = {r[0].name: r for i in range(len(chunks)) for r in done[i]}
        planned = [by_name[name] for name in names]  # spec order
    else:
        planned = [job.plan(name) for name in names]
    workloads = {wp.name: wp for wp, _, _ in planned}
    fragments = {wp.name: text for wp, _, text in planned if text is not None}
    diagnostics = [d for _, found, _ in planned for d in found]
    diagnostics += _oversubscribed(workloads, devices, source)
    return Plan(workloads, fragments), sorted(diagnostics, key=sort_key)


_STATE: tuple | None = None  # what forked workers plan from: (the _Job, the chunks, the next chunk's index)


def _jobs(jobs: int | None, workloads: int) -> int:
    if jobs is None:
        configured = os.environ.get("EDGESPEC_JOBS", "")
        jobs = int(configured) if configured.isdigit() and int(configured) > 0 else None
    if jobs is None:
        if workloads < PARALLEL_FROM:
            return 1
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1  # no fork (Windows): the workers would have to re-import and re-validate
    return max(1, min(jobs, workloads))


def _chunks(spec: Spec, names: list[str]) -> list[list[str]]:
    """The workloads in pieces of at most CHUNK, a model's workloads together: each process works
    out a model's shared results (candidates.py's per-process memo) once for the workloads it
    plans, so keeping a model's workloads in one process saves the other from doing it again
    (chunks that mix models by spec order cost 8% more instructions in all, 1,000 x 100)."""
    by_model: dict[str, list[str]] = {}
    for name in names:
        by_model.setdefault(spec.workloads[name].model, []).append(name)
    chunks: list[list[str]] = [[]]
    for group in by_model.values():
        for i in range(0, len(group), CHUNK):
            piece = group[i:i + CHUNK]
            if len(chunks[-1]) + len(piece) > CHUNK:
                chunks.append([])
            chunks[-1].extend(piece)
    return [c for c in chunks if c]


Planned = tuple[WorkloadPlan, list[Diagnostic], str | None]  # a workload's plan, diagnostics, fragment


def _claim_chunk(_task: int | None) -> tuple[int, list[Planned]] | None:
    """Plan the next unclaimed chunk: (chunk index, results), or None when all are claimed."""
    job, chunks, counter = _STATE
    with counter.get_lock():
        i = counter.value
        counter.value += 1
    if i >= len(chunks):
        return None
    return i, [job.plan(name) for name in chunks[i]]


@dataclass(frozen=True)
class _Job:
    """What planning one workload needs; `memo` is shared by the workloads this process plans."""

    spec: Spec
    source: SourceMap
    devices: dict
    memo: dict
    keep_all: bool
    fragment: Callable[[WorkloadPlan], str] | None

    def plan(self, name: str) -> Planned:
        ctx = cands.context(self.spec, name, self.devices, self.memo)
        candidates = cands.enumerate_all(ctx)
        if self.keep_all:
            candidates = [c.spelled() for c in candidates]
        chosen = select.best(ctx.workload.objective, candidates)
        # the closest miss per pattern and target (what the renderings list), and from those per pattern
        by_target = select.nearest_misses(candidates, group=select.by_pattern_and_target)
        if not self.keep_all:  # only what is shown is spelled out
            kept, by_target = _shown(chosen, candidates, by_target)
        else:
            kept = tuple(candidates)
        misses = select.nearest_misses(list(by_target.values()))
        wp = WorkloadPlan(name, ctx.workload.objective, chosen, kept,
                          why(ctx.workload.objective, chosen, candidates, misses))
        text = self.fragment(wp) if self.fragment is not None else None
        if chosen is None:
            return wp, [_infeasible(name, misses, self.source)], text
        return wp, _missing_figures(name, chosen, ctx, self.source), text


def _shown(chosen: Candidate | None, candidates: list[Candidate], misses: dict) -> tuple[tuple[Candidate, ...], dict]:
    """The chosen candidate and the closest miss per pattern and target, in enumeration order and
    spelled out: what the text and JSON renderings show (nearest misses of a subset that holds
    every group's closest are the same); and `misses` spelled out."""
    spelled = {id(c): c.spelled() for c in misses.values()}
    if chosen is not None:
        spelled[id(chosen)] = chosen
    return (tuple(spelled[id(c)] for c in candidates if id(c) in spelled),
            {group: spelled[id(c)] for group, c in misses.items()})


def why(objective: str, chosen: Candidate | None, candidates: list[Candidate], misses: dict) -> str:
    """One line on the decision: what won on the objective, and why the other patterns lost
    (`misses`: the closest rejected candidate per pattern)."""
    # c.feasible, spelled out: asked of every candidate of every workload
    feasible_patterns = {c.pattern for c in candidates if not c.reasons and c.estimates is not None}
    lost = [f"{p}: {misses[p].reasons[0]}" for p in sorted(misses) if p not in feasible_patterns]
    if chosen is None:
        return "; ".join(lost) or "no candidate could be formed (no targets for any pattern)"
    e = chosen.estimates
    metric = {"latency": f"p95 {e.p95_ms:.1f} ms",
              "energy": f"{e.energy_mj:.1f} mJ/inference" if e.energy_mj is not None else
              "energy unknown, ranked after every known energy",
              "accuracy": f"accuracy {e.accuracy:.3f}",
              "cost": f"${e.cost_usd_per_month:,.2f}/month" if e.cost_usd_per_month is not None
              else f"${e.cost_usd_per_1k:.4f}/1k" if e.cost_usd_per_1k is not None
              else "cost unknown, ranked after every known cost"}[objective]
    others = len(feasible_patterns - {chosen.pattern})
    head = f"best {objective} ({metric})" + (f" of {others + 1} feasible patterns" if others else "")
    return head + (f"; {lost[0]}" if lost else "")


def _at(source: SourceMap, pointer: str) -> dict:
    _, span = source.locate(pointer, key=True)
    return dict(file=source.file, line=span.line, column=span.column, end_line=span.end_line,
                end_column=span.end_column, pointer=pointer)


def _infeasible(name: str, misses: dict, source: SourceMap) -> Diagnostic:
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
    if chosen.pattern in LOCAL_RUN:
        for dev in ctx.sources:
            if dev.power_budget_w is not None and dev.power_w is None:
                out.append(diag("ES503", f"{name}: edgespec's catalog has no power figure for {dev.hardware}, so "
                                f"{dev.target}'s power_budget_w is not checked (and its energy is left out)",
                                **_at(source, f"/targets/{dev.target}/power_budget_w")))
    if chosen.pattern in ("cloud", "mec", "split", "cascade"):
        for dev in ctx.sources:
            if dev.uplink_mbps is None:
                out.append(diag("ES503", f"{name}: {dev.target} has no network.uplink_mbps; upload time is left out",
                                **_at(source, f"/targets/{dev.target}")))
    return out


def _oversubscribed(workloads: dict[str, WorkloadPlan], devices: dict, source: SourceMap) -> list[Diagnostic]:
    """Devices that the chosen plans of several workloads together keep too busy, or, with a
    power_budget_w, make draw more than it on average (each workload passed both on its own)."""
    load: dict[str, float] = defaultdict(float)
    names: dict[str, list[str]] = defaultdict(list)
    for name, wp in workloads.items():
        if wp.chosen is None or wp.chosen.estimates.utilisation is None:
            continue
        for target in {p.target for p in wp.chosen.placements if p.role == "device"}:
            load[target] += wp.chosen.estimates.utilisation
            names[target].append(name)
    out = []
    for target, busy in sorted(load.items()):
        if len(names[target]) < 2:
            continue
        together = ", ".join(sorted(names[target]))
        if busy > estimate.UTILISATION_HEADROOM:
            out.append(diag("ES502", f"{target} runs {together}: together {busy:.0%} busy "
                            f"(limit {estimate.UTILISATION_HEADROOM:.0%})", **_at(source, f"/targets/{target}")))
        dev = devices[target]
        if dev.power_budget_w is None or dev.power_w is None:
            continue
        draw = constraints.draw_w(dev, busy)
        if draw > dev.power_budget_w + 1e-9:
            out.append(diag("ES502", f"{target} runs {together}: together {draw:.2f} W average "
                            f"({draw / dev.power_w:.0%} busy at {dev.power_w:g} W), over power_budget_w "
                            f"{dev.power_budget_w:g} W", **_at(source, f"/targets/{target}/power_budget_w")))
    return out
