"""split: the layers before a split point run on the data sources, the activations travel to a
remote pool (EC2, Wavelength) that runs the rest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from edgespec.planner import estimate, options, runs
from edgespec.planner.context import Context, Stage, model_key
from edgespec.planner.device import Device
from edgespec.planner.memo import once
from edgespec.planner.types import Candidate, Draft, Estimates, Placement, Recipe


def candidates(ctx: Context) -> Iterator[Candidate | Draft]:
    remotes = runs.split_tails(ctx)
    first = ctx.sources[0]
    for index, point in enumerate(ctx.root.split_points if ctx.stage_is_root else ()):
        note = (
            f"cut at {point.name}: {point.activation_bytes / 1e3:.0f} kB "
            f"of activations instead of {ctx.payload_bytes / 1e3:.0f} kB of input",
        )
        for remote in remotes:
            n50, n95 = runs.uplink(ctx, point.activation_bytes, remote)
            for stage, recipe, _, acc, size_mb, on_sources in options.recipes(ctx, first, variants=False):
                placements = (
                    *on_sources,
                    Placement(remote.target, "remote", stage.name, recipe, ctx.fetch(stage.name, remote)),
                )
                remote_reasons, head, c_tail, tail = _cut(ctx, index, point, remote, stage, recipe)  # a Cut
                reasons = [*runs.sources_capable(ctx, recipe), *remote_reasons]
                if reasons:
                    yield Candidate("split", placements, None, tuple(dict.fromkeys(reasons)), point.name)
                    continue
                heads = runs.on_sources(ctx, head)
                pool = runs.pool(ctx, remote, tail, runs.budget_left(ctx, heads.p95_ms, n95), 1.0)
                if pool is None:
                    too_large = f"memory: the tail does not fit on the GPUs of {remote.instance_type}"
                    yield Candidate("split", placements, None, (too_large,), point.name)
                    continue
                t50, t95 = pool.serving.p50_ms, pool.serving.p95_ms
                per_1k_r, monthly_r, instances = runs.remote_costs(ctx, remote, c_tail.p50_ms, 1.0, None, pool)
                per_1k, monthly = runs.combined((per_1k_r, monthly_r), runs.device_costs(ctx, heads.energy_mj))
                est = Estimates(
                    p50_ms=heads.p50_ms + n50 + t50,
                    p95_ms=heads.p95_ms + n95 + t95,
                    compute_ms=heads.p50_ms + t50,
                    network_ms=n50,
                    accuracy=acc,
                    accuracy_drop=ctx.stage.accuracy - acc,
                    model_size_mb=size_mb,
                    energy_mj=heads.energy_mj,
                    cost_usd_per_1k=per_1k,
                    cost_usd_per_month=monthly,
                    utilisation=heads.utilisation,
                    instances=instances,
                    notes=(*note, *heads.unknowns),
                    pool=pool,
                    local_p95_ms=heads.p95_ms,
                    remote_p95_ms=n95 + t95,
                )
                yield Draft(
                    "split",
                    placements,
                    est,
                    local_answer=False,
                    run=heads,
                    resident=runs.resident(ctx.sources, head),
                    sends=((remote, "features"),),
                    remote=remote,
                    cut=point.name,
                )


class Cut(NamedTuple):
    """A recipe cut at a split point towards one remote tier."""

    remote_reasons: tuple[str, ...]  # the remote tier's capability reasons (then nothing else is set)
    head: estimate.Work
    tail_compute: estimate.Compute | None  # the tail's batch-1 run on the remote tier
    tail: estimate.Work | None


def _cut(ctx: Context, index: int, point, remote: Device, stage: Stage, recipe: Recipe) -> Cut:
    """The same for every workload of the model with the same pins, so once per process."""
    return once(
        ctx.memo.split_tails,
        (*model_key(ctx), index, remote.target, recipe),
        _make_cut,
        ctx,
        point,
        remote,
        stage,
        recipe,
    )


def _make_cut(ctx: Context, point, remote: Device, stage: Stage, recipe: Recipe) -> Cut:
    remote_reasons = runs.capability(ctx, Recipe(recipe.precision), remote)
    head = options.work(ctx, stage, recipe, point.flops_fraction)
    if remote_reasons:
        return Cut(remote_reasons, head, None, None)
    tail = options.work(ctx, stage, Recipe(recipe.precision, recipe.prune), 1 - point.flops_fraction)
    return Cut(remote_reasons, head, runs.compute(ctx, remote, tail), tail)
