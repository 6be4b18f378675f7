"""The input side of `edgespec diff`: what the spec itself changed, by JSON pointer, with old and new
values (a budget 30 -> 12 ms, a count 800 -> 1000, a model URI v4 -> v5), and the models, targets
and workloads added or removed. Pure: two loaded documents in, plain data out."""

from __future__ import annotations

from typing import Any

from edgespec.load.sourcemap import pointer_join
from edgespec.shorten import cut

SECTIONS = ("models", "targets", "workloads")
SHOWN = 80  # characters of a string value a diff quotes


def shown(value: Any) -> Any:
    """A value as the diff shows it: long strings cut, everything else as it is."""
    return cut(value, SHOWN) if isinstance(value, str) else value


def changes(old: Any, new: Any, pointer: str = "") -> list[dict]:
    """Leaf changes from `old` to `new`: mappings key by key, lists item by item when both hold
    mappings of the same length (a rollout's stages), otherwise as whole values."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            here = pointer_join(pointer, key)
            if key not in old:
                out.append({"path": here, "old": None, "new": shown(new[key]), "change": "added"})
            elif key not in new:
                out.append({"path": here, "old": shown(old[key]), "new": None, "change": "removed"})
            else:
                out += changes(old[key], new[key], here)
        return out
    if (
        isinstance(old, list)
        and isinstance(new, list)
        and len(old) == len(new)
        and all(isinstance(x, dict) for x in [*old, *new])
    ):
        return [
            c for i, (a, b) in enumerate(zip(old, new, strict=True)) for c in changes(a, b, pointer_join(pointer, i))
        ]
    if old == new and type(old) is type(new):
        return []
    return [{"path": pointer, "old": shown(old), "new": shown(new), "change": "changed"}]


def inputs(old: dict, new: dict) -> dict:
    """{"added": {section: [names]}, "removed": {...}, "changes": [...]} between two specs' data.
    A whole model, target or workload added or removed is listed by name, not by its leaves."""
    added = {s: sorted(set(new.get(s) or {}) - set(old.get(s) or {})) for s in SECTIONS}
    removed = {s: sorted(set(old.get(s) or {}) - set(new.get(s) or {})) for s in SECTIONS}
    whole = {f"/{s}/{n}" for s in SECTIONS for n in [*added[s], *removed[s]]}
    found = [c for c in changes(old, new) if c["path"] not in whole]
    return {
        "added": {s: v for s, v in added.items() if v},
        "removed": {s: v for s, v in removed.items() if v},
        "changes": found,
    }
