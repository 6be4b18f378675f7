"""ES601, one rule for every remote pool form: what a GPU pool (an EC2 stack's instances or
Kubernetes pods) can fetch and serve. An LLM runs in vLLM from a Hugging Face checkpoint folder
(safetensors) on S3; any other model is an ONNX file on S3 or HTTPS, built into a TensorRT engine
there, with an int8 recipe's calibration cache fetched the same ways. A placement that breaks the
rule is reported at the source's line and gets no artifacts, whichever orchestrator the pool has."""

from __future__ import annotations

from edgespec.diagnostics import Diagnostic
from edgespec.diagnostics.codes import diag
from edgespec.emit.common import calibration_of, generates, placement_source
from edgespec.load.sourcemap import SourceMap
from edgespec.planner.types import Placement
from edgespec.spec.models import Spec

SCHEMES = ("s3", "https")  # what a pool fetches models and calibration caches from


def scheme(uri: str) -> str:
    return uri.split("://", 1)[0] if "://" in uri else ""


def calibration_pointer(spec: Spec, model: str) -> str:
    owner = spec.owners[model]
    return f"/models/{owner}/calibration" if owner == model else f"/models/{owner}/variants/{model}/calibration"


def problem(spec: Spec, workload: str, target: str, p: Placement, source: SourceMap) -> Diagnostic | None:
    """ES601 for a remote placement the pool cannot serve, else None."""
    src = placement_source(p)
    if generates(spec, p.model):
        if src.format == "safetensors" and scheme(src.uri) == "s3":
            return None
        return diag(
            "ES601",
            f"{workload}: the {target} server runs LLMs with vLLM from a Hugging Face checkpoint "
            f"(safetensors) on s3://; {p.model} is {src.format} at {scheme(src.uri) or 'a local path'}",
            **source.at(f"/models/{p.model}/source", key=True),
            hint="upload the checkpoint's folder (config.json and *.safetensors) to S3 and point the source at it",
        )
    if src.format != "onnx" or scheme(src.uri) not in SCHEMES:
        return diag(
            "ES601",
            f"{workload}: the {target} server runs ONNX models fetched from s3:// or https://; "
            f"{p.model} is {src.format} at {scheme(src.uri) or 'a local path'}",
            **source.at(f"/models/{p.model}/source", key=True),
            hint="export the model to ONNX and host it on S3 or HTTPS",
        )
    if p.recipe.precision == "int8" and scheme(calibration_of(spec, p.model).uri) not in SCHEMES:
        return diag(
            "ES601",
            f"{workload}: the {target} server fetches {p.model}'s calibration cache from s3:// or "
            f"https://; it is at {scheme(calibration_of(spec, p.model).uri) or 'a local path'}",
            **source.at(calibration_pointer(spec, p.model), key=True),
            hint="host the calibration cache on S3 or HTTPS",
        )
    return None
