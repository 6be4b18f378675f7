"""The stages wired together: load → validate (→ plan → emit, in later stages)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from edgespec.diagnostics import Diagnostic
from edgespec.load import Limits, SourceMap, load_path
from edgespec.spec.models import Spec
from edgespec.validate import validate


@dataclass
class Checked:
    source: SourceMap
    spec: Spec | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    measurement_texts: dict[str, str] = field(default_factory=dict)  # measurement files read while planning
    measurement_digests: tuple[tuple[str, str], ...] = ()  # (path as named, sha256) of each, for the lock
    data: Any = None  # the document as the loader read it (YAML 1.2 core), for the diff's input side

    @property
    def sources(self) -> dict[str, str]:
        """Every file diagnostics may point into -> its text (the spec's and its measurements')."""
        return {self.source.file: self.source.text, **self.measurement_texts}


def check_file(path: str, *, max_bytes: int = Limits.max_bytes) -> Checked:
    loaded = load_path(path, Limits(max_bytes=max_bytes))
    spec, diagnostics = validate(loaded)
    return Checked(loaded.source, spec, diagnostics, data=loaded.data)


def plan_file(
    path: str,
    *,
    max_bytes: int = Limits.max_bytes,
    keep_all: bool = False,
    fragment=None,
    jobs: int | None = 1,
    measurements: Iterable[str] = (),
):
    """Load, validate and plan one spec: (Checked, Plan or None, all diagnostics). The plan keeps
    every candidate only with `keep_all` (for `plan --explain`); `fragment` renders each workload
    where it is planned; `jobs` as planner.plan takes it (None: the CLI's parallel planning);
    `measurements`: files of measured records, after those the spec lists. A measurement file
    with errors stops the plan as a spec error does."""
    from edgespec.diagnostics import has_errors, sort_key
    from edgespec.measure import files
    from edgespec.planner.plan import plan

    checked = check_file(path, max_bytes=max_bytes)
    if checked.spec is None:
        return checked, None, checked.diagnostics
    loaded = files.load(checked.spec, checked.source, measurements)
    checked.measurement_texts, checked.measurement_digests = loaded.texts, loaded.digests
    if has_errors(loaded.diagnostics):
        return checked, None, sorted(checked.diagnostics + loaded.diagnostics, key=sort_key)
    planned, diagnostics = plan(
        checked.spec, checked.source, keep_all=keep_all, fragment=fragment, jobs=jobs, measurements=loaded.records
    )
    return checked, planned, sorted(checked.diagnostics + loaded.diagnostics + diagnostics, key=sort_key)


def compile_file(
    path: str, *, max_bytes: int = Limits.max_bytes, jobs: int | None = 1, measurements: Iterable[str] = ()
):
    """Load, validate, plan and emit one spec: (Checked, files or None, all diagnostics).

    Files are None when any error was found: nothing is written from a spec with errors."""
    from edgespec.diagnostics import has_errors, sort_key
    from edgespec.emit import emit

    checked, planned, diagnostics = plan_file(path, max_bytes=max_bytes, jobs=jobs, measurements=measurements)
    if planned is None or has_errors(diagnostics):
        return checked, None, diagnostics
    emitted = emit(checked.spec, planned, checked.source, checked.measurement_digests)
    diagnostics = sorted(diagnostics + emitted.diagnostics, key=sort_key)
    return checked, (None if has_errors(diagnostics) else emitted.files), diagnostics


def check_files(paths: Iterable[str], *, max_bytes: int = Limits.max_bytes) -> list[Checked]:
    return [check_file(p, max_bytes=max_bytes) for p in paths]
