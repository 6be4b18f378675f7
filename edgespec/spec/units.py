"""Quantities with units: one grammar per kind, shared by the parser and the JSON Schema.

Every quantity field accepts a plain number (already in the field's unit) or a string
`<number><suffix>`; an optional space may separate them. The regular expression of each kind
is exported into the JSON Schema, so an editor and `edgespec validate` accept exactly the
same strings. Inside edgespec every quantity is a float in the kind's normalised unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"


@dataclass(frozen=True)
class Kind:
    """A kind of quantity: its normalised unit and the suffixes it accepts."""

    name: str
    unit: str
    suffixes: dict[str, float]  # suffix -> factor into `unit`; "" is the bare number
    examples: tuple[str, ...]

    @property
    def pattern(self) -> str:
        alternatives = "|".join(re.escape(s) for s in sorted(self.suffixes, key=lambda s: (-len(s), s)) if s)
        return rf"^({_NUMBER}) ?({alternatives})$" if alternatives else rf"^({_NUMBER})$"

    @property
    def accepted(self) -> str:
        """A short human description of the accepted suffixes."""
        return ", ".join(s for s in self.suffixes if s)


def _si(unit: str, *, prefixes: dict[str, float], bare: bool = True) -> dict[str, float]:
    out = {f"{p}{unit}": f for p, f in prefixes.items()}
    if bare:
        out.update({p: f for p, f in prefixes.items() if p})
    return out


COUNT = Kind(
    "count",
    "1",
    {"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "B": 1e9, "T": 1e12},
    ("3.2M", "7B", 25000000),
)
FLOPS = Kind(  # normalised to GFLOPs: a bare number is GFLOPs, a suffixed one is FLOPs
    "flops",
    "GFLOP",
    {"": 1, "M": 1e-3, "G": 1, "T": 1e3, "MFLOPs": 1e-3, "GFLOPs": 1, "TFLOPs": 1e3},
    ("8.7", "8.7G", "870M"),
)
POWER = Kind("power", "W", {"": 1, "mW": 1e-3, "W": 1, "kW": 1e3}, ("25W", "7.5 W"))
BYTES = Kind(
    "bytes",
    "B",
    {
        "": 1,
        "B": 1,
        "kB": 1e3,
        "KB": 1e3,
        "MB": 1e6,
        "GB": 1e9,
        "TB": 1e12,
        "KiB": 2**10,
        "MiB": 2**20,
        "GiB": 2**30,
        "TiB": 2**40,
    },
    ("819200", "800KiB", "1.2MB"),
)
BITRATE = Kind(
    "bitrate",
    "Mbit/s",
    {"": 1, "kbps": 1e-3, "Mbps": 1, "Gbps": 1e3},
    ("20", "20Mbps", "1Gbps"),
)
DURATION = Kind(
    "duration",
    "s",
    {"": 1, "ms": 1e-3, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400},
    ("500ms", "30s", "2h", "1d"),
)
MILLISECONDS = Kind(  # latency budgets: a bare number is milliseconds
    "milliseconds",
    "ms",
    {"": 1, "us": 1e-3, "ms": 1, "s": 1e3},
    ("50", "50ms", "2.5s"),
)

KINDS = {k.name: k for k in (COUNT, FLOPS, POWER, BYTES, BITRATE, DURATION, MILLISECONDS)}
_COMPILED = {name: re.compile(k.pattern) for name, k in KINDS.items()}


class QuantityError(ValueError):
    """A string that is not a quantity of the expected kind."""


def parse(kind: Kind, value: object) -> float:
    """Parse `value` (a number or a suffixed string) into `kind`'s normalised unit."""
    if isinstance(value, bool):  # bool is an int in Python; in a spec it is a mistake
        raise QuantityError(f"expected a {kind.name}, got a boolean")
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise QuantityError(f"expected a finite {kind.name}")
        return float(value)
    if not isinstance(value, str):
        raise QuantityError(f"expected a number or a string like {kind.examples[0]!r}")
    m = _COMPILED[kind.name].match(value)
    if m is None:
        raise QuantityError(
            f"{value!r} is not a {kind.name}: expected a number"
            + (f" or a number with one of the suffixes {kind.accepted}" if kind.accepted else "")
        )
    number, suffix = m.group(1), (m.group(2) or "")
    return float(number) * kind.suffixes[suffix]


_LOOSE = re.compile(rf"^\s*({_NUMBER})\s*([A-Za-z/]+)\s*$")


def spelling_hint(kind: Kind, value: object) -> str | None:
    """What to write instead of a refused quantity string, when the mistake is the suffix's case
    (`7b` -> `7B`, `25w` -> `25W`, `8.7 GFLOPS` -> `8.7GFLOPs`) or a unit of another kind."""
    if not isinstance(value, str):
        return None
    m = _LOOSE.match(value)
    if m is None:
        return None
    number, suffix = m.groups()
    same = [s for s in kind.suffixes if s and s.lower() == suffix.lower()]
    if same:
        return f"write {number}{same[0]}"
    others = [k for k in KINDS.values() if k is not kind and suffix.lower() in (s.lower() for s in k.suffixes if s)]
    if others:
        unit = "a bare number" + (f" of {kind.unit}" if kind.unit != "1" else "")
        return f"{suffix} is a unit of {others[0].name}; this field is a {kind.name}: write {unit}" + (
            f" or use one of the suffixes {kind.accepted}" if kind.accepted else ""
        )
    return None
