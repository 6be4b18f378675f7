"""Turn pydantic validation errors into positioned diagnostics (ES2xx)."""

from __future__ import annotations

import difflib
import re
from typing import Any

from edgespec.diagnostics import Diagnostic
from edgespec.diagnostics.codes import diag
from edgespec.load.sourcemap import SourceMap, pointer_from_loc

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


def describe(value: Any) -> str:
    """How a value reads in a message: its type, and the value itself when short."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
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
        close = suggest(str(value), expected) if isinstance(value, str) else None
        hint = f"did you mean {close!r}?" if close else None
    elif kind in _EXPECTED:
        code = "ES204"
        message = f"expected {_EXPECTED[kind]}, got {describe(value)}"
        if isinstance(value, (int, float)) and kind == "string_type":
            hint = "quote the value to make it a string"
    elif kind in _RANGE:
        code = "ES206"
        bound = next(iter(error.get("ctx", {}).values()), "")
        message = f"{describe(value)} is out of range: must be {_RANGE[kind]} {bound}"
    elif kind in _SIZE:
        code = "ES209"
        message = error["msg"].replace("Input", "the value") if "msg" in error else "wrong size"
        message = message[0].lower() + message[1:]
    elif kind.startswith("ES") and len(kind) == 5:
        code = kind
        message = error["msg"]
    else:  # anything unforeseen still gets a position and pydantic's own words
        code = "ES204"
        message = error["msg"]

    pointer = pointer_from_loc(loc)
    return diag(code, message, **source.at(pointer, key=at_key, ends=True), hint=hint)
