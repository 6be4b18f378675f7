"""The plan stage: Spec → Plan, with ES5xx diagnostics at the workloads' positions.

Workloads are planned independently, then placed jointly where they share a device or a pool
(joint.py: the contending ones are chosen together by a solver), so a large spec is planned by
this process and forked workers together, one per core: each claims the next
chunk of workloads from a shared counter until none is left, and the results are merged in spec
order, so the plan is the same whatever the number of processes. This process plans its own
chunks in place (only the workers' results cross a pipe). Unless `keep_all` is asked for (`plan
--explain`, tests), a workload keeps only the candidates its outputs show: the chosen one and the
closest miss per pattern and target.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from edgespec.diagnostics import Diagnostic, sort_key
from edgespec.diagnostics.codes import diag
from edgespec.load.sourcemap import SourceMap
from edgespec.measure import index as measure_index
from edgespec.measure.records import Record
from edgespec.planner import constraints, joint, patterns, select
from edgespec.planner import device as device_mod
from edgespec.planner.context import Context, context
from edgespec.planner.memo import Memo
from edgespec.planner.types import Candidate, Plan, WorkloadPlan
from edgespec.spec.models import Spec

LOCAL_RUN = ("on-device", "split", "cascade", "federated")  # patterns that run on the data sources
PARALLEL_FROM = 200  # workloads: below this, starting processes costs more than it saves
CHUNK = 20  # workloads at most: small, so the processes finish together


def plan(
    spec: Spec,
    source: SourceMap,
    *,
    keep_all: bool = True,
    jobs: int | None = 1,
    fragment: Callable[[WorkloadPlan], str] | None = None,
    measurements: Iterable[Record] = (),
) -> tuple[Plan, list[Diagnostic]]:
    """Plan every workload of a valid spec. `jobs`: processes to plan with (default 1, in this
    process; None: one per usable core for large specs, EDGESPEC_JOBS overrides). Forking is the
    caller's choice: the CLI, which owns its process, asks for it; a library user or the language
    server (threads) plans in place. `fragment`: a renderer's text for one workload, made in the
    process that planned it (Plan.fragments). `measurements`: records that replace estimates
    where they match (edgespec.measure); those matching nothing are warnings."""
    return _plan(spec, source, keep_all, jobs, fragment, measurements)


@dataclass
class Previous:
    """What one plan leaves for the next plan of an edited spec (the language server): reusable
    while the models, targets and measurements are the same, each workload's result while the
    workload is, and the process's caches."""

    models: dict
    targets: dict
    records: tuple
    memo: Memo
    planned: dict  # workload name -> (its Workload, Planned)


def plan_again(
    spec: Spec, source: SourceMap, measurements: Iterable[Record] = (), previous: Previous | None = None
) -> tuple[Plan, list[Diagnostic], Previous]:
    """Plan an edited spec in this process, re-planning only the workloads the edit touched: a
    workload whose definition is unchanged keeps its result, its diagnostics moved to where their
    pointers now are, as long as the models, targets and measurements are unchanged. The joint
    placement is always redone over every workload. The same plan as `plan` gives."""
    records = tuple(measurements)
    same = (
        previous is not None
        and previous.records == records
        and previous.models == spec.models
        and previous.targets == spec.targets
    )
    reuse = {}
    if same:
        assert previous is not None
        reuse = {
            n: (p[0], [dataclasses.replace(d, **_at(source, d.pointer)) for d in p[1]], *p[2:])
            for n, (w, p) in previous.planned.items()
            if spec.workloads.get(n) == w
        }
    memo = previous.memo if same and previous is not None else Memo()
    planned_: dict = {}
    result, diagnostics = _plan(spec, source, False, 1, None, records, memo=memo, reuse=reuse, out=planned_)
    kept = {n: (spec.workloads[n], p) for n, p in planned_.items()}
    return result, diagnostics, Previous(spec.models, spec.targets, records, memo, kept)


