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


def cloud() -> dict[str, Any]:
    """Regions, blocs, Wavelength zones, instance types and prices (cloud.yaml)."""
    return _load("cloud.yaml")


def instance_types(entry: dict) -> list[str]:
    """The instance types a remote hardware entry offers (aws-ec2: every GPU type of cloud.yaml)."""
    types = entry.get("instance_types")
    if not types:
        return []
    return sorted(cloud()["instance_types"]) if types["names"] == "all" else list(types["names"])


def region_of_zone(zone: str) -> str | None:
    """The region a Wavelength or Availability Zone belongs to (None: not a zone in the catalog)."""
    data = cloud()
    if zone in data["wavelength_zones"]:
        return data["wavelength_zones"][zone][0]
    region, letter = zone[:-1], zone[-1:]
    if region in data["regions"] and letter and letter in value(data["availability_zone_letters"]):
        return region
    return None


def country_of(region: str | None, zone: str | None = None) -> str | None:
    """The ISO 3166-1 alpha-2 country (lowercase) where a region's or zone's data centres are."""
    data = cloud()
    if zone and zone in data["wavelength_zones"]:
        return data["wavelength_zones"][zone][1]
    if zone and region is None:
        region = region_of_zone(zone)
    entry = data["regions"].get(region) if region else None
    return entry[0] if entry else None


def bloc_members(name: str) -> frozenset[str] | None:
    """The member countries of a bloc (`eu`, `eea`), or None when `name` is not a bloc."""
    bloc = cloud()["blocs"].get(name)
    return frozenset(bloc["members"]) if bloc else None


def within(country: str | None, jurisdictions: list[str] | tuple[str, ...]) -> bool:
    """A country lies in one of `jurisdictions` (country codes or bloc names)."""
    if country is None:
        return False
    for j in jurisdictions:
        members = bloc_members(j)
        if j == country or (members is not None and country in members):
            return True
    return False


def hourly_price(instance_type: str | None, region: str | None) -> dict | None:
    """The on-demand price figure of a type in a region, or None when the catalog has none."""
    if instance_type is None or region is None:
        return None
    return cloud()["prices"].get(instance_type, {}).get(region)


def model_families() -> dict[str, Any]:
    """model-families.yaml: the op class of each calibration model, and each task's default."""
    return _load("model-families.yaml")


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
