"""`edgespec measurements import`: each tool's output becomes records (docs/measurements.md).

MLPerf LoadGen runs here (mlcommons-loadgen) over a tiny ONNX model the test builds, and Qualcomm
AI Hub's profile is made by the real qai-hub client's own conversion of its profile protobuf. trtexec,
benchmark_model and onnxruntime_perf_test do not install from PyPI, npm or Debian: their outputs are
written in the format their sources print, cited at each test."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edgespec.device import bench
from edgespec.measure import records
from edgespec.measure.importers import benchmark_model, common, ort_perf
from tests.conftest import ROOT
from tests.test_qualcomm import qnn_python

ID = ("--hardware", "jetson-orin-nx-16gb", "--model", "classifier", "--precision", "int8")


def imported(run, tool: str, path: Path, *args: str) -> list[records.Record]:
    code, out, err = run("measurements", "import", tool, str(path), *args)
    assert code == 0, err
    found, problems = records.parse("out.jsonl", out)
    assert problems == [] and found
    return found


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(q / 100 * len(ordered)) - 1]


# -- MLPerf LoadGen, run for real -------------------------------------------------------------------------
LOADGEN_SUT = textwrap.dedent(
    """
    import sys
    import mlperf_loadgen as lg
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    # a tiny classifier: x[1, 64] @ W[64, 10] + b, softmax
    rng = np.random.default_rng(0)
    w = helper.make_tensor("w", TensorProto.FLOAT, [64, 10], rng.standard_normal(640).astype(np.float32).tolist())
    b = helper.make_tensor("b", TensorProto.FLOAT, [10], [0.0] * 10)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"]), helper.make_node("Softmax", ["y"], ["p"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, [1, 10])],
        [w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    inputs = [rng.standard_normal((1, 64)).astype(np.float32) for _ in range(16)]

    def issue(samples):
        done = []
        for s in samples:
            session.run(None, {"x": inputs[s.index]})
            done.append(lg.QuerySampleResponse(s.id, 0, 0))
        lg.QuerySamplesComplete(done)

    settings = lg.TestSettings()
    settings.scenario = getattr(lg.TestScenario, sys.argv[1])
    settings.mode = lg.TestMode.PerformanceOnly
    settings.single_stream_expected_latency_ns = 100000
    settings.offline_expected_qps = 1000
    settings.min_query_count = 300
    settings.min_duration_ms = 100
    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(16, 16, lambda s: None, lambda s: None)
    lg.StartTest(sut, qsl, settings)
    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)
    """
)


def loadgen_run(tmp_path: Path, scenario: str) -> Path:
    out = tmp_path / scenario
    out.mkdir()
    (out / "sut.py").write_text(LOADGEN_SUT)
    done = subprocess.run([sys.executable, "sut.py", scenario], cwd=out, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out


def test_a_real_loadgen_single_stream_run_imports_its_percentiles(run, tmp_path):
    out = loadgen_run(tmp_path, "SingleStream")
    (r,) = imported(run, "mlperf-loadgen", out / "mlperf_log_summary.txt", *ID)
    # the detail log states the same figures as MLLOG events: read them from there
    detail = {}
    for line in (out / "mlperf_log_detail.txt").read_text().splitlines():
        if line.startswith(":::MLLOG "):
            event = json.loads(line[len(":::MLLOG ") :])
            detail[event["key"]] = event["value"]
    assert r.p50_ms == pytest.approx(detail["result_50.00_percentile_latency_ns"] / 1e6, abs=1e-6)
    assert r.p95_ms == pytest.approx(detail["result_95.00_percentile_latency_ns"] / 1e6, abs=1e-6)
    assert r.p99_ms == pytest.approx(detail["result_99.00_percentile_latency_ns"] / 1e6, abs=1e-6)
    assert r.samples is not None and r.samples >= 300
    assert (r.hardware, r.model, r.precision, r.tool) == ("jetson-orin-nx-16gb", "classifier", "int8", "mlperf-loadgen")


def test_a_loadgen_offline_run_is_refused_with_the_scenario_to_use(run, tmp_path):
    out = loadgen_run(tmp_path, "Offline")
    code, stdout, err = run("measurements", "import", "mlperf-loadgen", str(out / "mlperf_log_summary.txt"), *ID)
    assert code == 1 and stdout == ""
    assert "ES705" in err and "Offline run measures a load" in err and "SingleStream" in err


# -- Qualcomm AI Hub: the real client's profile dictionary ------------------------------------------------
AIHUB_PROFILE = textwrap.dedent(
    """
    import json, sys
    import qai_hub.public_api_pb2 as api_pb
    from qai_hub.client import _profile_pb_to_python_dict

    times = [int(t) for t in sys.argv[1].split(",")] if sys.argv[1] else []
    pb = api_pb.ProfileDetail(major_version=1, minor_version=2 if times else 0, execution_time=4321)
    pb.all_execution_times.extend(times)
    print(json.dumps(_profile_pb_to_python_dict(pb), default=list))
    """
)


def aihub_profile(tmp_path: Path, times: list[int]) -> Path:
    made = subprocess.run(
        [str(qnn_python()), "-c", AIHUB_PROFILE, ",".join(map(str, times))], capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stderr
    path = tmp_path / f"profile-{len(times)}.json"
    path.write_text(made.stdout)
    return path


def test_an_ai_hub_profile_with_every_inference_time_gives_percentiles(run, tmp_path):
    times = [4000 + 7 * i for i in range(100)]  # microseconds
    (r,) = imported(run, "qai-hub", aihub_profile(tmp_path, times), *ID)
    ms = [t / 1000 for t in times]
    assert (r.p50_ms, r.p95_ms, r.p99_ms, r.samples) == (
        nearest_rank(ms, 50),
        nearest_rank(ms, 95),
        nearest_rank(ms, 99),
        100,
    )


def test_an_older_ai_hub_profile_gives_its_estimate_and_says_so(run, tmp_path):
    (r,) = imported(run, "qai-hub", aihub_profile(tmp_path, []), *ID)
    assert r.p50_ms == 4.321 and r.p95_ms is None and "estimated_inference_time" in (r.notes or "")


# -- trtexec: TensorRT samples/common/sampleReporting.cpp, exportJSONTrace and exportJSONProfile -------------
def trace_entry(start_ms: float, h2d: float, compute: float, d2h: float) -> dict:
    s = start_ms
    return {
        "startEnqMs": s,
        "endEnqMs": s + 0.05,
        "startH2dMs": s,
        "endH2dMs": s + h2d,
        "startComputeMs": s + h2d,
        "endComputeMs": s + h2d + compute,
        "startD2hMs": s + h2d + compute,
        "endD2hMs": s + h2d + compute + d2h,
        "h2dMs": h2d,
        "computeMs": compute,
        "d2hMs": d2h,
        "latencyMs": h2d + compute + d2h,
        "endToEndMs": h2d + compute + d2h,
    }


def test_trtexec_export_times_leaves_out_the_warm_up_and_takes_latency(run, tmp_path):
    warm = [trace_entry(10.0 * i, 0.1, 50.0, 0.1) for i in range(20)]  # slow first runs, before 200 ms
    timed = [trace_entry(250.0 + 3.0 * i, 0.1, 1.0 + (i % 10) * 0.1, 0.05) for i in range(200)]
    path = tmp_path / "times.json"
    path.write_text(json.dumps(warm + timed, indent=1))
    (r,) = imported(run, "trtexec", path, *ID)
    latencies = [t["latencyMs"] for t in timed]
    assert (r.p50_ms, r.p95_ms, r.p99_ms, r.samples) == pytest.approx(
        (nearest_rank(latencies, 50), nearest_rank(latencies, 95), nearest_rank(latencies, 99), 200)
    )
    # a longer --warmUp leaves out more
    (later,) = imported(run, "trtexec", path, *ID, "--warmup-ms", "500")
    assert later.samples == len([t for t in timed if t["startComputeMs"] >= 500])


def test_trtexec_export_profile_sums_the_layer_means_and_says_what_that_is(run, tmp_path):
    profile = [{"count": 120}] + [
        {"name": f"layer{i}", "timeMs": 12.0 * (i + 1), "averageMs": 0.1 * (i + 1), "percentage": 10.0}
        for i in range(4)
    ]
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile))
    (r,) = imported(run, "trtexec", path, *ID)
    assert r.p50_ms == pytest.approx(1.0) and r.samples == 120 and r.p95_ms is None
    assert "mean GPU times" in (r.notes or "")


# -- benchmark_model: tensorflow/lite/tools/benchmark/benchmark_model.cc (OnBenchmarkEnd) and the
# statistics line of tensorflow/core/util/stats_calculator ------------------------------------------------
BENCHMARK_LOG = """\
INFO: Initialized session in 119.515ms.
INFO: Running benchmark for at least 5 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
INFO: count=9 first=87112 curr=51629 min=51629 max=87112 avg=58147.4 std=11478 p5=51629 median=51962 p95=87112

