"""What the patterns share: an option run on the data sources or on a remote tier, network legs,
remote pools and costs. Each result is cached in the Memo or WorkloadMemo its lifetime allows."""

from __future__ import annotations

from typing import NamedTuple

from edgespec.planner import constraints, estimate, measured, options, serving
from edgespec.planner.context import Context
from edgespec.planner.device import Device
from edgespec.planner.memo import once
from edgespec.planner.options import Option
from edgespec.planner.types import Placement, Recipe


# -- cached checks and estimates -----------------------------------------------------------------
def compute(ctx: Context, device: Device, work: estimate.Work) -> estimate.Compute:
    """estimate.compute, once per process for devices of the same class and power mode; for a
    stage some measurement names (Work.model), the measured figure on this target."""
    found = once(ctx.memo.compute, (device.compute_key, work), estimate.compute, device, work)
    if work.model is None:
        return found
    return once(ctx.memo.measured, (device.target, work), measured.compute, ctx.measured, device, work, found)


def capability(ctx: Context, recipe: Recipe, device: Device) -> tuple[str, ...]:
    """constraints.capability, once per process for each (task, formats, recipe, target, calibration)."""
    fmts = ctx.declared_formats(recipe.variant)
    if not fmts:  # a variant with no `source` of its own: its parent's file is not its weights
        name = recipe.variant or ctx.stage.name
        return (f"capability: {name} declares no source: there is no file of it to deploy (give it its own `source`)",)
    calibrated = ctx.calibrated(recipe.variant)
    return once(
        ctx.memo.capability,
        (ctx.task, fmts, recipe, device.target, calibrated),
        _capability,
        ctx.task,
        fmts,
        recipe,
        device,
        calibrated,
    )


def _capability(task: str, fmts: tuple[str, ...], recipe: Recipe, device: Device, calibrated: bool) -> tuple[str, ...]:
    return tuple(constraints.capability(task, fmts, recipe, device, calibrated))


def sources_capable(ctx: Context, recipe: Recipe) -> tuple[str, ...]:
    """Every data source's capability reasons for `recipe`, each once."""
    return once(ctx.local.sources_capable, recipe, _sources_capable, ctx, recipe)


def _sources_capable(ctx: Context, recipe: Recipe) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r for dev in ctx.sources for r in capability(ctx, recipe, dev)))


# -- on the data sources --------------------------------------------------------------------------
class LocalRun(NamedTuple):
    """One stage run on every data source: the worst latencies, count-weighted energy, peak load."""

    results: list[tuple[Device, estimate.Compute]]
    p50_ms: float
    p95_ms: float
    energy_mj: float | None  # None: some data source has no power figure in the catalog
    utilisation: float
    unknowns: tuple[str, ...] = ()  # what the run's figures leave unknown, once per device

    @property
    def notes(self) -> tuple[str, ...]:
        return (*(c.note or f"{d.target}: {c.bound}-bound" for d, c in self.results), *self.unknowns)

    @property
    def basis(self) -> str:
        return measured.combine(*(c.basis for _, c in self.results))

    @property
    def p99_ms(self) -> float | None:
        """The worst measured p99 when every source's is measured, else None (derived from p50, p95)."""
        tails = [c.p99_ms for _, c in self.results]
        return None if None in tails else max(tails)  # type: ignore[type-var]


class Local(NamedTuple):
    """An option (options.recipes(ctx, first source)) on every data source, as on-device and a
    cascade's small tier both use it: worked out once per workload."""

    capability: tuple[str, ...]  # every data source's capability reasons, each once
    resident: tuple  # (Device, Work, GPUs) per data source: what it holds in memory (when capable)
    run: LocalRun | None  # None when some source is not capable
    per_1k: float  # the run's electricity
    monthly: float | None


def local_runs(ctx: Context) -> list[Local]:
    """Every option of the first data source on all of them, in options.recipes' order."""
    if ctx.local.local_runs is None:
        ctx.local.local_runs = [_local(ctx, o) for o in options.recipes(ctx, ctx.sources[0])]
    return ctx.local.local_runs


def _local(ctx: Context, option: Option) -> Local:
    found = sources_capable(ctx, option.recipe)
    if found:
        return Local(found, (), None, 0.0, None)
    run = on_sources(ctx, option.work)
    return Local((), resident(ctx.sources, option.work), run, *device_costs(ctx, run.energy_mj))


def resident(devices, work: estimate.Work) -> tuple:
    """`work` held by each of `devices` (one GPU each), as Draft.resident lists it."""
    return tuple([(d, work, 1) for d in devices])


