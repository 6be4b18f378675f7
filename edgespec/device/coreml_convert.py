"""Core ML conversion for the Apple Neural Engine: the models of coreml.json, as the plan chose them.

Each model's source is models/<file>: a TorchScript file (torch.jit.save), a torch.export program
(torch.export.save, .pt2), or a converted .mlpackage. The file is checked against the spec's
sha256 first. PyTorch sources are converted with Core ML Tools to an ML Program for the chip's
OS (`minimum_deployment_target`), run on the Neural Engine with the CPU for the ops it cannot
run (`compute_units`), computing in float16; the weights are then stored as the plan chose:

    fp16  float16 weights, as converted;
    int8  linear symmetric int8 weights (coremltools.optimize.coreml.linear_quantize_weights);
    int4  4-bit palettized weights, a 16-entry lookup table per tensor from k-means
          (coremltools.optimize.coreml.palettize_weights).

Weight tensors smaller than `weight_threshold` elements (biases, norms) stay float16, as Core ML
Tools' defaults keep them. The single input is named "input" and the outputs "output",
"output_1", ...: the Swift runtime (EdgespecRuntime) calls them so. The metadata carries what the
plan chose (edgespec.* keys), and the conversion date is left out, so that converting the same
source twice writes the same Data/ folder (Manifest.json holds random ids, by Core ML's design).

    pip install -r requirements-convert.txt     # a Mac or a Linux machine; prediction needs macOS
    python3 convert_coreml.py                   # writes build/<name>.mlpackage
"""

import hashlib
import json
import pathlib
import shutil
import sys

HERE = pathlib.Path(__file__).resolve().parent
CONVERSION_DATE = "com.github.apple.coremltools.conversion_date"
# Core ML takes no int64 or 8-bit integer multiarray inputs: token ids come in as int32, and raw
# 8-bit images as float32 (the app converts them as it fills the MLMultiArray)
INPUT_DTYPES = {
    "float32": "float32",
    "float16": "float16",
    "int32": "int32",
    "int64": "int32",
    "uint8": "float32",
    "int8": "float32",
    "bool": "bool",
}


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_of(model):
    """models/<file>, present and (for a file with a declared sha256) the file the spec names."""
    source = HERE / "models" / model["file"]
    if not source.exists():
        hint = (
            f"the plan prunes {model['prune']:.0%} of the channels: structured pruning needs fine-tuning, "
            "so put the pruned model there"
            if model["prune"]
            else f"fetch {model['uri']}"
        )
        sys.exit(f"{model['name']}: models/{model['file']} is missing ({hint})")
    if model["sha256"] and source.is_file() and sha256_of(source) != model["sha256"]:
        sys.exit(f"{model['name']}: models/{model['file']} does not match the spec's sha256 {model['sha256']}")
    return source


def pytorch_program(model, source):
    """What ct.convert takes: a TorchScript module, or an exported program lowered to core ATen ops."""
    import torch

    if model["format"] == "torchscript":
        return torch.jit.load(str(source), map_location="cpu").eval()
    if model["format"] == "pt2":
        return torch.export.load(str(source)).run_decompositions({})
    sys.exit(f"{model['name']}: Core ML Tools converts TorchScript or torch.export programs, not {model['format']}")


def convert(model, config):
    import coremltools as ct
    import numpy as np

    source = source_of(model)
    units = getattr(ct.ComputeUnit, config["compute_units"])
    if model["format"] == "coreml":
        return ct.models.MLModel(str(source), compute_units=units, skip_model_load=True)
    given = model["input"]
    inputs = [ct.TensorType(name="input", shape=tuple(given["shape"]), dtype=getattr(np, INPUT_DTYPES[given["dtype"]]))]
    mlmodel = ct.convert(
        pytorch_program(model, source),
        inputs=inputs,
        convert_to="mlprogram",
        minimum_deployment_target=getattr(ct.target, config["minimum_deployment_target"]),
        compute_units=units,
        compute_precision=ct.precision.FLOAT16,
    )
    spec = mlmodel.get_spec()
    for i, output in enumerate(list(spec.description.output)):
        ct.utils.rename_feature(spec, output.name, "output" if i == 0 else f"output_{i}")
    return ct.models.MLModel(spec, weights_dir=mlmodel.weights_dir, compute_units=units, skip_model_load=True)


def compress(mlmodel, model):
    """The plan's weight precision: int8 linear quantization or 4-bit palettization (fp16: as is)."""
    import coremltools.optimize.coreml as cto

    threshold = model["weight_threshold"]
    if model["precision"] == "int8":
        op = cto.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8", weight_threshold=threshold)
        return cto.linear_quantize_weights(mlmodel, cto.OptimizationConfig(global_config=op))
    if model["precision"] == "int4":
        op = cto.OpPalettizerConfig(mode="kmeans", nbits=4, weight_threshold=threshold)
        return cto.palettize_weights(mlmodel, cto.OptimizationConfig(global_config=op))
    if model["precision"] != "fp16":
        sys.exit(
            f"{model['name']}: the Neural Engine computes in float16; {model['precision']} is not a Core ML recipe"
        )
    return mlmodel


def describe(mlmodel, model, config):
    """What the plan chose, in the model's own metadata (Xcode shows it; the app may read it)."""
    mlmodel.author = "edgespec"
    mlmodel.short_description = f"{model['model']} for {config['hardware']} ({model['precision']} weights)"
    mlmodel.version = config["deployment"]["version"]
    meta = mlmodel.user_defined_metadata
    meta.pop(CONVERSION_DATE, None)
    for key, value in (
        ("model", model["model"]),
        ("precision", model["precision"]),
        ("deployment", config["deployment"]["name"]),
        ("target", config["target"]),
        ("hardware", config["hardware"]),
        ("compute_units", config["compute_units"]),
    ):
        meta[f"edgespec.{key}"] = str(value)


def reserialize(package):
    """Writes the package's model specification again with protobuf's deterministic serialization:
    Core ML Tools writes the metadata map in hash order, which differs from run to run."""
    from coremltools.proto import Model_pb2

    manifest = json.loads((package / "Manifest.json").read_text(encoding="utf-8"))
    root = manifest["itemInfoEntries"][manifest["rootModelIdentifier"]]["path"]
    path = package / "Data" / root
    spec = Model_pb2.Model()
    spec.ParseFromString(path.read_bytes())
    path.write_bytes(spec.SerializeToString(deterministic=True))


def main():
    config = json.loads((HERE / "coreml.json").read_text(encoding="utf-8"))
    for model in config["models"]:
        mlmodel = compress(convert(model, config), model)
        describe(mlmodel, model, config)
        out = HERE / "build" / f"{model['name']}.mlpackage"
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        mlmodel.save(str(out))
        reserialize(out)
        print(f"{model['name']}: wrote {out.relative_to(HERE)}")


if __name__ == "__main__":
    main()
