"""Time `edgespec lsp` answering an edit, driven by a real LSP client over stdio (tests/lsp_client.py).

For a spec of N workloads (bench/gen.py), it opens the document, then makes `--edits` edits one at a
time (each changes one workload's p95 budget) and times each from the `didChange` to the
`publishDiagnostics` of that version. The server waits DEBOUNCE_S after an edit before checking
(typing pauses), so the table gives the measured time and the time less that wait: the check
itself (validate + plan of the whole buffer). Target (issue 19): <= 50 ms median at 200 workloads.

Usage: python bench/bench_lsp.py [--workloads 200] [--edits 15]
Prints a markdown table; paste it into bench/README.md. No peer language server validates these
specs, so it runs alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen  # noqa: E402

from edgespec.lsp import DEBOUNCE_S  # noqa: E402
from tests.lsp_client import LspClient  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workloads", default="200")
    parser.add_argument("--edits", type=int, default=15)
    args = parser.parse_args()
    print(f"machine: Python {sys.version.split()[0]}; server debounce {DEBOUNCE_S * 1000:.0f} ms\n")
    print("| workloads | edits | edit -> diagnostics (median) | less the debounce: the check | p90 check |")
    print("|---:|---:|---:|---:|---:|")
    for n in (int(w) for w in args.workloads.split(",")):
        text = gen.spec(n)
        with tempfile.TemporaryDirectory() as tmp:
            client = LspClient([sys.executable, "-m", "edgespec", "lsp"])
            try:
                client.initialize(Path(tmp))
                uri = client.open(Path(tmp) / "bench.yaml", text)
                client.diagnostics(uri, want=lambda d: True, timeout=300)
                times = []
                for version in range(2, 2 + args.edits):
                    edited = text.replace("p95_ms: ", f"p95_ms: {version}", 1)  # one workload's budget
                    start = time.perf_counter()
                    client.change(uri, edited, version)
                    client.diagnostics(uri, want=lambda d: True, timeout=300)
                    times.append((time.perf_counter() - start) * 1000)
            finally:
                client.close()
        checks = sorted(t - DEBOUNCE_S * 1000 for t in times)
        print(
            f"| {n:,} | {len(times)} | {statistics.median(times):.0f} ms | {statistics.median(checks):.0f} ms "
            f"| {checks[int(0.9 * (len(checks) - 1))]:.0f} ms |"
        )


if __name__ == "__main__":
    main()
