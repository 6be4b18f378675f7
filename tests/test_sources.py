"""Issue 20: one model, several formats, each device served the one it runs. A model declares a
source per format; the planner picks, per device, a format it loads as is, else one its bundle
converts (and says which); the plan (text, JSON), the bundles, the lock and `diff` all name the
source each placement uses. The bundles are read, not the lock, to prove each fetches its own."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from edgespec.load import load_bytes
from edgespec.planner import formats, render
from edgespec.spec.models import Model
from edgespec.validate import validate
from tests.conftest import ROOT
from tests.planner_helpers import model
from tests.planner_helpers import run as plan_of
from tests.planner_helpers import spec as build

ONNX = {"uri": "s3://m/det/4/model.onnx", "format": "onnx", "sha256": "a" * 64}
COREML = {"uri": "s3://m/det/4/model.mlpackage", "format": "coreml"}
TFLITE = {"uri": "s3://m/det/4/model_int8.tflite", "format": "tflite", "sha256": "c" * 64}
TORCH = {"uri": "s3://m/det/4/model.pt", "format": "torchscript", "sha256": "d" * 64}

FLEETS = {  # target -> hardware
    "orins": "jetson-orin-nx-16gb",
    "iphones": "apple-a17-pro",
    "androids": "snapdragon-8-gen-3",
    "corals": "coral-usb",
}


def spec(sources: list[dict], fleets: dict[str, str] = FLEETS, **model_extra) -> dict:
    calibration = {"uri": "s3://m/det/4/model.cache"}
    det = model("image-classification", "3.5M", 0.6, 0.8, source=sources, calibration=calibration, **model_extra)
    doc = build(
        {"det": det},
        {t: {"hardware": hw, "count": 10, "jurisdiction": "us"} for t, hw in fleets.items()},
        {
            f"look-{t}": {"model": "det", "data_source": [t], "latency": {"p95_ms": 500}, "pattern": "on-device"}
            for t in fleets
        },
    )
    return {**doc, "metadata": {"name": "multi", "version": "1.4.0"}}


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgespec", *args], capture_output=True, text=True, cwd=cwd)


def compiled(tmp: Path, doc: dict, name: str = "spec.yaml") -> Path:
    (tmp / name).write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp / (name + ".out")
    result = run("compile", str(tmp / name), "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out


def texts(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(folder.rglob("*")) if p.is_file())


# -- the planner picks the format per device ----------------------------------------------------------
def test_each_device_is_planned_on_the_format_it_runs():
    p, _ = plan_of(spec([ONNX, COREML, TFLITE]))
    chosen = {w: wp.chosen.placements[0].source for w, wp in p.workloads.items()}
    assert {w: (s.format, s.conversion) for w, s in chosen.items()} == {
        "look-orins": ("onnx", "ONNX -> TensorRT engine (trtexec, on the device)"),
        "look-iphones": ("coreml", None),  # loaded as is: no conversion
        "look-androids": (
            "onnx",
            "ONNX -> QNN context binary (ONNX Runtime's QNN execution provider, compile_qnn.py, or AI Hub)",
        ),
        "look-corals": ("tflite", None),  # a full-int8 TFLite: compiled for the Edge TPU as it is
    }
    doc = json.loads(render.as_json(p))["workloads"]
    assert doc["look-iphones"]["placements"][0]["source"] == {
        "conversion": None,
        "format": "coreml",
        "sha256": None,
        "uri": COREML["uri"],
    }
    table = render.text(p)
    assert "sources:" in table
    assert f"look-corals: corals (device) det <- tflite {TFLITE['uri']}" in table


def test_a_conversion_is_chosen_where_no_declared_format_fits():
    p, _ = plan_of(spec([TORCH, ONNX]))
    by = {w: wp.chosen.placements[0].source for w, wp in p.workloads.items()}
    # no Core ML package and no TFLite declared: the bundles convert, and the plan says how
    assert (by["look-iphones"].format, by["look-iphones"].conversion) == (
        "torchscript",
        "TorchScript -> Core ML (Core ML Tools, convert_coreml.py)",
    )
    assert (by["look-corals"].format, by["look-corals"].conversion) == (
        "onnx",
        "ONNX -> full-int8 TFLite (onnx2tf, convert_int8.py)",
    )
    assert "(TorchScript -> Core ML (Core ML Tools, convert_coreml.py))" in render.text(p)


def test_no_declared_format_a_device_takes_is_a_capability_reason_naming_them_all():
    p, _ = plan_of(spec([COREML, TFLITE], {"orins": "jetson-orin-nx-16gb"}))
    wp = p.workloads["look-orins"]
    assert wp.chosen is None
    assert any("cannot load coreml or tflite models (takes onnx)" in r for c in wp.rejected for r in c.reasons)


def test_a_format_carries_its_own_accuracy_when_the_export_changed_it():
    plain, _ = plan_of(spec([ONNX, COREML]))
    changed, _ = plan_of(spec([ONNX, {**COREML, "accuracy": 0.75}]))
    iphone = (plain.workloads["look-iphones"].chosen, changed.workloads["look-iphones"].chosen)
    assert iphone[0].placements == iphone[1].placements  # the same placement and recipe
    assert iphone[0].estimates.accuracy - iphone[1].estimates.accuracy == pytest.approx(0.8 - 0.75)
    # the other devices inherit the model's
    android = (plain.workloads["look-androids"].chosen, changed.workloads["look-androids"].chosen)
    assert android[0].estimates.accuracy == android[1].estimates.accuracy


def test_one_workload_on_two_fleets_uses_each_ones_format_and_the_worse_accuracy():
    doc = spec([ONNX, {**COREML, "accuracy": 0.75}], {"iphones": "apple-a17-pro", "androids": "snapdragon-8-gen-3"})
    doc["workloads"] = {
        "look": {
            "model": "det",
            "data_source": ["iphones", "androids"],
            "latency": {"p95_ms": 500},
            "pattern": "on-device",
        }
    }
    p, _ = plan_of(doc)
    c = p.workloads["look"].chosen
    assert {pl.target: pl.source.format for pl in c.placements} == {"iphones": "coreml", "androids": "onnx"}
    alone, _ = plan_of(spec([ONNX, {**COREML, "accuracy": 0.75}], {"iphones": "apple-a17-pro"}))
    assert c.estimates.accuracy == alone.workloads["look-iphones"].chosen.estimates.accuracy


def test_a_variant_declares_its_own_formats():
    doc = spec([ONNX], {"iphones": "apple-a17-pro", "orins": "jetson-orin-nx-16gb"})
    doc["models"]["det"]["variants"] = {
        "det-small": {
            "params": "1M",
            "gflops": 0.2,
            "accuracy": {"value": 0.7},
            "source": [
                {"uri": "s3://m/small.onnx", "format": "onnx"},
                {"uri": "s3://m/small.mlpackage", "format": "coreml"},
            ],
        }
    }
    for w in doc["workloads"].values():
        w["model"] = "det-small"
    p, _ = plan_of(doc)
    assert p.workloads["look-iphones"].chosen.placements[0].source.uri == "s3://m/small.mlpackage"
    assert p.workloads["look-orins"].chosen.placements[0].source.uri == "s3://m/small.onnx"
    assert formats.sources_of(Model.model_validate(doc["models"]["det"]), "det-small")[1].format == "coreml"


# -- the emitters take the chosen source ----------------------------------------------------------------
def test_each_bundle_fetches_and_verifies_only_its_own_format(tmp_path):
    sources = [ONNX, COREML, TFLITE]
    out = compiled(tmp_path, spec(sources))
    plan = json.loads(run("plan", str(tmp_path / "spec.yaml"), "--format", "json").stdout)["workloads"]
    configs = {
        "iphones": json.loads((out / "iphones" / "coreml.json").read_text())["models"],
        "androids": json.loads((out / "androids" / "qnn.json").read_text())["models"],
        "corals": json.loads((out / "corals" / "edgetpu.json").read_text())["models"],
    }
    for target, models in configs.items():
        (model,) = models
        chosen = plan[f"look-{target}"]["placements"][0]["source"]
        assert (model["format"], model["uri"], model["sha256"]) == (chosen["format"], chosen["uri"], chosen["sha256"])
    # the Jetson's package builds its engine from the ONNX export, and fetches it as a component artifact
    package = json.loads((out / "orins" / "package.json").read_text())
    assert [(m["format"], m["uri"], m["sha256"]) for m in package["models"]] == [("onnx", ONNX["uri"], ONNX["sha256"])]
    # every bundle names its own export only, and verifies its digest where one is declared
    for target, own in (("orins", ONNX), ("iphones", COREML), ("androids", ONNX), ("corals", TFLITE)):
        text = texts(out / target)
        assert own["uri"] in text
        for other in sources:
            if other["uri"] != own["uri"]:
                assert other["uri"] not in text, (target, other["uri"])
        if own.get("sha256"):
            assert own["sha256"] in text
        assert not [o for o in sources if o.get("sha256") and o["uri"] != own["uri"] and o["sha256"] in text]
    # the lock records which source went where
    lock = json.loads((out / "edgespec.lock.json").read_text())
    went = {w: e["placements"][0]["source"]["uri"] for w, e in lock["plan"].items()}
    assert went == {
        "look-orins": ONNX["uri"],
        "look-iphones": COREML["uri"],
        "look-androids": ONNX["uri"],
        "look-corals": TFLITE["uri"],
    }


def test_diff_shows_a_source_change_per_fleet(tmp_path):
    old = spec([ONNX, COREML, TFLITE])
    new = copy.deepcopy(old)
    new["models"]["det"]["source"][1] = {**COREML, "uri": "s3://m/det/5/model.mlpackage"}
    for name, doc in (("old.yaml", old), ("new.yaml", new)):
        (tmp_path / name).write_text(yaml.safe_dump(doc, sort_keys=False))
    result = run("diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"))
    assert result.returncode == 1, result.stderr
    assert (
        f"- look-iphones: source on iphones: coreml {COREML['uri']} -> coreml s3://m/det/5/model.mlpackage"
        in result.stdout
    )
    assert "look-androids" not in result.stdout.split("Plan:")[1].split("Artifacts:")[0]
    data = json.loads(run("diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"), "--format", "json").stdout)
    assert list(data["workloads"]) == ["look-iphones"]
    assert list(data["workloads"]["look-iphones"]["sources"]) == ["iphones"]
    assert "iphones" in data["fleets"] and "androids" not in data["fleets"]
    assert set(data["artifacts"]) == {"iphones"}  # only the iPhones' bundle changes


# -- one logical version, a package per device class ------------------------------------------------
def test_a_heterogeneous_fleet_rolls_out_one_package_per_device_class(tmp_path):
    doc = spec([ONNX, TFLITE], {"orins": "jetson-orin-nx-16gb", "corals": "coral-usb"})
    doc["rollout"] = {"stages": [{"percent": 10, "soak": "1h"}, {"percent": 100}], "rollback": {"error_rate": 0.05}}
    out = compiled(tmp_path, doc)
    packages = {t: json.loads((out / t / "package.json").read_text()) for t in ("orins", "corals")}
    # the same logical version, one package per class, each carrying the export its class runs
    assert {p["version"] for p in packages.values()} == {"1.4.0"}
    assert packages["orins"]["package"] != packages["corals"]["package"]
    assert [m["format"] for m in packages["orins"]["models"]] == ["onnx"]
    assert [m["format"] for m in packages["corals"]["models"]] == ["tflite"]
    # the rollout's watcher reads each package's devices within its own fleet (one class, one format)
    for target, package in packages.items():
        settings = json.loads((out / target / "greengrass" / "rollback.json").read_text())
        assert settings["package"] == package["package"] and settings["target"] == target
        queries = [c["query"] for c in settings["criteria"]]
        assert queries and all(f'target="{target}",package="{package["package"]}"' in q for q in queries)


# -- validation ------------------------------------------------------------------------------------------
def test_two_sources_of_one_format_are_an_error_at_the_second(tmp_path):
    text = (ROOT / "examples" / "shelf-scan.yaml").read_text()
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "mobile.onnx" in line)
    lines[at + 1] = lines[at + 1].replace("format: onnx", "format: coreml")
    (tmp_path / "dup.yaml").write_text("\n".join(lines) + "\n")
    result = run("validate", str(tmp_path / "dup.yaml"))
    said = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in said
    assert f"dup.yaml:{at + 2}:21: error[ES323]: source 1 is a second coreml file (source 0 is the first)" in said
    assert "keep one coreml source" in said


def test_one_mapping_stays_valid_and_an_empty_list_is_refused():
    plan_of(spec(ONNX))  # type: ignore[arg-type]  # valid: it asserts so
    assert [s.format for s in Model.model_validate(spec(ONNX)["models"]["det"]).sources] == ["onnx"]  # type: ignore[arg-type]
    loaded = load_bytes(yaml.safe_dump(spec([])).encode(), "s.yaml")
    _, diagnostics = validate(loaded)
    assert [(d.code, d.pointer) for d in diagnostics] == [("ES209", "/models/det/source")]


def test_the_schema_takes_both_forms():
    import jsonschema

    schema = json.loads((ROOT / "schemas" / "edgespec-v1.schema.json").read_text())
    jsonschema.validate(spec([ONNX, COREML]), schema)
    jsonschema.validate(spec(ONNX), schema)  # type: ignore[arg-type]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(spec([{"uri": "x"}]), schema)


def test_the_example_app_ships_core_ml_to_iphones_and_onnx_to_androids(tmp_path):
    out = tmp_path / "out"
    result = run("compile", str(ROOT / "examples" / "shelf-scan.yaml"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    (iphone,) = json.loads((out / "iphones" / "coreml.json").read_text())["models"]
    (android,) = json.loads((out / "androids" / "qnn.json").read_text())["models"]
    assert (iphone["format"], android["format"]) == ("coreml", "onnx")
    assert iphone["model"] == android["model"] == "product-classifier-mobile"


def test_a_variant_without_a_source_of_its_own_is_never_placed_on_its_parents_file():
    doc = spec([ONNX], {"orins": "jetson-orin-nx-16gb"})
    doc["models"]["det"]["variants"] = {"det-small": {"params": "1M", "gflops": 0.2, "accuracy": {"value": 0.7}}}
    doc["workloads"]["look-orins"] |= {"model": "det-small"}
    p, _ = plan_of(doc)
    wp = p.workloads["look-orins"]
    assert wp.chosen is None
    assert all(
        c.reasons[0] == "capability: det-small declares no source: there is no file of it to deploy (give it its "
        "own `source`)"
        for c in wp.rejected
    )
