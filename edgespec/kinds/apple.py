"""Apple Neural Engine targets (iPhone A-series, Mac M-series): Core ML models converted with
Core ML Tools for the chip's OS, and a Swift package the app links (the model's typed wrapper,
cascade escalation, OTLP telemetry). Apps ship through the App Store, not a device-fleet agent, so
there is no fleet runtime: the app's own release train rolls the package out."""

from edgespec.kinds.base import Kind

# Core ML Tools' minimum_deployment_target names, by the catalog's `coreml_target` value, and the
# Core ML specification version each produces (coremltools/converters/mil/_deployment_compatibility.py)
SPEC_VERSION = {"iOS16": 7, "macOS13": 7, "iOS17": 8, "macOS14": 8, "iOS18": 9, "macOS15": 9}
COMPUTE_UNITS = "CPU_AND_NE"  # the Neural Engine, with the CPU for the ops it cannot run (never the GPU)

KIND = Kind(
    name="apple",
    emitters=("edgespec.emit.coreml",),
    format_fix="Core ML Tools (9) converts PyTorch only (its ONNX converter went in 6.0): save a TorchScript "
    "(torch.jit.trace(model, example).save(...), format torchscript) or a torch.export program "
    "(torch.export.save(...), format pt2), or give a converted .mlpackage (format coreml)",
)
