"""Models describe themselves: `params` and `gflops` counted from a local ONNX source.

Part of validation, after the schema: a model or variant that leaves out `params` or `gflops` gets
them from its source file (edgespec.introspect, at the declared input shape), and declared values
that differ from the file's count by more than 10% are a warning (ES322). Only local ONNX files
are read (paths relative to the spec); a model that needs counting and cannot be counted is
ES321. Counts are cached per file (path, size, mtime) for the language server's repeated checks.
"""

from __future__ import annotations

import functools
import os
from typing import NamedTuple

from edgespec import catalog
from edgespec.diagnostics import Diagnostic
from edgespec.diagnostics.codes import diag
from edgespec.load.sourcemap import SourceMap
from edgespec.spec.models import Source, Spec

TOLERANCE = 0.10  # declared vs counted


class Count(NamedTuple):
    params: float
    gflops: float
    op_class: str


def fill(spec: Spec, source: SourceMap) -> tuple[Spec, list[Diagnostic]]:
    """The spec with every omitted size counted, and the diagnostics of counting."""
    base = os.path.dirname(source.file) if source.file not in ("-", "<stdin>") else "."
    problems: list[Diagnostic] = []
    models = dict(spec.models)
    for name, model in spec.models.items():
        shape = list(model.input.shape)
        llm = model.task == "text-generation"
        updates = _described(f"/models/{name}", model, model.sources, shape, llm, base, source, problems)
        if model.op_class is None:  # from the file's ops (counted with the sizes), else the task's usual one
            updates["op_class"] = updates.pop("op_class", None) or _task_default(model.task)
        variants = dict(model.variants)
        for vname, variant in model.variants.items():
            if variant.source is None and (variant.params is None or variant.gflops is None):
                problems.append(_unknown(source, f"/models/{name}/variants/{vname}", "it has no `source` of its own"))
                continue
            if variant.source is not None:
                found = _described(
                    f"/models/{name}/variants/{vname}", variant, variant.sources, shape, llm, base, source, problems
                )
                if found:
                    variants[vname] = variant.model_copy(update=found)
        if variants != model.variants:
            updates["variants"] = variants
        if updates:
            models[name] = model.model_copy(update=updates)
    if models == spec.models:
        return spec, problems
    return spec.model_copy(update={"models": models}), problems


def _described(pointer, runnable, sources: tuple[Source, ...], shape, llm, base, source: SourceMap, problems) -> dict:
    """What to fill in for one model or variant: the sizes it leaves out and, for a model without
    an op_class, the class its file's ops point at (nothing without a local ONNX file among its
    sources)."""
    src = next((s for s in sources if "://" not in s.uri and s.format == "onnx"), sources[0])
    sizes = [k for k in ("params", "gflops") if getattr(runnable, k) is None]
    read_ops = getattr(runnable, "op_class", "") is None and not llm  # variants have no op_class
    local = "://" not in src.uri and src.format == "onnx"
    if sizes and llm:
        problems.append(_unknown(source, pointer, "a text-generation model's per-token FLOPs are declared"))
        return {}
    if not local:
        if sizes:
            why = f"its source is {src.format}" if src.format != "onnx" else f"{src.uri} is not a local file"
            problems.append(_unknown(source, pointer, why))
        return {}
    path = os.path.normpath(os.path.join(base, src.uri))
    counted, why = _count(path, tuple(shape))
    if counted is None:
        if sizes:
            problems.append(_unknown(source, pointer, why))
        return {}  # declared: nothing to check against without the file or onnx
    for key in ("params", "gflops"):
        declared = getattr(runnable, key)
        value = getattr(counted, key)
        if declared is not None and value > 0 and abs(declared - value) / value > TOLERANCE:
            problems.append(
                diag(
                    "ES322",
                    f"{pointer.rsplit('/', 1)[-1]} declares {key} {declared:,.4g}, but {src.uri} counts "
                    f"{value:,.4g} at the declared input ({abs(declared - value) / value:.0%} apart)",
                    **source.at(f"{pointer}/{key}"),
                    hint=f"declare {key}: {_figure(key, value)}, or leave {key} out to use the count",
                )
            )
    found = {k: getattr(counted, k) for k in sizes}
    if read_ops:
        found["op_class"] = counted.op_class
    return found


def _task_default(task: str) -> str:
    return catalog.model_families()["task_defaults"][task]


def _figure(key: str, value: float) -> str:
    if key == "params":
        return f"{value / 1e6:.4g}M" if value >= 1e6 else f"{value:.0f}"
    return f"{value:.4g}"


def _unknown(source: SourceMap, pointer: str, why: str) -> Diagnostic:
    name = pointer.rsplit("/", 1)[-1]
    return diag(
        "ES321",
        f"{name} leaves out params or gflops, and edgespec cannot count them: {why}",
        **source.at(pointer, key=True),
        hint="declare params and gflops (`edgespec inspect MODEL.onnx` counts them), or point source at a local "
        "ONNX file",
    )


def _count(path: str, shape: tuple[int, ...]) -> tuple[Count | None, str]:
    try:
        st = os.stat(path)
    except OSError as exc:
        return None, f"{path}: {exc.strerror or exc}"
    return _cached(path, st.st_size, st.st_mtime_ns, shape)


@functools.lru_cache(maxsize=64)
def _cached(path: str, size: int, mtime_ns: int, shape: tuple[int, ...]) -> tuple[Count | None, str]:
    try:
        from edgespec import introspect

        counted = introspect.count(path, list(shape))
    except ImportError:
        return None, "counting needs the onnx package: pip install 'edgespec[onnx]'"
    except Exception as exc:  # noqa: BLE001 - onnx's DecodeError, ValidationError, shape inference's errors
        return None, f"{path} is not a readable ONNX model ({type(exc).__name__})"
    return Count(float(counted.params), counted.gflops, counted.op_class), ""
