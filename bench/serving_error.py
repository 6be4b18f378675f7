"""The serving (batching) model against published serving benchmarks: the error per regime,
in-sample and leave-one-out, and each row's prediction.

Usage: python bench/serving_error.py [--fit]
  --fit  also prints the constants the fit gives (copy them into edgespec/catalog/serving.yaml;
         tests/test_pools.py fails while the checked-in constants differ from the fit)
Prints markdown; paste it into bench/README.md.
"""

from __future__ import annotations

import argparse

from edgespec.planner import serving_calibration


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fit", action="store_true")
    args = parser.parse_args()
    report = serving_calibration.report()
    if args.fit:
        print("fitted constants:", report["constants"], "\n")
    print("| regime | rows | free constants | MdAPE in-sample | MdAPE leave-one-out |")
    print("|---|---:|---:|---:|---:|")
    free = {"dynamic batching (CNN)": 1, "continuous batching (LLM)": 3}
    for regime, r in report["regimes"].items():
        print(
            f"| {regime} | {r['rows']} | {free[regime]} | {r['mdape_in_sample']:.1%} | {r['mdape_leave_one_out']:.1%} |"
        )
    print("\n| GPU | model | prompt/output | scenario | published | model | error |")
    print("|---|---|---|---|---:|---:|---:|")
    for r in report["regimes"].values():
        for gpu, model, prompt, output, scenario, measured, predicted in r["rows_detail"]:
            tokens = f"{prompt}/{output}" if output else "-"
            print(
                f"| {gpu} | {model} | {tokens} | {scenario} | {measured:,.0f} | {predicted:,.0f} | "
                f"{predicted / measured - 1:+.0%} |"
            )


if __name__ == "__main__":
    main()
