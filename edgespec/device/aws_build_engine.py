"""Build the TensorRT engine the plan chose, on the GPU it will run on.

Runs in NVIDIA's TensorRT container of the same release as the Triton server that loads the
engine (an engine only loads in the TensorRT version that built it). It reads the ONNX model,
takes each input's name and shape from the model itself, and builds at the planned precision
(fp16; int8 from a TensorRT calibration cache) with an optimization profile from batch 1 to the
planned batch, so Triton's dynamic batching can form the batches the pool was sized for.

    python3 build_engine.py --onnx model.onnx --engine model.plan --precision fp16 --max-batch 64
"""

import argparse
import pathlib
import sys


def calibrator(trt, cache_path):
    """INT8 scales from a calibration cache made beforehand on representative inputs (TensorRT's
    entropy calibrator, which reads the cache instead of calibrating again)."""
    cache = pathlib.Path(cache_path).read_bytes()

    class FromCache(trt.IInt8EntropyCalibrator2):
        def get_batch_size(self):
            return 1

        def get_batch(self, names):
            return None

        def read_calibration_cache(self):
            return cache

        def write_calibration_cache(self, data):
            return None

    return FromCache()


def build(trt, onnx, engine, precision, max_batch, workspace_mib, calibration=None):
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(pathlib.Path(onnx).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        sys.exit(f"{onnx}: TensorRT cannot parse it: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mib << 20)
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        if not calibration or not pathlib.Path(calibration).is_file():
            sys.exit(f"int8 needs a TensorRT calibration cache (--calibration-cache); {calibration} is missing")
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = calibrator(trt, calibration)
    profile = builder.create_optimization_profile()
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        batch, *dims = tuple(tensor.shape)
        if any(d < 0 for d in dims):
            sys.exit(f"{onnx}: input {tensor.name} has dynamic dimensions besides the batch: export it with fixed ones")
        if batch >= 0 and batch < max_batch:
            sys.exit(
                f"{onnx}: input {tensor.name} has a fixed batch of {batch}, the plan batches {max_batch}: "
                "export the model with a dynamic batch dimension"
            )
        top = max(1, max_batch)
        profile.set_shape(tensor.name, (1, *dims), (max(1, top // 2), *dims), (top, *dims))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        sys.exit("TensorRT could not build the engine (its log above says why)")
    out = pathlib.Path(engine)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(bytes(serialized))
    print(f"built {out} ({precision}, batch 1-{max(1, max_batch)})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", required=True)
    parser.add_argument("--engine", required=True, help="where Triton loads it: <repository>/<model>/1/model.plan")
    parser.add_argument("--precision", required=True, choices=("fp32", "fp16", "int8"))
    parser.add_argument("--max-batch", type=int, default=1)
    parser.add_argument("--workspace-mib", type=int, default=4096)
    parser.add_argument("--calibration-cache")
    args = parser.parse_args()
    import tensorrt as trt

    build(trt, args.onnx, args.engine, args.precision, args.max_batch, args.workspace_mib, args.calibration_cache)


if __name__ == "__main__":
    main()
