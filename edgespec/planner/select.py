"""Pick the best feasible candidate by the workload's objective, with deterministic tie-breaks."""

from __future__ import annotations

from edgespec.planner.types import PATTERNS, Candidate

BIG = float("inf")


def score(objective: str, c: Candidate) -> tuple:
    """Sort key: lower is better. Ties go to lower p95, then cost, energy, higher accuracy, then
    the pattern order of PATTERNS (local before remote) and finally the candidate's key."""
    e = c.estimates
    cost = e.cost_usd_per_month if e.cost_usd_per_month is not None else e.cost_usd_per_1k
    primary = {
        "latency": e.p95_ms,
        "cost": cost,
        "energy": e.energy_mj,
        "accuracy": -e.accuracy,
    }[objective]
    return (round(primary, 9), round(e.p95_ms, 9), round(cost, 9), round(e.energy_mj, 9), round(-e.accuracy, 9),
            PATTERNS.index(c.pattern), c.key)


def best(objective: str, candidates: list[Candidate]) -> Candidate | None:
    feasible = [c for c in candidates if c.feasible]
    return min(feasible, key=lambda c: score(objective, c)) if feasible else None


def nearest_misses(candidates: list[Candidate], group=lambda c: c.pattern) -> dict:
    """Per group (by default per pattern), the rejected candidate closest to feasible: fewest
    broken constraints, then lowest p95 (candidates that could not even be estimated come last)."""
    best: dict = {}
    for c in candidates:
        if c.feasible:
            continue
        key = (len(c.reasons), c.estimates is None, c.estimates.p95_ms if c.estimates else BIG, c.key)
        g = group(c)
        if g not in best or key < best[g][0]:
            best[g] = (key, c)
    return {g: c for g, (_, c) in best.items()}
