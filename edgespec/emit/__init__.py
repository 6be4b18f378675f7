"""Stage 5: emit. Plan → {relative path: bytes}, one emitter per target kind.

Emitters are pure functions of the spec and the plan; the registry is explicit. A target kind
with no emitter yet gets no artifacts, and `compile` says so (ES602) for every workload placed
on it, rather than pretending.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources

import yaml

from edgespec import catalog
from edgespec.diagnostics import Diagnostic
from edgespec.emit import cloudformation, coral, greengrass, jetson, kubernetes, router, telemetry, workers
from edgespec.load.sourcemap import SourceMap
from edgespec.planner.types import Plan
from edgespec.spec.models import Spec


@dataclass
class Emitted:
    files: dict[str, bytes] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


# target kind -> emitters(spec, plan, target name, toolchain, source map) -> Emitted
EMITTERS: dict[str, tuple[Callable[..., Emitted], ...]] = {
    "jetson": (jetson.emit, router.emit),
    "coral": (coral.emit, router.emit),
    "workers-ai": (workers.emit,),
    "wavelength": (cloudformation.emit, kubernetes.emit),
    "ec2": (cloudformation.emit, kubernetes.emit),
}


FLEET_KINDS = {"jetson", "coral"}


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


def emit(spec: Spec, plan: Plan, source: SourceMap) -> Emitted:
    """Every file of every target, plus edgespec.lock.json."""
    from edgespec.diagnostics.codes import diag
    from edgespec.emit.lock import lock
    from edgespec.write import LOCK_FILE

    out = Emitted()
    for target, uses in sorted(targets_in_use(plan).items()):
        kind = catalog.hardware()[spec.targets[target].hardware]["kind"]
        emitters = EMITTERS.get(kind)
        if emitters is None:
            _, span = source.locate(f"/targets/{target}", key=True)
            out.diagnostics.append(diag(
                "ES602", f"{target}: no emitter for {kind} targets yet; "
                f"no artifacts there for {', '.join(sorted({w for w, _ in uses}))}",
                file=source.file, line=span.line, column=span.column, pointer=f"/targets/{target}"))
            continue
        for emitter in emitters:
            part = emitter(spec, plan, target, toolchain(), source)
            out.files.update(part.files)
            out.diagnostics += part.diagnostics
        if kind in FLEET_KINDS:  # a device fleet: its files become a versioned Greengrass package
            for fleet in (greengrass, telemetry):
                part = fleet.emit(spec, plan, target, toolchain(), source, out.files)
                out.files.update(part.files)
                out.diagnostics += part.diagnostics
    out.files[LOCK_FILE] = lock(source.text, spec, plan, out.files, toolchain())
    return out
