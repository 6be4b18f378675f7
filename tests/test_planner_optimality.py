"""On random small specs: the chosen plan's objective equals the best of a brute-force scan, and
the search space holds every combination a brute force would try."""

from __future__ import annotations

import itertools
import random

import pytest

from edgespec import catalog
from tests.planner_helpers import model, run, spec

DEVICES = [
    "jetson-orin-nx-16gb",
    "jetson-orin-nano-8gb",
    "coral-usb",
    "snapdragon-8-gen-3",
    "apple-a16",
    "raspberry-pi-5",
    "jetson-agx-orin-64gb",
]
OBJECTIVES = ["latency", "cost", "energy", "accuracy"]


def random_spec(seed: int) -> dict:
    rng = random.Random(seed)
    hw = rng.choice(DEVICES)
    device = {
        "hardware": hw,
        "count": rng.randint(1, 50),
        "site": "s",
        "jurisdiction": "us",
        "network": {"rtt_ms": rng.randint(5, 60), "uplink_mbps": rng.choice([2, 20, 100])},
    }
    if hw == "coral-usb":
        device["host"] = "raspberry-pi-5"
    targets = {
        "dev": device,
        "srv": {"hardware": "jetson-agx-orin-64gb", "site": "s", "jurisdiction": "us"},
        "cloud": {
            "hardware": "aws-ec2",
            "region": "us-east-1",
            "count": rng.randint(1, 5),
            "instance_type": rng.choice(["g4dn.xlarge", "g6.xlarge"]),
            "network": {"rtt_ms": rng.randint(10, 80)},
        },
        "mec": {
            "hardware": "aws-wavelength",
            "region": "us-east-1",
            "zone": "us-east-1-wl1-bos-wlz-1",
            "instance_type": "g4dn.2xlarge",
            "count": 3,
            "network": {"rtt_ms": rng.randint(5, 20)},
        },
    }
    m = model(
        "image-classification",
        f"{rng.randint(2, 80)}M",
        round(rng.uniform(0.3, 60), 2),
        0.9,
        input={
            "shape": [1, 3, 224, 224],
            "dtype": "uint8",
            "encoding": "jpeg",
            "encoded_bytes": f"{rng.randint(10, 200)}KB",
        },
        variants={"small": {"params": "2M", "gflops": 0.3, "accuracy": {"value": round(rng.uniform(0.7, 0.88), 3)}}},
        split_points=[{"name": "mid", "flops_fraction": 0.4, "activation_bytes": f"{rng.randint(20, 400)}KB"}],
    )
    w = {
        "model": "m",
        "data_source": ["dev"],
        "latency": {"p95_ms": rng.choice([10, 30, 80, 200, 1000])},
        "throughput": {"rps": rng.choice([0.1, 1, 10])},
        "accuracy": {"max_drop": rng.choice([0.005, 0.02, 0.1])},
        "privacy": {"raw_data": rng.choice(["device", "site", "region", "anywhere"]), "features": "anywhere"},
        "offline": rng.choice(["required", "none"]),
        "escalation": {"to": rng.choice(["srv", "cloud", "mec"]), "confidence_below": 0.5},
        "objective": rng.choice(OBJECTIVES),
    }
    budget = rng.choice([None, None, 0.5, 3])  # drawn last: the earlier draws stay as they were
    if budget is not None:
        device["power_budget_w"] = budget
    # remote pools: fixed, autoscaled within a ceiling, or unbounded; and a region whose price the
    # catalog lacks (the cost is unknown and must rank after every known one)
    for name in ("cloud", "mec"):
        kind = rng.choice(["fixed", "bounded", "unbounded"])
        if kind != "fixed":
            targets[name].pop("count")
            if kind == "bounded":
                targets[name]["scaling"] = {"min": rng.randint(1, 2), "max": rng.randint(2, 6)}
    if rng.random() < 0.25:
        targets["cloud"]["region"] = "sa-east-1"
    if rng.random() < 0.5:  # consent to pruning (the default considers none)
        w["optimize"] = {"prune": "auto"}
    return spec({"m": m}, targets, {"w": w})


