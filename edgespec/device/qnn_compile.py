"""Compile the models of qnn.json for the chip's Hexagon NPU (HTP) with ONNX Runtime's QNN
execution provider, as the plan chose them, and report what the NPU cannot run.

Each model's source is models/<file>, an ONNX model (checked against the spec's sha256). For
int8 the HTP runs a QDQ model: a source that already holds QuantizeLinear/DequantizeLinear pairs is
used as it is; otherwise it is quantized here (8-bit activations and weights, ONNX Runtime's QNN
recipe) from calibration/<model>/*.npy, real inputs in the spec's declared shape. fp16 compiles the
float model with the HTP's float16 precision. The QNN execution provider then compiles the model
for the chip's HTP architecture and SoC model (qnn.json's `chip`) into an EPContext model,
build/<name>_ctx.onnx, and its context binary beside it, which the device loads without compiling
again. This runs on an x86_64 Linux or Windows build machine: Qualcomm's HTP compiler ships there.

What the NPU cannot run stays outside the EPContext nodes and falls back to the CPU. The share of
the model's nodes left there is written to build/qnn-report.json; if it is larger than the plan
assumed (the spec's `cpu_fallback_fraction`), the script fails and says what to declare.

    pip install -r requirements-convert.txt
    python3 compile_qnn.py
"""

import glob
import hashlib
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
QNN_EP = "QNNExecutionProvider"
QDQ_OPS = {"QuantizeLinear", "DequantizeLinear"}
SLACK = 0.01  # a node count moves the share in steps; this much above the plan is not a miss


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_of(model):
    source = HERE / "models" / model["file"]
    if not source.exists():
        hint = (
            f"the plan prunes {model['prune']:.0%} of the channels: structured pruning needs fine-tuning, "
            "so put the pruned model there"
            if model["prune"]
            else f"fetch {model['uri']}"
        )
        sys.exit(f"{model['name']}: models/{model['file']} is missing ({hint})")
    if model["sha256"] and sha256_of(source) != model["sha256"]:
        sys.exit(f"{model['name']}: models/{model['file']} does not match the spec's sha256 {model['sha256']}")
    return source


def quantized(model, source, work):
    """The QDQ model the HTP runs for int8: the source when it is one, else quantized here."""
    import numpy as np
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantType, quantize
    from onnxruntime.quantization.execution_providers.qnn import get_qnn_qdq_config

    graph = onnx.load(str(source), load_external_data=False).graph
    if any(node.op_type in QDQ_OPS for node in graph.node):
        return source
    files = sorted(glob.glob(str(HERE / "calibration" / model["model"] / "*.npy")))
    if not files:
        sys.exit(
            f"{model['name']}: int8 on the HTP needs calibration inputs in calibration/{model['model']}/*.npy "
            "(about 100 real inputs in the spec's declared shape), or a QDQ-quantized ONNX model"
        )
    name = graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter(files)

        def get_next(self):
            path = next(self.items, None)
            return None if path is None else {name: np.load(path).astype(model["input_dtype"])}

    config = get_qnn_qdq_config(str(source), Reader(), activation_type=QuantType.QUInt8, weight_type=QuantType.QUInt8)
    out = work / f"{model['name']}.qdq.onnx"
    quantize(str(source), str(out), config)
    return out


def compile_for_htp(model, chip, graph_path, work):
    """The QNN execution provider's EPContext model for this chip: build/<name>_ctx.onnx."""
    import onnxruntime as ort
    import onnxruntime_qnn

    if QNN_EP not in {d.ep_name for d in ort.get_ep_devices()}:
        ort.register_execution_provider_library(QNN_EP, onnxruntime_qnn.get_library_path())
    devices = [d for d in ort.get_ep_devices() if d.ep_name == QNN_EP]
    options = ort.SessionOptions()
    context = work.parent / f"{model['name']}_ctx.onnx"
    options.add_session_config_entry("ep.context_enable", "1")
    options.add_session_config_entry("ep.context_file_path", str(context))
    options.add_session_config_entry("ep.context_embed_mode", "0")  # the context binary beside it
    provider = {
        "backend_type": "htp",
        "htp_arch": str(chip["htp_arch"]),
        "soc_model": str(chip["soc_model"]),
        "htp_graph_finalization_optimization_mode": "3",
    }
    if model["precision"] == "fp16":
        provider["enable_htp_fp16_precision"] = "1"
    options.add_provider_for_devices(devices, provider)
    ort.InferenceSession(str(graph_path), sess_options=options)
    return context


def report(model, chip, graph_path, context):
    """The ops the HTP runs (inside EPContext nodes) and the ones left to the CPU, by node count."""
    import onnx

    total = [n for n in onnx.load(str(graph_path), load_external_data=False).graph.node if n.op_type not in QDQ_OPS]
    left = [
        n
        for n in onnx.load(str(context), load_external_data=False).graph.node
        if n.op_type != "EPContext" and n.op_type not in QDQ_OPS
    ]
    share = len(left) / len(total) if total else 0.0
    return {
        "model": model["name"],
        "htp_arch": chip["htp_arch"],
        "nodes": len(total),
        "cpu_nodes": len(left),
        "cpu_fallback_fraction": round(share, 4),
        "cpu_ops": sorted({n.op_type for n in left}),
        "planned_cpu_fallback_fraction": model["cpu_fallback_fraction"],
    }


def main():
    config = json.loads((HERE / "qnn.json").read_text(encoding="utf-8"))
    work = HERE / "build" / "work"
    work.mkdir(parents=True, exist_ok=True)
    reports, failed = [], []
    for model in config["models"]:
        source = source_of(model)
        if model["precision"] not in ("int8", "fp16"):
            sys.exit(
                f"{model['name']}: compile_qnn.py builds int8 (QDQ) and fp16 models; for "
                f"{model['precision']}, compile with aihub.py (AI Hub's quantizer)"
            )
        graph = quantized(model, source, work) if model["precision"] == "int8" else source
        context = compile_for_htp(model, config["chip"], graph, work)
        found = report(model, config["chip"], graph, context)
        reports.append(found)
        print(
            f"{model['name']}: wrote {context.relative_to(HERE)} for HTP v{config['chip']['htp_arch']}; "
            f"{found['cpu_nodes']} of {found['nodes']} ops on the CPU ({', '.join(found['cpu_ops']) or 'none'})"
        )
        if found["cpu_fallback_fraction"] > model["cpu_fallback_fraction"] + SLACK:
            failed.append(
                f"{model['name']}: {found['cpu_fallback_fraction']:.0%} of the ops run on the CPU "
                f"({', '.join(found['cpu_ops'])}), the plan assumed {model['cpu_fallback_fraction']:.0%}: "
                f"declare `cpu_fallback_fraction: {found['cpu_fallback_fraction']}` on {model['model']} and "
                "plan again"
            )
    (HERE / "build" / "qnn-report.json").write_text(json.dumps(reports, indent=2, sort_keys=True) + "\n")
    if failed:
        sys.exit("\n".join(failed))


if __name__ == "__main__":
    main()
