"""Stage 5: emit. Plan → {relative path: bytes}, through each target kind's emitters.

Emitters are pure functions of the spec and the plan; which run for a kind is the kind's own
module's business (edgespec/kinds/, an explicit registry). A kind declared unsupported gets no
artifacts, and `compile` says so with its reason (ES602) for every workload placed on it, rather
than pretending. A device fleet's files then become a Greengrass package with its telemetry.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources

import yaml

from edgespec import catalog, kinds
from edgespec.diagnostics import Diagnostic
from edgespec.emit import greengrass, telemetry
from edgespec.load.sourcemap import SourceMap
from edgespec.planner.types import Plan
from edgespec.spec.models import Spec


@dataclass
class Emitted:
    files: dict[str, bytes] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


@functools.cache
def toolchain() -> dict:
    text = resources.files("edgespec.emit").joinpath("toolchain.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def targets_in_use(plan: Plan) -> dict[str, list[tuple[str, str]]]:
    """target -> [(workload, role)] for every chosen placement."""
    used: dict[str, list[tuple[str, str]]] = {}
    for name, wp in plan.workloads.items():
        for p in wp.chosen.placements if wp.chosen else ():
            used.setdefault(p.target, []).append((name, p.role))
    return used


def emit(spec: Spec, plan: Plan, source: SourceMap, measurements: tuple[tuple[str, str], ...] = ()) -> Emitted:
    """Every file of every target, plus edgespec.lock.json (`measurements`: (path, sha256) of each
    measurement file the plan read, recorded there)."""
    from edgespec.diagnostics.codes import diag
    from edgespec.emit.lock import lock
    from edgespec.write import LOCK_FILE

    out = Emitted()
    for target, uses in sorted(targets_in_use(plan).items()):
        entry = catalog.hardware()[spec.targets[target].hardware]
        kind = entry["kind"]
        registered = kinds.get(kind)
        if registered is None:
            why = kinds.UNSUPPORTED[kind].reason if kind in kinds.UNSUPPORTED else f"no emitter for {kind} targets"
            out.diagnostics.append(
                diag(
                    "ES602",
                    f"{target}: {why}; no artifacts there for {', '.join(sorted({w for w, _ in uses}))}",
                    **source.at(f"/targets/{target}", key=True),
                )
            )
            continue
        for emitter in registered.emit_functions():
            part = emitter(spec, plan, target, toolchain(), source)
            out.files.update(part.files)
            out.diagnostics += part.diagnostics
        if registered.fleet_for(entry) is not None:
            # a device fleet: its files become a versioned Greengrass package
            for fleet in (greengrass, telemetry):
                part = fleet.emit(spec, plan, target, toolchain(), source, out.files)
                out.files.update(part.files)
                out.diagnostics += part.diagnostics
    out.files[LOCK_FILE] = lock(source.text, spec, plan, out.files, toolchain(), measurements)
    return out
