"""Human-readable diagnostics with a short code frame, in the style of compilers."""

from __future__ import annotations

from collections.abc import Sequence

from edgespec.diagnostics.diagnostic import Diagnostic, Severity
from edgespec.shorten import cut

FRAME_WIDTH = 120  # characters of a source line a code frame shows, around the column
MESSAGE_WIDTH = 400  # characters of a message: a huge value quoted in it is cut, not echoed


def _frame(d: Diagnostic, lines: list[str]) -> list[str]:
    if not 0 < d.line <= len(lines):
        return []
    gutter = len(str(d.line))
    source = lines[d.line - 1].rstrip("\r").replace("\t", " ")
    width = 1
    if d.end_line == d.line and d.end_column and d.end_column > d.column:
        width = d.end_column - d.column
    column = d.column
    if len(source) > FRAME_WIDTH:  # a long line (a 2 MB value): a window around the column
        start = max(0, column - 1 - FRAME_WIDTH // 4)
        shown = source[start : start + FRAME_WIDTH]
        source = ("..." if start else "") + shown + ("..." if start + FRAME_WIDTH < len(source) else "")
        column = column - start + (3 if start else 0)
    width = min(width, max(1, len(source) - column + 1))
    caret = " " * (column - 1) + "^" * width
    return [f"{' ' * gutter} |", f"{d.line} | {source}", f"{' ' * gutter} | {caret}"]


def _message(text: str) -> str:
    return cut(text, MESSAGE_WIDTH)


def render(diagnostics: Sequence[Diagnostic], sources: dict[str, str]) -> str:
    out: list[str] = []
    split: dict[str, list[str]] = {}
    for d in diagnostics:
        out.append(f"{d.file}:{d.line}:{d.column}: {d.severity.value}[{d.code}]: {_message(d.message)}")
        if d.file in sources:
            if d.file not in split:  # once per file (setdefault would split it for every diagnostic)
                split[d.file] = sources[d.file].split("\n")
            lines = split[d.file]
            out.extend(_frame(d, lines))
        if d.hint:
            out.append(f"  = hint: {_message(d.hint)}")
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    warnings = sum(d.severity is Severity.WARNING for d in diagnostics)
    if diagnostics:
        out.append(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
    return "\n".join(out) + ("\n" if out else "")
