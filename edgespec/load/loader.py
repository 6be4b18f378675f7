"""Load a spec: bytes → plain data (dict/list/str/int/float/bool/None) and a SourceMap.

The YAML is parsed once by libyaml (PyYAML's C parser) into events, and the events are built
into plain data here, so that one pass can keep positions, refuse duplicate keys, bound the
nesting depth and bound alias expansion before anything is expanded. Scalars are resolved
with the YAML 1.2 core schema, the one editors (yaml-language-server) and JSON Schema use:
`yes`/`no`/`on`/`off` are strings, not booleans, and dates stay strings.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from edgespec.diagnostics import Diagnostic
from edgespec.diagnostics.codes import diag
from edgespec.load.sourcemap import SourceMap, Span, pointer_join

try:  # the C parser is the fast path; the pure-Python one gives the same events
    from yaml import CSafeLoader as _EventLoader
except ImportError:  # pragma: no cover - wheels of PyYAML ship libyaml
    from yaml import SafeLoader as _EventLoader  # type: ignore[assignment]


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    max_depth: int = 64
    # Alias expansion: aliases may add at most this many nodes beyond those written out.
    max_alias_nodes: int = 100_000


@dataclass
class Loaded:
    """The result of loading: data is None when there were errors."""

    data: dict | None
    source: SourceMap
    diagnostics: list[Diagnostic] = field(default_factory=list)
    anchors: bool = False  # the text defines YAML anchors (incremental.reload then reads it whole)


# -- YAML 1.2 core schema ---------------------------------------------------------------------
_NULLS = frozenset({"~", "null", "Null", "NULL", ""})
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT10 = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}


# the first characters a non-string plain scalar of the core schema can start with (null: `~`,
# `null`, empty; bool: t/T/f/F; numbers: sign, digit, `.`): anything else is a string at once
_MAYBE_NOT_STRING = frozenset("~nNtTfF+-.0123456789")


def _resolve_plain(value: str) -> Any:
    if value and value[0] not in _MAYBE_NOT_STRING:
        return value
    if value in _NULLS:
        return None
    if value in _BOOL:
        return _BOOL[value]
    if _INT10.match(value):
        return int(value)
    if _INT8.match(value):
        return int(value[2:], 8)
    if _INT16.match(value):
        return int(value[2:], 16)
    if _FLOAT.match(value):
        return float(value)
    if _INF.match(value):
        return float("-inf") if value.startswith("-") else float("inf")
    if _NAN.match(value):
        return float("nan")
    return value


class _Refused(Exception):
    """Stops the build at the first fatal problem (depth, aliases, syntax)."""

    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


class _Builder:
    """Builds plain data from parser events, recording positions as it goes."""

    def __init__(self, parser: Any, source: SourceMap, limits: Limits):
        self.parser = parser
        self.source = source
        self.limits = limits
        self.file = source.file
        self.anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (value, node count)
        self.alias_nodes = 0
        self.diagnostics: list[Diagnostic] = []

    # Positions ---------------------------------------------------------------------------------
    @staticmethod
    def _span(event: Any) -> Span:
        s, e = event.start_mark, event.end_mark
        return Span(s.line + 1, s.column + 1, e.line + 1, e.column + 1)

    def _error(self, code: str, message: str, span: Span, pointer: str, hint: str | None = None) -> Diagnostic:
        return diag(
            code,
            message,
            file=self.file,
            line=span.line,
            column=span.column,
            end_line=span.end_line,
            end_column=span.end_column,
            pointer=pointer,
            hint=hint,
        )

    # Building ----------------------------------------------------------------------------------
    def node(self, event: Any, pointer: str, depth: int) -> tuple[Any, int]:
        """Build the node that starts with `event`; returns (value, number of nodes it expands to)."""
        s, e = event.start_mark, event.end_mark  # self._span(event), spelled out: once per node
        span = Span(s.line + 1, s.column + 1, e.line + 1, e.column + 1)
        self.source.values[pointer] = span
        kind = type(event)
        if kind is yaml.ScalarEvent:
            if event.tag is None and event.implicit[0] and not event.anchor:  # a plain scalar: the common case
                return _resolve_plain(event.value), 1
            value, count = self.scalar(event, span, pointer), 1
        elif kind is yaml.MappingStartEvent:
            self.collection_tag(event, "map", span, pointer)
            value, count = self.mapping(pointer, depth + 1, span)
        elif kind is yaml.SequenceStartEvent:
            self.collection_tag(event, "seq", span, pointer)
            value, count = self.sequence(pointer, depth + 1, span)
        elif kind is yaml.AliasEvent:
            return self.alias(event, span, pointer)
        else:  # pragma: no cover - the parser guarantees a node here
            raise _Refused(self._error("ES104", f"unexpected {kind.__name__}", span, pointer))
        if event.anchor:
            self.anchors[event.anchor] = (value, count)
        return value, count

    def alias(self, event: Any, span: Span, pointer: str) -> tuple[Any, int]:
        if event.anchor not in self.anchors:
            raise _Refused(
                self._error("ES114", f"alias *{event.anchor} has no anchor &{event.anchor} before it", span, pointer)
            )
        value, count = self.anchors[event.anchor]
        self.alias_nodes += count
        if self.alias_nodes > self.limits.max_alias_nodes:
            raise _Refused(
                self._error(
                    "ES111",
                    f"aliases expand to more than {self.limits.max_alias_nodes} nodes",
                    span,
                    pointer,
                    hint="anchors that alias other anchors grow exponentially",
                )
            )
        return value, count

    def _check_depth(self, depth: int, span: Span, pointer: str) -> None:
        if depth > self.limits.max_depth:
            raise _Refused(
                self._error("ES110", f"collections nest deeper than {self.limits.max_depth} levels", span, pointer)
            )

    def collection_tag(self, event: Any, kind: str, span: Span, pointer: str) -> None:
        if event.tag not in (None, "!", _TAG + kind):
            self.diagnostics.append(self._error("ES112", f"unsupported tag {event.tag}", span, pointer))

    def scalar(self, event: Any, span: Span, pointer: str) -> Any:
        tag, value = event.tag, event.value
        if tag in (None, "!") or tag == "":
            if event.implicit[0] and tag is None:
                return _resolve_plain(value)
            return value  # quoted, or the non-specific tag `!`: a string
        if tag not in _SCALAR_TAGS:
            self.diagnostics.append(self._error("ES112", f"unsupported tag {tag}", span, pointer))
            return value
        kind = tag[len(_TAG) :]
        if kind == "str":
            return value
        resolved = _resolve_plain(value)
        expected = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}[kind]
        if isinstance(resolved, bool) and kind != "bool" or not isinstance(resolved, expected):
            self.diagnostics.append(self._error("ES112", f"{value!r} is not a valid !!{kind}", span, pointer))
            return value
        return float(resolved) if kind == "float" else resolved

    def sequence(self, pointer: str, depth: int, span: Span) -> tuple[list, int]:
        self._check_depth(depth, span, pointer)
        out: list = []
        count = 1
        get_event = self.parser.get_event
        while type(event := get_event()) is not yaml.SequenceEndEvent:
            value, n = self.node(event, f"{pointer}/{len(out)}", depth)
            out.append(value)
            count += n
        return out, count

    def mapping(self, pointer: str, depth: int, span: Span) -> tuple[dict, int]:
        self._check_depth(depth, span, pointer)
        out: dict = {}
        merged: dict = {}
        count = 1
        get_event = self.parser.get_event
        keys = self.source.keys
        while type(key_event := get_event()) is not yaml.MappingEndEvent:
            s, e = key_event.start_mark, key_event.end_mark  # self._span(key_event), spelled out
            key_span = Span(s.line + 1, s.column + 1, e.line + 1, e.column + 1)
            if type(key_event) is not yaml.ScalarEvent:
                # A complex key: build it to keep the event stream in step, then refuse it.
                self.node(key_event, f"{pointer}/?", depth)
                self.diagnostics.append(self._error("ES113", "a mapping key must be a plain string", key_span, pointer))
                self.node(get_event(), f"{pointer}/?", depth)
                continue
            key = key_event.value  # keys are text: `on:` is the key "on", `1:` the key "1"
            if key == "<<" and key_event.tag is None and key_event.implicit[0]:
                value, n = self.node(get_event(), pointer_join(pointer, "<<"), depth)
                count += n
                for part in value if isinstance(value, list) else [value]:
                    if not isinstance(part, dict):
                        self.diagnostics.append(
                            self._error(
                                "ES204", "a merge key `<<` takes a mapping or a list of mappings", key_span, pointer
                            )
                        )
                        break
                    for k, v in part.items():
                        merged.setdefault(k, v)
                continue
            if key_event.tag not in (None, "!", _TAG + "str"):
                self.diagnostics.append(
                    self._error(
                        "ES113", f"key {key!r} has the tag {key_event.tag}; keys are strings", key_span, pointer
                    )
                )
            # pointer_join(pointer, key), without the call when there is nothing to escape
            child = pointer + "/" + key if "~" not in key and "/" not in key else pointer_join(pointer, key)
            if key in out:
                first = self.source.keys[child]
                self.diagnostics.append(
                    self._error(
                        "ES106",
                        f"duplicate key {key!r}",
                        key_span,
                        child,
                        hint=f"first defined at line {first.line}, column {first.column}",
                    )
                )
                # parse the repeated value (to stay in step) without recording its positions
                saved, self.source = self.source, SourceMap(self.file)
                try:
                    self.node(get_event(), child, depth)
                finally:
                    self.source = saved
                continue
            keys[child] = key_span
            value, n = self.node(get_event(), child, depth)
            out[key] = value
            count += n
        for k, v in merged.items():
            out.setdefault(k, v)
        return out, count


_TAB_INDENT = re.compile(r"^[ ]*\t", re.MULTILINE)


def _decode(raw: bytes, file: str) -> tuple[str | None, Diagnostic | None]:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        return None, diag(
            "ES103",
            f"byte 0x{raw[exc.start]:02x} at offset {exc.start} is not valid UTF-8",
            file=file,
            line=line,
            column=column,
        )


def load_bytes(raw: bytes, file: str, limits: Limits = Limits()) -> Loaded:
    """Load a spec from bytes. Never raises for bad input: problems come back as diagnostics."""
    source = SourceMap(file)
    if len(raw) > limits.max_bytes:
        return Loaded(
            None, source, [diag("ES102", f"the file is {len(raw)} bytes; the limit is {limits.max_bytes}", file=file)]
        )
    text, problem = _decode(raw, file)
    if problem:
        return Loaded(None, source, [problem])
    source.text = text
    tab = _TAB_INDENT.search(text)
    if tab:
        line = text.count("\n", 0, tab.start()) + 1
        column = tab.end() - tab.start()
        return Loaded(
            None,
            source,
            [
                diag(
                    "ES105",
                    "a tab character is used for indentation",
                    file=file,
                    line=line,
                    column=column,
                    hint="indent with spaces",
                )
            ],
        )
    parser = _EventLoader(text)
    builder = _Builder(parser, source, limits)
    try:
        data = _build_document(parser, builder, file)
    except _Refused as refused:
        return Loaded(None, source, builder.diagnostics + [refused.diagnostic])
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = (exc.problem or "invalid YAML") + (f" ({exc.context})" if exc.context else "")
        return Loaded(None, source, builder.diagnostics + [diag("ES104", message, file=file, line=line, column=column)])
    except yaml.YAMLError as exc:  # errors without a mark (e.g. reader errors)
        return Loaded(None, source, builder.diagnostics + [diag("ES104", str(exc).splitlines()[0], file=file)])
    finally:
        parser.dispose()
    diagnostics = builder.diagnostics
    return Loaded(None if diagnostics else data, source, diagnostics, bool(builder.anchors))


def _build_document(parser: Any, builder: _Builder, file: str) -> Any:
    parser.get_event()  # StreamStart
    if parser.check_event(yaml.StreamEndEvent):
        raise _Refused(diag("ES108", "the spec is empty", file=file))
    parser.get_event()  # DocumentStart
    start = parser.get_event()
    data, _ = builder.node(start, "", 0)
    parser.get_event()  # DocumentEnd
    if not parser.check_event(yaml.StreamEndEvent):
        second = parser.peek_event()
        raise _Refused(
            diag(
                "ES107",
                "the file holds more than one YAML document",
                file=file,
                line=second.start_mark.line + 1,
                column=second.start_mark.column + 1,
                hint="a spec is one document; remove the `---` and what follows, or split the file",
            )
        )
    if data is None:
        raise _Refused(diag("ES108", "the spec is empty", file=file))
    if not isinstance(data, dict):
        span = builder._span(start)
        raise _Refused(
            diag(
                "ES109",
                f"the top level is a {type(data).__name__}, not a mapping",
                file=file,
                line=span.line,
                column=span.column,
            )
        )
    return data


def load_path(path: str, limits: Limits = Limits()) -> Loaded:
    """Read and load a spec file ('-' reads standard input)."""
    import sys

    display = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(limits.max_bytes + 1)
        else:
            if os.path.isdir(path):
                raise IsADirectoryError(path)
            size = os.path.getsize(path)
            if size > limits.max_bytes:
                return Loaded(
                    None,
                    SourceMap(display),
                    [diag("ES102", f"the file is {size} bytes; the limit is {limits.max_bytes}", file=display)],
                )
            with open(path, "rb") as fh:
                raw = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        return Loaded(
            None, SourceMap(display), [diag("ES101", f"cannot read the file: {exc.strerror or exc}", file=display)]
        )
    return load_bytes(raw, display, limits)
