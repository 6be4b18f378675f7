"""The built-in catalogs: data files under the package, loaded once per process.

Figures are `{value, source, grade}` mappings; `value()` unwraps one. Nothing in the code
hard-codes a device figure: everything comes from these files.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _load(name: str) -> Any:
    text = resources.files("edgespec.catalog").joinpath(name).read_text("utf-8")
    return yaml.load(text, Loader=_LOADER)


def hardware() -> dict[str, dict[str, Any]]:
    """The hardware catalog: id -> entry (see hardware.yaml)."""
    return _load("hardware.yaml")


def hardware_ids() -> list[str]:
    return sorted(hardware())


def classes() -> dict[str, dict[str, Any]]:
    return _load("classes.yaml")


def datacenter() -> dict[str, Any]:
    return _load("datacenter.yaml")


def workers_ai() -> dict[str, Any]:
    return _load("workers_ai.yaml")


def accuracy() -> dict[str, Any]:
    return _load("accuracy.yaml")


def calibration() -> dict[str, Any]:
    return _load("calibration.yaml")


def power_modes(entry: dict) -> list[str]:
    return list(power_mode_watts(entry))


def power_mode_watts(entry: dict) -> dict[str, float]:
    """A hardware entry's power modes and the watts each lets it draw, in the catalog's order
    (empty for hardware without modes)."""
    modes = entry.get("power_modes")
    return {m: value(w) for m, w in modes["watts"].items()} if modes else {}


def value(figure: Any, default: Any = None) -> Any:
    """The value of a figure (`{value: ..., source: ...}`), or `default` when absent."""
    if figure is None:
        return default
    return figure["value"] if isinstance(figure, dict) and "value" in figure else figure
