"""Joint placement: one candidate per workload, chosen together so that the resources workloads
share hold: each device's busy share (the 70% headroom) and power budget, each device's memory
for everything resident at once, and each remote pool's bound.

Every workload is planned alone first (patterns/, select.py). When the workloads' own best
choices fit together (the common case) they are the plan and no solver runs. Otherwise the
workloads that contend, and every workload their alternatives could crowd, are handed to a
mixed-integer program (HiGHS, through highspy) over each one's best `ALTERNATIVES` feasible
candidates by its own ranking:

    minimise   sum over workloads of  regret(candidate) + TIE x rank(candidate)
    subject to one candidate per workload, and every shared resource within its limit

`regret` is how much worse the candidate is than the workload's own best on the workload's own
objective, relative to that best (0.10: 10% more cost, latency or energy, or 10% less accuracy);
an unknown figure counts as `UNKNOWN_REGRET`. The rank term only breaks exact ties, by each
workload's own order. With no contention every workload keeps its own best (regret 0, rank 0).
The solver runs single-threaded with a fixed seed, so the same spec gives the same plan.
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

from edgespec.planner import constraints, estimate
from edgespec.planner.device import Device
from edgespec.planner.types import Candidate
from edgespec.spec.models import Spec

ALTERNATIVES = 32  # candidates per workload the solver considers, best first by the workload's ranking
UNKNOWN_REGRET = 1000.0  # an unknown figure: worse than any known one
TIE = 1e-6  # per rank position: far below any regret that matters (0.0001% of the best)


class Resource(NamedTuple):
    """A shared limit: `kind` busy | memory | power | instances, on `target`."""

    kind: str
    target: str


class Usage(NamedTuple):
    """What one candidate takes of each shared resource."""

    amounts: tuple[tuple[Resource, float], ...]


class Conflict(NamedTuple):
    """Resources no joint choice can keep within their limits, with the workloads contending."""

    resources: tuple[Resource, ...]
    workloads: dict[Resource, tuple[str, ...]]


def limits(devices: dict[str, Device]) -> dict[Resource, float]:
    """Every shared resource's limit: device busy share and memory, a power budget (as the busy
    share it allows at the device's power while busy), a pool's count or scaling.max."""
    out: dict[Resource, float] = {}
    for name, d in devices.items():
        if d.role == "device":
            out[Resource("busy", name)] = estimate.UTILISATION_HEADROOM
            if d.memory_bytes is not None:
                out[Resource("memory", name)] = d.memory_bytes
            if d.power_budget_w is not None and d.power_w:
                out[Resource("power", name)] = d.power_budget_w / d.power_w
        else:
            bound = d.pool_fixed if d.pool_fixed is not None else d.pool_max
            if bound is not None and d.pooled:
                out[Resource("instances", name)] = bound
    return out


def usage(spec: Spec, devices: dict[str, Device], workload: str, c: Candidate) -> Usage:
    """The shared resources a candidate takes: on each data source it runs on, its busy share (and
    the same share of a power budget) and its model's memory; on a bounded pool, its instances."""
    e = c.estimates
    w = spec.workloads[workload]
    model = spec.models[spec.owners[w.model]]
    amounts: dict[Resource, float] = defaultdict(float)
    for p in c.placements:
        d = devices[p.target]
        if p.role == "device":
            if e.utilisation is not None:
                amounts[Resource("busy", p.target)] = max(amounts[Resource("busy", p.target)], e.utilisation)
                if d.power_budget_w is not None and d.power_w:
                    amounts[Resource("power", p.target)] = amounts[Resource("busy", p.target)]
            if d.memory_bytes is not None:
                payload = estimate.input_bytes(model.input.shape, model.input.dtype, model.input.encoded_bytes)
                amounts[Resource("memory", p.target)] = constraints.resident_bytes(
                    e.model_size_mb * 1e6, w.generation is not None, payload
                )
        elif e.pool is not None and p.target == e.pool.target:
            amounts[Resource("instances", p.target)] = e.pool.needed
    return Usage(tuple(sorted(amounts.items())))


def overloaded(chosen: dict[str, Usage], limit: dict[Resource, float]) -> dict[Resource, tuple[str, ...]]:
    """The resources the workloads' choices together take beyond their limits, with the workloads
    that take them."""
    total: dict[Resource, float] = defaultdict(float)
    users: dict[Resource, list[str]] = defaultdict(list)
    for name, u in chosen.items():
        for r, amount in u.amounts:
            total[r] += amount
            users[r].append(name)
    return {r: tuple(users[r]) for r, amount in total.items() if r in limit and amount > limit[r] + 1e-9}


def regret(objective: str, c: Candidate, best: Candidate) -> float:
    """How much worse `c` is than `best` on the workload's objective, relative to `best`."""

    def metric(x: Candidate) -> float | None:
        e = x.estimates
        if objective == "latency":
            return e.p95_ms
        if objective == "energy":
            return e.energy_mj
        if objective == "accuracy":
            return e.accuracy
        return e.cost_usd_per_month if e.cost_usd_per_month is not None else e.cost_usd_per_1k

    mine, theirs = metric(c), metric(best)
    if mine is None:
        return 0.0 if theirs is None else UNKNOWN_REGRET
    if theirs is None:
        return 0.0  # better than an unknown best: no regret
    worse = theirs - mine if objective == "accuracy" else mine - theirs
    return max(0.0, worse) / max(abs(theirs), 1e-12)


class Choice(NamedTuple):
    """A workload's option in the joint program: the candidate, its rank, regret and usage."""

    candidate: Candidate
    rank: int
    regret: float
    usage: Usage


