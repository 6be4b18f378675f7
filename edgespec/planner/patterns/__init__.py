"""The deployment patterns, one module each, registered here by explicit import.

A pattern is a function (Context) -> iterator of candidates: a types.Candidate when it could not
be formed (the hardware cannot run it; no estimates), else a types.Draft with its estimates and the
facts the constraints read. Every draft is finished by constraints.finish, so a pattern never
applies a constraint itself. Adding a pattern: a module here, its entry in PATTERNS (types.PATTERNS
orders them for ties), a scenario test.
"""

from __future__ import annotations

from edgespec.planner import constraints
from edgespec.planner.context import Context
from edgespec.planner.patterns import cascade, federated, on_device, remote, split
from edgespec.planner.types import Candidate, Draft

PATTERNS = {
    "on-device": on_device.candidates,
    "split": split.candidates,
    "cascade": cascade.candidates,
    "federated": federated.candidates,
    "mec": remote.mec,
    "cloud": remote.cloud,
}


def enumerate_all(ctx: Context) -> list[Candidate]:
    """Every candidate of the workload's patterns (the pinned one, or all), finished."""
    pinned = ctx.workload.pattern
    patterns = [pinned] if pinned != "auto" else list(PATTERNS)
    finish = constraints.finish
    return [finish(ctx, c) if type(c) is Draft else c for p in patterns for c in PATTERNS[p](ctx)]
