"""Compile the int8 models for the Edge TPU and read the compiler's log.

Runs edgetpu_compiler (x86-64 Debian/Ubuntu only: package edgetpu-compiler) on every model in
build/, then checks what the plan assumed: parameters that do not fit the ~8 MB on-chip cache
stream from the host on every inference, and ops mapped to the CPU run on the host. Exits 1
when the compiled model is worse than the plan's figures.

    python3 compile_edgetpu.py
"""

import json
import pathlib
import re
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
MIN_RUNTIME = "13"  # libedgetpu1 14+ runs it; avoids runtime/compiler version skew


def parse(log):
    """Cache use and the operator table that `edgetpu_compiler -s` prints."""

    def size(label):
        m = re.search(label + r"\s*:\s*([0-9.]+)\s*(B|KiB|MiB|GiB)", log)
        if not m:
            return 0.0
        return float(m.group(1)) * {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}[m.group(2)]

    tpu_ops = cpu_ops = 0
    for m in re.finditer(r"^([A-Z][A-Z0-9_]*)\s+(\d+)\s+(\S.*)$", log, re.M):
        if m.group(3).startswith("Mapped to Edge TPU"):
            tpu_ops += int(m.group(2))
        else:  # "Operation is ...": runs on the CPU
            cpu_ops += int(m.group(2))
    return {
        "on_chip": size("On-chip memory used for caching model parameters"),
        "off_chip": size("Off-chip memory used for streaming uncached model parameters"),
        "tpu_ops": tpu_ops,
        "cpu_ops": cpu_ops,
    }


def main():
    config = json.loads((HERE / "edgetpu.json").read_text())
    worse = False
    for model in config["models"]:
        source = HERE / "build" / f"{model['name']}_int8.tflite"
        if not source.exists():
            sys.exit(f"{source.relative_to(HERE)} is missing: run convert_int8.py first")
        result = subprocess.run(
            ["edgetpu_compiler", "-s", "-m", MIN_RUNTIME, "-o", str(source.parent), str(source)],
            capture_output=True,
            text=True,
            check=True,
        )
        stats = parse(result.stdout)
        total = stats["tpu_ops"] + stats["cpu_ops"]
        cpu_share = stats["cpu_ops"] / total if total else 0.0
        print(
            f"{model['name']}: {stats['on_chip'] / 2**20:.2f} MiB cached on chip, "
            f"{stats['off_chip'] / 2**20:.2f} MiB streamed per inference, {stats['cpu_ops']} of {total} ops on the CPU"
        )
        if stats["off_chip"] > 0 and not model["spill_expected"]:
            print(
                "  the plan assumed the parameters fit on chip; expect slower inference than planned", file=sys.stderr
            )
            worse = True
        if cpu_share > model["cpu_fallback_fraction"] + 0.01:
            print(
                f"  {cpu_share:.0%} of ops run on the CPU, the spec declares cpu_fallback_fraction "
                f"{model['cpu_fallback_fraction']}: update the spec and re-plan",
                file=sys.stderr,
            )
            worse = True
    sys.exit(1 if worse else 0)


if __name__ == "__main__":
    main()
