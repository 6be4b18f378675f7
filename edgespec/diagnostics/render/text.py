"""Human-readable diagnostics with a short code frame, in the style of compilers."""

from __future__ import annotations

from collections.abc import Sequence

from edgespec.diagnostics.diagnostic import Diagnostic, Severity


def _frame(d: Diagnostic, lines: list[str]) -> list[str]:
    if not 0 < d.line <= len(lines):
        return []
    gutter = len(str(d.line))
    source = lines[d.line - 1].rstrip("\r").replace("\t", " ")
    width = 1
    if d.end_line == d.line and d.end_column and d.end_column > d.column:
        width = d.end_column - d.column
    caret = " " * (d.column - 1) + "^" * min(width, max(1, len(source) - d.column + 1))
    return [f"{' ' * gutter} |", f"{d.line} | {source}", f"{' ' * gutter} | {caret}"]


def render(diagnostics: Sequence[Diagnostic], sources: dict[str, str]) -> str:
    out: list[str] = []
    split: dict[str, list[str]] = {}
    for d in diagnostics:
        out.append(f"{d.file}:{d.line}:{d.column}: {d.severity.value}[{d.code}]: {d.message}")
        if d.file in sources:
            if d.file not in split:  # once per file (setdefault would split it for every diagnostic)
                split[d.file] = sources[d.file].split("\n")
            lines = split[d.file]
            out.extend(_frame(d, lines))
        if d.hint:
            out.append(f"  = hint: {d.hint}")
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    warnings = sum(d.severity is Severity.WARNING for d in diagnostics)
    if diagnostics:
        out.append(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
    return "\n".join(out) + ("\n" if out else "")
