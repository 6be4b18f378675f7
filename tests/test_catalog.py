"""The catalogs are data with sources: every number sits in a figure with an https source."""

from __future__ import annotations

import pytest

from edgespec import catalog

ISSUE_IDS = """jetson-agx-orin-64gb jetson-agx-orin-32gb jetson-orin-nx-16gb jetson-orin-nx-8gb jetson-orin-nano-8gb
jetson-orin-nano-4gb coral-usb coral-devboard coral-m2 apple-a14 apple-a15 apple-a16 apple-a17-pro apple-m1 apple-m2
apple-m3 apple-m4 snapdragon-8-gen-2 snapdragon-8-gen-3 snapdragon-8-elite qcs6490 raspberry-pi-5 aws-wavelength
aws-ec2 cloudflare-workers-ai""".split()


def _unsourced(node, path=""):
    """Numbers not inside a mapping that has an https `source`."""
    if isinstance(node, dict):
        sourced = str(node.get("source", "")).startswith("https://")
        for key, value in node.items():
            if sourced and key in ("value", "derivation", "grade"):
                continue
            yield from _unsourced(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _unsourced(value, f"{path}/{i}")
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield path


def test_every_hardware_id_of_the_spec_language_is_in_the_catalog():
    # and `client`, a fleet of browsers or app installs that only send requests (issue 14)
    assert sorted(catalog.hardware()) == sorted([*ISSUE_IDS, "client"])


@pytest.mark.parametrize("name", ["hardware", "datacenter", "workers_ai", "accuracy"])
def test_every_figure_has_a_source(name):
    data = getattr(catalog, name)()
    ignored = {"/prune_fractions/0", "/prune_fractions/1"}  # recipe choices, not facts
    assert [p for p in _unsourced(data) if p not in ignored] == []


def test_class_rules_are_sourced():
    for name, cls in catalog.classes().items():
        for key in ("precision_scale", "memory_usable", "sram_usable", "dla_share_of_peak", "bandwidth_gbs_default"):
            if key in cls:
                assert cls[key]["source"].startswith("https://"), (name, key)


def test_every_device_has_a_peak_and_a_class():
    for hw_id, entry in catalog.hardware().items():
        assert entry["class"] in catalog.classes(), hw_id
        if entry["role"] == "device" and entry["kind"] != "client":  # a client fleet computes nothing
            assert "peak_int8_tops" in entry or "peak_fp32_gflops" in entry, hw_id


def test_workers_ai_ids_are_real_shaped():
    for task, models in catalog.workers_ai()["models"].items():
        assert models, task
        for m in models:
            assert m["id"].startswith(("@cf/", "@hf/")) and m["precision"] in ("fp16", "int8")
            assert isinstance(catalog.value(m["params"]), int)
