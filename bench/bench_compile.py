"""Time `edgespec compile` on a generated spec: a first compile into an empty directory, then a
no-change recompile (which must write nothing), beside `plan` on the same spec. Fresh processes.

Usage: python bench/bench_compile.py [--workloads 1000] [--targets 100] [--repeat 2]
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


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    edgespec = executable("edgespec")
    state = as_installed()
    rows = {"plan": [], "compile (empty output)": [], "compile (no change)": []}
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(gen.spec(args.workloads, args.targets, relaxed=True))
        files = 0
        for i in range(args.repeat):
            out = Path(tmp) / f"out{i}"
            rows["plan"].append(timed([edgespec, "plan", str(spec), "--format", "json"])[0])
            seconds, result = timed([edgespec, "compile", str(spec), "-o", str(out)])
            if result.returncode != 0:
                raise SystemExit(result.stderr[-800:])
            rows["compile (empty output)"].append(seconds)
            files = sum(1 for p in out.rglob("*") if p.is_file()) if out.exists() else 0
            before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
            seconds, result = timed([edgespec, "compile", str(spec), "-o", str(out)])
            assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before, "a no-change recompile wrote files"
            rows["compile (no change)"].append(seconds)
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {state}; {args.workloads} workloads x "
        f"{args.targets} targets, {files} files emitted; best of {args.repeat}\n"
    )
    print("| command | time |")
    print("|---|---:|")
    for name, times in rows.items():
        print(f"| {name} | {min(times):.2f} s |")


if __name__ == "__main__":
    main()
