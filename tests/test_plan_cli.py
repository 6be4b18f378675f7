"""`edgespec plan`: the table, the versioned JSON contract, --explain and infeasibility."""

from __future__ import annotations

import json

import yaml

from tests.conftest import ROOT
from tests.planner_helpers import model, spec

FLAGSHIP = str(ROOT / "examples" / "store-vision.yaml")


def test_table(run):
    code, out, _ = run("plan", FLAGSHIP)
    assert code == 0
    header, *rows = out.split("\n\nwhy:")[0].splitlines()
    assert header.split()[:4] == ["workload", "pattern", "placement", "recipe"]
    assert [r.split()[0] for r in rows] == ["shelf-monitoring", "checkout-recognition"]
    assert "why:\n  shelf-monitoring: best cost" in out


def test_json_contract(run):
    code, out, _ = run("plan", FLAGSHIP, "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["version"] == 1
    for w in doc["workloads"].values():
        assert {"pattern", "placements", "estimates", "rejected"} <= set(w)
        for p in w["placements"]:
            assert {"target", "role", "model", "recipe"} <= set(p)
            assert p["role"] in ("device", "remote", "aggregator")
            assert {"precision", "prune", "variant"} <= set(p["recipe"])
        e = w["estimates"]
        assert {"basis", "p50", "p95", "p99", "local_p95", "remote_p95"} == set(e["latency_ms"])
        assert e["latency_ms"]["basis"] == "estimated"  # no measurements given
        assert (
            e["latency_ms"]["p99"] == round(2 * e["latency_ms"]["p95"] - e["latency_ms"]["p50"], 3)
            or abs(e["latency_ms"]["p99"] - (2 * e["latency_ms"]["p95"] - e["latency_ms"]["p50"])) < 2e-3
        )
        for key in (
            "compute_ms",
            "network_ms",
            "accuracy",
            "accuracy_drop",
            "model_size_mb",
            "energy_mj",
            "cost_usd_per_1k",
            "cost_usd_per_month",
        ):
            assert key in e
        for r in w["rejected"]:
            assert {"pattern", "target", "recipe", "reason"} <= set(r) and r["reason"]


def test_json_is_deterministic(run):
    assert run("plan", FLAGSHIP, "--format", "json")[1] == run("plan", FLAGSHIP, "--format", "json")[1]


def test_explain_lists_every_candidate(run):
    code, out, _ = run("plan", FLAGSHIP, "--explain", "checkout-recognition")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "workload checkout-recognition (objective: accuracy)"
    assert sum(line.startswith("* ") for line in lines) == 1
    assert any(line.startswith("+ ") for line in lines)  # the feasible alternatives
    assert any(line.startswith("- cascade") or line.startswith("- mec") for line in lines)  # and the rejected
    assert any("rejected: accuracy:" in line for line in lines)
    assert run("plan", FLAGSHIP, "--explain", "nope")[0] == 2


def test_infeasible_is_es501_exit_1(run, tmp_path):
    doc = spec(
        {"llm": model("text-generation", "7B", 14, 0.6, input={"shape": [1, 2048], "dtype": "int64"})},
        {"stick": {"hardware": "coral-usb", "host": "raspberry-pi-5"}},
        {
            "chat": {
                "model": "llm",
                "data_source": ["stick"],
                "latency": {"p95_ms": "5s"},
                "generation": {"prompt_tokens": 100, "output_tokens": 50},
            }
        },
    )
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, out, err = run("plan", str(path), "--diagnostics-format", "text")
    assert code == 1
    assert (
        "error[ES501]: no feasible plan for workload 'chat': every candidate breaks a constraint no margin "
        "can meet: on-device: capability: coral-usb"
    ) in err
    assert "chat" in out and "INFEASIBLE" in out


def test_invalid_spec_stops_before_planning(run, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("apiVersion: edgespec/v1\n")
    code, out, err = run("plan", str(path), "--diagnostics-format", "json")
    assert code == 1 and out == "" and json.loads(err)["summary"]["errors"] == 5
