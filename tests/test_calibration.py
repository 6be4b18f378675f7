"""The estimator's error on the published benchmarks, held to the checked-in figure."""

from __future__ import annotations

import statistics

from edgespec import catalog
from edgespec.planner import calibrate


def test_error_on_the_calibration_set_does_not_regress():
    checked_in = catalog.calibration()["error"]
    rows = calibrate.rows()
    errors = calibrate.errors(catalog.calibration(), rows)
    mdape = statistics.median(errors)
    within = sum(e <= 0.30 for e in errors) / len(errors)
    print(f"calibration: MdAPE {mdape:.1%}, within ±30% {within:.0%} of {len(rows)} rows")
    assert len(rows) == checked_in["rows"] >= 90
    assert round(mdape, 4) <= checked_in["mdape"] < 0.20
    assert round(within, 4) >= checked_in["within_30pct"]


def test_the_fit_is_reproducible():
    fitted = calibrate.fit()
    stored = catalog.calibration()["classes"]
    assert fitted["classes"] == stored, "run `python -m edgespec.planner.calibrate --write`"


def test_a_naive_roofline_at_peak_is_far_worse():
    """The reason calibration exists: peak figures alone are off by several times."""
    rows = calibrate.rows()
    naive = {
        cls: {
            **c,
            "precisions": {p: {"efficiency": 1.0, "overhead_ms": 0.0} for p in c["precisions"]},
            "bandwidth_efficiency": 1.0,
        }
        for cls, c in catalog.calibration()["classes"].items()
    }
    errors = calibrate.errors({"classes": naive}, rows)
    assert statistics.median(errors) > 0.5


def test_the_ai_hub_rows_are_snapdragon_measurements_with_their_sources():
    """benchmarks-qai-hub-models.csv (bench/qai_hub_calibration.py from the qai-hub-models wheel):
    catalog Snapdragon chips only, a precision the class runs, compute from torchvision's metadata."""
    import csv
    from importlib import resources

    text = resources.files("edgespec.catalog").joinpath("benchmarks-qai-hub-models.csv").read_text("utf-8")
    found = list(csv.DictReader(text.splitlines()))
    assert len(found) >= 70
    hardware = catalog.hardware()
    for row in found:
        assert hardware[row["hardware"]]["kind"] == "snapdragon", row
        assert row["precision"] in catalog.classes()["snapdragon-npu"]["precisions"]
        assert row["source_url"] == "https://pypi.org/project/qai-hub-models/0.65.0/"
        assert "github.com/pytorch/vision/tree/v0.29.1" in row["source_precision"]
        assert float(row["value"]) > 0 and float(row["gflops"]) > 0
    assert {r["hardware"] for r in found} == {"qcs6490", "snapdragon-8-gen-3", "snapdragon-8-elite"}
