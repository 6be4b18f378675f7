"""A workload's options: the stages it may run (the model or a smaller variant) at each recipe a
device can be asked for (precision, pruning the spec consents to, DLA), with each option's work,
accuracy and size; and the recipe or served model a remote tier runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from edgespec import catalog
from edgespec.catalog import value
from edgespec.planner import estimate, formats
from edgespec.planner.context import Context, Stage, model_key
from edgespec.planner.device import Device
from edgespec.planner.memo import once
from edgespec.planner.types import Placement, Recipe

CNN_TASKS = {"image-classification", "object-detection", "segmentation"}


def precisions(ctx: Context, device: Device) -> list[str]:
    pinned = ctx.workload.optimize.precision
    options = [p for p in ("fp32", "fp16", "int8", "int4") if p in device.precisions]
    if not ctx.llm:
        options = [p for p in options if p != "int4"]  # int4 is weight-only quantization for LLMs
    return [pinned] if pinned != "auto" else options


def prunes(ctx: Context) -> list[float]:
    """The pruning the spec consents to: none by default; `auto` lets the planner choose the
    catalog's fractions (the user provides the pruned weights); a fraction is the one declared."""
    pinned = ctx.workload.optimize.prune
    if pinned == "none":
        return [0.0]
    if pinned != "auto":
        return [float(pinned)]
    return [0.0] if ctx.llm else [0.0, *catalog.accuracy()["prune_fractions"]]


class Option(NamedTuple):
    """A stage at a recipe, with what every pattern reads of it: the figures once per process per
    model, pins and class of device (_option_figures), the placements once per workload."""

    stage: Stage
    recipe: Recipe
    work: estimate.Work  # the whole stage
    accuracy: float
    size_mb: float
    placements: tuple[Placement, ...]  # the stage at this recipe on every data source


def recipes(ctx: Context, device: Device, *, variants: bool = True) -> list[Option]:
    """The recipes `device` can be asked to run the workload's stage at (and, with `variants`, its
    smaller variants), in a fixed order."""
    found = once(ctx.local.recipes, device.target, _options, ctx, device)
    return found if variants else [o for o in found if o.stage is ctx.stage]


def _options(ctx: Context, device: Device) -> list[Option]:
    stages = [ctx.stage, *ctx.smaller]  # this workload's (patterns compare them by identity)
    runtime = estimate.llm_runtime(device) if ctx.llm else None
    bases = tuple(base_accuracy(ctx, st, device) for st in stages)
    figures = once(
        ctx.memo.options,
        (*model_key(ctx), device.precisions, device.dla_cores > 0, runtime, bases),
        _option_figures,
        ctx,
        device,
        stages,
        runtime,
        bases,
    )
    return [
        Option(stages[i], recipe, w, acc, mb, device_placements(ctx, stages[i], recipe))
        for i, recipe, w, acc, mb in figures
    ]


def base_accuracy(ctx: Context, stage: Stage, device: Device) -> float:
    """A stage's accuracy before any recipe as `device` runs it: the accuracy of the source it
    uses, where that export declares one (formats.accuracy). On a data source, the worst over all
    the workload's data sources, which each run their own format of the same placement."""
    on = ctx.sources if device in ctx.sources else [device]
    return min(formats.accuracy(ctx.intake(stage.name, d), stage.accuracy) for d in on)


def _option_figures(
    ctx: Context, device: Device, stages: list[Stage], runtime: str | None, bases: tuple[float, ...]
) -> list[tuple]:
    """(stage index, recipe, work, accuracy, size) of every option: the same for every workload of
    the model with the same pins on devices with the same precisions, DLA, LLM runtime and source
    accuracies (`bases`, per stage), so once per process. An LLM is held as its runtime stores it
    (llama.cpp: GGUF types, estimate.held)."""
    out = []
    for i, stage in enumerate(stages):
        for recipe in _recipes(ctx, device, stage):
            # the declared attention shape is the model's; a variant's is the default for its size
            architecture = ctx.root.architecture if stage.name == ctx.root_name else None
            w = estimate.held(work(ctx, stage, recipe), runtime, architecture)
            size = w.weight_bytes / 1e6 if w.bits_per_weight is not None else size_mb(stage, recipe)
            out.append((i, recipe, w, accuracy(ctx, stage, recipe, bases[i]), size))
    return out


