"""Measured records replace estimates (docs/measurements.md): the format, matching, override,
scaling, pools, and the diagnostics for records that are broken or apply to nothing."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from edgespec.measure import records
from edgespec.planner import estimate
from edgespec.planner.device import at_power_mode, resolve
from edgespec.spec.models import Target
from tests.conftest import ROOT
from tests.planner_helpers import model, spec

FLAGSHIP = ROOT / "examples" / "store-vision.yaml"
ORIN = "jetson-orin-nx-16gb"
CAM = "jetson-orin-nano-8gb"  # no DLA: a GPU recipe is the only one at its precision


def line(**fields) -> str:
    return json.dumps(fields) + "\n"


def camera_spec(**workload) -> dict:
    """One classifier on 10 Orin Nano cameras at 25W, fp16 pinned unless asked otherwise."""
    return spec(
        {"classifier": model(params="25M", gflops=8.0)},
        {"cam": {"hardware": CAM, "power_mode": "25W", "count": 10}},
        {
            "classify": {
                "model": "classifier",
                "data_source": ["cam"],
                "latency": {"p95_ms": 100},
                "optimize": {"precision": workload.pop("precision", "fp16"), "prune": "none"},
                **workload,
            }
        },
    )


def plan_json(run, tmp_path, doc: dict, *jsonl: str, expect: int = 0) -> tuple[dict, str]:
    spec_path = tmp_path / "deploy.yaml"
    spec_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    args = []
    for i, text in enumerate(jsonl):
        f = tmp_path / f"m{i}.jsonl"
        f.write_text(text)
        args += ["--measurements", str(f)]
    code, out, err = run("plan", str(spec_path), "--format", "json", "--diagnostics-format", "text", *args)
    assert code == expect, err
    return (json.loads(out) if out else {}), err


def estimated(doc: dict, workload: str = "classify") -> dict:
    return doc["workloads"][workload]["estimates"]


# -- the format --------------------------------------------------------------------------------------
def test_a_record_round_trips_through_the_documented_format():
    text = line(
        schema=records.SCHEMA,
        hardware=ORIN,
        model="classifier",
        precision="int8",
        p50_ms=4.2,
        p95_ms=5.0,
        p99_ms=6,
        batch=1,
        power_mode="25W",
        samples=500,
        tool="trtexec",
        date="2026-11-30",
        notes="JetPack 6.2",
    )
    found, problems = records.parse("m.jsonl", "\n" + text)
    assert problems == []
    (r,) = found
    assert (r.hardware, r.model, r.precision, r.p50_ms, r.p95_ms, r.p99_ms, r.line) == (
        ORIN,
        "classifier",
        "int8",
        4.2,
        5.0,
        6.0,
        2,
    )
    assert (r.batch, r.power_mode, r.samples, r.tool, r.date, r.notes) == (
        1,
        "25W",
        500,
        "trtexec",
        "2026-11-30",
        "JetPack 6.2",
    )
    again, _ = records.parse("m.jsonl", records.dumps(found))
    assert [x._replace(line=0, columns=()) for x in again] == [r._replace(line=0, columns=())]


@pytest.mark.parametrize(
    ("text", "col", "expected"),
    [
        ('{"hardware": "x", "model": "m", "precision": "int8", "p50_ms": 1,}', 66, "not JSON"),
        ("[1, 2]", 1, "expected a JSON object"),
        ('{"hardware": "x", "model": "m", "precision": "int8"}', 1, "missing required field 'p50_ms'"),
        ('{"hardware": "x", "model": "m", "precision": "int9", "p50_ms": 1}', "precision", 'precision is "int9"'),
        ('{"hardware": "x", "model": "m", "precision": "int8", "p50_ms": -1}', "p50_ms", "p50_ms is -1"),
        ('{"hardware": "x", "model": "m", "precision": "int8", "p50_ms": 1, "p95": 2}', "p95", 'unknown field "p95"'),
        (
            '{"hardware": "x", "model": "m", "precision": "int8", "p50_ms": 3, "p95_ms": 2}',
            "p95_ms",
            "p95_ms 2 is below p50_ms 3",
        ),
        (
            '{"schema": "edgespec-measurement/v2", "hardware": "x", "model": "m", "precision": "int8", "p50_ms": 1}',
            "schema",
            "unsupported record schema",
        ),
        ('{"hardware": "x", "model": "sha256:abc", "precision": "int8", "p50_ms": 1}', "model", "model is"),
        ('{"hardware": "x", "model": "m", "precision": "int8", "p50_ms": 1, "batch": 1.5}', "batch", "batch is 1.5"),
        ('{"hardware": "x", "model": "m", "precision": "int8", "p50_ms": 1, "date": "yesterday"}', "date", "date is"),
    ],
)
def test_a_line_that_is_not_a_record_is_an_error_at_its_column(text, col, expected):
    found, problems = records.parse("m.jsonl", "\n\n" + text + "\n")
    col = text.index(f'"{col}"') + 1 if isinstance(col, str) else col  # a field's key, or a column
    assert found == []
    assert problems, text
    d = problems[0]
    assert (d.code, d.severity.value, d.file, d.line, d.column) == ("ES702", "error", "m.jsonl", 3, col)
    assert expected in d.message and d.hint


def test_the_unknown_field_hint_names_the_field_meant():
    _, (d,) = records.parse("m.jsonl", line(hardware="x", model="m", precision="int8", p50_ms=1, p95=2))
    assert d.hint == "did you mean 'p95_ms'?"


# -- override, scaling and marks -----------------------------------------------------------------------
def test_no_measurements_means_every_figure_says_estimated(run, tmp_path):
    doc, _ = plan_json(run, tmp_path, camera_spec())
    assert estimated(doc)["latency_ms"]["basis"] == "estimated"


def test_a_matching_record_replaces_the_estimate_and_is_marked_measured(run, tmp_path):
    before, _ = plan_json(run, tmp_path, camera_spec())
    record = line(hardware=CAM, model="classifier", precision="fp16", p50_ms=7.25, p95_ms=8.5, p99_ms=9.75)
    doc, err = plan_json(run, tmp_path, camera_spec(), record)
    assert err == ""
    lat = estimated(doc)["latency_ms"]
    assert (lat["basis"], lat["p50"], lat["p95"], lat["p99"]) == ("measured", 7.25, 8.5, 9.75)
    assert estimated(before)["latency_ms"]["p50"] != 7.25  # the estimate was something else
    assert any("cam: measured 7.25 ms p50" in n and "m0.jsonl:1" in n for n in estimated(doc)["notes"])
    # the energy follows the measured time: power x busy time
    power = resolve("cam", Target(hardware=CAM, power_mode="25W")).power_w
    assert estimated(doc)["energy_mj"] == pytest.approx(power * 7.25, abs=1e-3)


def test_the_text_table_marks_measured_and_estimated(run, tmp_path):
    spec_path = tmp_path / "deploy.yaml"
    spec_path.write_text(yaml.safe_dump(camera_spec(), sort_keys=False))
    m = tmp_path / "m.jsonl"
    m.write_text(line(hardware=CAM, model="classifier", precision="fp16", p50_ms=7.25))
    _, plain, _ = run("plan", str(spec_path))
    _, marked, _ = run("plan", str(spec_path), "--measurements", str(m))
    assert "latency" in plain.splitlines()[0]
    assert " estimated " in plain.splitlines()[1] and " measured " in marked.splitlines()[1]


def test_without_a_p95_the_tail_comes_from_the_class_ratio(run, tmp_path):
    doc, _ = plan_json(
        run, tmp_path, camera_spec(), line(hardware=CAM, model="classifier", precision="fp16", p50_ms=10)
    )
    tail = estimate.class_constants(resolve("cam", Target(hardware=CAM)), "fp16")[0]["p95_over_p50"]
    assert estimated(doc)["latency_ms"]["p95"] == round(10 * tail, 3)
    assert any("p95 from the class's tail ratio" in n for n in estimated(doc)["notes"])


def test_another_precision_is_scaled_by_the_estimators_ratio(run, tmp_path):
    nano = "jetson-orin-nano-8gb"  # no DLA: the GPU's fp16 is the only fp16 recipe
    doc = camera_spec(precision="fp16")
    doc["targets"]["cam"] = {"hardware": nano, "power_mode": "15W", "count": 10}
    record = line(hardware=nano, model="classifier", precision="int8", p50_ms=3.0, p95_ms=3.6)
    doc, _ = plan_json(run, tmp_path, doc, record)
    cam = resolve("cam", Target(hardware=nano, power_mode="15W"))
    work = estimate.Work(8.0, 25e6, "fp16", op_class="dense")
    ratio = estimate.compute(cam, work).p50_ms / estimate.compute(cam, work._replace(precision="int8")).p50_ms
    lat = estimated(doc)["latency_ms"]
    assert lat["basis"] == "scaled from measured"
    assert lat["p50"] == round(3.0 * ratio, 3) and lat["p95"] == round(3.6 * ratio, 3)
    assert ratio > 1.2  # fp16 is slower than int8: the scaling did something
    assert any("int8 -> fp16" in n and "m0.jsonl:1" in n for n in estimated(doc)["notes"])


def test_another_power_mode_is_scaled_by_the_estimators_ratio(run, tmp_path):
    record = line(hardware=CAM, model="classifier", precision="fp16", p50_ms=12.0, power_mode="7W")
    doc, _ = plan_json(run, tmp_path, camera_spec(objective="latency"), record)
    cam = resolve("cam", Target(hardware=CAM, power_mode="25W"))
    work = estimate.Work(8.0, 25e6, "fp16", op_class="dense")
    ratio = estimate.compute(cam, work).p50_ms / estimate.compute(at_power_mode(cam, "7W"), work).p50_ms
    assert 0 < ratio < 0.9  # 25W is faster than 7W
    lat = estimated(doc)["latency_ms"]
    assert (lat["basis"], lat["p50"]) == ("scaled from measured", round(12.0 * ratio, 3))
    assert any("7W -> 25W" in n for n in estimated(doc)["notes"])


def test_an_exact_record_wins_over_one_to_scale_and_the_later_record_over_the_earlier(run, tmp_path):
    scaled = line(hardware=CAM, model="classifier", precision="int8", p50_ms=1.0)
    old = line(hardware=CAM, model="classifier", precision="fp16", p50_ms=9.0)
    new = line(hardware=CAM, model="classifier", precision="fp16", p50_ms=8.0)
    doc, _ = plan_json(run, tmp_path, camera_spec(), old + scaled, new)
    lat = estimated(doc)["latency_ms"]
    assert (lat["basis"], lat["p50"]) == ("measured", 8.0)
    assert any("m1.jsonl:1" in n for n in estimated(doc)["notes"])


def test_the_spec_lists_its_own_measurement_files_relative_to_itself(run, tmp_path):
    (tmp_path / "perf").mkdir()
    (tmp_path / "perf" / "cam.jsonl").write_text(line(hardware=CAM, model="classifier", precision="fp16", p50_ms=7.0))
    doc = camera_spec()
    doc["measurements"] = ["perf/cam.jsonl"]
    sub = tmp_path / "deploy"
    sub.mkdir()
    (sub / "x").write_text("")  # the spec's directory, not the working directory, is the base
    spec_path = tmp_path / "deploy.yaml"
    spec_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, out, err = run("plan", str(spec_path), "--format", "json")
    assert code == 0, err
    assert estimated(json.loads(out))["latency_ms"]["p50"] == 7.0


def with_cloud(source: dict, p95_ms: float, **workload) -> dict:
    """The classifier on `source` (a target named `src`), a g6.xlarge pool beside it."""
    return spec(
        {"classifier": model(params="25M", gflops=8.0)},
        {
            "src": {**source, "network": {"uplink_mbps": 100}},
            "cloud": {
                "hardware": "aws-ec2",
                "region": "us-east-1",
                "instance_type": "g6.xlarge",
                "network": {"rtt_ms": 10},
            },
        },
        {
            "classify": {
                "model": "classifier",
                "data_source": ["src"],
                "latency": {"p95_ms": p95_ms},
                "optimize": {"precision": "fp16", "prune": "none"},
                **workload,
            }
        },
    )


def test_a_record_decides_the_placement(run, tmp_path):
    """A measured camera far slower than estimated pushes the workload off the device."""
    doc = with_cloud(
        {"hardware": ORIN, "power_mode": "25W", "count": 10}, 60, throughput={"rps": 1}, objective="latency"
    )
    before, _ = plan_json(run, tmp_path, doc)
    assert before["workloads"]["classify"]["pattern"] == "on-device"
    slow = line(hardware=ORIN, model="classifier", precision="fp16", p50_ms=80.0, p95_ms=90.0)
    slow += line(hardware=ORIN, model="classifier", precision="fp16", p50_ms=85.0, accelerator="dla")  # its DLA too
    after, _ = plan_json(run, tmp_path, doc, slow)
    assert after["workloads"]["classify"]["pattern"] == "cloud"
    rejected = {r["pattern"]: r["reason"] for r in after["workloads"]["classify"]["rejected"]}
    assert "90.0 ms" in rejected["on-device"]


def test_a_pool_times_its_batches_from_the_records(run, tmp_path):
    doc = with_cloud({"hardware": "client", "count": 100}, 200, throughput={"rps": 5})
    before, _ = plan_json(run, tmp_path, doc)
    pool_before = estimated(before)["pool"]
    assert pool_before["basis"] == "estimated" and pool_before["batch"] > 1

    def pooled(*lines: str) -> dict:
        found, _ = plan_json(run, tmp_path, doc, "".join(lines))
        return estimated(found)

    one = dict(hardware="aws-ec2", model="classifier", precision="fp16", instance_type="g6.xlarge")
    fast, slow = pooled(line(**one, p50_ms=2.0)), pooled(line(**one, p50_ms=4.0))
    # a batch-1 record scales the estimator's batched times: twice the time, half the capacity
    assert fast["pool"]["basis"] == slow["pool"]["basis"] == "scaled from measured"
    assert fast["latency_ms"]["basis"] == "scaled from measured"
    assert fast["pool"]["batch"] == slow["pool"]["batch"]
    assert fast["pool"]["capacity_rps_per_instance"] == pytest.approx(
        2 * slow["pool"]["capacity_rps_per_instance"], rel=1e-3
    )
    # a record at the batch the pool runs is that batch's time
    b = pool_before["batch"]
    exact = pooled(line(**one, p50_ms=2.0), line(**one, p50_ms=10.0, batch=b))
    assert exact["pool"]["batch"] == b and exact["pool"]["basis"] == "measured"
    assert exact["pool"]["capacity_rps_per_instance"] == round(b / 10.0 * 1e3, 3)


# -- records that apply to nothing ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "code", "col_key", "expected"),
    [
        ({"hardware": "jetson-orin-nano-4gb"}, "ES703", "hardware", "which no target of the spec is"),
        ({"hardware": "jetson-orin-nx-16"}, "ES703", "hardware", "not in edgespec's catalog"),
        ({"model": "clasifier"}, "ES703", "model", "which is no model or variant"),
        ({"power_mode": "99W"}, "ES703", "power_mode", "does not have"),
        ({"instance_type": "g5.xlarge"}, "ES703", "instance_type", "no jetson-orin-nano-8gb target"),
        ({"accelerator": "dla", "hardware": "coral-usb"}, "ES703", "hardware", "which no target"),
        ({"sha256": "0" * 64}, "ES704", "sha256", "but the spec's classifier is sha256"),
        ({"model": "sha256:" + "1" * 64}, "ES704", "model", "which no model or variant of the spec declares"),
    ],
)
def test_a_record_that_applies_to_nothing_is_a_warning_at_its_line(run, tmp_path, fields, code, col_key, expected):
    doc = camera_spec()
    doc["models"]["classifier"]["source"]["sha256"] = "a" * 64
    base = {"hardware": CAM, "model": "classifier", "precision": "fp16", "p50_ms": 1.0}
    text = json.dumps({**base, **fields})
    plain, _ = plan_json(run, tmp_path, doc)
    out, err = plan_json(run, tmp_path, doc, line(**base, p95_ms=1.1) + text + "\n")
    col = text.index(f'"{col_key}"') + 1
    assert f"m0.jsonl:2:{col}: warning[{code}]" in err and expected in err and "hint:" in err
    # the warning's record changes nothing; the good line 1 still applies
    assert estimated(out)["latency_ms"]["p50"] == 1.0
    assert estimated(plain)["latency_ms"]["basis"] == "estimated"


def test_a_record_of_the_declared_file_by_its_hash_applies(run, tmp_path):
    doc = camera_spec()
    doc["models"]["classifier"]["source"]["sha256"] = "a" * 64
    out, err = plan_json(
        run, tmp_path, doc, line(hardware=CAM, model="sha256:" + "a" * 64, precision="fp16", p50_ms=6.5)
    )
    assert err == "" and estimated(out)["latency_ms"]["p50"] == 6.5


def test_a_broken_measurement_file_stops_the_plan_with_exit_1_and_no_traceback(run, tmp_path):
    _, err = plan_json(run, tmp_path, camera_spec(), "{not json\n", expect=1)
    assert "m0.jsonl:1:2: error[ES702]" in err and "Traceback" not in err


def test_a_missing_measurement_file_is_an_error_where_it_is_named(run, tmp_path):
    doc = camera_spec()
    doc["measurements"] = ["perf/none.jsonl"]
    spec_path = tmp_path / "deploy.yaml"
    spec_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, out, err = run("plan", str(spec_path), "--diagnostics-format", "text")
    assert code == 1 and out == ""
    lines = spec_path.read_text().splitlines()
    row = next(i for i, text in enumerate(lines, 1) if "perf/none.jsonl" in text)
    assert f"deploy.yaml:{row}:" in err and "ES701" in err and "relative to the spec's directory" in err
    code, _, err = run("plan", str(FLAGSHIP), "--measurements", str(tmp_path / "absent.jsonl"))
    assert code == 1 and "ES701" in err and "absent.jsonl" in err


def test_compile_writes_nothing_when_a_measurement_file_is_broken(run, tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_text('{"hardware": 1}\n')
    out = tmp_path / "out"
    code, _, err = run("compile", str(FLAGSHIP), "-o", str(out), "--measurements", str(m))
    assert code == 1 and "ES702" in err and not out.exists()


def test_compile_takes_the_measurements_the_plan_took(run, tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_text(line(hardware=ORIN, model="shelf-detector", precision="int8", p50_ms=5.1, p95_ms=6.0))
    spec_copy = tmp_path / "store-vision.yaml"
    shutil.copy(FLAGSHIP, spec_copy)
    code, _, err = run("compile", str(spec_copy), "-o", str(tmp_path / "out"), "--measurements", str(m))
    assert code == 0, err
    lock = json.loads((tmp_path / "out" / "edgespec.lock.json").read_text())
    assert "m.jsonl" in json.dumps(lock["measurements"])


def test_the_language_server_plans_with_the_specs_measurement_files(tmp_path):
    from edgespec.lsp import analyse

    (tmp_path / "perf.jsonl").write_text(line(hardware=CAM, model="classifier", precision="fp16", p50_ms=7.5))
    doc = camera_spec()
    doc["measurements"] = ["perf.jsonl"]
    text = yaml.safe_dump(doc, sort_keys=False)
    diagnostics, _, planned = analyse(text, str(tmp_path / "deploy.yaml"))
    assert diagnostics == [] and planned is not None
    estimates = planned.workloads["classify"].chosen.estimates
    assert (estimates.basis, estimates.p50_ms) == ("measured", 7.5)
    doc["measurements"] = ["absent.jsonl"]  # a missing file is shown where the spec names it
    diagnostics, _, planned = analyse(yaml.safe_dump(doc, sort_keys=False), str(tmp_path / "deploy.yaml"))
    assert [d.code for d in diagnostics] == ["ES701"] and planned is None
