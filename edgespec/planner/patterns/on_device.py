"""on-device: every data source runs the whole stage itself."""

from __future__ import annotations

from collections.abc import Iterator

from edgespec.planner import constraints, options, runs
from edgespec.planner.context import Context
from edgespec.planner.types import Candidate, Draft, Estimates


def candidates(ctx: Context) -> Iterator[Candidate | Draft]:
    first = ctx.sources[0]
    for option, local in zip(options.recipes(ctx, first), runs.local_runs(ctx), strict=True):
        stage, recipe, work, acc, size_mb, placements = option
        found: tuple = ()
        resident = local.resident
        if local.capability:  # some data source cannot run the recipe: the ones before it may
            reasons: list = []
            capable = []
            for dev in ctx.sources:
                reasons += runs.capability(ctx, recipe, dev)
                if reasons:
                    break
                reasons += constraints.memory(dev, work, ctx.payload_bytes)
                capable.append(dev)
            if not capable:
                yield Candidate("on-device", placements, None, tuple(reasons))
                continue
            run = runs.summarise(ctx, [(dev, runs.compute(ctx, dev, work)) for dev in capable])
            per_1k, monthly = runs.device_costs(ctx, run.energy_mj)
            found, resident = tuple(reasons), ()  # the capable sources' memory is in `reasons`
        else:
            run, per_1k, monthly = local.run, local.per_1k, local.monthly
        est = Estimates(
            p50_ms=run.p50_ms,
            p95_ms=run.p95_ms,
            compute_ms=run.p50_ms,
            network_ms=0.0,
            accuracy=acc,
            accuracy_drop=ctx.stage.accuracy - acc,
            model_size_mb=size_mb,
            energy_mj=run.energy_mj,
            cost_usd_per_1k=per_1k,
            cost_usd_per_month=monthly,
            utilisation=run.utilisation,
            notes=run.notes,
            local_p95_ms=run.p95_ms,
            basis=run.basis,
            measured_p99_ms=run.p99_ms,
        )
        yield Draft("on-device", placements, est, local_answer=True, run=run, resident=resident, found=found)
