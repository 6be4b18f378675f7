"""A digest of the plans of many specs, to prove a refactor leaves plans byte-identical.

Usage: python bench/plan_digest.py; PYTHONPATH=/path/to/other/checkout python bench/plan_digest.py
(the digests must match; the other checkout is e.g. `git worktree add /tmp/base <commit>`)

Plans, with every candidate kept (`plan --explain`'s view: each candidate's estimates, reasons
and cut) and the JSON and text renderings, of: the examples, tests/specs, 150 random specs of
tests/test_planner_optimality.py and two generated 200 x 50 specs (one contended). Prints the
number of specs and one SHA-256 over all of it.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path += [str(ROOT), str(ROOT / "bench")]  # after PYTHONPATH: a checkout to compare can be put first

import gen  # noqa: E402
import yaml  # noqa: E402

from edgespec.load import Limits, load_bytes  # noqa: E402
from edgespec.planner import plan as plan_mod  # noqa: E402
from edgespec.planner import render  # noqa: E402
from edgespec.validate import validate  # noqa: E402
from tests.test_planner_optimality import random_spec  # noqa: E402


def specs() -> dict[str, bytes]:
    out = {
        str(p.relative_to(ROOT)): p.read_bytes()
        for p in sorted((ROOT / "examples").glob("*.yaml")) + sorted((ROOT / "tests" / "specs").glob("*.yaml"))
    }
    for seed in range(150):
        out[f"random-{seed}"] = yaml.safe_dump(random_spec(seed)).encode()
    out["gen-200x50"] = gen.spec(200, 50).encode()
    out["gen-200x50-relaxed"] = gen.spec(200, 50, relaxed=True).encode()
    return out


def main() -> None:
    digest = hashlib.sha256()
    found = specs()
    for name, data in found.items():
        loaded = load_bytes(data, name, Limits())
        spec, diagnostics = validate(loaded)
        digest.update(name.encode())
        if spec is None:
            digest.update(repr([(d.code, d.message) for d in diagnostics]).encode())
            continue
        planned, diagnostics = plan_mod.plan(spec, loaded.source, keep_all=True)
        for wp in planned.workloads.values():
            digest.update(repr((wp.name, wp.chosen and wp.chosen[:5], [c[:5] for c in wp.candidates], wp.why)).encode())
        digest.update(repr([(d.code, d.message, d.line, d.column) for d in diagnostics]).encode())
        digest.update(render.as_json(planned).encode())
        digest.update(render.text(planned).encode())
    print(len(found), digest.hexdigest(), "edgespec from", Path(plan_mod.__file__).parents[2])


if __name__ == "__main__":
    main()
