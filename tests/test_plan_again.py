"""planner.plan.plan_again (the language server's re-planning): after any edit it gives exactly
what a fresh plan gives, the same plan and the same diagnostics at their new positions, while
re-planning only the workloads the edit touched."""

from __future__ import annotations

import sys

import pytest

from edgespec.lsp import analyse, analyse_again
from edgespec.planner import plan as plan_mod
from edgespec.planner import render
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import gen  # noqa: E402

BASE = gen.spec(60)  # 60 workloads, some infeasible (their diagnostics are reused too)
EDITS = {
    "unchanged": BASE,
    "a budget": BASE.replace("p95_ms: ", "p95_ms: 9", 1),
    "lines moved": BASE.replace("workloads:\n", "workloads:\n  # a new comment moves every line below\n", 1),
    "a model": BASE.replace("gflops: ", "gflops: 1", 1),
    "a target": BASE.replace("count: ", "count: 7", 1),
    "a workload removed": BASE[: BASE.rindex("  workload-")],
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_replanning_an_edit_equals_planning_afresh(tmp_path, edit):
    path = str(tmp_path / "spec.yaml")
    _, _, first, previous = analyse_again(BASE, path, None)
    assert first is not None
    diagnostics, _, planned, _ = analyse_again(EDITS[edit], path, previous)
    fresh_diagnostics, _, fresh = analyse(EDITS[edit], path)
    assert render.as_json(planned) == render.as_json(fresh)
    assert [d.to_dict() for d in diagnostics] == [d.to_dict() for d in fresh_diagnostics]


def test_only_the_touched_workloads_are_planned_again(tmp_path, monkeypatch):
    path = str(tmp_path / "spec.yaml")
    _, _, _, previous = analyse_again(BASE, path, None)
    planned: list[str] = []
    original = plan_mod._Job.plan

    def counting(self, name):
        planned.append(name)
        return original(self, name)

    monkeypatch.setattr(plan_mod._Job, "plan", counting)
    analyse_again(EDITS["a budget"], path, previous)
    assert planned == ["workload-0"]  # the one whose budget changed
    planned.clear()
    analyse_again(EDITS["a model"], path, previous)
    assert len(planned) == 60  # a model changed: everything is planned again
