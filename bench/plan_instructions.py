"""Count the instructions `edgespec plan SPEC --format json` executes, phase by phase (valgrind's
cachegrind), a measure that a noisy machine does not move. Each phase is the count of a probe that
stops after it minus the count of the probe that stops before it, all in one process (the command
plans specs of 200 workloads or more in one process per core; the count is the work, not the wall
time):

- start-up: the interpreter and the modules the command imports;
- load + validate: reading, parsing and validating the spec;
- planning: the planner alone (no JSON; the figure earlier tables report);
- JSON + diagnostics: with the JSON entries rendered where workloads are planned, the document
  and the diagnostics, minus the planner alone.

Usage: python bench/plan_instructions.py [--workloads 200] [--targets 100]
Needs valgrind (Debian: apt-get install valgrind); runs ~20x slower than native.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen  # noqa: E402

from tools import as_installed  # noqa: E402

STAGES = ("bare", "imports", "load", "plan", "json")
PROBE = """
import sys
stage = sys.argv[2]
if stage != "bare":
    from edgespec import cli  # what `edgespec plan` imports, in the order it does
    from edgespec.diagnostics import has_errors
    from edgespec.diagnostics.render import render
    from edgespec.pipeline import check_file
    from edgespec.planner import render as plan_render
    from edgespec.planner.plan import plan
if stage in ("load", "plan", "json"):
    checked = check_file(sys.argv[1])
if stage == "plan":
    plan(checked.spec, checked.source, keep_all=False, jobs=1)
if stage == "json":
    planned, diagnostics = plan(checked.spec, checked.source, keep_all=False, jobs=1,
                                fragment=plan_render.json_fragment)
    render("text", diagnostics, {checked.source.file: checked.source.text})
    plan_render.as_json(planned)
import os
os._exit(0)  # as the console script leaves: no teardown
"""


def instructions(spec: Path, what: str) -> int:
    result = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            "-c",
            PROBE,
            str(spec),
            what,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(re.search(r"I\s+refs:\s+([\d,]+)", result.stderr).group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workloads", type=int, default=200)
    parser.add_argument("--targets", type=int, default=100)
    args = parser.parse_args()
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed")
    state = as_installed()
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(gen.spec(args.workloads, args.targets))
        count = {stage: instructions(spec, stage) for stage in STAGES}
    g = {k: v / 1e9 for k, v in count.items()}
    print(f"{args.workloads} workloads x {args.targets} targets, G instructions (one process; {state}):")
    print(f"  start-up            {g['imports']:.3f}  (the bare interpreter: {g['bare']:.3f})")
    print(f"  load + validate     {g['load'] - g['imports']:.3f}")
    print(f"  planning            {g['plan'] - g['load']:.3f}")
    print(f"  JSON + diagnostics  {g['json'] - g['plan']:.3f}")
    print(f"  the command         {g['json']:.3f}")


if __name__ == "__main__":
    main()
