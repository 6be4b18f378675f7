"""The JSON plan's fast writer (render.json_fragment) against the dict path it replaces
(jsontext.dumps of render._workload_json): byte-identical for every candidate of the examples and
of a generated spec, each taken as the chosen one, and for estimates with unusual values."""

from __future__ import annotations

import math
import sys

import pytest

from edgespec import jsontext
from edgespec.load import Limits, load_bytes, load_path
from edgespec.planner import render as plan_render
from edgespec.planner.plan import plan
from edgespec.planner.types import Candidate, Estimates, Placement, Recipe, WorkloadPlan
from edgespec.validate import validate
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import gen  # noqa: E402


def dict_path(wp: WorkloadPlan) -> str:
    return jsontext.dumps(plan_render._workload_json(wp)).replace("\n", "\n    ")


def planned(loaded):
    spec, diagnostics = validate(loaded)
    assert spec is not None, diagnostics
    return plan(spec, loaded.source, keep_all=True, jobs=1)[0].workloads.values()


def every_choice(wp: WorkloadPlan):
    """The plan as made, and each of its candidates (feasible or not, estimated or not) as the chosen one."""
    yield wp
    for c in wp.candidates:
        yield WorkloadPlan(wp.name, wp.objective, c, wp.candidates, wp.why)


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.yaml")))
def test_fragment_matches_the_dict_path_on_the_examples(example):
    for wp in planned(load_path(str(ROOT / "examples" / example))):
        for variant in every_choice(wp):
            assert plan_render.json_fragment(variant) == dict_path(variant)


def test_fragment_matches_the_dict_path_on_a_generated_spec():
    workloads = list(planned(load_bytes(gen.spec(60, 20, seed=5).encode(), "gen.yaml", Limits())))
    assert any(wp.chosen is None for wp in workloads) and any(wp.chosen for wp in workloads)
    seen = 0
    for wp in workloads:
        for variant in every_choice(wp):
            assert plan_render.json_fragment(variant) == dict_path(variant), wp.name
            seen += 1
    assert seen > 1000


@pytest.mark.parametrize("odd", [math.nan, math.inf, -math.inf, 3, 0, 1e-12, 123456789.123456])
def test_fragment_matches_the_dict_path_on_unusual_numbers(odd):
    estimates = Estimates(odd, odd, odd, odd, odd, odd, odd, odd, odd, odd, odd, odd, 7 if odd == 3 else None, ())
    recipe = Recipe("int8", odd if isinstance(odd, int) else 0.25, 'tiny "v" ü', "dla")
    chosen = Candidate("on-device", (Placement("dev\n", "device", "m\u2028", recipe),), estimates)
    missed = Candidate("cloud", (Placement("cloud", "remote", "m", Recipe("fp16")),), None, ("capability: «no»", "x"))
    wp = WorkloadPlan("w", "latency", chosen, (chosen, missed), 'why "quoted"\ttab')
    assert plan_render.json_fragment(wp) == dict_path(wp)


def test_money_keeps_small_figures_and_says_when_a_figure_is_unknown():
    """One formatter for the plan's text and the report page: cents from $1 up, two significant
    figures below it (the report printed $0.004 as $0.00), the caller's word for unknown."""
    from edgespec.planner.render import money

    assert money(1234.5) == "$1,234.50"
    assert money(0.004) == "$0.004"
    assert money(0) == "$0.00"
    assert money(None) == "-"
    assert money(None, "unknown") == "unknown"
