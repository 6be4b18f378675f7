"""`edgespec diff`: plan changes, predicted deltas, artifacts, fleets and rollout stages."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT

FLAGSHIP = ROOT / "examples" / "store-vision.yaml"


@pytest.fixture
def changed(tmp_path):
    path = tmp_path / "new.yaml"
    text = FLAGSHIP.read_text()
    objective = "    objective: accuracy              # a wrong product at the till costs more than a few ms"
    assert objective in text
    # checkout ranked by latency instead of accuracy: the lanes answer alone, the Wavelength pool goes
    path.write_text(text.replace(objective, "    objective: latency").replace("count: 1200", "count: 1500"))
    return path


def test_json_contract(run, changed):
    code, out, _ = run("diff", str(FLAGSHIP), str(changed), "--format", "json")
    d = json.loads(out)
    assert code == 1 and d["version"] == 1 and d["unchanged"] is False  # 1: changes
    # the input changes, by path, beside their effects
    assert d["inputs"]["changes"] == [
        {"path": "/targets/store-orin/count", "old": 1200, "new": 1500, "change": "changed"},
        {"path": "/workloads/checkout-recognition/objective", "old": "accuracy", "new": "latency", "change": "changed"},
    ]
    assert d["inputs"]["added"] == {} and d["inputs"]["removed"] == {}
    checkout = d["workloads"]["checkout-recognition"]
    assert checkout["status"] == "changed"
    before, after = checkout["placements"]
    assert checkout["pattern"] == ["cascade", "on-device"]
    assert [p["target"] for p in before] == ["checkout-tpu", "metro-mec"] and [p["target"] for p in after] == [
        "checkout-tpu"
    ]
    assert checkout["estimates"]["accuracy"] == {"old": 0.912, "new": 0.9, "delta": -0.012}
    assert checkout["estimates"]["p95_ms"]["delta"] < 0 and checkout["estimates"]["cost_usd_per_month"]["delta"] < 0
    assert d["artifacts"]["metro-mec"]["removed"]  # the pool's stack goes with it
    shelf = d["workloads"]["shelf-monitoring"]  # 1,500 stores instead of 1,200: only the cost moves
    assert set(shelf["estimates"]) == {"cost_usd_per_month"} and "placements" not in shelf
    checkout = d["artifacts"]["checkout-tpu"]["changed"]
    # the lanes run the full model instead of the distilled one and no longer escalate: a new package
    assert {
        "checkout-tpu/edgetpu.json",
        "checkout-tpu/router/checkout-recognition.json",
        "checkout-tpu/package.json",
        "checkout-tpu/greengrass/greengrass.yaml",
    } <= set(checkout)
    assert before[0]["model"] == "product-classifier-mobile" and after[0]["model"] == "product-classifier"
    # 1,500 stores: the store package is unchanged, but its Greengrass rollout rate follows the fleet size
    assert all(p.startswith("store-orin/greengrass/") for p in d["artifacts"]["store-orin"]["changed"])
    assert list(d["fleets"]) == ["checkout-tpu", "metro-mec", "store-orin"]  # the pool's stack goes
    assert [s["devices"] for s in d["rollout"]] == [45, 450, 4500]


def test_markdown_for_a_pull_request(run, changed):
    code, out, _ = run("diff", str(FLAGSHIP), str(changed), "--format", "markdown")
    assert code == 1 and out.startswith("## edgespec diff\n")
    assert "### Inputs\n- `/targets/store-orin/count`: 1200 -> 1500\n" in out
    assert out.index("### Inputs") < out.index("### Plan")  # causes, then effects
    assert "### Plan" in out and "`checkout-recognition`" in out and "accuracy 0.912 -> 0.900 (-0.012)" in out
    assert "- stage 1: 1% = 45 devices, soak 2 h" in out
    assert "- `metro-mec`: aws-wavelength (autoscaled pool)" in out


def test_lock_files_diff_like_specs(run, tmp_path, changed):
    for name, spec in (("a", FLAGSHIP), ("b", changed)):
        assert run("compile", str(spec), "-o", str(tmp_path / name))[0] == 0
    from_locks = run(
        "diff",
        str(tmp_path / "a" / "edgespec.lock.json"),
        str(tmp_path / "b" / "edgespec.lock.json"),
        "--format",
        "json",
    )[1]
    from_specs = json.loads(run("diff", str(FLAGSHIP), str(changed), "--format", "json")[1])
    assert from_specs.pop("inputs")["changes"]  # lock files record no inputs: the effects are the same
    assert json.loads(from_locks) == {**from_specs, "inputs": None}


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.yaml")))
def test_no_change(run, example):
    path = str(ROOT / "examples" / example)
    code, out, _ = run("diff", path, path)
    assert code == 0 and out == "No change: same plan, same artifacts.\n"


def test_between_examples(run):
    code, out, _ = run(
        "diff",
        str(ROOT / "examples" / "pos-fraud.yaml"),
        str(ROOT / "examples" / "ar-carrier-edge.yaml"),
        "--format",
        "json",
    )
    d = json.loads(out)
    assert code == 1
    assert d["inputs"]["removed"]["workloads"] == ["card-scoring"] and "overlay" in d["inputs"]["added"]["workloads"]
    assert d["workloads"]["card-scoring"]["status"] == "removed" and d["workloads"]["overlay"]["status"] == "added"
    assert "boston-wlz/k8s/overlay.yaml" in d["artifacts"]["boston-wlz"]["added"]


def test_an_invalid_side_is_reported(run, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: edgespec/v1\n")
    code, out, err = run("diff", str(FLAGSHIP), str(bad))
    assert code == 2 and out == "" and "ES202" in err  # 2: the diff could not be made
    broken_lock = tmp_path / "edgespec.lock.json"
    broken_lock.write_text("{}")
    code, out, err = run("diff", str(broken_lock), str(FLAGSHIP))
    assert code == 2 and out == "" and "not an edgespec.lock.json" in err and "Traceback" not in err


def test_an_infeasible_side_is_an_effect_not_an_abort(run, tmp_path):
    """The pull request a reviewer must see: a budget tightened until nothing meets it."""
    text = FLAGSHIP.read_text()
    assert "latency: {p95_ms: 50}" in text
    tight = tmp_path / "tight.yaml"
    tight.write_text(text.replace("latency: {p95_ms: 50}", "latency: {p95_ms: 1}", 1))
    code, out, err = run("diff", str(FLAGSHIP), str(tight), "--format", "json")
    assert code == 1, err
    d = json.loads(out)
    shelf = d["workloads"]["shelf-monitoring"]
    assert shelf["feasible"] == [True, False] and "latency: p95" in shelf["reason"] and "> 1 ms" in shelf["reason"]
    assert d["inputs"]["changes"] == [
        {"path": "/workloads/shelf-monitoring/latency/p95_ms", "old": 50, "new": 1, "change": "changed"}
    ]
    assert d["artifacts_compared"] is False and d["artifacts"] == {}
    code, out, _ = run("diff", str(FLAGSHIP), str(tight))
    assert "- shelf-monitoring: feasible -> infeasible: no feasible plan" in out
    code, back, _ = run("diff", str(tight), str(FLAGSHIP))  # and the fix, the other way round
    assert code == 1 and "- shelf-monitoring: infeasible -> feasible:" in back


def test_a_change_that_changes_nothing_exits_0(run, tmp_path):
    commented = tmp_path / "commented.yaml"
    commented.write_text("# a comment only\n" + FLAGSHIP.read_text())
    code, out, _ = run("diff", str(FLAGSHIP), str(commented))
    assert code == 0 and out == "No change: same plan, same artifacts.\n"


def test_a_pool_that_grows_shows_its_instance_delta():
    from edgespec.diff import Snapshot, diff, render

    def side(instances: int) -> Snapshot:
        plan = {"pattern": "cloud", "placements": [], "estimates": {"instances": instances, "p95_ms": 80.0}}
        return Snapshot({}, {"w": plan}, {})

    d = diff(side(2), side(5))
    assert d["workloads"]["w"]["estimates"] == {"instances": {"old": 2, "new": 5, "delta": 3}}
    assert "- w: instances 2 -> 5 (+3)" in render(d, "text")


def test_p95_is_shown_against_its_budget(run, tmp_path, changed):
    code, out, _ = run("diff", str(FLAGSHIP), str(changed), "--format", "json")
    p95 = json.loads(out)["workloads"]["checkout-recognition"]["estimates"]["p95_ms"]
    assert p95["budget"] == 80.0 and p95["new"] < p95["budget"]  # the new plan against its budget
    looser = tmp_path / "looser.yaml"
    looser.write_text(FLAGSHIP.read_text().replace("latency: {p95_ms: 50}", "latency: {p95_ms: 60}", 1))
    code, out, _ = run("diff", str(FLAGSHIP), str(looser))
    assert code == 1 and "- shelf-monitoring: p95 budget 50.0 ms -> 60.0 ms" in out


def test_measurements_apply_to_both_sides(run, tmp_path):
    """`--measurements` feeds the spec sides: a spec planned with a record equals the lock compiled
    with it, and differs from the lock without it on exactly that workload's p95."""
    perf = tmp_path / "perf.jsonl"
    perf.write_text(
        json.dumps({"hardware": "jetson-orin-nx-16gb", "model": "shelf-detector", "precision": "int8", "p50_ms": 5.0})
        + "\n"
    )
    spec = tmp_path / "store-vision.yaml"
    spec.write_text(FLAGSHIP.read_text())
    assert run("compile", str(spec), "-o", str(tmp_path / "out"), "--measurements", str(perf))[0] == 0
    lock = str(tmp_path / "out" / "edgespec.lock.json")
    code, out, err = run("diff", lock, str(spec), "--measurements", str(perf))
    assert code == 0, out + err
    code, out, _ = run("diff", lock, str(spec), "--format", "json")
    assert code == 1 and list(json.loads(out)["workloads"]) == ["shelf-monitoring"]


