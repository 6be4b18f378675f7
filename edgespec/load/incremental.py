"""Load an edited spec again, re-reading only the entry the edit touched (the language server's
path: an edit at 200 workloads re-reads one workload, not 2,000 lines).

`reload(previous, raw, file)` gives exactly what `load_bytes(raw, file)` gives (the same data, the
same positions for every key and value, the same diagnostics). It re-reads alone the one entry of
the root mapping (`metadata`) or of a mapping under it (`workloads/<name>`) whose lines hold every
changed line, and falls back to reading the whole text whenever it cannot show the result is the
same:

- the previous text loaded cleanly, and neither defines YAML anchors (an alias elsewhere could
  read the entry);
- the changed lines lie within the entry's lines, from its key's line up to the next line that
  starts a key of the same or an outer mapping, and that next line exists (the last entry of a
  document is read with the rest);
- the entry's key keeps its name and position;
- the entry, read in its context (its parent's key line, the entry, and that next line, each at
  its own line), gives no diagnostic and the expected mapping shape.

Positions of everything after the entry move by the lines the edit added or removed.
"""

from __future__ import annotations

import re

from edgespec.load.loader import _TAB_INDENT, Limits, Loaded, _decode, load_bytes
from edgespec.load.sourcemap import SourceMap, Span, pointer_join

# a line that is only a block mapping key (the parent of re-read entries): `workloads:`, maybe a comment
_KEY_LINE = re.compile(r"^[A-Za-z_][\w.-]*:[ ]*(#.*)?$")


def reload(previous: Loaded | None, raw: bytes, file: str, limits: Limits = Limits()) -> Loaded:
    """load_bytes(raw, file, limits), re-reading only what changed since `previous` (the Loaded of
    the same document's earlier text) when that provably gives the same result."""
    if previous is not None and len(raw) <= limits.max_bytes:
        text, problem = _decode(raw, file)
        if problem is None and text is not None:
            spliced = splice(previous, text, file, limits)
            if spliced is not None:
                return spliced
    return load_bytes(raw, file, limits)


def splice(previous: Loaded, text: str, file: str, limits: Limits = Limits()) -> Loaded | None:
    """The Loaded of `text` made from `previous` by re-reading the one entry the edit touched, or
    None when that cannot be shown to equal reading the whole text."""
    old = previous.source
    if not isinstance(previous.data, dict) or previous.diagnostics or previous.anchors or old.file != file:
        return None
    old_lines, new_lines = old.text.split("\n"), text.split("\n")
    first, last_old, last_new = _changed(old_lines, new_lines)
    if first is None:  # the same text
        return previous
    found = _entry(previous.data, old, first, last_old)
    if found is None:
        return None
    path, start, end = found  # the entry's key and its lines [start, end) in the old text
    delta = len(new_lines) - len(old_lines)
    context = _context(path, old, new_lines, start, end + delta)
    if context is None or _TAB_INDENT.search(context):
        return None
    loaded = load_bytes(context.encode("utf-8"), file, limits)
    if loaded.data is None or loaded.diagnostics or loaded.anchors:
        return None
    value = _read_back(loaded.data, path)
    pointer = "".join(pointer_join("", k) for k in path)
    if value is None or loaded.source.keys.get(pointer, _NO_SPAN)[:2] != old.keys[pointer][:2]:
        return None
    return Loaded(_replaced(previous.data, path, value[0]), _moved(old, loaded.source, text, pointer, end, delta))


_NO_SPAN = Span(0, 0, 0, 0)


def _changed(old: list[str], new: list[str]) -> tuple[int | None, int, int]:
    """The first changed line and the end of the changed lines in each text (0-based, exclusive)."""
    if old == new:
        return None, 0, 0
    n = min(len(old), len(new))
    first = 0
    while first < n and old[first] == new[first]:
        first += 1
    tail = 0
    while tail < n - first and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return first, len(old) - tail, len(new) - tail


