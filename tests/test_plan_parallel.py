"""Planning in worker processes, keeping only the shown candidates and rendering JSON where each
workload is planned change nothing a user sees:
the JSON plan, the text plan and the diagnostics are byte-identical to a single-process plan that
keeps every candidate (on a generated spec with feasible, infeasible and oversubscribed workloads)."""

from __future__ import annotations

import sys

import pytest
import yaml

from edgespec.diagnostics.render import render
from edgespec.load import Limits, load_bytes
from edgespec.planner import render as plan_render
from edgespec.planner.plan import plan
from edgespec.validate import validate
from tests.conftest import ROOT
from tests.planner_helpers import run

sys.path.insert(0, str(ROOT / "bench"))
import gen  # noqa: E402


@pytest.fixture(scope="module")
def checked():
    loaded = load_bytes(gen.spec(120, 30, seed=7).encode(), "gen.yaml", Limits())
    spec, diagnostics = validate(loaded)
    assert spec is not None, diagnostics
    return spec, loaded.source


def outputs(spec, source, **kwargs):
    planned, diagnostics = plan(spec, source, **kwargs)
    return (
        plan_render.as_json(planned),
        plan_render.text(planned),
        render("text", diagnostics, {source.file: source.text}),
        planned,
    )


def test_parallel_and_compact_plans_are_identical(checked):
    spec, source = checked
    reference = outputs(spec, source, keep_all=True, jobs=1)
    assert '"feasible": false' in reference[0] and '"feasible": true' in reference[0]  # both kinds present
    assert "ES501" in reference[2]
    assert "joint placement:" in reference[1]  # workloads moved so that shared devices hold, in every mode
    fragment = plan_render.json_fragment  # the JSON entries made by the processes that planned them
    for kwargs in (
        {"keep_all": False, "jobs": 1},
        {"keep_all": False, "jobs": 2},
        {"keep_all": True, "jobs": 3},
        {"keep_all": False, "jobs": 2, "fragment": fragment},
        {"keep_all": False, "jobs": 1, "fragment": fragment},
    ):
        got = outputs(spec, source, **kwargs)
        assert got[:3] == reference[:3], kwargs
        assert list(got[3].workloads) == list(reference[3].workloads)  # spec order kept


def test_compact_plan_keeps_the_chosen_and_the_closest_misses(checked):
    spec, source = checked
    full, _ = plan(spec, source, keep_all=True, jobs=1)
    compact, _ = plan(spec, source, keep_all=False, jobs=1)
    total_full = sum(len(wp.candidates) for wp in full.workloads.values())
    total_compact = sum(len(wp.candidates) for wp in compact.workloads.values())
    assert total_compact < total_full / 3
    for name, wp in compact.workloads.items():
        assert (wp.chosen is None) == (full.workloads[name].chosen is None)
        if wp.chosen is not None:
            assert wp.chosen in wp.candidates and wp.chosen.key == full.workloads[name].chosen.key


def test_shared_results_never_leak_between_workloads():
    """The planner shares model-only results between workloads of a process (a remote tier's runs,
    split tails, aggregator tails). Each workload's plan is the same planned with the others as
    planned alone, on workloads that share models but differ in devices, sites, pins and rates."""
    doc = yaml.safe_load(gen.spec(40, 16, seed=11))
    pins = [{}, {"precision": "int8"}, {"prune": "none"}, {"precision": "fp16", "prune": 0.25}]
    for i, w in enumerate(doc["workloads"].values()):
        if pins[i % 4]:
            w["optimize"] = pins[i % 4]
    together, _ = run(doc)
    for name in list(doc["workloads"])[::3]:
        alone, _ = run({**doc, "workloads": {name: doc["workloads"][name]}})
        assert plan_render._workload_json(alone.workloads[name]) == plan_render._workload_json(
            together.workloads[name]
        ), name
