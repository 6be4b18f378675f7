"""Joint placement (issue 14): workloads that share a device or a pool are chosen together, so the
plan can run; with no contention every workload keeps its own best; the choice is the optimum of
the documented objective, checked against brute force; ES504 when no joint choice exists."""

from __future__ import annotations

import itertools
import random

import pytest

from edgespec.load import load_bytes
from edgespec.planner import joint, render, select
from edgespec.planner import plan as plan_mod
from edgespec.planner.memo import Memo
from edgespec.validate import validate
from tests.conftest import ROOT
from tests.planner_helpers import model, run, spec

LLM_INPUT = {"shape": [1, 4096], "dtype": "int64"}


def _busy_doc(rps: float) -> dict:
    """Two detectors on one camera class, each fine alone at `rps`; a cloud tier to move to."""
    return spec(
        {"det": model("object-detection", "25M", 400, 0.6)},
        {
            "cam": {
                "hardware": "jetson-orin-nano-8gb",
                "power_mode": "15W",
                "count": 20,
                "jurisdiction": "us",
                "network": {"rtt_ms": 20, "uplink_mbps": 50},
            },
            "cloud": {
                "hardware": "aws-ec2",
                "region": "us-east-1",
                "instance_type": "g6.xlarge",
                "network": {"rtt_ms": 20},
            },
        },
        {
            name: {
                "model": "det",
                "data_source": ["cam"],
                "latency": {"p95_ms": 400},
                "throughput": {"rps": rps},
                "objective": "cost",
            }
            for name in ("a", "b")
        },
    )


def test_a_device_shared_by_two_workloads_that_fit_only_alone():
    one = run(_busy_doc(1))[0].workloads["a"].chosen
    rps = round(0.5 / (one.estimates.p50_ms / 1000), 2)  # each keeps the cameras 50% busy
    alone = run(_busy_doc(rps))[0].workloads["a"].chosen
    assert alone.pattern == "on-device" and 0.35 < alone.estimates.utilisation <= 0.7  # two would not fit
    p, diagnostics = run(_busy_doc(rps))
    on_cam = [n for n in ("a", "b") if p.workloads[n].chosen.pattern == "on-device"]
    assert sum(p.workloads[n].chosen.estimates.utilisation for n in on_cam) <= 0.7
    moved = [n for n in ("a", "b") if p.workloads[n].why.startswith("joint placement:")]
    assert len(moved) == 1 and "busy on cam" in p.workloads[moved[0]].why
    assert not [d for d in diagnostics if d.severity.value == "error"]


def _llm_doc(cloud: bool) -> dict:
    targets = {
        "box": {
            "hardware": "jetson-orin-nano-8gb",
            "count": 5,
            "jurisdiction": "us",
            "network": {"rtt_ms": 30, "uplink_mbps": 50},
        }
    }
    if cloud:  # Workers AI serves its own copy: a Jetson's llama.cpp takes GGUF, a vLLM pool would not
        targets["cloud"] = {"hardware": "cloudflare-workers-ai", "network": {"rtt_ms": 30}}
    models = {
        name: model(
            "text-generation",
            "7B",
            14,
            0.6,
            input=LLM_INPUT,
            format="gguf",
            workers_ai={"model": "@cf/meta/llama-3.1-8b-instruct-fp8", "accuracy": 0.6},
        )
        for name in ("chat", "code")
    }
    return spec(
        models,
        targets,
        {
            name: {
                "model": name,
                "data_source": ["box"],
                "latency": {"p95_ms": "60s"},
                "throughput": {"rps": 0.001},
                "generation": {"prompt_tokens": 100, "output_tokens": 50},
                "optimize": {"precision": "int4"},
                "objective": "cost",
            }
            for name in ("chat", "code")
        },
    )


