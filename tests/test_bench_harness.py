"""Each device bundle's benchmark harness (bench.py, edgespec/device/bench.py) runs here on the tiny
test models: the Coral path through LiteRT's CPU interpreter and the ONNX Runtime path on the CPU
(`--cpu`: only the accelerator is stood in for), and the Jetson path through a stand-in for trtexec
that writes the trace format TensorRT documents. Its records are what the planner reads."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from onnx import TensorProto, helper, save

from edgespec.device import bench
from edgespec.measure import records
from tests.planner_helpers import model, spec
from tests.test_measurement_import import trace_entry


def compiled(tmp: Path, doc: dict) -> Path:
    (tmp / "deploy.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    done = subprocess.run(
        [sys.executable, "-m", "edgespec", "compile", str(tmp / "deploy.yaml"), "-o", str(tmp / "out")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return tmp / "out"


def harness(bundle: Path, *args: str, env: dict | None = None) -> list[records.Record]:
    done = subprocess.run(
        [sys.executable, str(bundle / "bench.py"), "--runs", "120", "--warmup", "5", "--date", "2026-11-30", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    found, problems = records.parse("bench.jsonl", done.stdout)
    assert problems == []
    return found


def tiny_onnx(path: Path, shape=(1, 3, 8, 8)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], np.full(108, 0.1, np.float32).tolist())
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["y"], ["z"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [shape[0], 4, shape[2], shape[3]])],
        [w],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    save(m, str(path))


def coral_spec() -> dict:
    return spec(
        {"clf": model(params="3M", gflops=0.3, calibration=None, input={"shape": [1, 4], "dtype": "float32"})},
        {"tpu": {"hardware": "coral-usb", "count": 5}},
        {"classify": {"model": "clf", "data_source": ["tpu"], "latency": {"p95_ms": 500}}},
    )


def test_the_coral_harness_times_the_int8_model_on_litert_and_records_the_host(tmp_path):
    from tests.tflite_model import int8_reshape

    bundle = compiled(tmp_path, coral_spec()) / "tpu"
    config = json.loads((bundle / "bench.json").read_text())
    (entry,) = config["models"]
    assert (config["engine"], config["hardware"], entry["model"], entry["precision"]) == (
        "edgetpu",
        "coral-usb",
        "clf",
        "int8",
    )
    (bundle / entry["cpu_file"]).parent.mkdir(parents=True, exist_ok=True)
    (bundle / entry["cpu_file"]).write_bytes(int8_reshape())
    (r,) = harness(bundle, "--cpu", "--hardware", "raspberry-pi-5")
    assert (r.hardware, r.model, r.precision, r.samples, r.tool) == (
        "raspberry-pi-5",
        "clf",
        "int8",
        120,
        "edgespec-bench",
    )
    assert 0 < r.p50_ms <= r.p95_ms <= r.p99_ms
    assert "CPU stand-in for coral-usb" in (r.notes or "")


def test_the_cpu_stand_in_must_name_its_host(tmp_path):
    bundle = compiled(tmp_path, coral_spec()) / "tpu"
    done = subprocess.run([sys.executable, str(bundle / "bench.py"), "--cpu"], capture_output=True, text=True)
    assert done.returncode == 2 and "--hardware" in done.stderr


def test_the_accelerator_path_says_what_to_build_first(tmp_path):
    bundle = compiled(tmp_path, coral_spec()) / "tpu"
    done = subprocess.run([sys.executable, str(bundle / "bench.py")], capture_output=True, text=True)
    assert done.returncode == 1 and "_edgetpu.tflite is missing" in done.stderr and "Traceback" not in done.stderr


def test_the_snapdragon_harness_runs_the_onnx_runtime_path(tmp_path):
    doc = spec(
        {"clf": model(params="3M", gflops=0.3, calibration=None, input={"shape": [1, 3, 8, 8], "dtype": "float32"})},
        {"board": {"hardware": "qcs6490", "count": 5}},
        {"classify": {"model": "clf", "data_source": ["board"], "latency": {"p95_ms": 500}}},
    )
    bundle = compiled(tmp_path, doc) / "board"
    config = json.loads((bundle / "bench.json").read_text())
    (entry,) = config["models"]
    assert config["engine"] == "qnn" and entry["file"] == f"build/{entry['name']}_ctx.onnx"
    tiny_onnx(bundle / entry["cpu_file"])
    (r,) = harness(bundle, "--cpu", "--hardware", "qcs6490")
    assert (r.model, r.precision, r.samples) == ("clf", entry["precision"], 120) and r.p50_ms > 0


def jetson_spec(**target) -> dict:
    return spec(
        {"clf": model(params="3M", gflops=0.3, input={"shape": [1, 3, 8, 8], "dtype": "float32"})},
        {"orin": {"hardware": "jetson-orin-nx-16gb", "power_mode": "15W", "count": 5, **target}},
        {
            "classify": {
                "model": "clf",
                "data_source": ["orin"],
                "latency": {"p95_ms": 500},
                "optimize": {"precision": "fp16", "prune": "none"},
            }
        },
    )


def fake_trtexec(tmp: Path, trace: list[dict]) -> Path:
    """A stand-in for trtexec on a machine without a GPU: it logs its arguments and writes the
    --exportTimes trace it is given (TensorRT samples/common/sampleReporting.cpp's format)."""
    (tmp / "trace.json").write_text(json.dumps(trace))
    script = tmp / "trtexec"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, shutil, sys\n"
        f"open({str(tmp / 'args.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
        "out = next(a.split('=', 1)[1] for a in sys.argv if a.startswith('--exportTimes='))\n"
        f"shutil.copy({str(tmp / 'trace.json')!r}, out)\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_the_jetson_harness_runs_trtexec_on_the_planned_engine_and_feeds_the_plan(tmp_path, run):
    doc = jetson_spec()
    bundle = compiled(tmp_path, doc) / "orin"
    config = json.loads((bundle / "bench.json").read_text())
    (entry,) = config["models"]
    # the harness measures what the plan chose: engine, precision, power mode
    planned = json.loads(run("plan", str(tmp_path / "deploy.yaml"), "--format", "json")[1])
    (p,) = planned["workloads"]["classify"]["placements"]
    assert (entry["model"], entry["precision"], entry["accelerator"]) == (
        p["model"],
        p["recipe"]["precision"],
        p["recipe"]["accelerator"],
    )
    assert config["power_mode"] == "15W" and entry["file"] == f"model_repository/{entry['name']}/1/model.plan"
    (bundle / entry["file"]).parent.mkdir(parents=True)
    (bundle / entry["file"]).write_bytes(b"engine")
    warm = [trace_entry(5.0 * i, 0.1, 9.0, 0.1) for i in range(10)]
    timed = [trace_entry(300.0 + 2.0 * i, 0.05, 1.2 + (i % 7) * 0.1, 0.05) for i in range(150)]
    trtexec = fake_trtexec(tmp_path, warm + timed)
    (r,) = harness(bundle, env={"TRTEXEC": str(trtexec)})
    args = json.loads((tmp_path / "args.json").read_text())
    assert f"--loadEngine={bundle / entry['file']}" in args and "--warmUp=200" in args
    latencies = sorted(t["latencyMs"] for t in timed)
    assert (r.p50_ms, r.p95_ms, r.p99_ms, r.samples) == pytest.approx(
        (bench.percentile(latencies, 50), bench.percentile(latencies, 95), bench.percentile(latencies, 99), 150)
    )
    assert (r.hardware, r.power_mode, r.model) == ("jetson-orin-nx-16gb", "15W", "clf")
    # fed back, the record is what the plan shows
    perf = tmp_path / "perf.jsonl"
    perf.write_text(records.dumps([r]))
    code, out, err = run("plan", str(tmp_path / "deploy.yaml"), "--format", "json", "--measurements", str(perf))
    assert code == 0 and err == ""
    latency = json.loads(out)["workloads"]["classify"]["estimates"]["latency_ms"]
    assert (latency["basis"], latency["p50"]) == ("measured", round(r.p50_ms, 3))


def test_a_dla_engine_is_timed_on_the_dla(tmp_path):
    """An engine bench.json places on a DLA core is timed there (--useDLACore) and recorded as such."""
    bundle = compiled(tmp_path, jetson_spec()) / "orin"
    config = json.loads((bundle / "bench.json").read_text())
    config["models"][0]["accelerator"] = "dla"  # as the Jetson emitter writes a DLA recipe's engine
    (bundle / "bench.json").write_text(json.dumps(config))
    entry = config["models"][0]
    (bundle / entry["file"]).parent.mkdir(parents=True)
    (bundle / entry["file"]).write_bytes(b"engine")
    trtexec = fake_trtexec(tmp_path, [trace_entry(300.0 + i, 0.1, 2.0, 0.1) for i in range(30)])
    (r,) = harness(bundle, env={"TRTEXEC": str(trtexec)})
    assert "--useDLACore=0" in json.loads((tmp_path / "args.json").read_text()) and r.accelerator == "dla"


def test_the_jetson_cpu_stand_in_runs_the_onnx_model(tmp_path):
    bundle = compiled(tmp_path, jetson_spec()) / "orin"
    (entry,) = json.loads((bundle / "bench.json").read_text())["models"]
    tiny_onnx(bundle / entry["cpu_file"])
    (r,) = harness(bundle, "--cpu", "--hardware", "raspberry-pi-5")
    assert r.hardware == "raspberry-pi-5" and r.power_mode is None and r.p50_ms > 0
