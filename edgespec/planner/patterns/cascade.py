"""cascade: a small model answers on the data sources; inputs below the confidence threshold
escalate to a larger tier (a pool, Workers AI or a site server)."""

from __future__ import annotations

from collections.abc import Iterator

from edgespec.planner import estimate, measured, options, runs
from edgespec.planner.context import Context
from edgespec.planner.types import Candidate, Draft, Estimates, Placement


def candidates(ctx: Context) -> Iterator[Candidate | Draft]:
    esc = ctx.workload.escalation
    if esc is None or esc.to not in ctx.devices:
        return
    remote = ctx.devices[esc.to]
    large = ctx.stage
    if esc.model and esc.model != ctx.stage.name:
        large = next((s for s in ctx.smaller if s.name == esc.model), large)
    first = ctx.sources[0]
    remote_recipe, remote_model, entry = options.remote_recipe(ctx, remote, large)
    remote_reasons = () if remote_recipe.precision == "served" else runs.capability(ctx, remote_recipe, remote)
    if remote.catalog_models and entry is None:
        remote_reasons = (
            f"capability: Workers AI runs its own catalog models; add `workers_ai: {{model, accuracy}}` "
            f"to {large.name} to let it serve the escalations",
        )
    pooled = remote.pooled
    lan = remote.site is not None and all(d.site == remote.site for d in ctx.sources)
    c_large = None  # the large tier's run and network leg: worked out for the first estimated candidate
    for option, here in zip(options.recipes(ctx, first), runs.local_runs(ctx), strict=True):
        stage, recipe, small_work, small_acc, size_mb, on_sources = option
        if stage is ctx.stage and recipe.precision not in ("int8", "int4"):
            continue  # the small tier is a variant, or the model itself quantized harder
        placements = (
            *on_sources,
            Placement(
                remote.target, "remote", remote_model, remote_recipe, None if entry else ctx.fetch(remote_model, remote)
            ),
        )
        if here.capability or remote_reasons:
            yield Candidate("cascade", placements, None, tuple(dict.fromkeys(here.capability + remote_reasons)))
            continue
        small = here.run
        if c_large is None:
            large_work = options.served_work(ctx, entry, large) if entry else options.work(ctx, large, remote_recipe)
            c_large = runs.compute(ctx, remote, large_work)
            n50, n95 = runs.uplink(ctx, ctx.payload_bytes, remote, lan=lan)
            large_acc = (
                options.workers_ai(ctx, large)[0].accuracy
                if entry
                else options.accuracy(ctx, large, remote_recipe, options.base_accuracy(ctx, large, remote))
            )
        s50, s95 = small.p50_ms, small.p95_ms
        if esc.measured:
            acc, rate = esc.measured.accuracy, esc.measured.escalation_rate
        else:
            acc, rate = estimate.cascade_accuracy(small_acc, large_acc)
        pool = runs.pool(ctx, remote, large_work, runs.budget_left(ctx, s95, n95), rate) if pooled else None
        if pooled and pool is None:
            yield Candidate(
                "cascade",
                placements,
                None,
                (f"memory: {remote_model} does not fit on the GPUs of {remote.instance_type}",),
            )
            continue
        l50, l95 = (pool.serving.p50_ms, pool.serving.p95_ms) if pool else (c_large.p50_ms, c_large.p95_ms)
        escalated50 = s50 + n50 + l50
        escalated95 = s95 + n95 + l95
        p50 = escalated50 if rate >= 0.5 else s50
        p95 = escalated95 if rate > 0.05 else s95  # more than 5% escalated: the tail is an escalated request
        per_1k_r, monthly_r, instances = runs.remote_costs(ctx, remote, c_large.p50_ms, rate, entry, pool)
        per_1k, monthly = runs.combined((per_1k_r, monthly_r), (here.per_1k, here.monthly))
        notes = (
            f"escalation rate {rate:.0%} ({'measured' if esc.measured else 'prior'}); "
            f"small tier alone {small_acc:.3f}, large tier {large_acc:.3f}",
            *(c.note for _, c in small.results if c.note),  # where measured figures come from
            *((c_large.note,) if c_large.note else ()),
            *small.unknowns,
        )
        est = Estimates(
            p50_ms=p50,
            p95_ms=p95,
            compute_ms=s50 + rate * l50,
            network_ms=rate * n50,
            accuracy=acc,
            accuracy_drop=ctx.stage.accuracy - acc,
            model_size_mb=size_mb,
            energy_mj=small.energy_mj,
            cost_usd_per_1k=per_1k,
            cost_usd_per_month=monthly,
            escalation_rate=rate,
            utilisation=small.utilisation,
            instances=instances,
            notes=notes,
            pool=pool,
            local_p95_ms=s95,
            remote_p95_ms=n95 + l95,
            basis=measured.combine(small.basis, pool.serving.basis if pool else c_large.basis),
        )
        # every request runs the small tier first (power); escalations carry the raw input (privacy)
        yield Draft(
            "cascade",
            placements,
            est,
            local_answer=True,
            run=small,
            resident=here.resident,
            sends=((remote, "raw_data"),),
            remote=remote,
            share=rate,
            entry=entry,
        )
