"""Time `edgespec validate` against `check-jsonschema` on the same generated specs.

Both run as fresh processes, as they would in CI, so start-up is included. Prints a markdown
table; paste it into bench/README.md. Usage: python bench/bench_validate.py [--sizes 10,100,1000,10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen  # noqa: E402

from tools import as_installed, executable  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "schemas" / "edgespec-v1.schema.json"


def best_of(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"{cmd[0]} failed: {result.stdout[-500:]}{result.stderr[-500:]}")
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    edgespec = executable("edgespec")
    state = as_installed()
    checker = executable("check-jsonschema")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"spec-{n}.yaml"
            path.write_text(gen.spec(n))
            ours = best_of([edgespec, "validate", str(path)], args.repeat)
            theirs = (
                best_of([checker, "--schemafile", str(SCHEMA), str(path)], args.repeat) if checker else float("nan")
            )
            rows.append((n, path.stat().st_size, ours, theirs))
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {state}; best of {args.repeat} runs, "
        "wall time of a fresh process\n"
    )
    print("| workloads | spec size | edgespec validate | check-jsonschema | ratio | time per 1k workloads |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, size, ours, theirs in rows:
        print(
            f"| {n:,} | {size / 1024:,.0f} KiB | {ours:.3f} s | {theirs:.3f} s | {theirs / ours:.1f}x faster | "
            f"{ours / n * 1000:.3f} s |"
        )
    if len(rows) >= 2:
        (n0, _, t0, _), (n1, _, t1, _) = rows[-2], rows[-1]
        print(f"\ngrowth from {n0:,} to {n1:,} workloads: {t1 / t0:.1f}x time for {n1 / n0:.0f}x size")
    print("\nmedian edgespec time:", f"{statistics.median(r[2] for r in rows):.3f} s")


if __name__ == "__main__":
    main()
