"""Target kinds: everything edgespec knows about one kind of target, one module each, registered
here by explicit import (in the spirit of SkyPilot's cloud registry). Adding a kind is its module,
its templates, its catalog entries and a test; tests/test_kinds.py proves every catalog kind is
registered, declared unsupported with a reason, or not a target at all."""

from __future__ import annotations

from edgespec.kinds import apple, aws, coral, jetson, snapdragon, unsupported, workers_ai
from edgespec.kinds.base import FleetRuntime, Kind, Remote, Unsupported

REGISTERED: dict[str, Kind] = {
    k.name: k for k in (jetson.KIND, coral.KIND, apple.KIND, snapdragon.KIND, workers_ai.KIND, aws.WAVELENGTH, aws.EC2)
}
UNSUPPORTED: dict[str, Unsupported] = {u.name: u for u in (unsupported.HOST,)}
NOT_TARGETS = {"client": "web or mobile callers: a data source that runs nothing, for its network figures"}

__all__ = ["FleetRuntime", "Kind", "Remote", "Unsupported", "REGISTERED", "UNSUPPORTED", "NOT_TARGETS", "get", "fleet"]


def get(kind: str) -> Kind | None:
    return REGISTERED.get(kind)


def fleet(kind: str) -> FleetRuntime:
    """The fleet runtime of a device-fleet kind (a KeyError names a kind that has none)."""
    runtime = REGISTERED[kind].fleet
    if runtime is None:
        raise KeyError(f"{kind} is not a device fleet kind")
    return runtime
