"""Decisions that never pretend (issue 14): pruning only with consent, and a figure the catalog
does not have stays unknown (null, `?`), never 0, and never wins a ranking."""

from __future__ import annotations

import json

from edgespec.planner import render
from tests.planner_helpers import model, run, spec


def _classifier(**workload) -> dict:
    return spec({"m": model("image-classification", "25M", 8.2, 0.9)},
                {"cam": {"hardware": "jetson-orin-nx-16gb", "count": 10, "network": {"rtt_ms": 20, "uplink_mbps": 50}}},
                {"w": {"model": "m", "data_source": ["cam"], "latency": {"p95_ms": 500}, "throughput": {"rps": 1},
                       **workload}})


def _prunes(doc) -> set[float]:
    wp = run(doc)[0].workloads["w"]
    return {p.recipe.prune for c in wp.candidates for p in c.placements}


def test_no_pruned_recipe_without_consent():
    assert _prunes(_classifier()) == {0.0}
    assert _prunes(_classifier(optimize={"prune": "auto"})) == {0.0, 0.25, 0.5}
    assert _prunes(_classifier(optimize={"prune": 0.3})) == {0.3}  # the fraction of the user's pruned weights


def _phones(objective: str, cloud: bool = True) -> dict:
    targets = {"phones": {"hardware": "apple-a17-pro", "count": 100, "jurisdiction": "us",
                          "network": {"rtt_ms": 30, "uplink_mbps": 20}}}
    if cloud:
        targets["cloud"] = {"hardware": "aws-ec2", "region": "us-east-1", "instance_type": "g4dn.xlarge",
                            "network": {"rtt_ms": 30}}
    return spec({"m": model("image-classification", "5M", 1.0, 0.9, format="onnx")}, targets,
                {"w": {"model": "m", "data_source": ["phones"], "latency": {"p95_ms": 500}, "throughput": {"rps": 1},
                       "objective": objective}})


def test_energy_on_apple_is_unknown_not_zero():
    p, _ = run(_phones("latency", cloud=False))
    wp = p.workloads["w"]
    e = wp.chosen.estimates
    assert wp.chosen.pattern == "on-device"
    assert e.energy_mj is None and e.cost_usd_per_1k is None and e.cost_usd_per_month is None
    assert "energy and electricity unknown: edgespec's catalog has no power figure for apple-a17-pro" in e.notes
    doc = json.loads(render.as_json(p))["workloads"]["w"]["estimates"]
    assert doc["energy_mj"] is None and doc["cost_usd_per_1k"] is None and doc["cost_usd_per_month"] is None
    row = render.text(p).splitlines()[1].split()
    assert row[-3:] == ["?", "?", "?"]  # mJ, $/1k, $/month


def test_an_unknown_figure_never_wins_its_objective():
    """On energy and on cost, the phone's unknown figures rank after the cloud's known ones, though
    0 would have won both."""
    for objective in ("energy", "cost"):
        wp = run(_phones(objective))[0].workloads["w"]
        assert wp.chosen.pattern == "cloud", objective
        assert "ranked after every known" not in wp.why  # the winner's figure is known
    wp = run(_phones("energy", cloud=False))[0].workloads["w"]
    assert wp.why.startswith("best energy (energy unknown, ranked after every known energy)")


def test_explain_shows_unknowns_as_question_marks():
    p, _ = run(_phones("cost"))
    lines = render.explain(p.workloads["w"]).splitlines()
    phone = next(line for line in lines if line[2:].startswith("on-device"))
    assert phone.endswith("? mJ, ?/month")
    cloud = next(line for line in lines if line[2:].startswith("cloud"))
    assert "? mJ" not in cloud and "?/month" not in cloud
