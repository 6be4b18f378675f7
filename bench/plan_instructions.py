"""Count the instructions `plan` executes (valgrind's cachegrind), a measure that a noisy machine
does not move: the count of loading and planning a generated spec in one process, minus the count
of loading it alone.

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

PROBE = """
import sys
from edgespec.pipeline import check_file
from edgespec.planner.plan import plan
checked = check_file(sys.argv[1])
if sys.argv[2] == "plan":
    plan(checked.spec, checked.source, keep_all=False, jobs=1)
"""


def instructions(spec: Path, what: str) -> int:
    result = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                             sys.executable, "-c", PROBE, str(spec), what], capture_output=True, text=True, check=True)
    return int(re.search(r"I\s+refs:\s+([\d,]+)", result.stderr).group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workloads", type=int, default=200)
    parser.add_argument("--targets", type=int, default=100)
    args = parser.parse_args()
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(gen.spec(args.workloads, args.targets))
        load = instructions(spec, "load")
        total = instructions(spec, "plan")
    print(f"{args.workloads} workloads x {args.targets} targets: planning {(total - load) / 1e9:.3f} G instructions "
          f"(loading and validating {load / 1e9:.3f} G)")


if __name__ == "__main__":
    main()
