"""Time `edgespec plan` over workloads x targets (fresh process each, start-up included), in one
process (EDGESPEC_JOBS=1) and with the default (one worker per usable core from 200 workloads).

Usage: python bench/bench_plan.py [--workloads 100,1000] [--targets 10,100] [--repeat 1]
Prints a markdown table; paste it into bench/README.md. There is no peer tool that plans
edge placements, so this benchmark runs alone.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen  # noqa: E402

from tools import as_installed, executable  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workloads", default="100,1000")
    parser.add_argument("--targets", default="10,100")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    edgespec = executable("edgespec")
    state = as_installed()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for w in (int(x) for x in args.workloads.split(",")):
            for t in (int(x) for x in args.targets.split(",")):
                path = Path(tmp) / f"spec-{w}-{t}.yaml"
                path.write_text(gen.spec(w, t))
                times = []
                for jobs in ("1", ""):  # one process; the default
                    env = {**os.environ, "EDGESPEC_JOBS": jobs}
                    best = float("inf")
                    for _ in range(args.repeat):
                        start = time.perf_counter()
                        result = subprocess.run(
                            [edgespec, "plan", str(path), "--format", "json"], capture_output=True, env=env
                        )
                        best = min(best, time.perf_counter() - start)
                        if result.returncode not in (0, 1):  # 1: some generated workloads are infeasible
                            raise SystemExit(result.stderr.decode()[-500:])
                    times.append(best)
                rows.append((w, t, *times))
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {state}; best of {args.repeat}\n")
    print("| workloads | targets | one process | default | per workload x target (default) |")
    print("|---:|---:|---:|---:|---:|")
    for w, t, one, default in rows:
        print(f"| {w:,} | {t} | {one:.2f} s | {default:.2f} s | {default / (w * t) * 1e6:.1f} µs |")


if __name__ == "__main__":
    main()
