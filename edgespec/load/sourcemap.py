"""JSON pointer → source span, for keys and for values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class Span(NamedTuple):
    line: int  # 1-based
    column: int  # 1-based
    end_line: int
    end_column: int


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer_join(pointer: str, token: str | int) -> str:
    token = str(token)
    if "~" in token or "/" in token:
        token = _escape(token)
    return f"{pointer}/{token}"


def pointer_from_loc(loc: tuple) -> str:
    return "".join(pointer_join("", t) for t in loc)


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a loaded document sits in the text."""

    file: str
    text: str = ""
    values: dict[str, Span] = field(default_factory=dict)
    keys: dict[str, Span] = field(default_factory=dict)

    def at(self, pointer: str, *, key: bool = False, ends: bool = False) -> dict:
        """Where a diagnostic about `pointer` points: `diag(code, message, **source.at(pointer))`,
        the file, the line and column of the pointer's (or its nearest ancestor's) key or value,
        with `ends` the span's end too, and the pointer itself."""
        _, span = self.locate(pointer, key=key)
        where = {"file": self.file, "line": span.line, "column": span.column, "pointer": pointer}
        if ends:
            where.update(end_line=span.end_line, end_column=span.end_column)
        return where

    def locate(self, pointer: str, *, key: bool = False) -> tuple[str, Span]:
        """The span for `pointer`, or for its nearest ancestor that has one.

        With `key=True` the span of the mapping key is preferred (an unknown key is best shown
        at the key, a bad value at the value).
        """
        p = pointer
        while True:
            if key and p in self.keys:
                return p, self.keys[p]
            if p in self.values:
                return p, self.values[p]
            if p in self.keys:
                return p, self.keys[p]
            if not p:
                return "", Span(1, 1, 1, 1)
            p = p.rsplit("/", 1)[0]
