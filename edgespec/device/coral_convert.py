"""Full-integer (int8) post-training quantization for the Edge TPU.

Reads edgetpu.json; for every model whose source is not already a quantized .tflite, converts
it with the TFLite converter and a representative dataset: calibration/<model>/*.npy, about 100
real inputs in the model's declared shape (as clients send them, e.g. NCHW), moved to the
converted layout (NHWC after onnx2tf) before they reach the converter. Int8 inputs and outputs, as
the Edge TPU needs; the server quantizes and dequantizes with the model's own scales.
ONNX sources go through onnx2tf to a SavedModel first.

    pip install -r requirements-convert.txt     # on a desktop or CI machine, not the device
    python3 convert_int8.py

onnx2tf runs a test inference on image models with sample images it downloads from GitHub unless
the file is in its working directory; the representative inputs are written there instead, so the
conversion needs no network and sees the deployment's own data.
"""

import glob
import json
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def converted_shape(saved):
    """The input shape the SavedModel takes (onnx2tf moves an image's channels last: NHWC)."""
    import tensorflow as tf

    signature = tf.saved_model.load(str(saved)).signatures["serving_default"]
    (spec,) = signature.structured_input_signature[1].values()
    return [d if d is not None else 1 for d in spec.shape.as_list()]


def representative(model, shape):
    """Calibration inputs as clients send them (the spec's declared shape, e.g. NCHW), moved to the
    converted layout (`shape`, e.g. NHWC) as the converter feeds them to the model."""
    import numpy as np

    files = sorted(glob.glob(str(HERE / "calibration" / model["name"] / "*.npy")))
    if len(files) < 10:
        sys.exit(
            f"{model['name']}: put at least 10 (ideally ~100) representative inputs in calibration/{model['name']}/*.npy"
        )
    declared = model["input_shape"]
    nhwc = (
        len(declared) == 4
        and list(shape) == [declared[0], declared[2], declared[3], declared[1]]
        and list(shape) != list(declared)
    )

    def gen():
        for f in files:
            x = np.load(f).astype(np.float32).reshape(declared)
            yield [x.transpose(0, 2, 3, 1) if nhwc else x]

    return gen


ONNX2TF_SAMPLES = "calibration_image_sample_data_20x128x128x3_float32.npy"  # onnx2tf's name, checked in its cwd


def onnx2tf_samples(model, work):
    """onnx2tf's test images (20 NHWC samples in [0, 1]), made from the representative inputs."""
    import numpy as np

    declared = model["input_shape"]
    files = sorted(glob.glob(str(HERE / "calibration" / model["name"] / "*.npy")))
    if len(declared) != 4 or declared[1] != 3 or not files:
        return
    images = [np.load(f).astype(np.float32).reshape(declared)[0].transpose(1, 2, 0) for f in files]
    rows = np.linspace(0, declared[2] - 1, 128).astype(int)
    cols = np.linspace(0, declared[3] - 1, 128).astype(int)
    samples = np.stack([images[i % len(images)][rows][:, cols] for i in range(20)])
    low, high = samples.min(), samples.max()
    np.save(work / ONNX2TF_SAMPLES, ((samples - low) / (high - low or 1)).astype(np.float32))


def saved_model(model, source):
    if model["format"] == "savedmodel":
        return source
    if model["format"] == "onnx":
        work = HERE / "build" / model["name"]
        work.mkdir(parents=True, exist_ok=True)
        onnx2tf_samples(model, work)
        out = work / "saved_model"
        subprocess.run(["onnx2tf", "-i", str(source), "-o", str(out)], check=True, cwd=work)
        return out
    sys.exit(
        f"{model['name']}: cannot quantize a {model['format']} model for the Edge TPU; export ONNX or a SavedModel"
    )


def main():
    import numpy as np
    import tensorflow as tf

    config = json.loads((HERE / "edgetpu.json").read_text())
    for model in config["models"]:
        source = HERE / "models" / model["file"]
        if not source.exists():
            hint = (
                f"the plan prunes {model['prune']:.0%} of the channels: structured pruning needs fine-tuning, "
                f"so put the pruned model there"
                if model["prune"]
                else f"fetch {model['uri']}"
            )
            sys.exit(f"{model['name']}: models/{model['file']} is missing ({hint})")
        target = HERE / "build" / f"{model['name']}_int8.tflite"
        target.parent.mkdir(parents=True, exist_ok=True)
        if model["format"] == "tflite":
            interpreter = tf.lite.Interpreter(model_path=str(source))
            if interpreter.get_input_details()[0]["dtype"] not in (np.int8, np.uint8):
                sys.exit(
                    f"{model['name']}: the .tflite is not quantized; give the float model (ONNX or SavedModel) instead"
                )
            target.write_bytes(source.read_bytes())
            continue
        saved = saved_model(model, source)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative(model, converted_shape(saved))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        target.write_bytes(converter.convert())
        print(f"{model['name']}: wrote {target.relative_to(HERE)}")


if __name__ == "__main__":
    main()
