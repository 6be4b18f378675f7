"""Measure this bundle's models on this device with the engine the bundle serves them with, and write
edgespec measurement records (docs/measurements.md) to feed back into the plan:

    python3 bench.py -o measurements.jsonl        # then, in the spec's repository:
    edgespec plan deploy.yaml --measurements measurements.jsonl

bench.json (written by edgespec from the plan) lists each engine: the spec's model or variant, its
precision, the file the bundle builds, and the declared sha256 of the model it was built from. The
engines:

- `edgetpu`: the compiled model on the Edge TPU through the TFLite delegate (tflite_runtime, as
  the server loads it), timing `invoke()`;
- `qnn`: the QNN context model on the Hexagon NPU through ONNX Runtime's QNN execution provider
  (the board's QAIRT SDK), timing `run()`;
- `tensorrt`: the TensorRT engine through trtexec (--loadEngine, --exportTimes), the percentiles
  of trtexec's own per-inference latency after its warm-up.

`--cpu` times the same data path on the CPU (the int8 TFLite model, or the ONNX model with ONNX
Runtime's CPU provider): a stand-in for when the accelerator is absent. Its records name the
hardware given by `--hardware` (the host the CPU belongs to), never the accelerator, and say so in
their notes, so a CPU figure can never stand in for the accelerator in a plan.

Standard library at import; the runtime (tflite_runtime or ai_edge_litert, onnxruntime, numpy) is
imported where it is used.
"""

import argparse
import datetime
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
SCHEMA = "edgespec-measurement/v1"
TRTEXEC_WARMUP_MS = 200.0  # trtexec's default --warmUp (TensorRT samples/common/sampleOptions)


def percentile(sorted_values, q):
    """The nearest-rank percentile (q in [0, 100]) of ascending values: the smallest value with at
    least q% of the values at or below it (as trtexec and onnxruntime_perf_test take theirs)."""
    if not sorted_values:
        raise ValueError("no timings to take percentiles of")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summary(times_ms):
    """p50, and p95/p99 when there are enough runs for them to mean anything (20 and 100)."""
    ordered = sorted(times_ms)
    n = len(ordered)
    return {
        "p50_ms": round(percentile(ordered, 50), 6),
        "p95_ms": round(percentile(ordered, 95), 6) if n >= 20 else None,
        "p99_ms": round(percentile(ordered, 99), 6) if n >= 100 else None,
        "samples": n,
    }


def trtexec_latencies(trace, warmup_ms=TRTEXEC_WARMUP_MS):
    """trtexec's --exportTimes trace -> the per-inference `latencyMs` (H2D + compute + D2H) of the
    inferences that started computing after the warm-up, as trtexec's own summary counts them
    (TensorRT samples/common/sampleReporting.cpp: exportJSONTrace, printPerformanceReport)."""
    return [float(t["latencyMs"]) for t in trace if float(t["startComputeMs"]) >= warmup_ms]


def _input(np, shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.issubdtype(np.dtype(dtype), np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _timed(call, runs, warmup):
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def run_tflite(path, runs, warmup, cpu, device):
    import numpy as np

    try:
        from tflite_runtime.interpreter import Interpreter, load_delegate
    except ImportError:  # LiteRT, TensorFlow Lite's successor on PyPI (CPU only)
        from ai_edge_litert.interpreter import Interpreter, load_delegate
    delegates = [] if cpu else [load_delegate("libedgetpu.so.1", {"device": device})]
    interpreter = Interpreter(model_path=str(path), experimental_delegates=delegates)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], _input(np, detail["shape"], detail["dtype"]))
    return _timed(interpreter.invoke, runs, warmup)