def test_two_llms_on_one_8gb_board():
    """Each 7B int4 model (Q4_K_M in llama.cpp: 5.1 GB with its KV cache and runtime) fits the board's
    5.6 GB alone."""
    p, diagnostics = run(_llm_doc(cloud=True))
    on_board = [n for n in ("chat", "code") if p.workloads[n].chosen.pattern == "on-device"]
    assert len(on_board) == 1
    moved = next(n for n in ("chat", "code") if n not in on_board)
    assert "memory on box" in p.workloads[moved].why
    assert not [d for d in diagnostics if d.severity.value == "error"]
    _, diagnostics = run(_llm_doc(cloud=False))  # nowhere else to go
    (es504,) = [d for d in diagnostics if d.code == "ES504"]
    assert "the memory (5.60 GB usable) of box (jetson-orin-nano-8gb) cannot hold chat, code" in es504.message
    assert es504.pointer == "/targets/box" and "chat (line" in es504.hint and "code (line" in es504.hint


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.yaml")))
def test_no_contention_keeps_every_workloads_own_best(example):
    p, _ = run_file(ROOT / "examples" / example)
    for name, wp in p.workloads.items():
        if wp.chosen is not None:
            assert wp.chosen is select.best(wp.objective, list(wp.candidates)), name
            assert not wp.why.startswith("joint placement:")


def run_file(path):
    loaded = load_bytes(path.read_bytes(), str(path))
    checked, _ = validate(loaded)
    return plan_mod.plan(checked, loaded.source, keep_all=True)


def test_a_pool_bound_is_shared():
    """Two workloads each need 3 instances of a pool bounded at 4: one must go elsewhere."""
    doc = spec(
        {"m": model("image-classification", "25M", 8.2, 0.9)},
        {
            "cam": {
                "hardware": "raspberry-pi-5",
                "count": 1000,
                "jurisdiction": "us",
                "network": {"rtt_ms": 20, "uplink_mbps": 50},
            },
            "pool": {
                "hardware": "aws-ec2",
                "region": "us-east-1",
                "instance_type": "g4dn.xlarge",
                "scaling": {"max": 4},
                "network": {"rtt_ms": 20},
            },
            "big": {
                "hardware": "aws-ec2",
                "region": "us-east-1",
                "instance_type": "g6.xlarge",
                "network": {"rtt_ms": 20},
            },
        },
        {
            name: {
                "model": "m",
                "data_source": ["cam"],
                "latency": {"p95_ms": 300},
                "throughput": {"rps": 4},
                "pattern": "cloud",
                "objective": "cost",
            }
            for name in ("a", "b")
        },
    )
    p, diagnostics = run(doc)
    on_pool = [n for n in ("a", "b") if p.workloads[n].chosen.placements[0].target == "pool"]
    alone = run({**doc, "workloads": {"a": doc["workloads"]["a"]}})[0].workloads["a"].chosen
    if alone.placements[0].target == "pool" and 2 * alone.estimates.pool.needed > 4:
        assert sum(p.workloads[n].chosen.estimates.pool.needed for n in on_pool) <= 4
        assert len(on_pool) == 1
    assert not [d for d in diagnostics if d.severity.value == "error"]


def random_shared_spec(seed: int) -> dict:
    """Two to four workloads on shared devices with random rates, sizes and budgets."""
    rng = random.Random(seed)
    hw = rng.choice(["jetson-orin-nano-8gb", "jetson-orin-nx-16gb", "raspberry-pi-5"])
    targets = {
        "dev": {
            "hardware": hw,
            "count": rng.randint(1, 30),
            "jurisdiction": "us",
            "network": {"rtt_ms": rng.randint(10, 60), "uplink_mbps": rng.choice([5, 50])},
        },
        "cloud": {
            "hardware": "aws-ec2",
            "region": "us-east-1",
            "instance_type": "g4dn.xlarge",
            "scaling": {"max": rng.randint(1, 3)},
            "network": {"rtt_ms": rng.randint(10, 80)},
        },
    }
    if hw.startswith("jetson") and rng.random() < 0.4:
        targets["dev"]["power_budget_w"] = rng.choice([3, 5, 8])
    models = {
        f"m{i}": model(
            "image-classification",
            f"{rng.randint(100, 1500)}M",
            round(rng.uniform(20, 150), 2),
            0.9,
            variants={f"m{i}-s": {"params": "2M", "gflops": 0.3, "accuracy": {"value": 0.8}}},
        )
        for i in range(2)
    }
    workloads = {
        f"w{i}": {
            "model": f"m{rng.randrange(2)}",
            "data_source": ["dev"],
            "latency": {"p95_ms": rng.choice([50, 200, 1000])},
            "throughput": {"rps": rng.choice([5, 15, 40])},
            "accuracy": {"max_drop": 0.05},
            "objective": rng.choice(["latency", "cost", "energy", "accuracy"]),
        }
        for i in range(rng.randint(2, 4))
    }
    return spec(models, targets, workloads)


