"""Calibration rows for Snapdragon from the measured latencies shipped in the qai-hub-models wheel.

    pip download --no-deps -d /tmp/w qai-hub-models==0.65.0 torchvision==0.29.1
    python bench/qai_hub_calibration.py /tmp/w/qai_hub_models-0.65.0-*.whl /tmp/w/torchvision-0.29.1-*.whl \
        > edgespec/catalog/benchmarks-qai-hub-models.csv

Each model's perf.yaml in the wheel holds AI Hub's measured inference time per device, runtime and
precision. The estimator needs each model's compute as well, which AI Hub does not publish: the
rows are the models whose model.py builds a torchvision architecture (the builder it calls, e.g.
`tv_models.video.r3d_18`), whose weights metadata gives the GFLOPS (`_ops`, multiply-adds, at the
weights' crop size) and the parameter count. A row is written only where the two agree on the
parameters (within 5%), at AI Hub's input resolution (compute scaled by its pixels from
torchvision's crop; weights without a crop size, the detection and segmentation ones, are left out:
their count's input size is not stated), for the devices of catalog chips, from jobs that passed
with the NPU as the primary compute unit. Video models take a 16-frame clip in both (AI Hub's
templates/video_classifier input spec; torchvision's count, checked with torch's FlopCounterMode:
r3d_18 40.697 GMACs at 1x3x16x112x112). Runtime: QNN (qnn_dlc) where measured, else ONNX Runtime
QNN, else LiteRT. Precision: float runs as fp16 on the HTP; w8a8 is int8. Deterministic: sorted
rows, no dates.
"""

from __future__ import annotations

import ast
import csv
import io
import re
import sys
import zipfile

import yaml

WHEEL = "qai-hub-models 0.65.0"
SOURCE = "https://pypi.org/project/qai-hub-models/0.65.0/"
FLOPS_SOURCE = "https://github.com/pytorch/vision/tree/v0.29.1/torchvision/models"
# AI Hub's device names -> catalog ids (the chip each device carries)
DEVICES = {
    "Samsung Galaxy S24": ("snapdragon-8-gen-3", "Snapdragon 8 Gen 3 (Galaxy S24)"),
    "Samsung Galaxy S25": ("snapdragon-8-elite", "Snapdragon 8 Elite for Galaxy (Galaxy S25)"),
    "Dragonwing RB3 Gen 2 Vision Kit": ("qcs6490", "QCS6490 (Dragonwing RB3 Gen 2 Vision Kit)"),
}
RUNTIMES = ("qnn_dlc", "onnx", "tflite")
PRECISIONS = {"float": "fp16", "w8a8": "int8"}
VIDEO_FRAMES = 16
# the torchvision builder an AI Hub model.py calls: tv_models.resnet50, tv_models.video.r3d_18, ...
BUILDER = re.compile(r"tv_models\.(?:(?:video|segmentation|detection|optical_flow)\.)?([a-z][a-z0-9_]*)\b(?!\.)")


def torchvision_models(wheel: str) -> dict[str, dict]:
    """builder name -> {params, gmacs, crop (h, w), video} from the first weights with a crop size
    of each *_Weights enum, in torchvision's model files and those of its subpackages."""
    found: dict[str, dict] = {}
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(n for n in z.namelist() if re.fullmatch(r"torchvision/models/(\w+/)?[a-z0-9_]+\.py", n)):
            tree = ast.parse(z.read(name))
            for node in tree.body:
                if not (isinstance(node, ast.ClassDef) and node.name.endswith("_Weights")):
                    continue
                builder = node.name[: -len("_Weights")].lower()
                for member in node.body:
                    if not (isinstance(member, ast.Assign) and isinstance(member.value, ast.Call)):
                        continue
                    keywords = {k.arg: k.value for k in member.value.keywords}
                    meta = keywords.get("meta")
                    if not isinstance(meta, ast.Dict):
                        continue
                    values = {
                        k.value: v.value
                        for k, v in zip(meta.keys, meta.values)
                        if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)
                    }
                    crop = None
                    transforms = keywords.get("transforms")
                    if isinstance(transforms, ast.Call):
                        for k in transforms.keywords:
                            if k.arg == "crop_size":
                                crop = ast.literal_eval(k.value)
                    if isinstance(crop, int):
                        crop = (crop, crop)
                    if "_ops" in values and "num_params" in values and crop is not None:
                        found.setdefault(
                            builder,
                            {
                                "params": values["num_params"],
                                "gmacs": values["_ops"],
                                "crop": tuple(crop),
                                "video": name.startswith("torchvision/models/video/"),
                            },
                        )
                        break
    return found


