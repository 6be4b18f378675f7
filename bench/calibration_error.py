"""The latency estimator against the published benchmarks it is calibrated on: per device class,
the rows, the free constants, the error in-sample and leave-one-model-out (each model's rows
predicted by a fit that never saw that model), before and after the op-class and device-scaled
overhead terms, on the same rows and the same split.

Usage: python bench/calibration_error.py      (about 5 minutes: two leave-one-model-out runs)
Prints markdown; paste it into bench/README.md.
"""

from __future__ import annotations

import statistics
from collections import defaultdict

from edgespec.planner import calibrate


def free_constants(constants: dict, class_rows: list) -> int:
    """The constants a class's fit chose (efficiency per precision, and overhead per precision and
    bandwidth where the rows are enough for them, the op-class efficiencies, the overhead exponent,
    Coral's spill bandwidths)."""
    n = len(constants["precisions"])
    n += (len(constants["precisions"]) + 1) * calibrate.fits_overheads(class_rows)
    n += len(constants.get("op_class_efficiency", {}))
    n += len(constants.get("peak_correction", {}))
    n += "overhead_exponent" in constants
    n += 2 * ("spill_gbs" in constants)
    return n


def by_class(pairs) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for row, error in pairs:
        out[row.cls].append(error)
        out["all"].append(error)
    return out


def fmt(errors: list[float]) -> str:
    if not errors:
        return "-"
    within = sum(e <= 0.30 for e in errors) / len(errors)
    return f"{statistics.median(errors):.1%} ({within:.0%})"


def main() -> None:
    rows = calibrate.rows()
    results = {}
    for label, terms in (("before", False), ("after", True)):
        fitted = calibrate.fit(terms)
        in_sample = by_class(zip(rows, calibrate.errors(fitted, rows), strict=True))
        pairs = calibrate.held_out_errors(rows, terms)
        results[label] = (fitted, in_sample, by_class(pairs), pairs)
    print("MdAPE (share of rows within ±30%); leave-one-model-out refits without each model in turn.\n")
    print(
        "| class | rows | models | constants before | in-sample before | held-out before "
        "| constants after | in-sample after | held-out after |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    classes = sorted({r.cls for r in rows})
    for cls in [*classes, "all"]:
        mine = [r for r in rows if cls in ("all", r.cls)]
        cells = []
        for label in ("before", "after"):
            fitted, in_sample, held_out, _ = results[label]
            constants = sum(
                free_constants(c, [r for r in rows if r.cls == name])
                for name, c in fitted["classes"].items()
                if cls in ("all", name)
            )
            cells += [str(constants), fmt(in_sample[cls]), fmt(held_out[cls])]
        print(f"| {cls} | {len(mine)} | {len({r.model for r in mine})} | " + " | ".join(cells) + " |")
    print("\nBy op class (after; held-out):\n")
    print("| op class | rows | held-out |")
    print("|---|---:|---:|")
    per_op: dict[str, list[float]] = defaultdict(list)
    for row, error in results["after"][3]:
        per_op[row.op_class].append(error)
    for op, errors in sorted(per_op.items()):
        print(f"| {op} | {len(errors)} | {fmt(errors)} |")


if __name__ == "__main__":
    main()
