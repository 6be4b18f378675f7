"""Enumerate every (pattern x placement x recipe) of a workload and evaluate it.

Each candidate gets its estimates and, when infeasible, every constraint it breaks (the
first is the headline reason). The search space per workload is small enough to enumerate:
patterns x remote targets x precisions x pruning x variants (x split points).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from edgespec import catalog
from edgespec.catalog import value
from edgespec.planner import constraints, estimate, serving
from edgespec.planner.device import Device
from edgespec.planner.types import Candidate, Estimates, Placement, Recipe
from edgespec.spec.models import Model, Spec, Workload

CNN_TASKS = {"image-classification", "object-detection", "segmentation"}
FEATURES_WITHOUT_SPLIT_BYTES = 4096.0  # a fused output (scores, boxes) sent to the aggregator
_NEEDS, _RATE_LIMIT = constraints.NEEDS, constraints.RATE_LIMIT  # reasons' templates (types.spell)


@dataclass(frozen=True)
class Stage:
    """A runnable model: the declared model or one of its variants."""

    name: str
    params: float
    gflops: float
    accuracy: float


@dataclass
class Context:
    """Everything about one workload that every candidate needs, resolved once."""

    name: str
    workload: Workload
    root: Model
    stage: Stage  # what the workload asks for
    smaller: list[Stage]  # variants the planner may use instead
    sources: list[Device]
    devices: dict[str, Device]  # every target of the spec
    payload_bytes: float  # what one input weighs on the network
    tensor_bytes: float  # the raw input tensor, as it crosses an accelerator's host link
    total_rps: float | None
    memo: dict  # shared by every workload of the process: (device's compute_key, Work) -> Compute, ...
    prune_dominated: bool = True  # off only in the test that checks pruning keeps the optimum
    local: dict = field(default_factory=dict)  # this workload's repeated sub-results
    root_name: str = ""  # the spec's name for `root`

    @cached_property
    def where(self) -> str:
        """The data sources, as constraint messages name them."""
        return ", ".join(d.target for d in self.sources)

    @cached_property
    def rps(self) -> float:
        return self.workload.throughput.rps if self.workload.throughput else 0.0

    @cached_property
    def limits(self) -> tuple:
        """What constraints.common checks every candidate against: (p50, p95, p99 budgets, max_drop,
        min accuracy, offline required)."""
        w = self.workload
        need = w.accuracy
        return (w.latency.p50_ms, w.latency.p95_ms, w.latency.p99_ms, need.max_drop if need else None,
                need.min if need else None, w.offline == "required")

    @cached_property
    def p95_budget(self) -> float | None:
        """The tightest latency budget as a p95, for sizing remote pools: the p95 budget, a p99
        budget as it is (a p95 within it is necessary), a p50 budget x the server GPUs' calibrated
        tail factor (docs/planner.md)."""
        w = self.workload.latency
        tail = catalog.calibration()["classes"]["datacenter-gpu"]["p95_over_p50"]
        limits = [v for v in (w.p95_ms, w.p99_ms, w.p50_ms and w.p50_ms * tail) if v]
        return min(limits) if limits else None

    @cached_property
    def budgeted(self) -> bool:
        """Some data source declares a power_budget_w (constraints.power checks its runs)."""
        return any(d.power_budget_w is not None for d in self.sources)

    @cached_property
    def tokens(self) -> tuple[int, int]:
        gen = self.workload.generation
        return (gen.prompt_tokens, gen.output_tokens) if gen else (0, 0)

    @property
    def task(self) -> str:
        return self.root.task

    @property
    def stage_is_root(self) -> bool:
        """Split points are declared on the model, so they apply when the workload runs it (not a variant)."""
        return self.stage.name not in self.root.variants

    @property
    def llm(self) -> bool:
        return self.root.task == "text-generation"


def context(spec: Spec, name: str, devices: dict[str, Device], memo: dict) -> Context:
    w = spec.workloads[name]
    parents = _once(memo, ("variant-parents",),
                    lambda: {v: m for m, model in spec.models.items() for v in model.variants})
    root_name = parents.get(w.model, w.model)
    root = spec.models[root_name]
    if w.model == root_name:
        stage = Stage(root_name, root.params, root.gflops, root.accuracy.value)
        smaller = [Stage(n, v.params, v.gflops, v.accuracy.value) for n, v in sorted(root.variants.items())]
    else:
        v = root.variants[w.model]
        stage, smaller = Stage(w.model, v.params, v.gflops, v.accuracy.value), []
    sources = [devices[s] for s in w.data_source]
    rps = w.throughput.rps if w.throughput else None
    total = rps * sum(d.count for d in sources) if rps is not None else None
    payload = estimate.input_bytes(root.input.shape, root.input.dtype, root.input.encoded_bytes)
    tensor = estimate.input_bytes(root.input.shape, root.input.dtype, None)
    return Context(name, w, root, stage, smaller, sources, devices, payload, tensor, total, memo, root_name=root_name)


# -- recipes ---------------------------------------------------------------------------------
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
    found = _once(ctx.local, ("recipes", device.target), _options, ctx, device)
    return found if variants else [o for o in found if o.stage is ctx.stage]


def _options(ctx: Context, device: Device) -> list[Option]:
    stages = [ctx.stage, *ctx.smaller]  # this workload's (patterns compare them by identity)
    figures = _once(ctx.memo, ("options", *_model_key(ctx), device.precisions, device.dla_cores > 0),
                    _option_figures, ctx, device, stages)
    return [Option(stages[i], recipe, work, acc, size_mb, _device_placements(ctx, stages[i], recipe))
            for i, recipe, work, acc, size_mb in figures]


def _option_figures(ctx: Context, device: Device, stages: list[Stage]) -> list[tuple]:
    """(stage index, recipe, work, accuracy, size) of every option: the same for every workload of
    the model with the same pins on devices with the same precisions and DLA, so once per process."""
    return [(i, recipe, _work(ctx, stage, recipe), _accuracy(ctx, stage, recipe), _size_mb(stage, recipe))
            for i, stage in enumerate(stages) for recipe in _recipes(ctx, device, stage)]


def _served_option(ctx: Context, stage: Stage, accuracy: float, work: estimate.Work) -> Option:
    """`stage` as the Workers AI catalog model declared for it runs it (`work`: the served model's;
    `accuracy`: the declared one)."""
    recipe = Recipe("served")
    return Option(stage, recipe, work, accuracy, _size_mb(stage, recipe), _device_placements(ctx, stage, recipe))


def _recipes(ctx: Context, device: Device, stage: Stage) -> Iterator[Recipe]:
    dla = device.dla_cores > 0 and ctx.task in CNN_TASKS
    variant = None if stage is ctx.stage else stage.name
    for precision in precisions(ctx, device):
        for prune in prunes(ctx):
            yield Recipe(precision, prune, variant)
            if dla and precision in ("int8", "fp16"):
                yield Recipe(precision, prune, variant, "dla")


# -- evaluation helpers ------------------------------------------------------------------------
def _work(ctx: Context, stage: Stage, recipe: Recipe, fraction: float = 1.0) -> estimate.Work:
    keep = 1.0 - recipe.prune
    cpu = ctx.root.cpu_fallback_fraction
    return estimate.Work(stage.gflops * fraction * keep, stage.params * fraction * keep, recipe.precision,
                         *ctx.tokens, recipe.accelerator, cpu, ctx.tensor_bytes if cpu else 0.0)


def _once(store: dict, key: tuple, make, *args):
    """store[key], made by make(*args) the first time it is asked for (ctx.memo: once per process,
    ctx.local: once per workload). The lookups made for every candidate (_compute, _memory,
    _on_sources, _capability, _sources_capable, a split's cut per recipe) spell the same lines
    out instead: the extra call costs 2.6% of planning's instructions there."""
    found = store.get(key)
    if found is None:
        found = store[key] = make(*args)
    return found


def _compute(ctx: Context, device: Device, work: estimate.Work) -> estimate.Compute:
    key = (device.compute_key, work)
    found = ctx.memo.get(key)
    if found is None:
        found = ctx.memo[key] = estimate.compute(device, work)
    return found


def _memory(ctx: Context, device: Device, work: estimate.Work, gpus: int = 1) -> list[str]:
    key = ("memory", device.target, work)
    found = ctx.local.get(key)
    if found is None:
        found = ctx.local[key] = constraints.memory(device, work, ctx.payload_bytes, gpus)
    return found


def _transfer_allowed(ctx: Context, dest: Device, what: str) -> list[str]:
    """Privacy and residency depend only on the workload and the destination: once per pair."""
    return _once(ctx.local, ("transfer", dest.target, what), constraints.transfer_allowed, ctx, dest, what)


def _accuracy(ctx: Context, stage: Stage, recipe: Recipe) -> float:
    if recipe.precision == "served":
        return stage.accuracy
    return stage.accuracy - estimate.precision_drop(ctx.task, recipe.precision) - estimate.prune_drop(recipe.prune)


def _monthly(ctx: Context) -> float | None:
    return ctx.total_rps * estimate.SECONDS_PER_MONTH if ctx.total_rps is not None else None


def _device_costs(ctx: Context, energy: float | None) -> tuple[float | None, float | None]:
    """Electricity for on-device inference: per 1,000 inferences and per month (both unknown when
    the energy is: a device without a power figure in the catalog)."""
    if energy is None:
        return None, None
    per_1k = estimate.electricity_usd(energy, 1000)
    monthly = _monthly(ctx)
    return per_1k, (estimate.electricity_usd(energy, monthly) if monthly is not None else None)


def _budget_left(ctx: Context, *spent: float) -> float | None:
    """The p95 a remote tier may take after the other legs' p95 (`spent`): None without a budget."""
    budget = ctx.p95_budget
    return None if budget is None else budget - sum(spent)


def _pool(ctx: Context, remote: Device, work: estimate.Work, budget: float | None,
          share: float) -> serving.Pool | None:
    """The remote pool serving `share` of the workload's requests (None: the model does not fit
    on the instance's GPUs). The batching options are the same for every workload of the model,
    so once per process; the budget picks one."""
    key = ("serving", remote.target, work)
    options = ctx.memo.get(key)
    if options is None:
        if work.output_tokens:
            options = serving.continuous_options(remote, work, ctx.root.architecture)
        else:
            options = serving.dynamic_options(remote, work)
        options = ctx.memo[key] = options or False
    if options is False:
        return None
    demand = ctx.total_rps * share if ctx.total_rps is not None else None
    pool = serving.size(remote, serving.choose(options, budget), demand)
    if work.output_tokens and demand:  # the load each instance really carries sets the latency
        loaded = serving.at_load(remote, work, pool.serving, demand / pool.instances, ctx.root.architecture)
        pool = pool._replace(serving=loaded)
    return pool


def _remote_costs(ctx: Context, remote: Device, compute_ms: float, share: float, model_entry: dict | None,
                  reasons: list, pool: serving.Pool | None = None) -> tuple[float | None, float | None, int | None]:
    """(USD per 1,000 remote requests, USD per month, instances) for `share` of the traffic; None
    where a price is unknown."""
    total = ctx.total_rps
    if pool is not None:  # instances by the hour (EC2, Wavelength)
        rps = (total or 0.0) * share
        if pool.limit is not None and pool.needed > pool.limit:
            s = pool.serving
            reasons.append((_NEEDS, pool.needed, remote.instance_type, remote.target, rps, s.capacity_rps,
                            "batch" if s.mode == "dynamic" else "concurrency", s.batch, serving.HEADROOM,
                            "count" if pool.fixed else "scaling.max", pool.limit))
        price = remote.price_per_hour
        if price is None:
            return None, None, pool.instances
        monthly = pool.instances * price * estimate.HOURS_PER_MONTH
        requests = rps * estimate.SECONDS_PER_MONTH
        # without a declared rate: the instance time one request occupies at the planned batching
        per_1k = monthly / (requests / 1000) if requests else price / 3600 / pool.serving.capacity_rps * 1000
        return per_1k, monthly if total is not None else None, pool.instances
    if remote.kind == "workers-ai":
        prompt, output = ctx.tokens
        per_request = estimate.workers_ai_usd(model_entry or {}, prompt, output)
        limit = remote.rate_limit_per_minute or estimate.workers_ai_rate_limit(model_entry or {}, ctx.task)
        if total is not None and limit is not None and total * share > limit / 60:
            served = (model_entry or {}).get("id")
            reasons.append((_RATE_LIMIT, total * share, remote.target, limit, limit / 60, served))
        monthly = _monthly(ctx)
        return per_request * 1000 * share, (per_request * monthly * share if monthly is not None else None), None
    # a device used as a remote tier (site server): electricity only
    energy = estimate.energy_mj(remote.power_w, compute_ms)
    per_1k, monthly = _device_costs(ctx, energy)
    return per_1k * share, (monthly * share if monthly is not None else None), None


def _combined(remote: tuple, device: tuple) -> tuple[float | None, float | None]:
    """(per 1,000, per month) of a remote tier's cost and the devices' electricity together:
    unknown when either part is (never an unknown part counted as zero)."""
    (per_1k_r, monthly_r), (per_1k_d, monthly_d) = remote, device
    if per_1k_r is None or per_1k_d is None:
        return None, None
    return per_1k_r + per_1k_d, None if monthly_r is None else monthly_r + (monthly_d or 0.0)


def _size_mb(stage: Stage, recipe: Recipe) -> float:
    precision = "fp16" if recipe.precision == "served" else recipe.precision
    return stage.params * (1 - recipe.prune) * estimate.BYTES_PER_PARAM[precision] / 1e6


def _worst(values: list[tuple[float, float]]) -> tuple[float, float]:
    return max(v[0] for v in values), max(v[1] for v in values)


def _remote_recipe(ctx: Context, remote: Device, stage: Stage) -> tuple[Recipe, str, dict | None]:
    """The large model's recipe on a remote tier: its best supported precision, or the served model."""
    if remote.kind == "workers-ai":
        declared = _workers_ai(ctx, stage)
        entry = declared[1] if declared else None
        return Recipe("served"), (entry["id"] if entry else stage.name), entry
    pinned = ctx.workload.optimize.precision
    for precision in ([pinned] if pinned != "auto" else ["fp16", "int8", "fp32", "int4"]):
        if precision in remote.precisions:
            return Recipe(precision), stage.name, None
    return Recipe(remote.precisions[0]), stage.name, None


# -- patterns ----------------------------------------------------------------------------------
# Each pattern walks its recipes in a fixed order; what does not depend on the recipe (network
# legs, privacy, the remote tier's own run) is worked out once per pattern and target, and what
# several patterns share (a stage run on the data sources, capability checks) once per workload.
def on_device(ctx: Context) -> Iterator[Candidate]:
    first = ctx.sources[0]
    for option, local in zip(recipes(ctx, first), _local_runs(ctx), strict=True):
        stage, recipe, work, acc, size_mb, placements = option
        if local.capability:  # some data source cannot run the recipe: the ones before it may
            reasons: list = []
            capable = []
            for dev in ctx.sources:
                reasons += _capability(ctx, recipe, dev)
                if reasons:
                    break
                reasons += _memory(ctx, dev, work)
                capable.append(dev)
            if not capable:
                yield Candidate("on-device", placements, None, tuple(reasons))
                continue
            run = _summarise(ctx, [(dev, _compute(ctx, dev, work)) for dev in capable])
            per_1k, monthly = _device_costs(ctx, run.energy_mj)
        else:
            reasons = list(local.memory)
            run, per_1k, monthly = local.run, local.per_1k, local.monthly
        est = Estimates(p50_ms=run.p50_ms, p95_ms=run.p95_ms, compute_ms=run.p50_ms, network_ms=0.0, accuracy=acc,
                        accuracy_drop=ctx.stage.accuracy - acc, model_size_mb=size_mb, energy_mj=run.energy_mj,
                        cost_usd_per_1k=per_1k, cost_usd_per_month=monthly, utilisation=run.utilisation,
                        notes=run.notes)
        reasons += run.power
        reasons += constraints.common(ctx, est, local_answer=True)
        yield Candidate("on-device", placements, est, tuple(reasons))


class Local(NamedTuple):
    """An option (recipes(ctx, first source)) on every data source, as on-device and a cascade's
    small tier both use it: worked out once per workload."""

    capability: tuple[str, ...]  # every data source's capability reasons, each once
    memory: tuple[str, ...]  # every data source's memory reasons (when capable)
    run: LocalRun | None  # None when some source is not capable
    per_1k: float  # the run's electricity
    monthly: float | None


def _local_runs(ctx: Context) -> list[Local]:
    return _once(ctx.local, ("local-runs",), lambda: [_local(ctx, o) for o in recipes(ctx, ctx.sources[0])])


def _local(ctx: Context, option: Option) -> Local:
    capability = _sources_capable(ctx, option.recipe)
    if capability:
        return Local(capability, (), None, 0.0, None)
    memory: list[str] = []
    for dev in ctx.sources:
        memory += _memory(ctx, dev, option.work)
    run = _on_sources(ctx, option.work)
    return Local((), tuple(memory), run, *_device_costs(ctx, run.energy_mj))


class LocalRun(NamedTuple):
    """One stage run on every data source: the worst latencies, count-weighted energy, peak load,
    and the power budgets it breaks (constraints.power)."""

    results: list[tuple[Device, estimate.Compute]]
    p50_ms: float
    p95_ms: float
    energy_mj: float | None  # None: some data source has no power figure in the catalog
    utilisation: float
    power: tuple = ()
    unknowns: tuple[str, ...] = ()  # what the run's figures leave unknown, once per device

    @property
    def notes(self) -> tuple[str, ...]:
        return (*(f"{d.target}: {c.bound}-bound" for d, c in self.results), *self.unknowns)


def _summarise(ctx: Context, results: list[tuple[Device, estimate.Compute]]) -> LocalRun:
    power = tuple(constraints.power(ctx.rps, results)) if ctx.budgeted else ()
    unknowns = tuple(f"energy and electricity unknown: edgespec's catalog has no power figure for {d.hardware}"
                     for d, _ in results if d.power_w is None)
    if len(results) == 1:  # the common case: one data-source class
        dev, c = results[0]
        return LocalRun(results, c.p50_ms, c.p95_ms, estimate.energy_mj(dev.power_w, c.p50_ms),
                        ctx.rps * c.p50_ms / 1000, power, unknowns)
    p50, p95 = _worst([(c.p50_ms, c.p95_ms) for _, c in results])
    energy = _weighted(results, lambda d, c: estimate.energy_mj(d.power_w, c.p50_ms))
    return LocalRun(results, p50, p95, energy, _utilisation(ctx, results), power, unknowns)


def _on_sources(ctx: Context, work: estimate.Work) -> LocalRun:
    """`work` on every data source (on-device and cascade share the whole model's, split and
    federated the head's): once per workload."""
    key = ("run", work)
    found = ctx.local.get(key)
    if found is None:
        found = ctx.local[key] = _summarise(ctx, [(dev, _compute(ctx, dev, work)) for dev in ctx.sources])
    return found


def _utilisation(ctx: Context, results) -> float:
    """The busiest data source's share of time spent on this workload at its declared rate."""
    return max(ctx.rps * c.p50_ms / 1000 for _, c in results)


def _capability(ctx: Context, recipe: Recipe, device: Device) -> tuple[str, ...]:
    """constraints.capability, once per process for each (task, format, recipe, target)."""
    key = ("capability", ctx.task, ctx.root.source.format, recipe, device.target)
    found = ctx.memo.get(key)
    if found is None:
        found = ctx.memo[key] = tuple(constraints.capability(ctx.task, ctx.root.source.format, recipe, device))
    return found


def _sources_capable(ctx: Context, recipe: Recipe) -> tuple[str, ...]:
    """Every data source's capability reasons for `recipe`, each once."""
    key = ("sources-capable", recipe)
    found = ctx.local.get(key)
    if found is None:
        reasons: list[str] = []
        for dev in ctx.sources:
            reasons += _capability(ctx, recipe, dev)
        found = ctx.local[key] = tuple(dict.fromkeys(reasons))
    return found


def _weighted(results, f) -> float | None:
    """The count-weighted mean of f over the data sources; unknown when f is for one of them."""
    values = [(f(d, c), d.count) for d, c in results]
    if any(v is None for v, _ in values):
        return None
    return sum(v * n for v, n in values) / sum(n for _, n in values)


def _device_placements(ctx: Context, stage: Stage, recipe: Recipe) -> tuple[Placement, ...]:
    return tuple([Placement(d.target, "device", stage.name, recipe) for d in ctx.sources])


def _uplink(ctx: Context, payload_bytes: float, remote: Device, *, lan: bool = False) -> tuple[float, float]:
    """The slowest data source's leg to `remote` (median, tail): the same for every recipe."""
    return _once(ctx.local, ("uplink", payload_bytes, remote.target, lan),
                 _slowest_leg, ctx, payload_bytes, remote, lan)


def _slowest_leg(ctx: Context, payload_bytes: float, remote: Device, lan: bool) -> tuple[float, float]:
    nets = [estimate.transfer(payload_bytes, estimate.LAN_RTT_MS if lan else remote.rtt_ms,
                              estimate.LAN_MBPS if lan else d.uplink_mbps) for d in ctx.sources]
    return _worst([(n.p50_ms, n.p95_ms) for n in nets])


def remote_whole(ctx: Context, pattern: str, kinds: tuple[str, ...]) -> Iterator[Candidate]:
    """cloud / mec: the raw input travels to a remote target that runs the whole model."""
    for remote in _of_kinds(ctx, kinds):
        if remote.kind == "workers-ai":
            options = []
            for stage in (ctx.stage, *ctx.smaller):
                declared = _workers_ai(ctx, stage)
                if declared is not None:
                    decl, entry = declared
                    options.append((_served_option(ctx, stage, decl.accuracy, _served_work(ctx, entry, stage)), entry))
            if not options:
                yield Candidate(pattern, (Placement(remote.target, "remote", ctx.stage.name, Recipe("served")),), None,
                                (f"capability: Workers AI runs its own catalog models; add `workers_ai: {{model, "
                                 f"accuracy}}` to {ctx.stage.name} to let it serve this workload",))
            runs = [r for option, entry in options for r in _remote_runs(ctx, remote, [option], entry, [
                    f"Workers AI runs {entry['id']} (declared); compute estimated at batch 1 on an H100 NVL"])]
            entries = [entry for _, entry in options]
        else:
            fixed_notes = []
            if remote.price_is_lower_bound:
                fixed_notes.append("Wavelength priced at the parent region's on-demand rate (a lower bound)")
            # the same for every workload of the model with the same pins: once per process
            runs = _once(ctx.memo, ("remote-runs", *_model_key(ctx), remote.target),
                         lambda: _remote_runs(ctx, remote, recipes(ctx, remote), None, fixed_notes))
            entries = [None] * len(runs)
        net50 = net95 = 0.0
        privacy: list[str] = []
        rtt_note = (f"{remote.target} declares no network.rtt_ms: round trip not counted",) \
            if remote.rtt_ms is None else ()
        if runs:
            net50, net95 = _uplink(ctx, ctx.payload_bytes, remote)
            privacy = _transfer_allowed(ctx, remote, "raw_data")
        for run, entry in zip(runs, entries):
            placements, c, work, acc, drop = run.placements, run.compute, run.work, run.accuracy, run.drop
            if run.capability:
                yield Candidate(pattern, placements, None, run.capability)
                continue
            reasons = list(run.memory)
            pool = _pool(ctx, remote, work, _budget_left(ctx, net95), 1.0) if remote.kind != "workers-ai" else None
            c50, c95 = (pool.serving.p50_ms, pool.serving.p95_ms) if pool else (c.p50_ms, c.p95_ms)
            per_1k, monthly, instances = _remote_costs(ctx, remote, c.p50_ms, 1.0, entry, reasons, pool)
            if pool is None and remote.kind != "workers-ai" and not run.memory:
                reasons.append(f"memory: {placements[0].model} does not fit on the GPUs of {remote.instance_type}")
            est = Estimates(p50_ms=net50 + c50, p95_ms=net95 + c95, compute_ms=c50, network_ms=net50, accuracy=acc,
                            accuracy_drop=drop, model_size_mb=run.size_mb, energy_mj=run.energy_mj,
                            cost_usd_per_1k=per_1k, cost_usd_per_month=monthly, instances=instances,
                            notes=(*run.notes, *rtt_note), pool=pool)
            reasons += privacy
            reasons += constraints.common(ctx, est, local_answer=False)
            yield Candidate(pattern, placements, est, tuple(reasons))


class RemoteRun(NamedTuple):
    """One option on a remote tier, as far as it does not depend on the workload's rate, sources
    or constraints (so the same for every workload of the model with the same pins)."""

    placements: tuple[Placement, ...]
    capability: tuple[str, ...]  # reasons the tier cannot run the option at all
    memory: tuple[str, ...]
    compute: estimate.Compute | None  # at batch 1 (the pool's batching is chosen per budget)
    work: estimate.Work
    accuracy: float
    drop: float | None
    size_mb: float
    energy_mj: float | None
    notes: tuple[str, ...]


def _remote_runs(ctx: Context, remote: Device, options: list[Option], entry: dict | None,
                 fixed_notes: list[str]) -> list[RemoteRun]:
    """Each option on `remote` (`entry`: the Workers AI model that serves it, if any)."""
    runs = []
    for stage, recipe, work, acc, size_mb, _ in options:
        placements = (Placement(remote.target, "remote", entry["id"] if entry else stage.name, recipe),)
        capability = () if entry else _capability(ctx, recipe, remote)
        if capability:
            runs.append(RemoteRun(placements, capability, (), None, work, acc, None, size_mb, None, ()))
            continue
        c = _compute(ctx, remote, work)
        memory = () if entry else tuple(_memory(ctx, remote, work, remote.gpus))
        runs.append(RemoteRun(placements, (), memory, c, work, acc, ctx.stage.accuracy - acc, size_mb,
                              estimate.energy_mj(remote.power_w, c.p50_ms),
                              (f"{remote.target}: {c.bound}-bound", *fixed_notes)))
    return runs


def _workers_ai(ctx: Context, stage: Stage) -> tuple | None:
    """The Workers AI model the spec declares for `stage` and its catalog entry (None: none declared)."""
    declared = ctx.root.workers_ai if stage.name == ctx.root_name else ctx.root.variants[stage.name].workers_ai
    if declared is None:
        return None
    entry = estimate.workers_ai_entry(declared.model)
    return (declared, entry) if entry is not None else None


def _of_kinds(ctx: Context, kinds: tuple[str, ...]) -> list[Device]:
    """The spec's targets of these kinds, in spec order: once per process, not per workload."""
    return _once(ctx.memo, ("kinds", kinds), lambda: [d for d in ctx.devices.values() if d.kind in kinds])


def _served_work(ctx: Context, entry: dict, stage: Stage) -> estimate.Work:
    """A Workers AI catalog model: its own size and stored precision (LLMs: 2 FLOPs/param/token)."""
    params = value(entry["params"])
    prompt, output = ctx.tokens
    return estimate.Work(2 * params / 1e9 if ctx.llm else stage.gflops, params, entry["precision"],
                         prompt_tokens=prompt, output_tokens=output)


def split(ctx: Context) -> Iterator[Candidate]:
    """Layers before a split point on the device, activations to a remote tier for the rest."""
    remotes = _of_kinds(ctx, ("wavelength", "ec2"))
    first = ctx.sources[0]
    for index, point in enumerate(ctx.root.split_points if ctx.stage_is_root else ()):
        note = (f"cut at {point.name}: {point.activation_bytes / 1e3:.0f} kB "
                f"of activations instead of {ctx.payload_bytes / 1e3:.0f} kB of input",)
        for remote in remotes:
            n50, n95 = _uplink(ctx, point.activation_bytes, remote)
            privacy = _transfer_allowed(ctx, remote, "features")
            # the model's head and the remote tier's tail per recipe: the same for every workload
            # of the model with the same pins, so once per process
            tails = ctx.memo.setdefault(("split-tails", *_model_key(ctx), index, remote.target), {})
            for stage, recipe, _, acc, size_mb, on_sources in recipes(ctx, first, variants=False):
                placements = (*on_sources, Placement(remote.target, "remote", stage.name, recipe))
                cut = tails.get(recipe)  # per candidate: spelled out (see _once)
                if cut is None:
                    cut = tails[recipe] = _split_cut(ctx, stage, recipe, point, remote)
                remote_reasons, head, c_tail, tail = cut
                reasons = [*_sources_capable(ctx, recipe), *remote_reasons]
                if reasons:
                    yield Candidate("split", placements, None, tuple(dict.fromkeys(reasons)), point.name)
                    continue
                heads = _on_sources(ctx, head)
                pool = _pool(ctx, remote, tail, _budget_left(ctx, heads.p95_ms, n95), 1.0)
                if pool is None:
                    too_large = f"memory: the tail does not fit on the GPUs of {remote.instance_type}"
                    yield Candidate("split", placements, None, (too_large,), point.name)
                    continue
                t50, t95 = pool.serving.p50_ms, pool.serving.p95_ms
                per_1k_r, monthly_r, instances = _remote_costs(ctx, remote, c_tail.p50_ms, 1.0, None, reasons, pool)
                per_1k, monthly = _combined((per_1k_r, monthly_r), _device_costs(ctx, heads.energy_mj))
                est = Estimates(p50_ms=heads.p50_ms + n50 + t50, p95_ms=heads.p95_ms + n95 + t95,
                                compute_ms=heads.p50_ms + t50, network_ms=n50, accuracy=acc,
                                accuracy_drop=ctx.stage.accuracy - acc, model_size_mb=size_mb,
                                energy_mj=heads.energy_mj, cost_usd_per_1k=per_1k, cost_usd_per_month=monthly,
                                utilisation=heads.utilisation, instances=instances,
                                notes=(*note, *heads.unknowns), pool=pool)
                reasons += privacy
                reasons += heads.power
                reasons += constraints.common(ctx, est, local_answer=False)
                yield Candidate("split", placements, est, tuple(reasons), point.name)


def _split_cut(ctx: Context, stage: Stage, recipe: Recipe, point, remote: Device) -> tuple:
    """(the remote tier's capability reasons, the head's work, the tail's batch-1 run on the
    remote tier, the tail's work)."""
    remote_reasons = _capability(ctx, Recipe(recipe.precision), remote)
    head = _work(ctx, stage, recipe, point.flops_fraction)
    if remote_reasons:
        return remote_reasons, head, None, None
    tail = _work(ctx, stage, Recipe(recipe.precision, recipe.prune), 1 - point.flops_fraction)
    return remote_reasons, head, _compute(ctx, remote, tail), tail


def cascade(ctx: Context) -> Iterator[Candidate]:
    """A small model answers on the device; low-confidence inputs escalate to a larger tier."""
    esc = ctx.workload.escalation
    if esc is None or esc.to not in ctx.devices:
        return
    remote = ctx.devices[esc.to]
    large = ctx.stage
    if esc.model and esc.model != ctx.stage.name:
        large = next((s for s in ctx.smaller if s.name == esc.model), large)
    first = ctx.sources[0]
    remote_recipe, remote_model, entry = _remote_recipe(ctx, remote, large)
    remote_reasons = () if remote_recipe.precision == "served" else _capability(ctx, remote_recipe, remote)
    if remote.kind == "workers-ai" and entry is None:
        remote_reasons = (f"capability: Workers AI runs its own catalog models; add `workers_ai: {{model, accuracy}}` "
                          f"to {large.name} to let it serve the escalations",)
    pooled = remote.kind in ("ec2", "wavelength")
    local = remote.site is not None and all(d.site == remote.site for d in ctx.sources)
    c_large = None  # the large tier's run and network leg: worked out for the first estimated candidate
    for option, here in zip(recipes(ctx, first), _local_runs(ctx), strict=True):
        stage, recipe, small_work, small_acc, size_mb, on_sources = option
        if stage is ctx.stage and recipe.precision not in ("int8", "int4"):
            continue  # the small tier is a variant, or the model itself quantized harder
        placements = (*on_sources, Placement(remote.target, "remote", remote_model, remote_recipe))
        if here.capability or remote_reasons:
            yield Candidate("cascade", placements, None, tuple(dict.fromkeys(here.capability + remote_reasons)))
            continue
        small = here.run
        reasons = list(here.memory)
        if c_large is None:
            large_work = _work(ctx, large, remote_recipe) if not entry else _served_work(ctx, entry, large)
            c_large = _compute(ctx, remote, large_work)
            n50, n95 = _uplink(ctx, ctx.payload_bytes, remote, lan=local)
            large_acc = _workers_ai(ctx, large)[0].accuracy if entry else _accuracy(ctx, large, remote_recipe)
            privacy = _transfer_allowed(ctx, remote, "raw_data")
        s50, s95 = small.p50_ms, small.p95_ms
        if esc.measured:
            acc, rate = esc.measured.accuracy, esc.measured.escalation_rate
        else:
            acc, rate = estimate.cascade_accuracy(small_acc, large_acc)
        pool = _pool(ctx, remote, large_work, _budget_left(ctx, s95, n95), rate) if pooled else None
        if pooled and pool is None:
            yield Candidate("cascade", placements, None,
                            (f"memory: {remote_model} does not fit on the GPUs of {remote.instance_type}",))
            continue
        l50, l95 = (pool.serving.p50_ms, pool.serving.p95_ms) if pool else (c_large.p50_ms, c_large.p95_ms)
        escalated50 = s50 + n50 + l50
        escalated95 = s95 + n95 + l95
        p50 = escalated50 if rate >= 0.5 else s50
        p95 = escalated95 if rate > 0.05 else s95  # more than 5% escalated: the tail is an escalated request
        per_1k_r, monthly_r, instances = _remote_costs(ctx, remote, c_large.p50_ms, rate, entry, reasons, pool)
        per_1k, monthly = _combined((per_1k_r, monthly_r), (here.per_1k, here.monthly))
        notes = (f"escalation rate {rate:.0%} ({'measured' if esc.measured else 'prior'}); "
                 f"small tier alone {small_acc:.3f}, large tier {large_acc:.3f}", *small.unknowns)
        est = Estimates(p50_ms=p50, p95_ms=p95, compute_ms=s50 + rate * l50, network_ms=rate * n50, accuracy=acc,
                        accuracy_drop=ctx.stage.accuracy - acc, model_size_mb=size_mb, energy_mj=small.energy_mj,
                        cost_usd_per_1k=per_1k, cost_usd_per_month=monthly, escalation_rate=rate,
                        utilisation=small.utilisation, instances=instances, notes=notes, pool=pool)
        reasons += privacy
        reasons += small.power  # every request runs the small tier first
        reasons += constraints.common(ctx, est, local_answer=True)
        yield Candidate("cascade", placements, est, tuple(reasons))


def federated(ctx: Context) -> Iterator[Candidate]:
    """Devices of a site extract features locally; a site aggregator combines them."""
    sites = {d.site for d in ctx.sources}
    if None in sites or sum(d.count for d in ctx.sources) < 2:
        return  # the pattern does not apply: devices without a site, or a single device
    placements = _device_placements(ctx, ctx.stage, Recipe(ctx.sources[0].precisions[0] if ctx.sources[0].precisions
                                                          else "fp32"))
    if len(sites) > 1:
        yield Candidate("federated", placements, None, (
            f"federated: the data sources are on sites {', '.join(sorted(sites))}; edgespec plans one site's "
            "aggregator per workload, so declare a workload per site (a multi-site plan is not supported yet)",))
        return
    site = sites.pop()
    on_site = [d for d in _site_devices(ctx, site) if d.target not in ctx.workload.data_source]
    if not on_site:
        yield Candidate("federated", placements, None, (
            f"federated: site {site} has no device besides the data sources to aggregate on; add one "
            "(e.g. a site server) with `site: " + site + "`",))
        return
    points = [(p.name, p.flops_fraction, p.activation_bytes) for p in ctx.root.split_points] \
        if ctx.stage_is_root else []
    points = points or [("output", 1.0, FEATURES_WITHOUT_SPLIT_BYTES)]
    first = ctx.sources[0]
    for cut, fraction, feature_bytes in points:
        net = estimate.transfer(feature_bytes, estimate.LAN_RTT_MS, estimate.LAN_MBPS)
        for agg in _aggregators(ctx, on_site, fraction):
            note = (f"features cut at {cut} go to {agg.target} on site {site}",)
            privacy = _transfer_allowed(ctx, agg, "features")
            agg_recipe, tail_ms, tail95, _ = _aggregator_tail(ctx, agg, fraction)
            for stage, recipe, _, acc, size_mb, on_sources in recipes(ctx, first, variants=False):
                placements = (*on_sources, Placement(agg.target, "aggregator", stage.name, agg_recipe))
                capability = _sources_capable(ctx, recipe)  # each reason once already
                if capability:
                    yield Candidate("federated", placements, None, capability, cut)
                    continue
                head = _work(ctx, stage, recipe, fraction)
                heads = _on_sources(ctx, head)
                tail_energy = estimate.energy_mj(agg.power_w, tail_ms)
                energy = None if heads.energy_mj is None or tail_energy is None else heads.energy_mj + tail_energy
                per_1k, monthly = _device_costs(ctx, energy)
                est = Estimates(p50_ms=heads.p50_ms + net.p50_ms + tail_ms, p95_ms=heads.p95_ms + net.p95_ms + tail95,
                                compute_ms=heads.p50_ms + tail_ms, network_ms=net.p50_ms, accuracy=acc,
                                accuracy_drop=ctx.stage.accuracy - acc, model_size_mb=size_mb, energy_mj=energy,
                                cost_usd_per_1k=per_1k, cost_usd_per_month=monthly, utilisation=heads.utilisation,
                                notes=(*note, *heads.unknowns))
                reasons = [*privacy, *heads.power, *constraints.common(ctx, est, local_answer=True)]
                yield Candidate("federated", placements, est, tuple(reasons), cut)


def _site_devices(ctx: Context, site: str) -> list[Device]:
    """The devices of a site, by name: once per process."""
    return _once(ctx.memo, ("site-devices", site), lambda: sorted(
        (d for d in ctx.devices.values() if d.site == site and d.role == "device"), key=lambda d: d.target))


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
    return _once(ctx.memo, ("aggregators", *_model_key(ctx), fraction, tuple(d.target for d in on_site)),
                 _undominated, ctx, on_site, fraction)


def _undominated(ctx: Context, on_site: list[Device], fraction: float) -> list[Device]:
    tails = _tails(ctx, fraction)
    kept: list[tuple[float, float, float, Device]] = []
    for agg in on_site:  # sorted by name
        _, p50, p95, energy = _once(tails, agg.target, _tail, ctx, agg, fraction)  # _aggregator_tail
        energy = float("inf") if energy is None else energy  # unknown ranks after every known energy
        if any(k50 <= p50 and k95 <= p95 and ke <= energy for k50, k95, ke, _ in kept):
            continue  # matched or beaten on all three by one already kept
        kept = [k for k in kept if not (p50 <= k[0] and p95 <= k[1] and energy <= k[2])]
        kept.append((p50, p95, energy, agg))
    return sorted((k[3] for k in kept), key=lambda d: d.target)


def _aggregator_tail(ctx: Context, agg: Device, fraction: float) -> tuple[Recipe, float, float, float]:
    """An aggregator's share of a federated candidate: its recipe and the tail after the cut
    (p50, p95, energy; nothing when the cut is the output). Once per process per model and pins."""
    return _once(_tails(ctx, fraction), agg.target, _tail, ctx, agg, fraction)


def _tails(ctx: Context, fraction: float) -> dict:
    """Aggregator target -> _tail, for the workload's model and pins and the cut at `fraction`."""
    return _once(ctx.memo, ("aggregator-tails", *_model_key(ctx), fraction), dict)


def _tail(ctx: Context, agg: Device, fraction: float) -> tuple[Recipe, float, float, float]:
    recipe, _, _ = _remote_recipe(ctx, agg, ctx.stage)
    if fraction >= 1.0:
        return recipe, 0.0, 0.0, 0.0
    c = _compute(ctx, agg, _work(ctx, ctx.stage, recipe, 1 - fraction))
    return recipe, c.p50_ms, c.p95_ms, estimate.energy_mj(agg.power_w, c.p50_ms)


def _model_key(ctx: Context) -> tuple:
    """What a workload's model-only results depend on: the model, the stage it runs, the pins and
    (LLMs) the token counts. Workloads that agree on these share those results."""
    opt = ctx.workload.optimize
    return ctx.root_name, ctx.stage.name, opt.precision, opt.prune, ctx.tokens


PATTERN_FUNCTIONS = {
    "on-device": on_device,
    "split": split,
    "cascade": cascade,
    "federated": federated,
    "mec": lambda ctx: remote_whole(ctx, "mec", ("wavelength",)),
    "cloud": lambda ctx: remote_whole(ctx, "cloud", ("ec2", "workers-ai")),
}


def enumerate_all(ctx: Context) -> list[Candidate]:
    pinned = ctx.workload.pattern
    patterns = [pinned] if pinned != "auto" else list(PATTERN_FUNCTIONS)
    return [c for p in patterns for c in PATTERN_FUNCTIONS[p](ctx)]