def summarise(ctx: Context, results: list[tuple[Device, estimate.Compute]]) -> LocalRun:
    unknowns = tuple(
        f"energy and electricity unknown: edgespec's catalog has no power figure for {d.hardware}"
        for d, _ in results
        if d.power_w is None
    )
    if len(results) == 1:  # the common case: one data-source class
        dev, c = results[0]
        return LocalRun(
            results, c.p50_ms, c.p95_ms, estimate.energy_mj(dev.power_w, c.p50_ms), ctx.rps * c.p50_ms / 1000, unknowns
        )
    p50, p95 = worst([(c.p50_ms, c.p95_ms) for _, c in results])
    energy = _weighted(results, lambda d, c: estimate.energy_mj(d.power_w, c.p50_ms))
    return LocalRun(results, p50, p95, energy, max(ctx.rps * c.p50_ms / 1000 for _, c in results), unknowns)


def on_sources(ctx: Context, work: estimate.Work) -> LocalRun:
    """`work` on every data source (on-device and cascade share the whole model's, split and
    federated the head's): once per workload."""
    return once(ctx.local.runs, work, _on_sources, ctx, work)


def _on_sources(ctx: Context, work: estimate.Work) -> LocalRun:
    return summarise(ctx, [(dev, compute(ctx, dev, work)) for dev in ctx.sources])


def _weighted(results, f) -> float | None:
    """The count-weighted mean of f over the data sources; unknown when f is for one of them."""
    values = [(f(d, c), d.count) for d, c in results]
    if any(v is None for v, _ in values):
        return None
    return sum(v * n for v, n in values) / sum(n for _, n in values)


def worst(values: list[tuple[float, float]]) -> tuple[float, float]:
    return max(v[0] for v in values), max(v[1] for v in values)


# -- the network ----------------------------------------------------------------------------------
def uplink(ctx: Context, payload_bytes: float, remote: Device, *, lan: bool = False) -> tuple[float, float]:
    """The slowest data source's leg to `remote` (median, tail): the same for every recipe."""
    return once(ctx.local.uplink, (payload_bytes, remote.target, lan), _slowest_leg, ctx, payload_bytes, remote, lan)


def _slowest_leg(ctx: Context, payload_bytes: float, remote: Device, lan: bool) -> tuple[float, float]:
    nets = [
        estimate.transfer(
            payload_bytes, estimate.LAN_RTT_MS if lan else remote.rtt_ms, estimate.LAN_MBPS if lan else d.uplink_mbps
        )
        for d in ctx.sources
    ]
    return worst([(n.p50_ms, n.p95_ms) for n in nets])


# -- on a remote tier ------------------------------------------------------------------------------
class RemoteRun(NamedTuple):
    """One option on a remote tier, as far as it does not depend on the workload's rate, sources
    or constraints (so the same for every workload of the model with the same pins)."""

    placements: tuple[Placement, ...]
    capability: tuple[str, ...]  # reasons the tier cannot run the option at all
    compute: estimate.Compute | None  # at batch 1 (the pool's batching is chosen per budget)
    work: estimate.Work
    accuracy: float
    drop: float | None
    size_mb: float
    energy_mj: float | None
    notes: tuple[str, ...]


def remote_runs(
    ctx: Context, remote: Device, opts: list[Option], entry: dict | None, fixed_notes: list[str]
) -> list[RemoteRun]:
    """Each option on `remote` (`entry`: the Workers AI model that serves it, if any)."""
    runs = []
    for stage, recipe, work, acc, size_mb, _ in opts:
        fetch = None if entry else ctx.fetch(stage.name, remote)
        placements = (Placement(remote.target, "remote", entry["id"] if entry else stage.name, recipe, fetch),)
        found = () if entry else capability(ctx, recipe, remote)
        if found:
            runs.append(RemoteRun(placements, found, None, work, acc, None, size_mb, None, ()))
            continue
        c = compute(ctx, remote, work)
        runs.append(
            RemoteRun(
                placements,
                (),
                c,
                work,
                acc,
                ctx.stage.accuracy - acc,
                size_mb,
                estimate.energy_mj(remote.power_w, c.p50_ms),
                (c.note or f"{remote.target}: {c.bound}-bound", *fixed_notes),
            )
        )
    return runs


