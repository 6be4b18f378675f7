"""The built-in hardware catalog: data under the package, loaded once per process."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml


@functools.cache
def hardware() -> dict[str, dict[str, Any]]:
    """The hardware catalog: id -> entry (see hardware.yaml)."""
    text = resources.files("edgespec.catalog").joinpath("hardware.yaml").read_text("utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def hardware_ids() -> list[str]:
    return sorted(hardware())
