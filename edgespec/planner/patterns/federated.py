"""federated: the devices of a site extract features locally; a site aggregator combines them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from edgespec.planner import estimate, options, runs
from edgespec.planner.context import Context, model_key
from edgespec.planner.device import Device
from edgespec.planner.memo import once
from edgespec.planner.types import Candidate, Draft, Estimates, Placement, Recipe

FEATURES_WITHOUT_SPLIT_BYTES = 4096.0  # a fused output (scores, boxes) sent to the aggregator


def candidates(ctx: Context) -> Iterator[Candidate | Draft]:
    sites = {d.site for d in ctx.sources}
    if None in sites or sum(d.count for d in ctx.sources) < 2:
        return  # the pattern does not apply: devices without a site, or a single device
    placements = options.device_placements(
        ctx, ctx.stage, Recipe(ctx.sources[0].precisions[0] if ctx.sources[0].precisions else "fp32")
    )
    if len(sites) > 1:
        yield Candidate(
            "federated",
            placements,
            None,
            (
                f"federated: the data sources are on sites {', '.join(sorted(sites))}; edgespec plans one site's "
                "aggregator per workload, so declare a workload per site (a multi-site plan is not supported yet)",
            ),
        )
        return
    site = sites.pop()
    on_site = [d for d in _site_devices(ctx, site) if d.target not in ctx.workload.data_source]
    if not on_site:
        yield Candidate(
            "federated",
            placements,
            None,
            (
                f"federated: site {site} has no device besides the data sources to aggregate on; add one "
                "(e.g. a site server) with `site: " + site + "`",
            ),
        )
        return
    points = (
        [(p.name, p.flops_fraction, p.activation_bytes) for p in ctx.root.split_points] if ctx.stage_is_root else []
    )
    points = points or [("output", 1.0, FEATURES_WITHOUT_SPLIT_BYTES)]
    first = ctx.sources[0]
    for cut, fraction, feature_bytes in points:
        net = estimate.transfer(feature_bytes, estimate.LAN_RTT_MS, estimate.LAN_MBPS)
        # the devices' share per recipe (each reason once already), the same for every aggregator
        heads_of = [
            (option, runs.sources_capable(ctx, option.recipe)) for option in options.recipes(ctx, first, variants=False)
        ]
        heads_of = [
            (option, capability, *((None, ()) if capability else _heads(ctx, option, fraction)))
            for option, capability in heads_of
        ]
        for agg in _aggregators(ctx, on_site, fraction):
            note = (f"features cut at {cut} go to {agg.target} on site {site}",)
            agg_recipe, tail_ms, tail95, _ = _aggregator_tail(ctx, agg, fraction)  # a Tail
            for (stage, recipe, _, acc, size_mb, on_sources), capability, heads, resident in heads_of:
                placements = (
                    *on_sources,
                    Placement(agg.target, "aggregator", stage.name, agg_recipe, ctx.fetch(stage.name, agg)),
                )
                if capability:
                    yield Candidate("federated", placements, None, capability, cut)
                    continue
                tail_energy = estimate.energy_mj(agg.power_w, tail_ms)
                energy = None if heads.energy_mj is None or tail_energy is None else heads.energy_mj + tail_energy
                per_1k, monthly = runs.device_costs(ctx, energy)
                est = Estimates(
                    p50_ms=heads.p50_ms + net.p50_ms + tail_ms,
                    p95_ms=heads.p95_ms + net.p95_ms + tail95,
                    compute_ms=heads.p50_ms + tail_ms,
                    network_ms=net.p50_ms,
                    accuracy=acc,
                    accuracy_drop=ctx.stage.accuracy - acc,
                    model_size_mb=size_mb,
                    energy_mj=energy,
                    cost_usd_per_1k=per_1k,
                    cost_usd_per_month=monthly,
                    utilisation=heads.utilisation,
                    notes=(*note, *heads.unknowns),
                )
                yield Draft(
                    "federated",
                    placements,
                    est,
                    local_answer=True,
                    run=heads,
                    resident=resident,
                    sends=((agg, "features"),),
                    cut=cut,
                )


def _heads(ctx: Context, option, fraction: float) -> tuple:
    """The devices' share of a recipe up to the cut: its run on the data sources and what each holds."""
    head = options.work(ctx, option.stage, option.recipe, fraction)
    return runs.on_sources(ctx, head), runs.resident(ctx.sources, head)


def _site_devices(ctx: Context, site: str) -> list[Device]:
    """The devices of a site, by name: once per process."""
    return once(
        ctx.memo.site_devices,
        site,
        lambda: sorted(
            (d for d in ctx.devices.values() if d.site == site and d.role == "device"), key=lambda d: d.target
        ),
    )


def _aggregators(ctx: Context, on_site: list[Device], fraction: float) -> list[Device]:
    """The site's aggregators that some objective could prefer.

    An aggregator's share of a federated candidate (the tail after the cut, at its own recipe)
    does not depend on the devices' recipe, and every aggregator of the site passes the same
    privacy checks (same site, device role). So an aggregator that another one matches or beats
    on tail p50, p95 and energy can never give a better plan under any objective; it is dropped
    (ties keep the first by name, as the final tie-break would).
    """
    if not ctx.prune_dominated:
        return on_site
    return once(
        ctx.memo.aggregators,
        (*model_key(ctx), fraction, tuple(d.target for d in on_site)),
        _undominated,
        ctx,
        on_site,
        fraction,
    )


def _undominated(ctx: Context, on_site: list[Device], fraction: float) -> list[Device]:
    kept: list[tuple[float, float, float, Device]] = []
    for agg in on_site:  # sorted by name
        _, p50, p95, energy = _aggregator_tail(ctx, agg, fraction)
        energy = float("inf") if energy is None else energy  # unknown ranks after every known energy
        if any(k50 <= p50 and k95 <= p95 and ke <= energy for k50, k95, ke, _ in kept):
            continue  # matched or beaten on all three by one already kept
        kept = [k for k in kept if not (p50 <= k[0] and p95 <= k[1] and energy <= k[2])]
        kept.append((p50, p95, energy, agg))
    return sorted((k[3] for k in kept), key=lambda d: d.target)


class Tail(NamedTuple):
    """An aggregator's share of a federated candidate: the layers after the cut at its recipe."""

    recipe: Recipe
    p50_ms: float
    p95_ms: float
    energy_mj: float | None


def _aggregator_tail(ctx: Context, agg: Device, fraction: float) -> Tail:
    """An aggregator's share of a federated candidate: its recipe and the tail after the cut
    (p50, p95, energy; nothing when the cut is the output). Once per process per model and pins."""
    tails = once(ctx.memo.aggregator_tails, (*model_key(ctx), fraction), dict)
    return once(tails, agg.target, _tail, ctx, agg, fraction)


def _tail(ctx: Context, agg: Device, fraction: float) -> Tail:
    recipe = options.remote_recipe(ctx, agg, ctx.stage).recipe
    if fraction >= 1.0:
        return Tail(recipe, 0.0, 0.0, 0.0)
    c = runs.compute(ctx, agg, options.work(ctx, ctx.stage, recipe, 1 - fraction))
    return Tail(recipe, c.p50_ms, c.p95_ms, estimate.energy_mj(agg.power_w, c.p50_ms))
