"""Long user strings cut for a message: a spec can hold a megabyte in one value, and a diagnostic,
a diff or a hover quotes at most a line of it."""

from __future__ import annotations


def cut(text: str, width: int) -> str:
    """`text` if it fits in `width` characters, else its start and "..." in exactly `width`."""
    return text if len(text) <= width else text[: width - 3] + "..."
