"""Compile, profile and download the models of qnn.json through Qualcomm AI Hub (qai-hub).

For each model: the device is chosen by chipset attribute (qnn.json's `chip.ai_hub_chipsets`,
e.g. chipset:qualcomm-qcs6490), never by marketing name (the QCS6490 board is sold as the
"Dragonwing RB3 Gen 2 Vision Kit"); an int8 or int4 model that is not already quantized goes
through AI Hub's quantizer first (calibration/<model>/*.npy; w8a8, or w4a16 for int4); the compile
job targets the runtime asked for (qnn_context_binary by default, or tflite, or onnx); the compiled
model is profiled on a hosted device of that chipset (an inference job with profile=True) and both
are downloaded to build/aihub/: the model, <name>-<runtime>-profile.json, and summary.json with the
profiled inference time next to the plan's figures.

    pip install -r requirements-convert.txt
    qai-hub configure --api_token <your token>      # once
    python3 aihub.py [--runtime qnn_context_binary|tflite|onnx] [--model NAME]
"""

import argparse
import glob
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
RUNTIMES = {"qnn_context_binary": ".bin", "tflite": ".tflite", "onnx": ".onnx.zip"}
QDQ_OPS = {"QuantizeLinear", "DequantizeLinear"}


def pick_device(hub, chipsets):
    """The first hosted device of the first chipset AI Hub has (by name, so the choice is stable)."""
    for chipset in chipsets:
        devices = hub.get_devices(attributes=f"chipset:{chipset}")
        if devices:
            return sorted(devices, key=lambda d: (d.name, d.os))[0], chipset
    sys.exit(f"no AI Hub device with chipset {' or '.join(chipsets)} (see `qai-hub list-devices`)")


def is_quantized(source):
    import onnx

    return any(n.op_type in QDQ_OPS for n in onnx.load(str(source), load_external_data=False).graph.node)


def calibration(model, input_name):
    import numpy as np

    files = sorted(glob.glob(str(HERE / "calibration" / model["model"] / "*.npy")))
    if not files:
        sys.exit(f"{model['name']}: AI Hub's quantizer needs calibration inputs in calibration/{model['model']}/*.npy")
    return {input_name: [np.load(f).astype(model["input_dtype"]) for f in files]}


def to_compile(hub, model, source):
    """What the compile job takes: the source, or for int8/int4 AI Hub's quantized model."""
    if model["precision"] not in ("int8", "int4") or is_quantized(source):
        return source
    import onnx

    name = onnx.load(str(source), load_external_data=False).graph.input[0].name
    weights, activations = (
        (hub.QuantizeDtype.INT8, hub.QuantizeDtype.INT8)
        if model["precision"] == "int8"
        else (hub.QuantizeDtype.INT4, hub.QuantizeDtype.INT16)
    )
    job = hub.submit_quantize_job(
        model=str(source),
        calibration_data=calibration(model, name),
        weights_dtype=weights,
        activations_dtype=activations,
        name=f"{model['name']}-quantize",
    )
    quantized = job.get_target_model()
    if quantized is None:
        sys.exit(f"{model['name']}: AI Hub's quantize job failed: {job.url}")
    return quantized


def run(hub, model, chip, runtime, out):
    source = HERE / "models" / model["file"]
    if not source.exists():
        sys.exit(f"{model['name']}: models/{model['file']} is missing (fetch {model['uri']})")
    import onnx

    device, chipset = pick_device(hub, chip["ai_hub_chipsets"])
    name = onnx.load(str(source), load_external_data=False).graph.input[0].name
    specs = {name: (tuple(model["input_shape"]), model["input_dtype"])}
    compiled = hub.submit_compile_job(
        model=to_compile(hub, model, source),
        device=device,
        input_specs=specs,
        options=f"--target_runtime {runtime}",
        name=f"{model['name']}-{runtime}",
    )
    target = compiled.get_target_model()
    if target is None:
        sys.exit(f"{model['name']}: AI Hub's compile job failed: {compiled.url}")
    path = out / f"{model['name']}{RUNTIMES[runtime]}"
    target.download(str(path))
    profiled = hub.submit_inference_job(
        model=target, device=device, inputs=None, profile=True, name=f"{model['name']}-{runtime}-profile"
    )
    profile = profiled.download_profile()
    (out / f"{model['name']}-{runtime}-profile.json").write_text(json.dumps(profile, indent=2, sort_keys=True) + "\n")
    summary = profile.get("execution_summary", {})
    micros = summary.get("estimated_inference_time")
    return {
        "model": model["name"],
        "precision": model["precision"],
        "runtime": runtime,
        "device": device.name,
        "chipset": chipset,
        "file": path.name,
        "compile_job": compiled.url,
        "profile_job": profiled.url,
        "estimated_inference_time_ms": None if micros is None else micros / 1000,
    }


def main(argv=None):
    import qai_hub as hub

    parser = argparse.ArgumentParser()
    parser.add_argument("--runtime", choices=sorted(RUNTIMES), default="qnn_context_binary")
    parser.add_argument("--model", help="one model of qnn.json (default: all)")
    args = parser.parse_args(argv)
    config = json.loads((HERE / "qnn.json").read_text(encoding="utf-8"))
    models = [m for m in config["models"] if args.model in (None, m["name"])]
    if not models:
        sys.exit(f"no model {args.model} in qnn.json")
    out = HERE / "build" / "aihub"
    out.mkdir(parents=True, exist_ok=True)
    results = [run(hub, m, config["chip"], args.runtime, out) for m in models]
    (out / "summary.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    for r in results:
        figure = "no profile" if r["estimated_inference_time_ms"] is None else f"{r['estimated_inference_time_ms']} ms"
        print(f"{r['model']}: {r['runtime']} on {r['device']} ({r['chipset']}): {figure}")


if __name__ == "__main__":
    main()