def remotes_serving(ctx: Context, pattern: str) -> list[Device]:
    """The spec's remote tiers whose kind serves `pattern` ("cloud", "mec"), in spec order: once per
    process, not per workload."""
    return once(
        ctx.memo.kinds,
        pattern,
        lambda: [d for d in ctx.devices.values() if d.remote is not None and d.remote.pattern == pattern],
    )


def split_tails(ctx: Context) -> list[Device]:
    """The spec's remote tiers that run the layers after a split point, in spec order."""
    return once(
        ctx.memo.kinds,
        "split",
        lambda: [d for d in ctx.devices.values() if d.remote is not None and d.remote.split_tails],
    )


def budget_left(ctx: Context, *spent: float) -> float | None:
    """The p95 a remote tier may take after the other legs' p95 (`spent`): None without a budget."""
    budget = ctx.p95_budget
    return None if budget is None else budget - sum(spent)


def pool(ctx: Context, remote: Device, work: estimate.Work, budget: float | None, share: float) -> serving.Pool | None:
    """The remote pool serving `share` of the workload's requests (None: the model does not fit
    on the instance's GPUs). The batching options are the same for every workload of the model,
    so once per process; the budget picks one."""
    key = (remote.target, work)
    found = ctx.memo.serving.get(key)
    if found is None:
        if work.output_tokens:
            found = serving.continuous_options(remote, work, ctx.root.architecture)
        else:
            adjust = measured.batched(ctx.measured, remote, work, compute(ctx, remote, work)) if work.model else None
            found = serving.dynamic_options(remote, work, measured=adjust)
        found = ctx.memo.serving[key] = found or False
    if found is False:
        return None
    demand = ctx.total_rps * share if ctx.total_rps is not None else None
    sized = serving.size(remote, serving.choose(found, budget), demand)
    if work.output_tokens and demand:  # the load each instance really carries sets the latency
        loaded = serving.at_load(remote, work, sized.serving, demand / sized.instances, ctx.root.architecture)
        sized = sized._replace(serving=loaded)
    return sized


# -- costs ----------------------------------------------------------------------------------------
def monthly_requests(ctx: Context) -> float | None:
    return ctx.total_rps * estimate.SECONDS_PER_MONTH if ctx.total_rps is not None else None


def device_costs(ctx: Context, energy: float | None) -> tuple[float | None, float | None]:
    """Electricity for on-device inference: per 1,000 inferences and per month (both unknown when
    the energy is: a device without a power figure in the catalog)."""
    if energy is None:
        return None, None
    per_1k = estimate.electricity_usd(energy, 1000)
    monthly = monthly_requests(ctx)
    return per_1k, (estimate.electricity_usd(energy, monthly) if monthly is not None else None)


def remote_costs(
    ctx: Context, remote: Device, compute_ms: float, share: float, entry: dict | None, sized: serving.Pool | None = None
) -> tuple[float | None, float | None, int | None]:
    """(USD per 1,000 remote requests, USD per month, instances) for `share` of the traffic; None
    where a price is unknown."""
    total = ctx.total_rps
    if sized is not None:  # instances by the hour (EC2, Wavelength)
        price = remote.price_per_hour
        if price is None:
            return None, None, sized.instances
        monthly = sized.instances * price * estimate.HOURS_PER_MONTH
        requests = (total or 0.0) * share * estimate.SECONDS_PER_MONTH
        # without a declared rate: the instance time one request occupies at the planned batching
        per_1k = monthly / (requests / 1000) if requests else price / 3600 / sized.serving.capacity_rps * 1000
        return per_1k, monthly if total is not None else None, sized.instances
    if remote.catalog_models:
        prompt, output = ctx.tokens
        per_request = estimate.workers_ai_usd(entry or {}, prompt, output)
        monthly = monthly_requests(ctx)
        return per_request * 1000 * share, (per_request * monthly * share if monthly is not None else None), None
    # a device used as a remote tier (site server): electricity only
    energy = estimate.energy_mj(remote.power_w, compute_ms)
    per_1k, monthly = device_costs(ctx, energy)
    return (None if per_1k is None else per_1k * share), (monthly * share if monthly is not None else None), None


def combined(remote: tuple, device: tuple) -> tuple[float | None, float | None]:
    """(per 1,000, per month) of a remote tier's cost and the devices' electricity together:
    unknown when either part is (never an unknown part counted as zero)."""
    (per_1k_r, monthly_r), (per_1k_d, monthly_d) = remote, device
    if per_1k_r is None or per_1k_d is None:
        return None, None
    return per_1k_r + per_1k_d, None if monthly_r is None else monthly_r + (monthly_d or 0.0)