def solve(
    options: dict[str, list[Choice]],
    fixed: dict[Resource, float],
    limit: dict[Resource, float],
    solved: dict | None = None,
) -> tuple[dict[str, Choice], list[Conflict]]:
    """One choice per workload of `options` within every limit, given what the workloads left out
    already take (`fixed`); the least total regret, ties by rank. Workloads that share no resource
    through their options are independent, so each group is solved on its own: the choices of the
    groups that have one, and a Conflict for each group that has none.

    `solved` keeps each group's outcome by its program (program()), so a spec planned again after
    an edit solves only the groups the edit changed."""
    picked: dict[str, Choice] = {}
    conflicts: list[Conflict] = []
    solved = {} if solved is None else solved
    for names in _groups(options, limit):
        rows = _rows(options, names, fixed, limit)
        key = program(options, names, rows)
        if key not in solved:
            found = _solve(options, names, rows)
            solved[key] = (
                _conflict(options, names, rows)
                if found is None
                else {n: options[n].index(ch) for n, ch in found.items()}
            )
        outcome = solved[key]
        if isinstance(outcome, Conflict):
            conflicts.append(outcome)
        else:
            picked.update((n, options[n][i]) for n, i in outcome.items())
    return picked, conflicts


def program(options: dict[str, list[Choice]], names: list[str], rows: dict) -> tuple:
    """Everything a group's solution depends on: its workloads, each option's rank, regret and
    usage, and each row's room and entries (not the candidates themselves: the solver never sees
    them)."""
    return (
        tuple(names),
        tuple(tuple((ch.rank, ch.regret, ch.usage) for ch in options[n]) for n in names),
        tuple((r, room, tuple(entries)) for r, (room, entries) in sorted(rows.items())),
    )


def _groups(options: dict[str, list[Choice]], limit: dict[Resource, float]) -> list[list[str]]:
    """The workloads in groups connected by a resource some option of each takes, in name order."""
    parent = {n: n for n in options}

    def root(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    first: dict[Resource, str] = {}
    for n in sorted(options):
        for ch in options[n]:
            for r, _ in ch.usage.amounts:
                if r in limit:
                    if r in first:
                        a, b = root(first[r]), root(n)
                        if a != b:
                            parent[max(a, b)] = min(a, b)
                    else:
                        first[r] = n
    groups: dict[str, list[str]] = defaultdict(list)
    for n in sorted(options):
        groups[root(n)].append(n)
    return [groups[k] for k in sorted(groups)]


def _conflict(options: dict[str, list[Choice]], names: list[str], rows: dict) -> Conflict:
    """Which limits make a group infeasible: each is dropped in turn and kept dropped if the rest
    are still infeasible, so what remains is a set of limits that conflict irreducibly."""
    needed = dict(rows)
    for r in sorted(rows):
        trial = {k: v for k, v in needed.items() if k != r}
        if _solve(options, names, trial, feasibility=True) is None:
            needed = trial
    contending = {
        r: tuple(sorted({n for n in names for ch in options[n] for res, _ in ch.usage.amounts if res == r}))
        for r in needed
    }
    return Conflict(tuple(sorted(needed)), contending)


def _rows(
    options: dict[str, list[Choice]], names: list[str], fixed: dict[Resource, float], limit: dict[Resource, float]
) -> dict[Resource, tuple[float, list[tuple[int, float]]]]:
    """Per resource some option uses: (the room left after the fixed load, [(column, amount)])."""
    rows: dict[Resource, tuple[float, list[tuple[int, float]]]] = {}
    column = 0
    for n in names:
        for ch in options[n]:
            for r, amount in ch.usage.amounts:
                if r in limit and amount > 0:
                    room = limit[r] - fixed.get(r, 0.0)
                    rows.setdefault(r, (room, []))[1].append((column, amount))
            column += 1
    return rows


def _solve(
    options: dict[str, list[Choice]], names: list[str], rows: dict, *, feasibility: bool = False
) -> dict[str, Choice] | None:
    import highspy
    import numpy as np

    # highspy.Highs's logging callbacks print a banner on stdout when the first one is made, which
    # would corrupt `plan --format json`; the core class it wraps does not
    h = highspy._Highs()
    for option, value in (
        ("output_flag", False),
        ("threads", 1),
        ("random_seed", 0),
        ("mip_rel_gap", 0.0),
        ("mip_abs_gap", 1e-9),
    ):
        h.setOptionValue(option, value)
    columns = [(n, ch) for n in names for ch in options[n]]
    count = len(columns)
    h.addVars(count, np.zeros(count), np.ones(count))
    index = np.arange(count, dtype=np.int32)
    h.changeColsIntegrality(count, index, np.array([highspy.HighsVarType.kInteger] * count))
    costs = [0.0 if feasibility else ch.regret + TIE * ch.rank for _, ch in columns]
    h.changeColsCost(count, index, np.array(costs, dtype=float))
    start = 0
    for n in names:  # exactly one choice per workload
        k = len(options[n])
        h.addRow(1.0, 1.0, k, np.arange(start, start + k, dtype=np.int32), np.ones(k))
        start += k
    for r in sorted(rows):
        room, entries = rows[r]
        h.addRow(
            -highspy.kHighsInf,
            room,
            len(entries),
            np.array([i for i, _ in entries], dtype=np.int32),
            np.array([a for _, a in entries], dtype=float),
        )
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    values = h.getSolution().col_value
    return {n: ch for (n, ch), v in zip(columns, values) if v > 0.5}
