"""Protocol-buffer text format, written from data (Triton's config.pbtxt).

Mappings become messages, lists of mappings repeated messages, lists of scalars `[a, b]`;
`Enum` values are written bare. Strings are quoted with C escapes, as text_format reads them.
"""

from __future__ import annotations


class Enum(str):
    """An enum value (KIND_GPU), written without quotes."""


def _scalar(value: object) -> str:
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif 0x20 <= ord(ch) < 0x7F:
            out.append(ch)
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode("utf-8"))
    return '"' + "".join(out) + '"'


def _message(fields: dict, indent: int) -> list[str]:
    pad = "  " * indent
    lines = []
    for key, value in fields.items():
        items = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not any(isinstance(v, dict) for v in items):
            lines.append(f"{pad}{key}: [{', '.join(_scalar(v) for v in items)}]")
            continue
        for item in items:
            if isinstance(item, dict):
                lines.append(f"{pad}{key} {{")
                lines += _message(item, indent + 1)
                lines.append(f"{pad}}}")
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    return lines


def dumps(fields: dict) -> bytes:
    return ("\n".join(_message(fields, 0)) + "\n").encode("utf-8")
