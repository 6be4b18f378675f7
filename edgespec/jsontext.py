"""Indented JSON text, byte for byte what `json.dumps(doc, indent=2, sort_keys=True)` writes, about
three times faster.

The standard library encodes with C only when it does not indent; with `indent` it falls back to
a pure-Python generator per value. edgespec's documents (plans of thousands of workloads, the
artifacts of a compile) are all indented and sorted, so they are written here instead: strings
and floats go through the same C and repr functions json uses, and anything outside plain JSON
data (non-string keys, other types) is handed to json.dumps itself, so the output never differs.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring, encode_basestring_ascii

_INF = float("inf")


class _Unusual(Exception):
    """A value only json.dumps knows how to write (or refuse)."""


def dumps(doc: object, *, ensure_ascii: bool = True) -> str:
    """`json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=ensure_ascii)`."""
    out: list[str] = []
    try:
        _value(doc, out, "\n", encode_basestring_ascii if ensure_ascii else encode_basestring)
    except (_Unusual, RecursionError):
        return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=ensure_ascii)
    return "".join(out)


def _float(f: float) -> str:
    if f != f:
        return "NaN"
    if f == _INF:
        return "Infinity"
    if f == -_INF:
        return "-Infinity"
    return float.__repr__(f)


def _value(o: object, out: list[str], nl: str, enc) -> None:
    # the order of json's own checks: str, None, True, False, int, float, list/tuple, dict
    if isinstance(o, str):
        out.append(enc(o))
    elif o is None:
        out.append("null")
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif isinstance(o, int):
        out.append(int.__repr__(o))
    elif isinstance(o, float):
        out.append(_float(o))
    elif isinstance(o, (list, tuple)):
        if not o:
            out.append("[]")
            return
        inner = nl + "  "
        sep = "," + inner
        out.append("[" + inner)
        first = True
        for item in o:
            if first:
                first = False
            else:
                out.append(sep)
            _scalar_or_value(item, out, inner, enc)
        out.append(nl + "]")
    elif isinstance(o, dict):
        if not o:
            out.append("{}")
            return
        for key in o:
            if type(key) is not str:
                raise _Unusual
        inner = nl + "  "
        sep = "," + inner
        out.append("{" + inner)
        first = True
        for key in sorted(o):
            if first:
                first = False
            else:
                out.append(sep)
            out.append(enc(key) + ": ")
            _scalar_or_value(o[key], out, inner, enc)
        out.append(nl + "}")
    else:
        raise _Unusual


def _scalar_or_value(o: object, out: list[str], nl: str, enc) -> None:
    """The common leaves without a call to _value (exact types only; subclasses take the long way)."""
    t = type(o)
    if t is str:
        out.append(enc(o))
    elif t is float and o - o == 0.0:  # finite
        out.append(float.__repr__(o))
    elif o is None:
        out.append("null")
    elif t is int:
        out.append(int.__repr__(o))
    else:
        _value(o, out, nl, enc)
