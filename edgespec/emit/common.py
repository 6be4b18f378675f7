"""What several emitters need from the spec and the plan."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from edgespec.diagnostics import Diagnostic
from edgespec.diagnostics.codes import diag
from edgespec.load.sourcemap import SourceMap
from edgespec.planner.types import Candidate, Fetch, Placement, Plan
from edgespec.spec.models import Model, Spec

PARTIAL = {"split", "federated"}  # patterns whose device side runs only part of a model


def root_model(spec: Spec, model: str) -> Model:
    """The declared model behind a model or variant name."""
    for name, root in spec.models.items():
        if name == model or model in root.variants:
            return root
    raise KeyError(model)


def placement_source(p: Placement) -> Fetch:
    """The source a placement's bundle fetches and verifies: the one the plan chose for it
    (Placement.source, planner/formats.py), read from the plan, never worked out again here."""
    if p.source is None:
        raise ValueError(f"{p.target}: {p.model} is a catalog model; it has no source of the spec's")
    return p.source


def calibration_of(spec: Spec, model: str):
    """The INT8 calibration cache declared for a model or variant (None when it declares none)."""
    root = root_model(spec, model)
    variant = root.variants.get(model)
    return variant.calibration if variant is not None else root.calibration


def placement_calibration(spec: Spec, p: Placement):
    """The calibration cache a placement's engine is built with: its model's, when the planned
    recipe is int8 (the planner chooses int8 for TensorRT only where one is declared); else None."""
    return calibration_of(spec, p.model) if p.recipe.precision == "int8" else None


# What a gateway accepts in one request body besides the input itself: an image may arrive larger
# than planned (a sharper frame); a body past this bound is refused before it is read.
MAX_IMAGE_BYTES = 20_000_000


def input_config(spec: Spec, model: str) -> dict | None:
    """How a gateway turns what clients send into the model's input (router.py's `input`): None for
    raw tensors; for an image, its encoding, layout, size, dtype and normalisation."""
    given = root_model(spec, model).input
    image = given.image()
    if given.encoding == "raw" or image is None:  # no image shape: refused by validation (ES319)
        return None
    layout, channels, height, width = image
    norm = given.normalize
    return {
        "encoding": given.encoding,
        "layout": layout,
        "channels": channels,
        "height": height,
        "width": width,
        "dtype": given.dtype,
        "mean": list(norm.mean) if norm else None,
        "std": list(norm.std) if norm else None,
        "max_bytes": MAX_IMAGE_BYTES,
    }


MAX_OUTPUT_BYTES = 16 * 1024 * 1024  # the largest model-server answer a gateway takes (router.py)
OUTPUT_BUDGET_BYTES = 64 * 1024 * 1024  # the model-server answers a gateway holds at once
BASE_MEMORY_MIB = 128  # the gateway's Python, its code, and image decodes in flight


def gateway_limits(batch: int = 1) -> dict:
    """What bounds a gateway's memory (router.py): requests served at once (twice what the model
    server batches, at least 4), the largest answer it takes from the model server, and the bytes of
    answers it holds at once; past a bound a request gets 503."""
    return {
        "max_inflight": max(4, 2 * batch),
        "max_output_bytes": MAX_OUTPUT_BYTES,
        "output_budget_bytes": OUTPUT_BUDGET_BYTES,
    }


def gateway_memory_mib(limits: dict) -> int:
    """The memory a gateway needs at its bounds: the answers it holds, and at most one binary copy
    of each for its client."""
    return BASE_MEMORY_MIB + 2 * limits["output_budget_bytes"] // (1024 * 1024)


def timeout_ms(budget_left_ms: float | None, predicted_p95_ms: float | None) -> int:
    """How long an emitted router or gateway waits for a stage: what is left of the latency budget,
    never less than the stage's predicted p95 (a shorter wait would cut off answers the plan counts
    on) nor 100 ms."""
    return math.ceil(max(100.0, predicted_p95_ms or 0.0, budget_left_ms or 0.0))


def budget_ms(spec: Spec, workload: str) -> float | None:
    """The workload's latency budget: its p95, else its p99, else its p50 (ms)."""
    lat = spec.workloads[workload].latency
    return lat.p95_ms or lat.p99_ms or lat.p50_ms


def placements_on(
    plan: Plan, target: str, *, roles: tuple[str, ...] | None = None
) -> Iterator[tuple[str, Candidate, Placement]]:
    """(workload, chosen candidate, placement) for every placement on `target`, by workload name."""
    for workload, wp in sorted(plan.workloads.items()):
        for p in wp.chosen.placements if wp.chosen else ():
            if p.target == target and (roles is None or p.role in roles):
                yield workload, wp.chosen, p