def served_option(ctx: Context, stage: Stage, accuracy: float, work: estimate.Work) -> Option:
    """`stage` as the Workers AI catalog model declared for it runs it (`work`: the served model's;
    `accuracy`: the declared one)."""
    recipe = Recipe("served")
    return Option(stage, recipe, work, accuracy, size_mb(stage, recipe), device_placements(ctx, stage, recipe))


def _recipes(ctx: Context, device: Device, stage: Stage) -> Iterator[Recipe]:
    dla = device.dla_cores > 0 and ctx.task in CNN_TASKS
    variant = None if stage is ctx.stage else stage.name
    for precision in precisions(ctx, device):
        for prune in prunes(ctx):
            yield Recipe(precision, prune, variant)
            if dla and precision in ("int8", "fp16"):
                yield Recipe(precision, prune, variant, "dla")


def work(ctx: Context, stage: Stage, recipe: Recipe, fraction: float = 1.0) -> estimate.Work:
    """What `stage` at `recipe` computes (`fraction`: the part before or after a split point). A
    whole, unpruned stage that measurements name carries its name, for runs.compute to find them."""
    keep = 1.0 - recipe.prune
    cpu = ctx.root.cpu_fallback_fraction
    named = fraction == 1.0 and not recipe.prune and stage.name in ctx.measured.stages
    return estimate.Work(
        stage.gflops * fraction * keep,
        stage.params * fraction * keep,
        recipe.precision,
        *ctx.tokens,
        recipe.accelerator,
        cpu,
        ctx.tensor_bytes if cpu else 0.0,
        model=stage.name if named else None,
        op_class=ctx.root.op_class,
    )


def accuracy(ctx: Context, stage: Stage, recipe: Recipe, base: float | None = None) -> float:
    """The stage's accuracy at `recipe`, from `base` (the accuracy of the source the device runs,
    formats.accuracy; the stage's declared one by default) less the recipe's precision and pruning
    drops."""
    declared = stage.accuracy if base is None else base
    if recipe.precision == "served":
        return declared
    return declared - estimate.precision_drop(ctx.task, recipe.precision) - estimate.prune_drop(recipe.prune)


def size_mb(stage: Stage, recipe: Recipe) -> float:
    precision = "fp16" if recipe.precision == "served" else recipe.precision
    return stage.params * (1 - recipe.prune) * estimate.BYTES_PER_PARAM[precision] / 1e6


class Served(NamedTuple):
    """How a remote tier runs a stage: its recipe, the model name it serves, and the Workers AI
    catalog entry when it is one."""

    recipe: Recipe
    model: str
    entry: dict | None


def remote_recipe(ctx: Context, remote: Device, stage: Stage) -> Served:
    """The large model's recipe on a remote tier: its best supported precision, or the served model."""
    if remote.catalog_models:
        declared = workers_ai(ctx, stage)
        entry = declared[1] if declared else None
        return Served(Recipe("served"), (entry["id"] if entry else stage.name), entry)
    pinned = ctx.workload.optimize.precision
    for precision in [pinned] if pinned != "auto" else ["fp16", "int8", "fp32", "int4"]:
        if precision in remote.precisions:
            return Served(Recipe(precision), stage.name, None)
    return Served(Recipe(remote.precisions[0]), stage.name, None)


def workers_ai(ctx: Context, stage: Stage) -> tuple | None:
    """The Workers AI model the spec declares for `stage` and its catalog entry (None: none declared)."""
    declared = ctx.root.workers_ai if stage.name == ctx.root_name else ctx.root.variants[stage.name].workers_ai
    if declared is None:
        return None
    entry = estimate.workers_ai_entry(declared.model)
    return (declared, entry) if entry is not None else None


def served_work(ctx: Context, entry: dict, stage: Stage) -> estimate.Work:
    """A Workers AI catalog model: its own size and stored precision (LLMs: 2 FLOPs/param/token)."""
    params = value(entry["params"])
    prompt, output = ctx.tokens
    return estimate.Work(
        2 * params / 1e9 if ctx.llm else stage.gflops,
        params,
        entry["precision"],
        prompt_tokens=prompt,
        output_tokens=output,
        model=stage.name if stage.name in ctx.measured.stages else None,
    )


def device_placements(ctx: Context, stage: Stage, recipe: Recipe) -> tuple[Placement, ...]:
    return tuple([Placement(d.target, "device", stage.name, recipe, ctx.fetch(stage.name, d)) for d in ctx.sources])