@pytest.mark.parametrize("seed", range(30))
def test_the_joint_choice_is_the_brute_force_optimum(seed):
    doc = random_shared_spec(seed)
    import yaml

    loaded = load_bytes(yaml.safe_dump(doc, sort_keys=False).encode(), "t.yaml")
    checked, _ = validate(loaded)
    p, diagnostics = plan_mod.plan(checked, loaded.source, keep_all=True)
    devices = {n: plan_mod.device_mod.resolve(n, t) for n, t in checked.targets.items()}
    job = plan_mod._Job(checked, loaded.source, devices, Memo(), True, None)
    names = [n for n, wp in p.workloads.items() if wp.chosen is not None]
    options = {n: plan_mod._choices(job, n, job.plan(n)[3]) for n in names}
    limit = joint.limits(devices)
    best_value, best_combo = None, None
    for combo in itertools.product(*(options[n] for n in names)):
        total: dict = {}
        for ch in combo:
            for r, amount in ch.usage.amounts:
                total[r] = total.get(r, 0.0) + amount
        if any(amount > limit[r] + 1e-9 for r, amount in total.items() if r in limit):
            continue
        value = sum(ch.regret + joint.TIE * ch.rank for ch in combo)
        if best_value is None or value < best_value - 1e-12:
            best_value, best_combo = value, combo
    if best_combo is None:
        assert any(d.code == "ES504" for d in diagnostics)
        return
    assert not any(d.code == "ES504" for d in diagnostics)
    chosen = {n: next(ch for ch in options[n] if ch.candidate.key == p.workloads[n].chosen.key) for n in names}
    got = sum(ch.regret + joint.TIE * ch.rank for ch in chosen.values())
    assert got == pytest.approx(best_value, abs=1e-9)


def test_contended_plans_are_deterministic():
    docs = [run(_llm_doc(cloud=True))[0] for _ in range(3)]
    assert len({render.as_json(p) for p in docs}) == 1


def test_a_group_solved_before_is_not_solved_again_until_its_program_changes(monkeypatch):
    busy = joint.Resource("busy", "dev")
    limit = {busy: 0.7}

    def options(regret_b: float) -> dict:
        def choice(label: str, rank: int, regret: float, share: float) -> joint.Choice:
            return joint.Choice(label, rank, regret, joint.Usage(((busy, share),)))  # type: ignore[arg-type]

        return {
            "a": [choice("a-own", 0, 0.0, 0.5), choice("a-alt", 1, 0.2, 0.1)],
            "b": [choice("b-own", 0, 0.0, 0.5), choice("b-alt", 1, regret_b, 0.1)],
        }

    solved: dict = {}
    first, _ = joint.solve(options(0.1), {}, limit, solved)
    assert {n: ch.candidate for n, ch in first.items()} == {"a": "a-own", "b": "b-alt"}  # b's move costs less

    calls = []
    real = joint._solve
    monkeypatch.setattr(joint, "_solve", lambda *a, **k: calls.append(1) or real(*a, **k))
    again, _ = joint.solve(options(0.1), {}, limit, solved)
    assert again == first and not calls  # the same program: its kept solution
    changed, _ = joint.solve(options(0.3), {}, limit, solved)
    assert calls and {n: ch.candidate for n, ch in changed.items()} == {"a": "a-alt", "b": "b-own"}