INFO: Running benchmark for at least 1000 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
INFO: count=1000 first=52162 curr=49785 min=49088 max=686105 avg=63743.2 std=60716 p5=49620 median=51891 p95=68628

INFO: Inference timings in us: Init: 119515, First inference: 87112, Warmup (avg): 58147.4, Inference (avg): 63743.2
"""


def test_benchmark_model_takes_the_timed_runs_median_and_p95(run, tmp_path):
    path = tmp_path / "bench.log"
    path.write_text(BENCHMARK_LOG)
    (r,) = imported(run, "benchmark_model", path, *ID)
    assert (r.p50_ms, r.p95_ms, r.samples) == (51.891, 68.628, 1000)  # not the warm-up's line


def test_an_older_benchmark_model_without_percentiles_gives_its_mean_and_says_so():
    old = "count=50 first=79449 curr=81350 min=77385 max=88213 avg=79732 std=1929\n\n"
    old += (
        "Inference timings in us: Init: 38467, First inference: 83235, Warmup (avg): 83235, Inference (avg): 79760.9\n"
    )
    t = benchmark_model.parse(old)
    assert (t.p50_ms, t.samples) == (79.732, 50) and "mean" in (t.notes or "")


# -- onnxruntime_perf_test: onnxruntime/test/perftest/performance_runner.cc ------------------------------
ORT_STDOUT = """\
Session creation time cost: 0.0123 s
First inference time cost: 3 ms
Total inference time cost: 2.31 s
Total inference requests: 1000
Average inference time cost: 2.31 ms
Total inference run time: 2.35 s
Number of inferences per second: 425.5
Avg CPU usage: 98 %
Peak working set size: 45678592 bytes
Min Latency: 0.00201 s
Max Latency: 0.00912 s
P50 Latency: 0.00225 s
P90 Latency: 0.00251 s
P95 Latency: 0.00263 s
P99 Latency: 0.00312 s
P999 Latency: 0.00811 s
"""


def test_onnxruntime_perf_test_output_gives_its_percentiles(run, tmp_path):
    path = tmp_path / "ort.txt"
    path.write_text(ORT_STDOUT)
    (r,) = imported(run, "onnxruntime_perf_test", path, *ID)
    assert (r.p50_ms, r.p95_ms, r.p99_ms, r.samples) == (2.25, 2.63, 3.12, 1000)


def test_onnxruntime_perf_test_result_file_gives_percentiles_of_its_runs():
    runs = [0.002 + 0.00001 * i for i in range(200)]
    text = "".join(f"model,{s},45678592,98,{i}\n" for i, s in enumerate(runs))
    t = ort_perf.parse(text)
    ms = [s * 1000 for s in runs]
    assert (t.p50_ms, t.p95_ms, t.p99_ms, t.samples) == pytest.approx(
        (nearest_rank(ms, 50), nearest_rank(ms, 95), nearest_rank(ms, 99), 200)
    )


# -- the harness's records, and the command line's identity ----------------------------------------------
def test_harness_records_pass_through_with_the_command_lines_identity(run, tmp_path):
    path = tmp_path / "bench.jsonl"
    path.write_text(
        json.dumps(
            {"hardware": "coral-usb", "model": "clf", "precision": "int8", "p50_ms": 3.5, "tool": "edgespec-bench"}
        )
        + "\n"
    )
    (same,) = imported(run, "edgespec-bench", path)
    assert (same.hardware, same.model, same.p50_ms) == ("coral-usb", "clf", 3.5)
    (renamed,) = imported(run, "edgespec-bench", path, "--model", "classifier")
    assert renamed.model == "classifier" and renamed.hardware == "coral-usb"


def test_model_file_records_its_digest_and_o_appends(run, tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"weights")
    path = tmp_path / "ort.txt"
    path.write_text(ORT_STDOUT)
    out = tmp_path / "perf.jsonl"
    for _ in range(2):
        code, stdout, err = run(
            "measurements",
            "import",
            "onnxruntime_perf_test",
            str(path),
            *ID,
            "--model-file",
            str(model),
            "-o",
            str(out),
        )
        assert code == 0 and stdout == "" and "appended 1 record" in err
    found, problems = records.parse("perf.jsonl", out.read_text())
    assert problems == [] and len(found) == 2
    assert found[0].sha256 == found[1].sha256 == hashlib.sha256(b"weights").hexdigest()


@pytest.mark.parametrize(
    ("tool", "content", "args", "expected"),
    [
        ("trtexec", "{}", ID, "expected a JSON array"),
        ("trtexec", '[{"x": 1}]', ID, "neither a --exportTimes trace"),
        ("benchmark_model", "count=1 avg=2\n", ID, "no 'Inference timings in us:' line"),
        ("onnxruntime_perf_test", "hello\n", ID, "no 'P50 Latency'"),
        ("qai-hub", "[]", ID, "no execution_summary"),
        ("onnxruntime_perf_test", ORT_STDOUT, ("--model", "m", "--precision", "int8"), "needs --hardware"),
        (
            "onnxruntime_perf_test",
            ORT_STDOUT,
            ("--hardware", "jetson-orin-nx", "--model", "m", "--precision", "int8"),
            "not in edgespec's catalog",
        ),
        ("onnxruntime_perf_test", ORT_STDOUT, (*ID, "--date", "last week"), "date is"),
    ],
)
def test_what_is_not_the_tools_output_is_a_diagnostic_and_writes_nothing(run, tmp_path, tool, content, args, expected):
    path = tmp_path / "in.txt"
    path.write_text(content)
    out = tmp_path / "perf.jsonl"
    code, stdout, err = run("measurements", "import", tool, str(path), *args, "-o", str(out))
    assert code == 1 and stdout == "" and not out.exists()
    assert "error[ES705]" in err and expected in err and "hint:" in err and "Traceback" not in err


def test_imported_records_drive_the_plan(run, tmp_path):
    """The loop closed: a tool's output, imported, is what the plan shows as measured."""
    path = tmp_path / "ort.txt"
    path.write_text(ORT_STDOUT)
    perf = tmp_path / "perf.jsonl"
    code, _, err = run(
        "measurements", "import", "onnxruntime_perf_test", str(path), "--hardware", "jetson-orin-nx-16gb",
        "--model", "shelf-detector", "--precision", "int8", "--power-mode", "25W", "-o", str(perf),
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run(
        "plan", str(ROOT / "examples" / "store-vision.yaml"), "--format", "json", "--measurements", str(perf)
    )
    assert code == 0, err
    latency = json.loads(out)["workloads"]["shelf-monitoring"]["estimates"]["latency_ms"]
    assert (latency["basis"], latency["p50"], latency["p95"], latency["p99"]) == ("measured", 2.25, 2.63, 3.12)


def test_the_percentile_rule_is_nearest_rank():
    assert bench.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert bench.percentile([1.0, 2.0, 3.0, 4.0], 95) == 4.0
    assert bench.percentile([5.0], 99) == 5.0
    few = common.from_samples([3.0, 1.0, 2.0])
    assert (few.p50_ms, few.p95_ms, few.p99_ms, few.samples) == (2.0, None, None, 3)  # no tail from 3 runs
