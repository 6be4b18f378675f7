"""Turn pydantic validation errors into positioned diagnostics (ES2xx)."""

from __future__ import annotations

import difflib
import re
from typing import Any

from edgespec.diagnostics import Diagnostic
from edgespec.diagnostics.codes import diag
from edgespec.load.sourcemap import SourceMap, pointer_from_loc
from edgespec.shorten import cut
from edgespec.spec.types import semver_meant

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean (true or false)",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "none_required": "null",
}
_RANGE = {
    "greater_than": "greater than",
    "greater_than_equal": "at least",
    "less_than": "less than",
    "less_than_equal": "at most",
}
_SIZE = {"too_short", "too_long", "string_too_short", "string_too_long"}
# spellings people bring from other tools -> the enum value they mean, where it is one
ALIASES = {
    "fp32": "float32",
    "fp16": "float16",
    "bf16": "bfloat16",
    "float32": "fp32",
    "float16": "fp16",
    "half": "fp16",
    "i8": "int8",
    "u8": "uint8",
    "int4": "int4",
}


def describe(value: Any) -> str:
    """How a value reads in a message: its type, and the value itself when short."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = cut(value, 40)
        return f"the string {shown!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def suggest(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def _loc(error: dict) -> tuple:
    # Drop pydantic's union/function tags ('function-after[...]'), keep keys and indexes.
    return tuple(t for t in error["loc"] if isinstance(t, int) or not re.match(r"^[a-z-]+\[.*\]$", t))


def convert(errors: list[dict], source: SourceMap) -> list[Diagnostic]:
    """Diagnostics for a pydantic ValidationError's `errors()`."""
    return [_convert_one(error, source) for error in errors]


def _convert_one(error: dict, source: SourceMap) -> Diagnostic:
    from edgespec.spec import schema

    kind: str = error["type"]
    loc = _loc(error)
    value = error.get("input")
    hint = None
    at_key = False
    if loc and loc[-1] == "[key]":  # a map key failed (names): point at the key
        loc = loc[:-1]
        at_key = True

    if kind == "extra_forbidden":
        code, at_key = "ES201", True
        allowed = schema.keys_at(loc[:-1])
        key = str(loc[-1])
        message = f"unknown key {key!r}"
        close = suggest(key, allowed)
        hint = f"did you mean {close!r}?" if close else f"allowed here: {', '.join(allowed)}"
    elif kind == "missing":
        code = "ES202"
        message = f"missing required field {loc[-1]!r}"
        hint = f"add `{loc[-1]}:` here; see docs/spec.md"
        loc = loc[:-1]
        at_key = True
    elif kind == "literal_error":
        code = "ES203"
        expected = re.findall(r"'([^']*)'", error.get("ctx", {}).get("expected", ""))
        message = f"{describe(value)} is not allowed here; expected one of: {', '.join(expected)}"
        close = None
        if isinstance(value, str):
            alias = ALIASES.get(value.strip().lower())
            close = alias if alias in expected else suggest(value, expected)
            if close is None:
                close = next((e for e in expected if e.lower() == value.strip().lower()), None)
        hint = f"did you mean {close!r}?" if close else None
    elif kind in _EXPECTED:
        code = "ES204"
        message = f"expected {_EXPECTED[kind]}, got {describe(value)}"
        if isinstance(value, (int, float)) and kind == "string_type":
            hint = _string_hint(loc, value)
        elif kind in ("dict_type", "model_type", "model_attributes_type") and isinstance(value, (str, int, float)):
            hint = _mapping_hint(loc, value)
    elif kind in _RANGE:
        code = "ES206"
        bound = next(iter(error.get("ctx", {}).values()), "")
        message = f"{describe(value)} is out of range: must be {_RANGE[kind]} {bound}"
    elif kind in _SIZE:
        code = "ES209"
        message, hint = _size(kind, error.get("ctx", {}))
    elif kind.startswith("ES") and len(kind) == 5:
        code = kind
        message = error["msg"]
        hint = (error.get("ctx") or {}).get("hint")
    else:  # anything unforeseen still gets a position and pydantic's own words
        code = "ES204"
        message = error["msg"]

    pointer = pointer_from_loc(loc)
    return diag(code, message, **source.at(pointer, key=at_key, ends=True), hint=hint)


def _string_hint(loc: tuple, value: int | float) -> str:
    """A number where a string belongs: YAML read `version: 1.0` as a number. Quoting it keeps
    `1.0`, which a version field then refuses, so say what to write."""
    meant = semver_meant(str(value)) if loc and loc[-1] == "version" else None
    if meant is not None:
        return f'write version: "{meant}" (a quoted major.minor.patch)'
    return f'quote the value to make it a string: "{value}"'


def _mapping_hint(loc: tuple, value: str | int | float) -> str | None:
    """A bare figure where a mapping of figures belongs (`latency: 50 ms`): the keys it takes."""
    from edgespec.spec import schema

    keys = schema.keys_at(loc)
    if not keys:
        return None
    number = re.match(r"^\s*([0-9.]+)\s*(ms|s)?\s*$", str(value))
    timed = sorted((k for k in keys if k.endswith("_ms")), key=lambda k: k != "p95_ms")  # p95 first: the usual budget
    if number and timed:
        figure = number.group(1) if number.group(2) != "s" else f"{number.group(1)}s"
        return f"{loc[-1]} is a mapping: write {loc[-1]}: {{{timed[0]}: {figure}}} (keys: {', '.join(keys)})"
    return f"{loc[-1]} is a mapping with the keys {', '.join(keys)}"


def _size(kind: str, ctx: dict) -> tuple[str, str | None]:
    """Too few or too many items or characters, in edgespec's words."""
    actual = ctx.get("actual_length")
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return f"expected at least {least} item{'s' * (least != 1)}, got {actual}", "add an entry, or remove the key"
    if kind == "too_long":
        most = ctx.get("max_length")
        return f"expected at most {most} item{'s' * (most != 1)}, got {actual}", "remove the extra entries"
    if kind == "string_too_short":
        least = ctx.get("min_length", 1)
        return f"expected at least {least} character{'s' * (least != 1)}", "write a non-empty value"
    most = ctx.get("max_length")
    return f"expected at most {most} characters", f"shorten the value to {most} characters"