def number_of_parameters(text: str) -> float | None:
    m = re.fullmatch(r"([\d.]+)\s*([KMB])", str(text).strip())
    return float(m.group(1)) * {"K": 1e3, "M": 1e6, "B": 1e9}[m.group(2)] if m else None


def rows(hub_wheel: str, tv_wheel: str) -> list[list]:
    tv = torchvision_models(tv_wheel)
    out = []
    with zipfile.ZipFile(hub_wheel) as z:
        names = set(z.namelist())
        for manifest_path in sorted(n for n in names if re.fullmatch(r"qai_hub_models/models/\w+/manifest\.yaml", n)):
            model_id = manifest_path.split("/")[2]
            perf_path = manifest_path.replace("manifest.yaml", "perf.yaml")
            manifest = yaml.safe_load(z.read(manifest_path))
            if "torchvision" not in str(manifest.get("source_repo", "")) or perf_path not in names:
                continue
            builders = BUILDER.findall(z.read(manifest_path.replace("manifest.yaml", "model.py")).decode())
            ref = tv.get(builders[-1]) if builders else None
            details = manifest.get("technical_details") or {}
            params = number_of_parameters(details.get("Number of parameters", ""))
            resolution = re.fullmatch(r"(\d+)x(\d+)", str(details.get("Input resolution", "")).strip())
            if ref is None or params is None or resolution is None or abs(params / ref["params"] - 1) > 0.05:
                continue
            height, width = int(resolution.group(1)), int(resolution.group(2))
            gflops = round(2 * ref["gmacs"] * height * width / (ref["crop"][0] * ref["crop"][1]), 3)
            shape = f"{VIDEO_FRAMES}x{height}x{width}" if ref["video"] else f"{height}x{width}"
            perf = yaml.safe_load(z.read(perf_path))
            for precision, body in sorted((perf.get("precisions") or {}).items()):
                if precision not in PRECISIONS:
                    continue
                for component in (body.get("components") or {}).values():
                    metrics = component.get("performance_metrics") or {}
                    for device, (hardware, variant) in sorted(DEVICES.items()):
                        runs = metrics.get(device) or {}
                        for runtime in RUNTIMES:
                            run = runs.get(runtime)
                            if run and run.get("job_status") == "Passed" and run.get("primary_compute_unit") == "NPU":
                                out.append(
                                    [
                                        hardware,
                                        "",
                                        "",
                                        manifest["name"],
                                        shape,
                                        round(ref["params"] / 1e6, 2),
                                        gflops,
                                        PRECISIONS[precision],
                                        "latency_ms",
                                        run["inference_time_milliseconds"],
                                        f"{precision} ({runtime}), AI Hub measured; compute from torchvision's "
                                        f"weights metadata ({FLOPS_SOURCE})",
                                        f"{variant}, {WHEEL} {model_id}/perf.yaml",
                                        SOURCE,
                                    ]
                                )
                                break
    return sorted(out, key=lambda r: [str(v) for v in r])


def main() -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "hardware",
            "power_mode",
            "instance_type",
            "model",
            "input",
            "params_m",
            "gflops",
            "precision",
            "metric",
            "value",
            "source_precision",
            "source_variant",
            "source_url",
        ]
    )
    writer.writerows(rows(sys.argv[1], sys.argv[2]))
    sys.stdout.write(buffer.getvalue())


if __name__ == "__main__":
    main()
