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


def _zip(path, files: dict[str, str]) -> str:
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return str(path)


def _weights(cls: str, params: int, gmacs: float, transforms: str) -> str:
    return (
        f"class {cls}_Weights(WeightsEnum):\n"
        f"    V1 = Weights(url='u', transforms={transforms}, "
        f"meta={{'num_params': {params}, '_ops': {gmacs}}})\n"
    )


def _hub_model(model_id: str, name: str, params: str, resolution: str, builder: str, ms: float) -> dict[str, str]:
    import yaml

    run = {"inference_time_milliseconds": ms, "job_status": "Passed", "primary_compute_unit": "NPU"}
    perf = {
        "precisions": {"w8a8": {"components": {"m": {"performance_metrics": {"Samsung Galaxy S24": {"qnn_dlc": run}}}}}}
    }
    manifest = {
        "name": name,
        "source_repo": "https://github.com/pytorch/vision/blob/main/torchvision/models",
        "technical_details": {"Number of parameters": params, "Input resolution": resolution},
    }
    base = f"qai_hub_models/models/{model_id}/"
    return {
        base + "manifest.yaml": yaml.safe_dump(manifest),
        base + "perf.yaml": yaml.safe_dump(perf),
        base + "model.py": f"import torchvision.models as tv_models\nnet = {builder}(weights=None)\n",
    }


def test_ai_hub_rows_take_the_builder_model_py_calls_and_its_own_crop(tmp_path):
    """bench/qai_hub_calibration.py: the compute is the metadata of the builder AI Hub's model.py
    calls (shufflenet_v2 is the x0.5 net, not the x1.0 one its id suggests); a video net's count is
    per 16-frame clip at its (h, w) crop; weights without a crop size (detection) and a parameter
    count that disagrees by more than 5% give no row."""
    from bench import qai_hub_calibration as hub

    tv = _zip(
        tmp_path / "tv.whl",
        {
            "torchvision/models/shufflenetv2.py": _weights(
                "ShuffleNet_V2_X0_5", 1366792, 0.04, "partial(T, crop_size=224)"
            )
            + _weights("ShuffleNet_V2_X1_0", 2278604, 0.145, "partial(T, crop_size=224)"),
            "torchvision/models/video/resnet.py": _weights(
                "R3D_18", 33371472, 40.697, "partial(V, crop_size=(112, 112))"
            ),
            "torchvision/models/detection/mask_rcnn.py": _weights("MaskRCNN_ResNet50_FPN", 44401393, 134.38, "T"),
            "torchvision/models/resnet.py": _weights("ResNet50", 25557032, 4.089, "partial(T, crop_size=224)"),
        },
    )
    models = {
        **_hub_model("shufflenet_v2", "Shufflenet-v2", "1.37M", "224x224", "tv_models.shufflenet_v2_x0_5", 0.34),
        **_hub_model("resnet_3d", "ResNet-3D", "33.4M", "112x112", "tv_models.video.r3d_18", 3.276),
        **_hub_model("maskrcnn", "MaskRCNN", "44.4M", "800x800", "tv_models.detection.maskrcnn_resnet50_fpn", 50.0),
        **_hub_model("resnet50", "ResNet50", "30.0M", "224x224", "tv_models.resnet50", 0.657),
    }
    hub_wheel = _zip(tmp_path / "hub.whl", models)
    found = {r[3]: r for r in hub.rows(hub_wheel, tv)}
    assert sorted(found) == ["ResNet-3D", "Shufflenet-v2"]
    assert found["Shufflenet-v2"][4:8] == ["224x224", 1.37, 0.08, "int8"]
    assert found["ResNet-3D"][4:8] == ["16x112x112", 33.37, 81.394, "int8"]
    assert found["ResNet-3D"][0] == "snapdragon-8-gen-3" and found["ResNet-3D"][9] == 3.276


def test_a_class_of_few_rows_fits_its_efficiencies_alone():
    """Issue 18: free constants well below the rows that fit them. The Raspberry Pi's two rows
    cannot fit an efficiency, an overhead and a bandwidth: the overhead stays 0 and the two rows
    are not both met exactly (three constants would meet both)."""
    cpu = [r for r in calibrate.rows() if r.cls == "arm-cpu"]
    assert len(cpu) == 2 and not calibrate.fits_overheads(cpu)
    fitted = calibrate.fit_class("arm-cpu", cpu)
    assert fitted["precisions"]["int8"]["overhead_ms"] == 0.0
    assert max(calibrate.errors({"classes": {"arm-cpu": fitted}}, cpu)) > 0.1
    assert calibrate.fits_overheads([r for r in calibrate.rows() if r.cls == "apple-ane"])
