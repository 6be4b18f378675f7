"""Which of a model's sources a device uses, and what its bundle makes of it.

A model (or variant) may declare several sources, one per format: the same model exported for
each platform. A device class takes a list of formats (catalog/classes.yaml `formats`): some it
loads as they are (a full-int8 TFLite on a Coral, a Core ML package on an iPhone, GGUF in
llama.cpp), the others its bundle converts first, each by a named conversion (`conversions`: ONNX
to a TensorRT engine on a Jetson, ONNX to a full-int8 TFLite for Coral, TorchScript to Core ML, ONNX
to a QNN context binary). A text-generation model goes to the class's LLM runtime, which takes its
own formats.

`pick` is the one rule: a declared format the device loads as is, in the class's order; else one
its bundle converts, in the class's order; else none (the device cannot run the model, a
capability reason). The planner carries its answer on each placement (`fetch`, types.Fetch), and
the plan's output, the emitters and the lock read it there, so a placement's bundle fetches
exactly the source the plan named.
"""

from __future__ import annotations

from typing import NamedTuple

from edgespec import catalog
from edgespec.planner.types import Fetch
from edgespec.spec.models import Model, Source


class Intake(NamedTuple):
    """The source a device uses, and the conversion its bundle performs on it (None: loaded as is)."""

    source: Source
    conversion: str | None


def accepted(cls: str, llm: bool) -> tuple[tuple[str, ...], dict[str, str]]:
    """(the formats a device class takes, in its order of preference; its conversions by format).
    For a text-generation model, the formats of the class's LLM runtime (loaded as they are)."""
    entry = catalog.classes().get(cls, {})
    runtime = entry.get("llm_runtime") if llm else None
    if runtime is not None:
        return tuple(runtime["formats"]), {}
    return tuple(entry.get("formats", ())), dict(entry.get("conversions", {}))


def pick(sources: tuple[Source, ...], cls: str, llm: bool) -> Intake | None:
    """The source a device of class `cls` uses among `sources`: loaded as is first, then converted."""
    formats, conversions = accepted(cls, llm)
    by_format: dict[str, Source] = {s.format: s for s in sources}
    for converted in (False, True):
        for fmt in formats:
            if fmt in by_format and (fmt in conversions) == converted:
                return Intake(by_format[fmt], conversions.get(fmt))
    return None


def sources_of(root: Model, name: str) -> tuple[Source, ...]:
    """The sources of `root` or of its variant `name`: a variant's own (none when it declares none:
    its parent's file is not its weights)."""
    variant = root.variants.get(name)
    return variant.sources if variant is not None else root.sources


def fetch(intake: Intake | None, declared: int) -> Fetch | None:
    """What a placement fetches (`intake`, pick's answer, of a model declaring `declared` sources),
    as the plan carries it."""
    if intake is None:
        return None
    s = intake.source
    return Fetch(s.format, s.uri, s.sha256, intake.conversion, declared)


def accuracy(intake: Intake | None, declared: float) -> float:
    """A stage's accuracy as a device runs it: its source's own, when that export declares one."""
    if intake is None or intake.source.accuracy is None:
        return declared
    return intake.source.accuracy
