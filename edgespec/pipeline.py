"""The stages wired together: load → validate (→ plan → emit, in later stages)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from edgespec.diagnostics import Diagnostic
from edgespec.load import Limits, SourceMap, load_path
from edgespec.spec.models import Spec
from edgespec.validate import validate


@dataclass
class Checked:
    source: SourceMap
    spec: Spec | None
    diagnostics: list[Diagnostic] = field(default_factory=list)


def check_file(path: str, *, max_bytes: int = Limits.max_bytes) -> Checked:
    loaded = load_path(path, Limits(max_bytes=max_bytes))
    spec, diagnostics = validate(loaded)
    return Checked(loaded.source, spec, diagnostics)


def plan_file(path: str, *, max_bytes: int = Limits.max_bytes):
    """Load, validate and plan one spec: (Checked, Plan or None, all diagnostics)."""
    from edgespec.diagnostics import sort_key
    from edgespec.planner.plan import plan

    checked = check_file(path, max_bytes=max_bytes)
    if checked.spec is None:
        return checked, None, checked.diagnostics
    planned, diagnostics = plan(checked.spec, checked.source)
    return checked, planned, sorted(checked.diagnostics + diagnostics, key=sort_key)


def check_files(paths: Iterable[str], *, max_bytes: int = Limits.max_bytes) -> list[Checked]:
    return [check_file(p, max_bytes=max_bytes) for p in paths]
