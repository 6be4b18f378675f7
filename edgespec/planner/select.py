"""Pick the best feasible candidate by the workload's objective, with deterministic tie-breaks."""

from __future__ import annotations

import heapq
import itertools

from edgespec.planner.types import PATTERNS, Candidate

BIG = float("inf")
# Patterns that run part of a model: edgespec cannot cut the model file yet (ES605), so their
# placements are reported, not emitted. They win only when strictly better on the objective.
CUT = ("split", "federated")


def _rank(objective: str, c: Candidate) -> tuple:
    e = c.estimates
    cost = e.cost_usd_per_month if e.cost_usd_per_month is not None else e.cost_usd_per_1k
    if cost is None:
        cost = BIG  # unknown (a price or power figure the catalog lacks) ranks after every known cost
    energy = BIG if e.energy_mj is None else e.energy_mj  # likewise: unknown never wins a tie-break
    primary = {
        "latency": e.p95_ms,
        "cost": cost,
        "energy": energy,
        "accuracy": -e.accuracy,
    }[objective]
    return (
        round(primary, 9),
        c.pattern in CUT,  # at a tie on the objective, a plan edgespec can build whole
        round(e.p95_ms, 9),
        round(cost, 9),
        round(energy, 9),
        round(-e.accuracy, 9),
        PATTERNS.index(c.pattern),
    )


def score(objective: str, c: Candidate) -> tuple:
    """Sort key: lower is better. Ties on the objective go to a pattern edgespec emits whole (not
    split or federated: ES605), then lower p95, cost, energy, higher accuracy, the pattern order of
    PATTERNS (local before remote) and finally the candidate's key."""
    return (*_rank(objective, c), c.key)


def _by_key(ties: list[Candidate]) -> Candidate:
    """The candidate with the lowest key among equally ranked ones (keys are costly: built only
    for real ties)."""
    return ties[0] if len(ties) == 1 else min(ties, key=lambda c: c.key)


def best(objective: str, candidates: list[Candidate]) -> Candidate | None:
    """The best feasible candidate (the first of `ranked`), or None."""
    top = ranked(objective, candidates, 1)
    return top[0] if top else None


def ranked(objective: str, candidates: list[Candidate], k: int) -> list[Candidate]:
    """The k best feasible candidates, best first, ordered as `best` orders them (the candidate key
    settles exact ties, and is built only for the k kept)."""
    scored = [
        (_rank(objective, c), i, c) for i, c in enumerate(candidates) if not c.reasons and c.estimates is not None
    ]
    top = heapq.nsmallest(k, scored, key=lambda t: (t[0], t[1]))
    if len(top) == k:  # candidates tied with the last kept: all of them, so the key decides as in `best`
        cut = top[-1][0]
        top = sorted((t for t in scored if t[0] <= cut), key=lambda t: (t[0], t[1]))
    out: list[Candidate] = []
    for _, tied in itertools.groupby(top, key=lambda t: t[0]):  # keys only for exact ties (costly to build)
        group = [c for _, _, c in tied]
        out += group if len(group) == 1 else sorted(group, key=lambda c: c.key)
    return out[:k]


def target_of(c: Candidate) -> str:
    """The target a candidate is known by: its remote tier, else its first device."""
    return c.remote_target or c.placements[0].target


def blamed(c: Candidate) -> str:
    """The target a rejected candidate is rejected against: the one its headline reason is about
    (the pool that is too small, the device over its power budget or memory, the destination
    privacy forbids; constraints.finish records it), else the target it is known by (target_of)."""
    return c.blame or target_of(c)


def by_pattern_and_target(c: Candidate) -> tuple[str, str]:
    return c.pattern, target_of(c)


def nearest_misses(candidates: list[Candidate], group=lambda c: c.pattern) -> dict:
    """Per group (by default per pattern), the rejected candidate closest to feasible: fewest
    broken constraints, then lowest p95 (candidates that could not even be estimated come last),
    then the candidate key. The closest of a finer grouping's winners is the closest of all, so a
    coarser grouping can be taken from the finer one's values."""
    closest: dict = {}  # group -> (rank, the candidates at that rank, in order)
    for c in candidates:
        e = c.estimates
        if c.reasons or e is None:
            rank = (len(c.reasons), e is None, BIG if e is None else e.p95_ms)
            g = group(c)
            held = closest.get(g)
            if held is None or rank < held[0]:
                closest[g] = (rank, [c])
            elif rank == held[0]:
                held[1].append(c)
    return {g: _by_key(ties) for g, (_, ties) in closest.items()}