def _entry(data: dict, source: SourceMap, first: int, last: int) -> tuple[tuple[str, ...], int, int] | None:
    """The innermost entry of the root mapping or of a mapping under it whose lines [start, end)
    (0-based: from its key's line to the line of the key after it) hold the changed lines
    [first, last), with the key after it existing; or None."""
    starts = _key_lines(data, source)
    for depth in (2, 1):
        for i, (path, line) in enumerate(starts):
            if len(path) != depth or line > first:
                continue
            after = next((s for p, s in starts[i + 1 :] if len(p) <= depth), None)
            if after is not None and after > line and last <= after and first >= line:
                return path, line, after
    return None


def _key_lines(data: dict, source: SourceMap) -> list[tuple[tuple[str, ...], int]]:
    """The root's keys and the keys of mappings under them, in text order, with their 0-based lines."""
    out: list[tuple[tuple[str, ...], int]] = []
    for key, value in data.items():
        pointer = pointer_join("", key)
        out.append(((key,), source.keys[pointer].line - 1))
        if isinstance(value, dict):
            out.extend(((key, k), source.keys[pointer_join(pointer, k)].line - 1) for k in value)
    return out


def _context(path: tuple[str, ...], old: SourceMap, new_lines: list[str], start: int, end: int) -> str | None:
    """The entry's new lines [start, end) and the key line after it, each at its own line number,
    under its parent's key line (also at its own), blank lines elsewhere; None when the parent's
    key line is not a plain `key:` line (a flow mapping, a tag)."""
    lines = [""] * start
    if len(path) == 2:
        parent = old.keys[pointer_join("", path[0])].line - 1
        if parent >= start or not _KEY_LINE.match(new_lines[parent]):
            return None
        lines[parent] = new_lines[parent]
    return "\n".join(lines + new_lines[start : end + 1]) + "\n"


def _read_back(data: dict, path: tuple[str, ...]) -> tuple | None:
    """(the entry's value,) from the context's data when it has the expected shape: the entry, then
    the one key of the line after it (a sibling, or an outer key), and nothing else."""
    if len(path) == 1:
        keys = list(data)
        return (data[path[0]],) if len(keys) == 2 and keys[0] == path[0] else None
    parent = data.get(path[0])
    if list(data)[:1] != [path[0]] or not isinstance(parent, dict):
        return None
    inner, outer = list(parent), list(data)[1:]
    sibling = len(inner) == 2 and not outer
    uncle = len(inner) == 1 and len(outer) == 1
    if inner[0] != path[1] or not (sibling or uncle):
        return None
    return (parent[path[1]],)


def _replaced(data: dict, path: tuple[str, ...], value) -> dict:
    """A copy of `data` with the entry at `path` replaced (in place in the key order), sharing the rest."""
    out = dict(data)
    if len(path) == 1:
        out[path[0]] = value
    else:
        out[path[0]] = {**data[path[0]], path[1]: value}
    return out


def _moved(old: SourceMap, read: SourceMap, text: str, pointer: str, end: int, delta: int) -> SourceMap:
    """The old positions with the entry's replaced by the re-read ones (in the same place in the
    order: both are in text order), and every position at or after the old line `end` (0-based)
    moved by `delta` lines."""
    inside = pointer + "/"

    def moved(spans: dict[str, Span], entry: dict[str, Span]) -> dict[str, Span]:
        out: dict[str, Span] = {}
        for p, s in spans.items():
            if p == pointer:  # the entry's first position: its key's, or its value's
                out.update((q, r) for q, r in entry.items() if q == pointer or q.startswith(inside))
            if p == pointer or p.startswith(inside):
                continue
            if delta and s.end_line - 1 >= end:
                s = Span(s.line + delta if s.line - 1 >= end else s.line, s.column, s.end_line + delta, s.end_column)
            out[p] = s
        return out

    return SourceMap(old.file, text, moved(old.values, read.values), moved(old.keys, read.keys))
