"""The target-kind boundary (issue 17, point 1): every kind the catalog knows is registered in
edgespec/kinds, declared unsupported with a reason, or not a target at all; a registered kind's
emitters resolve; a device-fleet kind carries its runtime (ports, health, lifecycle, platform,
scrapes), which the shared emitters read instead of tables of their own."""

from __future__ import annotations

import inspect

from edgespec import catalog, kinds


def test_every_catalog_kind_is_accounted_for():
    in_catalog = {entry["kind"] for entry in catalog.hardware().values()}
    accounted = set(kinds.REGISTERED) | set(kinds.UNSUPPORTED) | set(kinds.NOT_TARGETS)
    assert in_catalog <= accounted, in_catalog - accounted
    # and nothing is registered twice or for a kind the catalog lacks
    assert not (set(kinds.REGISTERED) & set(kinds.UNSUPPORTED))
    assert accounted <= in_catalog, accounted - in_catalog
    assert all(u.reason.strip() for u in kinds.UNSUPPORTED.values())


def test_registered_emitters_resolve_to_emit_functions():
    for kind in kinds.REGISTERED.values():
        functions = kind.emit_functions()
        assert functions and all(f.__name__ == "emit" for f in functions), kind.name
        for f in functions:
            assert list(inspect.signature(f).parameters)[:5] == ["spec", "plan", "target", "toolchain", "source"]


def test_fleet_kinds_carry_their_runtime():
    fleets = {name for name, kind in kinds.REGISTERED.items() if kind.fleet is not None}
    assert fleets == {"jetson", "coral", "snapdragon"}
    for name in fleets:
        runtime = kinds.fleet(name)
        assert runtime.server_port > 0 and runtime.platform["os"] == "linux"
        assert runtime.health_url or name == "jetson"  # a Jetson package lists its servers in health.json


def test_a_fleet_runtime_applies_only_to_targets_that_run_its_os():
    """Snapdragon boards (QCS6490, Linux) are a Greengrass fleet; phone SoCs (Android) are not."""
    snapdragon = kinds.REGISTERED["snapdragon"]
    hardware = catalog.hardware()
    assert snapdragon.fleet_for(hardware["qcs6490"]) is snapdragon.fleet
    assert [h for h, e in hardware.items() if e["kind"] == "snapdragon" and snapdragon.fleet_for(e) is None] == [
        "snapdragon-8-gen-2",
        "snapdragon-8-gen-3",
        "snapdragon-8-elite",
    ]
    assert kinds.REGISTERED["jetson"].fleet_for(hardware["jetson-orin-nano-8gb"]) is not None  # no `os`: the runtime's
    assert kinds.REGISTERED["apple"].fleet_for(hardware["apple-a16"]) is None  # no fleet runtime at all


def test_the_shared_emitters_keep_no_table_of_kinds():
    """What a kind is lives in its module: the router, the Greengrass and telemetry emitters and the
    emit stage name no kind's port, lifecycle, platform or scrape themselves."""
    import edgespec.emit as emit
    from edgespec.emit import greengrass, router, telemetry

    for module in (emit, greengrass, router, telemetry):
        source = inspect.getsource(module)
        for leftover in (
            'kind == "',
            'kind != "',
            '"jetson":',
            '"coral":',
            "SERVER_PORT",
            "FLEET_KINDS",
            "EMITTERS",
            "SCRAPE =",
            '"architecture": "aarch64"',
        ):
            assert leftover not in source, (module.__name__, leftover)
