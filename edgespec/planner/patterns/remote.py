"""cloud and mec: the raw input travels to a remote tier that runs the whole model (an EC2 or
Wavelength pool, or Workers AI serving the catalog model the spec declares)."""

from __future__ import annotations

from collections.abc import Iterator

from edgespec.planner import options, runs
from edgespec.planner.context import Context, model_key
from edgespec.planner.memo import once
from edgespec.planner.types import Candidate, Draft, Estimates, Placement, Recipe


def cloud(ctx: Context) -> Iterator[Candidate | Draft]:
    return _whole(ctx, "cloud")


def mec(ctx: Context) -> Iterator[Candidate | Draft]:
    return _whole(ctx, "mec")


def _whole(ctx: Context, pattern: str) -> Iterator[Candidate | Draft]:
    for remote in runs.remotes_serving(ctx, pattern):
        if remote.catalog_models:
            served = []
            for stage in (ctx.stage, *ctx.smaller):
                declared = options.workers_ai(ctx, stage)
                if declared is not None:
                    decl, entry = declared
                    work = options.served_work(ctx, entry, stage)
                    served.append((options.served_option(ctx, stage, decl.accuracy, work), entry))
            if not served:
                yield Candidate(
                    pattern,
                    (Placement(remote.target, "remote", ctx.stage.name, Recipe("served")),),
                    None,
                    (
                        f"capability: Workers AI runs its own catalog models; add `workers_ai: {{model, "
                        f"accuracy}}` to {ctx.stage.name} to let it serve this workload",
                    ),
                )
            found = [
                r
                for option, entry in served
                for r in runs.remote_runs(
                    ctx,
                    remote,
                    [option],
                    entry,
                    [f"Workers AI runs {entry['id']} (declared); compute estimated at batch 1 on an H100 NVL"],
                )
            ]
            entries = [entry for _, entry in served]
        else:
            found = _pool_runs(ctx, remote)
            entries = [None] * len(found)
        net50 = net95 = 0.0
        rtt_note = (
            (f"{remote.target} declares no network.rtt_ms: round trip not counted",) if remote.rtt_ms is None else ()
        )
        if found:
            net50, net95 = runs.uplink(ctx, ctx.payload_bytes, remote)
        for run, entry in zip(found, entries):
            placements, c, work = run.placements, run.compute, run.work
            if run.capability:
                yield Candidate(pattern, placements, None, run.capability)
                continue
            pool = runs.pool(ctx, remote, work, runs.budget_left(ctx, net95), 1.0) if remote.pooled else None
            c50, c95 = (pool.serving.p50_ms, pool.serving.p95_ms) if pool else (c.p50_ms, c.p95_ms)
            per_1k, monthly, instances = runs.remote_costs(ctx, remote, c.p50_ms, 1.0, entry, pool)
            est = Estimates(
                p50_ms=net50 + c50,
                p95_ms=net95 + c95,
                compute_ms=c50,
                network_ms=net50,
                accuracy=run.accuracy,
                accuracy_drop=run.drop,
                model_size_mb=run.size_mb,
                energy_mj=run.energy_mj,
                cost_usd_per_1k=per_1k,
                cost_usd_per_month=monthly,
                instances=instances,
                notes=(*run.notes, *rtt_note),
                pool=pool,
                local_p95_ms=0.0,
                remote_p95_ms=net95 + c95,
                basis=pool.serving.basis if pool else c.basis,
            )
            resident = () if entry else ((remote, work, remote.gpus),)
            yield Draft(
                pattern,
                placements,
                est,
                local_answer=False,
                resident=resident,
                sends=((remote, "raw_data"),),
                remote=remote,
                entry=entry,
            )


def _pool_runs(ctx: Context, remote) -> list[runs.RemoteRun]:
    """Every recipe on an EC2 or Wavelength tier: the same for every workload of the model with the
    same pins, so once per process."""
    return once(ctx.memo.remote_runs, (*model_key(ctx), remote.target), _make_pool_runs, ctx, remote)


def _make_pool_runs(ctx: Context, remote) -> list[runs.RemoteRun]:
    notes = (
        ["Wavelength priced at the parent region's on-demand rate (a lower bound)"]
        if remote.price_is_lower_bound
        else []
    )
    return runs.remote_runs(ctx, remote, options.recipes(ctx, remote), None, notes)
