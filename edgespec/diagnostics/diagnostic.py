"""The diagnostic record: a small frozen value with a code, a position and a hint."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import asdict, dataclass


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem found in a spec, at a position (1-based line and column)."""

    code: str
    severity: Severity
    message: str
    file: str
    line: int = 1
    column: int = 1
    end_line: int | None = None
    end_column: int | None = None
    pointer: str = ""
    hint: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["severity"] = self.severity.value
        return d


def sort_key(d: Diagnostic) -> tuple:
    return (d.file, d.line, d.column, d.code, d.pointer, d.message)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)