def run_onnx(path, runs, warmup, cpu):
    import numpy as np
    import onnxruntime as ort

    if cpu:
        providers = ["CPUExecutionProvider"]
    else:
        backend = os.environ.get("QNN_BACKEND_PATH", "libQnnHtp.so")
        providers = [("QNNExecutionProvider", {"backend_path": backend})]
    options = ort.SessionOptions()
    if not cpu:
        options.add_session_config_entry("session.disable_cpu_ep_fallback", "1")  # the NPU or nothing
    session = ort.InferenceSession(str(path), options, providers=providers)
    feeds = {}
    for i in session.get_inputs():
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
        dtype = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(uint8)": "uint8"}.get(
            i.type, "float32"
        )
        feeds[i.name] = _input(np, shape, dtype)
    return _timed(lambda: session.run(None, feeds), runs, warmup)


def run_trtexec(path, runs, warmup_ms, accelerator):
    trtexec = os.environ.get("TRTEXEC", "/usr/src/tensorrt/bin/trtexec")
    with tempfile.TemporaryDirectory() as tmp:
        times = pathlib.Path(tmp) / "times.json"
        command = [
            trtexec,
            f"--loadEngine={path}",
            f"--exportTimes={times}",
            f"--warmUp={warmup_ms:g}",
            f"--iterations={runs}",
            "--duration=0",
        ]
        if accelerator == "dla":
            command.append("--useDLACore=0")
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"trtexec failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        return trtexec_latencies(json.loads(times.read_text()), warmup_ms)


def measure(config, model, args):
    engine = config["engine"]
    path = HERE / (model["cpu_file"] if args.cpu else model["file"])
    if not path.exists():
        sys.exit(f"{model['name']}: {path.relative_to(HERE)} is missing: build the bundle's models first (README)")
    if engine == "edgetpu":
        return run_tflite(path, args.runs, args.warmup, args.cpu, config.get("device", "usb"))
    if engine == "qnn":
        return run_onnx(path, args.runs, args.warmup, args.cpu)
    if engine == "tensorrt":
        if args.cpu:
            return run_onnx(path, args.runs, args.warmup, True)
        return run_trtexec(path, args.runs, TRTEXEC_WARMUP_MS, model.get("accelerator"))
    sys.exit(f"unknown engine {engine!r} in bench.json")


def record(config, model, times, args):
    out = {
        "schema": SCHEMA,
        "hardware": args.hardware if args.cpu else config["hardware"],
        "model": model["model"],
        "precision": model["precision"],
        **summary(times),
        "batch": model.get("batch", 1),
        "power_mode": None if args.cpu else config.get("power_mode"),
        "instance_type": None if args.cpu else config.get("instance_type"),
        "accelerator": None if args.cpu else model.get("accelerator"),
        "sha256": model.get("sha256"),
        "tool": "edgespec-bench",
        "date": args.date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "notes": f"{config['engine']} engine {model['name']}"
        + (f"; CPU stand-in for {config['hardware']}, not the accelerator" if args.cpu else ""),
    }
    if out["batch"] == 1:
        del out["batch"]
    return {k: v for k, v in out.items() if v is not None}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="timed inferences per model (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed inferences first (default 20)")
    parser.add_argument("--model", help="one engine of bench.json (default: all)")
    parser.add_argument("--cpu", action="store_true", help="time the CPU stand-in, not the accelerator")
    parser.add_argument("--hardware", help="with --cpu: the catalog id of the host measured (required)")
    parser.add_argument("--date", help="the record's date (default: today, UTC)")
    parser.add_argument("-o", "--output", help="append the records to this file (default: print them)")
    args = parser.parse_args(argv)
    if args.cpu and not args.hardware:
        parser.error("--cpu measures the host's CPU: name it with --hardware (e.g. raspberry-pi-5)")
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")
    config = json.loads((HERE / "bench.json").read_text(encoding="utf-8"))
    models = [m for m in config["models"] if args.model in (None, m["name"])]
    if not models:
        sys.exit(f"no engine {args.model} in bench.json: " + ", ".join(m["name"] for m in config["models"]))
    lines = "".join(json.dumps(record(config, m, measure(config, m, args), args)) + "\n" for m in models)
    if args.output:
        with open(args.output, "a", encoding="utf-8") as f:
            f.write(lines)
    else:
        sys.stdout.write(lines)


if __name__ == "__main__":
    main()
