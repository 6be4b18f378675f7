"""What a target kind is made of: its emitters and, for device fleets, how a device runs a package."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass


def systemd_lifecycle(target: str, env: str, then: str) -> dict:
    """The lifecycle of a package whose model server is the bundle's own systemd unit (one process
    holds the accelerator: an Edge TPU, an NPU session): Install copies the bundle to
    /opt/edgespec/<target>, runs setup_host.sh and installs the unit; Startup and Shutdown start and
    stop it (a Run step would start a second server)."""
    home, unit = f"/opt/edgespec/{target}", f"edgespec-{target}.service"
    return {
        "Install": {
            "Script": f"{env}mkdir -p {home} && cp -a {{artifacts:decompressedPath}}/bundle/. {home}/ && "
            f"cd {home} && bash setup_host.sh && install -m 0644 {unit} /etc/systemd/system/ "
            f"&& systemctl daemon-reload{then}",
            "RequiresPrivilege": True,
            "Timeout": 3600,
        },
        "Startup": {"Script": f"systemctl restart {unit}", "RequiresPrivilege": True},
        "Shutdown": {"Script": f"systemctl stop {unit}", "RequiresPrivilege": True},
    }


@dataclass(frozen=True)
class FleetRuntime:
    """How a device of a fleet kind runs its package under Greengrass (and reports telemetry).

    server_port: the device's model server (KServe v2), which the routers call on loopback;
    platform: the Greengrass manifest platform; lifecycle(target, env, then): the component's
    lifecycle steps, where `env` exports the artifact path and secret ARNs and `then` installs
    the routers and the collector after the kind's own install; health_url: what the component
    reports as its health, when the package does not list its servers; watches_servers: the Run
    step watches every server in the package's health.json; model_artifacts: S3 model sources ship
    as the component's artifacts (built on the device); llm_servers: LLMs run in llama.cpp's
    server there; scrape: (job, address) the collector scrapes."""

    server_port: int
    platform: dict
    lifecycle: Callable[[str, str, str], dict]
    health_url: str = ""
    watches_servers: bool = False
    model_artifacts: bool = False
    llm_servers: bool = False
    scrape: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Remote:
    """How the planner treats a remote tier of this kind.

    pattern: the whole-model pattern it serves ("cloud" or "mec"); pooled: a pool of instances the
    planner sizes and prices by the hour (`price_is_lower_bound` where the catalog's price is the
    parent region's, below the zone's); split_tails: it runs the layers after a split point;
    catalog_models: it serves its own catalog's models, priced per request, under a rate limit;
    global_network: it answers from whichever of its locations is nearest, so no jurisdiction
    (privacy `region`, residency) can be shown; label: its name in the planner's reasons."""

    pattern: str
    label: str
    pooled: bool = False
    price_is_lower_bound: bool = False
    split_tails: bool = False
    catalog_models: bool = False
    global_network: bool = False


@dataclass(frozen=True)
class Kind:
    """A target kind edgespec compiles for. `emitters` name modules with an `emit(spec, plan,
    target, toolchain, source)` function, imported when first used (no import cycles with the
    emitters, which read the kinds' runtimes)."""

    name: str
    emitters: tuple[str, ...]
    fleet: FleetRuntime | None = None
    remote: Remote | None = None  # a remote tier's behaviour in the planner
    # the formats its bundles take, and the conversions they perform, are its catalog class's
    # (catalog/classes.yaml `formats`, `conversions`; planner/formats.py)
    format_fix: str = ""  # what to do with a model in another format (the planner's capability reason)

    def emit_functions(self) -> tuple[Callable, ...]:
        return tuple(importlib.import_module(module).emit for module in self.emitters)

    def fleet_for(self, entry: dict) -> FleetRuntime | None:
        """The fleet runtime of one target of this kind, by its catalog entry: none where the entry
        runs another OS than the runtime's (a phone SoC of a kind whose boards run Linux)."""
        if self.fleet is None:
            return None
        runs = entry.get("os", {}).get("value", self.fleet.platform["os"])
        return self.fleet if runs == self.fleet.platform["os"] else None


@dataclass(frozen=True)
class Unsupported:
    """A catalog kind the planner places work on but `compile` cannot emit for yet, and why."""

    name: str
    reason: str
