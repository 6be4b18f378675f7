"""Where joint placement's time goes: planning each workload alone, then the joint step
(contention check, the contending workloads' options, the solver), in one process.

Usage: python bench/bench_joint.py [--workloads 1000] [--targets 100] [--repeat 3]
Prints a markdown table; paste it into bench/README.md. The solver has no peer here: the check
of its answers is tests/test_joint.py's brute force.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen  # noqa: E402

from edgespec.load import Limits, load_bytes  # noqa: E402
from edgespec.planner import joint  # noqa: E402
from edgespec.planner import plan as plan_mod  # noqa: E402
from edgespec.validate import validate  # noqa: E402

PHASES = ((plan_mod, "_place_jointly"), (plan_mod, "_choices"), (joint, "_solve"))


def timed(spent: dict) -> list:
    """Wrap each phase's function to add its wall time to `spent`; returns the originals."""
    originals = []
    for module, name in PHASES:
        original = getattr(module, name)
        originals.append(original)

        def wrapper(*args, _original=original, _name=name, **kwargs):
            start = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_name] = spent.get(_name, 0.0) + time.perf_counter() - start

        setattr(module, name, wrapper)
    return originals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        "| spec | plan (one process) | of it: joint step | of it: options (usage, regret) | of it: solver | moved | ES504 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for relaxed in (False, True):
        text = gen.spec(args.workloads, args.targets, relaxed=relaxed)
        loaded = load_bytes(text.encode(), "gen.yaml", Limits())
        spec, _ = validate(loaded)
        best = None
        for _ in range(args.repeat):
            spent: dict = {}
            originals = timed(spent)
            start = time.perf_counter()
            try:
                planned, diagnostics = plan_mod.plan(spec, loaded.source, keep_all=False, jobs=1)
            finally:
                total = time.perf_counter() - start
                for (module, name), original in zip(PHASES, originals):
                    setattr(module, name, original)
            moved = sum(wp.why.startswith("joint placement:") for wp in planned.workloads.values())
            es504 = sum(d.code == "ES504" for d in diagnostics)
            row = (
                total,
                spent.get("_place_jointly", 0.0),
                spent.get("_choices", 0.0),
                spent.get("_solve", 0.0),
                moved,
                es504,
            )
            best = row if best is None or row[0] < best[0] else best
        name = f"{args.workloads:,} x {args.targets}" + (
            " relaxed (no contention)" if relaxed else " (gen.py, contended)"
        )
        total, step, alts, solver, moved, es504 = best
        print(f"| {name} | {total:.2f} s | {step:.2f} s | {alts:.2f} s | {solver:.2f} s | {moved} | {es504} |")


if __name__ == "__main__":
    main()