def metric(objective: str, e) -> float:
    cost = e.cost_usd_per_month if e.cost_usd_per_month is not None else e.cost_usd_per_1k
    cost = float("inf") if cost is None else cost  # unknown: after every known cost
    energy = float("inf") if e.energy_mj is None else e.energy_mj  # likewise
    return {"latency": e.p95_ms, "cost": cost, "energy": energy, "accuracy": -e.accuracy}[objective]


@pytest.mark.parametrize("seed", range(40))
def test_chosen_is_the_brute_force_best(seed):
    doc = random_spec(seed)
    wp = run(doc)[0].workloads["w"]
    feasible = [c for c in wp.candidates if c.feasible]
    objective = doc["workloads"]["w"]["objective"]
    if not feasible:
        assert wp.chosen is None
        return
    best = min(metric(objective, c.estimates) for c in feasible)
    assert wp.chosen.feasible
    assert metric(objective, wp.chosen.estimates) == pytest.approx(best, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_search_space_is_complete(seed):
    doc = random_spec(seed)
    wp = run(doc)[0].workloads["w"]
    hw = doc["targets"]["dev"]["hardware"]
    cls = catalog.classes()[catalog.hardware()[hw]["class"]]
    precisions = [p for p in ("fp32", "fp16", "int8") if p in cls["precisions"]]
    consented = doc["workloads"]["w"].get("optimize", {}).get("prune") == "auto"
    prunes = [0.0, *catalog.accuracy()["prune_fractions"]] if consented else [0.0]
    dla = hw.startswith("jetson") and catalog.value(catalog.hardware()[hw].get("dla_cores"), 0) > 0
    expected = set()
    for variant, precision, prune in itertools.product([None, "small"], precisions, prunes):
        expected.add((variant, precision, prune, None))
        if dla and precision in ("int8", "fp16"):
            expected.add((variant, precision, prune, "dla"))
    got = {
        (p.recipe.variant, p.recipe.precision, p.recipe.prune, p.recipe.accelerator)
        for c in wp.candidates
        if c.pattern == "on-device"
        for p in c.placements
    }
    assert got == expected
    cloud = {
        (p.recipe.variant, p.recipe.precision, p.recipe.prune)
        for c in wp.candidates
        if c.pattern == "cloud"
        for p in c.placements
    }
    assert cloud == {(v, p, f) for v, p, f in itertools.product([None, "small"], ["fp32", "fp16", "int8"], prunes)}
    assert {c.pattern for c in wp.candidates} >= {"on-device", "cloud", "mec", "split", "cascade"}


@pytest.mark.parametrize("seed", range(40))
def test_pruning_dominated_aggregators_keeps_the_optimum(seed):
    """Many aggregators on one site; the planner's optimum equals the unpruned search's."""
    from edgespec.planner import device as device_mod
    from edgespec.planner import patterns, select
    from edgespec.planner.context import context
    from edgespec.spec.models import Spec

    doc = random_spec(seed)
    rng = random.Random(seed)
    for i, hw in enumerate(rng.sample(DEVICES, 5)):
        extra = {"hardware": hw, "site": "s", "jurisdiction": "us"}
        if hw == "coral-usb":
            extra["host"] = "raspberry-pi-5"
        doc["targets"][f"agg-{i}"] = extra
    doc["workloads"]["w"]["pattern"] = "federated"
    doc["workloads"]["w"]["privacy"] = {"raw_data": "device", "features": "site"}
    s = Spec.model_validate(doc)
    devices = {n: device_mod.resolve(n, t) for n, t in s.targets.items()}
    objective = doc["workloads"]["w"]["objective"]
    results = []
    for prune in (True, False):
        ctx = context(s, "w", devices)
        ctx.prune_dominated = prune
        found = patterns.enumerate_all(ctx)
        results.append((select.best(objective, found), len(found)))
    (pruned, n_pruned), (full, n_full) = results
    assert n_pruned <= n_full
    assert (pruned is None) == (full is None)
    if full is not None:
        assert select.score(objective, pruned) == select.score(objective, full)
