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


def plan_file(
    path: str, *, max_bytes: int = Limits.max_bytes, keep_all: bool = False, fragment=None, jobs: int | None = 1
):
    """Load, validate and plan one spec: (Checked, Plan or None, all diagnostics). The plan keeps
    every candidate only with `keep_all` (for `plan --explain`); `fragment` renders each workload
    where it is planned; `jobs` as planner.plan takes it (None: the CLI's parallel planning)."""
    from edgespec.diagnostics import sort_key
    from edgespec.planner.plan import plan

    checked = check_file(path, max_bytes=max_bytes)
    if checked.spec is None:
        return checked, None, checked.diagnostics
    planned, diagnostics = plan(checked.spec, checked.source, keep_all=keep_all, fragment=fragment, jobs=jobs)
    return checked, planned, sorted(checked.diagnostics + diagnostics, key=sort_key)


def compile_file(path: str, *, max_bytes: int = Limits.max_bytes, jobs: int | None = 1):
    """Load, validate, plan and emit one spec: (Checked, files or None, all diagnostics).

    Files are None when any error was found: nothing is written from a spec with errors."""
    from edgespec.diagnostics import has_errors, sort_key
    from edgespec.emit import emit

    checked, planned, diagnostics = plan_file(path, max_bytes=max_bytes, jobs=jobs)
    if planned is None or has_errors(diagnostics):
        return checked, None, diagnostics
    emitted = emit(checked.spec, planned, checked.source)
    diagnostics = sorted(diagnostics + emitted.diagnostics, key=sort_key)
    return checked, (None if has_errors(diagnostics) else emitted.files), diagnostics


def check_files(paths: Iterable[str], *, max_bytes: int = Limits.max_bytes) -> list[Checked]:
    return [check_file(p, max_bytes=max_bytes) for p in paths]