def test_input_values_are_read_as_edgespec_reads_them(run, tmp_path):
    """YAML 1.2 core: `on` is the string "on", not a boolean, in the diff as in the spec."""
    import re

    text = FLAGSHIP.read_text()
    line = re.search(r"^  description: .*$", text, re.M).group(0)
    switched = tmp_path / "on.yaml"
    switched.write_text(text.replace(line, "  description: on"))
    code, out, _ = run("diff", str(FLAGSHIP), str(switched), "--format", "json")
    (change,) = json.loads(out)["inputs"]["changes"]
    assert code == 1 and change["path"] == "/metadata/description" and change["new"] == "on"


def test_p50_and_p99_are_shown_against_their_budgets(run, tmp_path):
    """A workload budgeted at p99 too: adding the budget is a change the diff names, and a latency
    change shows each percentile against its own budget."""
    tail = tmp_path / "tail.yaml"
    tail.write_text(FLAGSHIP.read_text().replace("latency: {p95_ms: 50}", "latency: {p95_ms: 50, p99_ms: 100}", 1))
    code, out, _ = run("diff", str(FLAGSHIP), str(tail))
    assert code == 1 and "- shelf-monitoring: p99 budget none -> 100.0 ms" in out
    code, out, _ = run("diff", str(FLAGSHIP), str(tail), "--format", "json")
    assert json.loads(out)["workloads"]["shelf-monitoring"]["p99_budget_ms"] == [None, 100.0]
    slower = tmp_path / "slower.yaml"  # the stores' Orins at 15 W instead of 25 W
    slower.write_text(tail.read_text().replace("power_mode: 25W", "power_mode: 15W", 1))
    code, out, _ = run("diff", str(tail), str(slower), "--format", "json")
    estimates = json.loads(out)["workloads"]["shelf-monitoring"]["estimates"]
    assert estimates["p99_ms"]["budget"] == 100.0 and estimates["p50_ms"]["budget"] is None
    assert estimates["p50_ms"]["delta"] > 0 and estimates["p99_ms"]["delta"] > 0
    code, out, _ = run("diff", str(tail), str(slower))
    assert code == 1 and "; budget 100.0 ms)" in out and "p99 " in out


def test_a_lock_from_before_p50_and_p99_were_recorded_shows_no_budget_change():
    from edgespec.diff import Snapshot, diff

    old = {"pattern": "cloud", "placements": [], "estimates": {"p95_ms": 80.0, "p95_budget_ms": 100.0}}
    new = {
        "pattern": "cloud",
        "placements": [],
        "estimates": {"p95_ms": 80.0, "p95_budget_ms": 100.0, "p99_ms": 120.0, "p99_budget_ms": 150.0},
    }
    d = diff(Snapshot({}, {"w": old}, {}), Snapshot({}, {"w": new}, {}))
    assert "p99_budget_ms" not in d["workloads"]["w"] and d["workloads"]["w"]["estimates"] == {}
    # the same two sides, both recording it: the budget's change is shown
    d = diff(
        Snapshot({}, {"w": {**old, "estimates": {**new["estimates"], "p99_budget_ms": None}}}, {}),
        Snapshot({}, {"w": new}, {}),
    )
    assert d["workloads"]["w"]["p99_budget_ms"] == [None, 150.0]