def generates(spec: Spec, model: str) -> bool:
    """A text-generation model: served by an LLM runtime, never as a CNN-style engine."""
    return root_model(spec, model).task == "text-generation"


def no_llm_runtime(
    spec: Spec,
    workload: str,
    target: str,
    model: str,
    source: SourceMap,
    what: str = "an LLM runtime bundle (llama.cpp, TensorRT-LLM)",
) -> Diagnostic:
    return diag(
        "ES606",
        f"{workload}: {target} would serve {model}, a text-generation model; edgespec does not emit "
        f"{what} yet, so nothing is emitted for it there",
        **source.at(f"/workloads/{workload}", key=True),
        hint="pin the workload to on-device (a Jetson serves it in llama.cpp) or a remote tier, set "
        "`orchestrator: kubernetes` on a GPU pool (vLLM pods), or place it on Workers AI with a "
        "declared `workers_ai` model",
    )


def whole_models_on(
    plan: Plan, target: str, source: SourceMap, diagnostics: list[Diagnostic], what: str, spec: Spec | None = None
) -> Iterator[tuple[str, Candidate, Placement]]:
    """Placements that run a whole model; a partial one (split head, federated cut) is reported (ES605),
    and with `spec`, a text-generation model (ES606: no LLM runtime bundle for it on this kind)."""
    for workload, candidate, p in placements_on(plan, target):
        if spec is not None and generates(spec, p.model):
            diagnostics.append(no_llm_runtime(spec, workload, target, p.model, source))
            continue
        if candidate.pattern in PARTIAL:
            diagnostics.append(
                diag(
                    "ES605",
                    f"{workload}: {target} runs part of {p.model} ({candidate.pattern}); edgespec cannot cut "
                    f"the model file yet, so no {what} is emitted for it",
                    **source.at(f"/workloads/{workload}", key=True),
                )
            )
            continue
        yield workload, candidate, p


def bundle_models(
    spec: Spec,
    plan: Plan,
    target: str,
    source: SourceMap,
    diagnostics: list[Diagnostic],
    what: str,
    describe: Callable[[Placement, Model, Fetch, str], dict],
    *,
    llms_reported: bool = True,
) -> list[dict]:
    """The models a device bundle builds on `target`, one entry per engine (model and recipe), by
    name: name, model, its source (uri, sha256, format) and the workloads it serves, plus what
    `describe(placement, declared model, source, engine name)` adds for the kind. Partial models
    are reported (ES605), and with `llms_reported` text-generation models too (ES606)."""
    from edgespec.emit.jetson import engine_name  # jetson's emitter imports this module

    models: dict[str, dict] = {}
    for workload, _, p in whole_models_on(plan, target, source, diagnostics, what, spec if llms_reported else None):
        name = engine_name(p.model, p.recipe)
        if name not in models:
            src = placement_source(p)
            models[name] = {
                "name": name,
                "model": p.model,
                "uri": src.uri,
                "sha256": src.sha256,
                "format": src.format,
                "workloads": [],
                **describe(p, root_model(spec, p.model), src, name),
            }
        models[name]["workloads"] = sorted({*models[name]["workloads"], workload})
    return [models[k] for k in sorted(models)]


def models_sha256(listed: list[dict]) -> bytes | None:
    """models.sha256 for `sha256sum -c`: the declared digest of each model file a bundle fetches
    into models/ (None when the spec declares none)."""
    digests = [f"{m['sha256']}  models/{m['file']}\n" for m in listed if m["sha256"]]
    return "".join(digests).encode() if digests else None


def bench_json(engine: str, hardware: str, entries: list[dict], **device: object) -> bytes:
    """bench.json for the bundle's benchmark harness (edgespec/device/bench.py): the engine it
    times (edgetpu | qnn | tensorrt), the hardware, what the device runs at (`device`: power_mode,
    instance_type, device string; None left out) and per engine of the plan: the spec's model or
    variant, precision, accelerator, the declared sha256 of its model file, the engine file and the
    CPU stand-in's file. The harness measures exactly what the plan chose."""
    from edgespec.emit.serialize import json_bytes

    keys = ("name", "model", "precision", "accelerator", "sha256", "file", "cpu_file")
    return json_bytes(
        {
            "engine": engine,
            "hardware": hardware,
            **{k: v for k, v in sorted(device.items()) if v is not None},
            "models": [{k: e.get(k) for k in keys} for e in entries],
        }
    )