def _plan(
    spec: Spec,
    source: SourceMap,
    keep_all: bool,
    jobs: int | None,
    fragment: Callable[[WorkloadPlan], str] | None,
    measurements: Iterable[Record],
    *,
    memo: Memo | None = None,
    reuse: dict | None = None,
    out: dict | None = None,
) -> tuple[Plan, list[Diagnostic]]:
    """`memo`, `reuse` (workload -> Planned) and `out` (filled with each workload's Planned): the
    in-process re-planning of plan_again; the CLI's path leaves them None."""
    global _STATE
    devices = {name: device_mod.resolve(name, t) for name, t in spec.targets.items()}
    measured, unmatched = measure_index.index(spec, devices, measurements)
    job = _Job(spec, source, devices, Memo() if memo is None else memo, keep_all, fragment, measured)
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
        reuse = reuse or {}
        planned = [reuse[name] if name in reuse else job.plan(name) for name in names]
        if out is not None:
            out.update(zip(names, planned, strict=True))
    workloads = {wp.name: wp for wp, _, _, _ in planned}
    fragments = {wp.name: text for wp, _, text, _ in planned if text is not None}
    diagnostics = unmatched + [d for _, found, _, _ in planned for d in found]
    ranked = {wp.name: alternatives for wp, _, _, alternatives in planned}
    diagnostics += _place_jointly(job, workloads, fragments, ranked)
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
    out a model's shared results (its per-process Memo) once for the workloads it
    plans, so keeping a model's workloads in one process saves the other from doing it again
    (chunks that mix models by spec order cost 8% more instructions in all, 1,000 x 100)."""
    by_model: dict[str, list[str]] = {}
    for name in names:
        by_model.setdefault(spec.workloads[name].model, []).append(name)
    chunks: list[list[str]] = [[]]
    for group in by_model.values():
        for i in range(0, len(group), CHUNK):
            piece = group[i : i + CHUNK]
            if len(chunks[-1]) + len(piece) > CHUNK:
                chunks.append([])
            chunks[-1].extend(piece)
    return [c for c in chunks if c]


# a workload's plan, diagnostics, fragment, and its best feasible candidates for the joint step
Planned = tuple[WorkloadPlan, list[Diagnostic], str | None, tuple[Candidate, ...]]


def _claim_chunk(task: int | None) -> tuple[int, list[Planned]] | None:
    """Plan the next unclaimed chunk: (chunk index, results), or None when all are claimed.
    `task`: None in this process (which keeps its workloads' alternatives), a number in a worker."""
    job, chunks, counter = _STATE
    with counter.get_lock():
        i = counter.value
        counter.value += 1
    if i >= len(chunks):
        return None
    if task is None:
        return i, [job.plan(name) for name in chunks[i]]
    # a worker's alternatives stay behind: sending every workload's up to 32 candidates back costs
    # more than this process enumerating the few contending workloads again (only when they contend)
    return i, [job.plan(name)[:3] + ((),) for name in chunks[i]]


@dataclass(frozen=True)
class _Job:
    """What planning one workload needs; `memo` is shared by the workloads this process plans."""

    spec: Spec
    source: SourceMap
    devices: dict
    memo: Memo
    keep_all: bool
    fragment: Callable[[WorkloadPlan], str] | None
    measured: measure_index.Index = field(default_factory=measure_index.Index)

    def plan(self, name: str) -> Planned:
        ctx = context(self.spec, name, self.devices, self.memo, self.measured)
        raw = patterns.enumerate_all(ctx)  # reasons as templates and figures (the nearest miss reads them)
        candidates = [c.spelled() for c in raw] if self.keep_all else raw
        # best first by the workload's objective: the chosen one, then the joint step's alternatives
        ranked = select.ranked(ctx.workload.objective, candidates, joint.ALTERNATIVES)
        chosen = ranked[0] if ranked else None
        # the closest miss per pattern and target (what the renderings list), and from those per pattern
        by_target = select.nearest_misses(candidates, group=select.by_pattern_and_target)
        if not self.keep_all:  # only what is shown is spelled out
            kept, by_target = _shown(chosen, candidates, by_target)
        else:
            kept = tuple(candidates)
        misses = select.nearest_misses(list(by_target.values()))
        wp = WorkloadPlan(
            name, ctx.workload.objective, chosen, kept, why(ctx.workload.objective, chosen, candidates, misses)
        )
        text = self.fragment(wp) if self.fragment is not None else None
        if chosen is None:
            return wp, [_infeasible(name, misses, self.source, _nearest(raw))], text, ()
        # the joint step's alternatives, kept now rather than enumerated again if devices contend
        return wp, _missing_figures(name, chosen, ctx, self.source), text, tuple(ranked)


def _shown(chosen: Candidate | None, candidates: list[Candidate], misses: dict) -> tuple[tuple[Candidate, ...], dict]:
    """The chosen candidate and the closest miss per pattern and target, in enumeration order and
    spelled out: what the text and JSON renderings show (nearest misses of a subset that holds
    every group's closest are the same); and `misses` spelled out."""
    spelled = {id(c): c.spelled() for c in misses.values()}
    if chosen is not None:
        spelled[id(chosen)] = chosen
    return (
        tuple(spelled[id(c)] for c in candidates if id(c) in spelled),
        {group: spelled[id(c)] for group, c in misses.items()},
    )


def why(objective: str, chosen: Candidate | None, candidates: list[Candidate], misses: dict) -> str:
    """One line on the decision: what won on the objective, and why the other patterns lost
    (`misses`: the closest rejected candidate per pattern)."""
    # c.feasible, spelled out: asked of every candidate of every workload
    feasible_patterns = {c.pattern for c in candidates if not c.reasons and c.estimates is not None}
    lost = [f"{p}: {misses[p].reasons[0]}" for p in sorted(misses) if p not in feasible_patterns]
    if chosen is None:
        return "; ".join(lost) or "no candidate could be formed (no targets for any pattern)"
    e = chosen.estimates
    metric = {
        "latency": f"p95 {e.p95_ms:.1f} ms",
        "energy": f"{e.energy_mj:.1f} mJ/inference"
        if e.energy_mj is not None
        else "energy unknown, ranked after every known energy",
        "accuracy": f"accuracy {e.accuracy:.3f}",
        "cost": f"${e.cost_usd_per_month:,.2f}/month"
        if e.cost_usd_per_month is not None
        else f"${e.cost_usd_per_1k:.4f}/1k"
        if e.cost_usd_per_1k is not None
        else "cost unknown, ranked after every known cost",
    }[objective]
    others = len(feasible_patterns - {chosen.pattern})
    head = f"best {objective} ({metric})" + (f" of {others + 1} feasible patterns" if others else "")
    return head + (f"; {lost[0]}" if lost else "")


def _at(source: SourceMap, pointer: str) -> dict:
    return source.at(pointer, key=True, ends=True)


def _nearest(candidates: list[Candidate]) -> tuple[Candidate, float] | None:
    """The rejected candidate closest to feasible by relative violation (the sum over what it
    breaks, each relative to its limit), then p95, then key; None when every candidate breaks a
    constraint no margin can meet."""
    scored = []
    for c in candidates:
        if c.estimates is not None and c.reasons:
            total = sum(constraints.violation(r) for r in c.reasons)
            if total != float("inf"):
                scored.append((total, c.estimates.p95_ms, c))
    if not scored:
        return None
    total, _, c = min(scored, key=lambda t: (t[0], t[1], t[2].key))
    return c.spelled(), total


def _infeasible(name: str, misses: dict, source: SourceMap, nearest: tuple[Candidate, float] | None) -> Diagnostic:
    detail = "; ".join(f"{p}: {misses[p].reasons[0]}" for p in sorted(misses))
    if nearest is not None:
        c, total = nearest
        recipe = " + ".join(dict.fromkeys(p.recipe.label() for p in c.placements))
        where = ", ".join(dict.fromkeys(p.target for p in c.placements))
        head = (
            f"nearest miss {c.pattern} on {where} [{recipe}]{f' cut at {c.cut}' if c.cut else ''}, "
            f"{total:.1%} over: {'; '.join(c.reasons)}"
        )
        return diag(
            "ES501",
            f"no feasible plan for workload {name!r}: {head}. Per pattern: {detail}",
            hint=f"relax the constraint the nearest miss breaks, or run `edgespec plan --explain {name}`",
            **_at(source, f"/workloads/{name}"),
        )
    if not detail:
        return diag(
            "ES501",
            f"no feasible plan for workload {name!r}: no pattern applies to it",
            hint="give it a remote target (aws-ec2, aws-wavelength, cloudflare-workers-ai), an escalation, "
            "or data sources that can run the model",
            **_at(source, f"/workloads/{name}"),
        )
    return diag(
        "ES501",
        f"no feasible plan for workload {name!r}: every candidate breaks a constraint no margin can meet: {detail}",
        hint=f"change what the reasons name (capability, privacy, memory, offline), or run "
        f"`edgespec plan --explain {name}`",
        **_at(source, f"/workloads/{name}"),
    )


def _missing_figures(name: str, chosen: Candidate, ctx: Context, source: SourceMap) -> list[Diagnostic]:
    out = []
    for placement in chosen.placements:
        dev = ctx.devices[placement.target]
        if placement.role == "remote" and dev.rtt_ms is None:
            out.append(
                diag(
                    "ES503",
                    f"{name}: {placement.target} has no network.rtt_ms; the plan leaves the round trip out",
                    **_at(source, f"/targets/{placement.target}"),
                )
            )
    if chosen.pattern in LOCAL_RUN:
        for dev in ctx.sources:
            if dev.power_budget_w is not None and dev.power_w is None:
                out.append(
                    diag(
                        "ES503",
                        f"{name}: edgespec's catalog has no power figure for {dev.hardware}, so "
                        f"{dev.target}'s power_budget_w is not checked (and its energy is left out)",
                        **_at(source, f"/targets/{dev.target}/power_budget_w"),
                    )
                )
    if chosen.pattern in ("cloud", "mec", "split", "cascade"):
        for dev in ctx.sources:
            if dev.uplink_mbps is None:
                out.append(
                    diag(
                        "ES503",
                        f"{name}: {dev.target} has no network.uplink_mbps; upload time is left out",
                        **_at(source, f"/targets/{dev.target}"),
                    )
                )
    return out


def _place_jointly(
    job: _Job, workloads: dict[str, WorkloadPlan], fragments: dict[str, str], ranked: dict[str, tuple[Candidate, ...]]
) -> list[Diagnostic]:
    """Shared resources across workloads (joint.py): when the workloads' own best choices overload
    a device or a pool, the contending workloads are chosen together; the plans that change are
    replaced in place (with their JSON fragments). ES504 when no joint choice exists."""
    limit = joint.limits(job.devices)
    chosen = {n: _usage(job, n, wp.chosen) for n, wp in workloads.items() if wp.chosen is not None}
    over = joint.overloaded(chosen, limit)
    if not over:
        return []  # the common case: every workload keeps its own best
    users: dict = defaultdict(list)  # resource -> the workloads whose own best takes it
    for n, u in chosen.items():
        for r, _ in u.amounts:
            users[r].append(n)
    options: dict[str, list[joint.Choice]] = {}
    pending = sorted({n for names in over.values() for n in names})
    queued = set(pending)
    while pending:  # the contending workloads, and every workload their alternatives could crowd
        name = pending.pop(0)
        options[name] = _choices(job, name, ranked[name])
        for r in sorted({r for ch in options[name] for r, _ in ch.usage.amounts if r in limit}):
            for n in users.get(r, ()):
                if n not in queued:
                    queued.add(n)
                    pending.append(n)
    fixed: dict = defaultdict(float)
    for n, u in chosen.items():
        if n not in options:
            for r, amount in u.amounts:
                fixed[r] += amount
    result, conflicts = joint.solve(options, fixed, limit, job.memo.solves)
    for name, choice in sorted(result.items()):
        wp = workloads[name]
        if choice.candidate.key == wp.chosen.key:
            continue
        moved = choice.candidate
        shared = ", ".join(f"{r.kind} on {r.target}" for r in over if name in over[r])
        recipe = " + ".join(dict.fromkeys(p.recipe.label() for p in moved.placements))
        why = (
            f"joint placement: {moved.pattern} [{recipe}] "
            f"instead of its own best ({wp.chosen.pattern}), whose {shared or 'shared resources'} the other "
            f"workloads need too ({choice.regret:.1%} worse on {wp.objective}); {wp.why}"
        )
        kept = tuple(c for c in wp.candidates if c.key != moved.key) + (moved,)
        workloads[name] = WorkloadPlan(name, wp.objective, moved, kept, why)
        if job.fragment is not None:
            fragments[name] = job.fragment(workloads[name])
    return [_no_joint_placement(job, r, c.workloads[r], limit[r]) for c in conflicts for r in c.resources]


def _ranked(job: _Job, name: str) -> tuple[Candidate, ...]:
    """A workload's best feasible candidates again (it was planned in a worker process)."""
    ctx = context(job.spec, name, job.devices, job.memo, job.measured)
    return tuple(select.ranked(ctx.workload.objective, patterns.enumerate_all(ctx), joint.ALTERNATIVES))


def _usage(job: _Job, name: str, chosen: Candidate) -> joint.Usage:
    """joint.usage of a workload's own best, kept while the same candidate comes back."""
    kept = job.memo.usages.get(name)
    if kept is None or kept[0] is not chosen:
        kept = job.memo.usages[name] = (chosen, joint.usage(job.spec, job.devices, name, chosen))
    return kept[1]


def _choices(job: _Job, name: str, ranked: tuple[Candidate, ...]) -> list[joint.Choice]:
    """A workload's best feasible candidates (at most joint.ALTERNATIVES, by its own ranking) as the
    joint program's options: their regret against its best and what each takes of the shared
    resources. Kept while the same ranking comes back (an unchanged workload planned again); an
    empty ranking (planned in a worker process) is ranked again here."""
    kept = job.memo.choices.get(name)
    if kept is not None and ranked and kept[0] is ranked:
        return kept[1]
    best = ranked or _ranked(job, name)
    objective = job.spec.workloads[name].objective
    made = [
        joint.Choice(
            c.spelled(), rank, joint.regret(objective, c, best[0]), joint.usage(job.spec, job.devices, name, c)
        )
        for rank, c in enumerate(best)
    ]
    job.memo.choices[name] = (ranked, made)
    return made


_RESOURCE = {
    "busy": "busy share ({limit:.0%} at most)",
    "power": "power budget",
    "memory": "memory ({limit_gb:.2f} GB usable)",
    "instances": "pool ({limit:g} instances at most)",
}


def _no_joint_placement(job: _Job, r: joint.Resource, names: tuple[str, ...], limit: float) -> Diagnostic:
    """ES504 at the target whose resource no joint choice keeps within its limit."""
    what = _RESOURCE[r.kind].format(limit=limit, limit_gb=limit / 1e9)
    dev = job.devices[r.target]
    lines = ", ".join(f"{n} (line {_at(job.source, f'/workloads/{n}')['line']})" for n in names)
    pointer = f"/targets/{r.target}/power_budget_w" if r.kind == "power" else f"/targets/{r.target}"
    return diag(
        "ES504",
        f"no joint placement: the {what} of {r.target} ({dev.hardware}) cannot hold "
        f"{', '.join(names)} together with any of their feasible alternatives",
        hint=f"contending: {lines}; give one of them another target, a smaller variant or a looser "
        "budget, or raise the limit",
        **_at(job.source, pointer),
    )
