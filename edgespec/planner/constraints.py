"""Constraints: each returns the reasons a candidate breaks it (an empty list when it holds).

Reasons are one line each and start with the constraint's name, so `plan --explain` and the
ES501 message read the same way: "latency: p95 212 ms > 50 ms on store-orin". The checks made for
every candidate give templates and arguments, spelled out only for the candidates a plan shows
(types.spell).

Every candidate a pattern forms (a types.Draft) is finished here: `finish` applies each check of
CHECKS in order, and the first broken one names the target the candidate is rejected against. A
new constraint is one check function (ctx, draft) -> (target or None, reasons) and its place in
CHECKS. Capability is the exception: a candidate whose hardware cannot run it has no estimates to
check, so the patterns test it before forming the candidate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgespec import catalog, kinds
from edgespec.planner import estimate, formats
from edgespec.planner.device import Device
from edgespec.planner.types import Candidate, Draft, Recipe

if TYPE_CHECKING:
    from edgespec.planner.context import Context

LEVELS = ("device", "site", "region", "anywhere")
ACTIVATION_FACTOR = 4  # runtime activations ~ a few copies of the input tensor (docs/planner.md)
LLM_RUNTIME_FACTOR = 1.2  # KV cache and runtime on top of the weights


TENSORRT_CLASSES = ("jetson-gpu", "datacenter-gpu")  # int8 engines there are TensorRT's, built from a calibration cache


def capability(
    task: str, declared: tuple[str, ...], recipe: Recipe, device: Device, calibrated: bool = True
) -> list[str]:
    """Why `device` cannot run a `task` model declared in the formats `declared` (its sources') at
    `recipe`; empty when it can. A format is usable when the device loads it or its bundle converts
    it (formats.pick); the message names what the device takes."""
    if device.cls == "client":
        return [
            f"capability: {device.target} is a client fleet without local inference: its requests go to a "
            "remote tier (cloud, mec, Workers AI)"
        ]
    reasons = []
    if not device.runs(task):
        reasons.append(
            f"capability: {device.hardware} does not run {task} models "
            f"({'int8 CNN-style graphs only' if device.cls == 'coral-tpu' else 'unsupported'})"
        )
    if recipe.precision != "served" and recipe.precision not in device.precisions:
        reasons.append(f"capability: {device.hardware} runs {', '.join(device.precisions)}, not {recipe.precision}")
    runtime = estimate.llm_runtime_entry(device) if task == "text-generation" else None
    takes, _ = formats.accepted(device.cls, task == "text-generation")  # what formats.pick picks from
    usable = [f for f in declared if f in takes]
    named = " or ".join(declared)
    if runtime is not None and not usable:
        reasons.append(
            f"capability: {device.hardware} runs LLMs in {runtime['value']}, which loads "
            f"{', '.join(runtime['formats'])} files, not {named} ({runtime['fix']})"
        )
    elif not usable and declared == ("safetensors",) and takes:
        # Hugging Face checkpoints are planned through LLM runtimes (vLLM, MLC, llama.cpp's convert)
        reasons.append(
            f"capability: {device.hardware} serves safetensors checkpoints through an LLM runtime; "
            f"export {task} models to {'ONNX' if 'onnx' in takes else takes[0]}"
        )
    elif not usable:
        kind = kinds.get(device.kind)
        fix = f"; {kind.format_fix}" if kind is not None and kind.format_fix else ""
        reasons.append(f"capability: {device.hardware} cannot load {named} models (takes {', '.join(takes)}){fix}")
    if recipe.precision == "int8" and not calibrated and device.cls in TENSORRT_CLASSES and task != "text-generation":
        reasons.append(
            f"capability: int8 on {device.hardware} is a TensorRT engine built from a calibration cache; "
            f"declare `calibration:` on {recipe.variant or 'the model'}"
        )
    if recipe.accelerator == "dla" and device.dla_cores == 0:
        reasons.append(f"capability: {device.hardware} has no DLA")
    return reasons


def resident_bytes(weight_bytes: float, generates: bool, input_bytes: float, kv_bytes: float = 0.0) -> float:
    """What a model takes of a device's memory while loaded: its weights (x1.2 for a model that
    generates tokens: KV cache and runtime), a runtime's KV cache when it is modelled explicitly
    (llama.cpp's, for the planned context), and its activations."""
    return weight_bytes * (LLM_RUNTIME_FACTOR if generates else 1.0) + kv_bytes + input_bytes * ACTIVATION_FACTOR


def memory(device: Device, work: estimate.Work, input_bytes: float, gpus: int = 1) -> list[str]:
    """The weights, runtime and activations within the usable memory (`gpus`: a remote instance's
    GPUs, which a model too large for one spans by tensor parallelism)."""
    if device.memory_bytes is None:
        return []
    need = resident_bytes(work.weight_bytes, bool(work.output_tokens), input_bytes, work.kv_bytes)
    have = device.memory_bytes * gpus
    if need > have:
        on = f" on {gpus} GPUs" if gpus > 1 else ""
        return [
            f"memory: needs {need / 1e9:.2f} GB, {device.target} ({device.hardware}) has {have / 1e9:.2f} GB usable{on}"
        ]
    return []


def distance(source: Device, dest: Device) -> str:
    """How far data travels from a data source to `dest`, as a privacy level."""
    if dest.target == source.target:
        return "device"
    if source.site and dest.site == source.site:
        return "site"
    if dest.remote is not None and dest.remote.global_network:
        return "anywhere"  # served from whichever of its locations is nearest (Workers AI)
    if (
        source.jurisdiction
        and dest.jurisdiction
        and (dest.jurisdiction == source.jurisdiction or catalog.within(dest.jurisdiction, (source.jurisdiction,)))
    ):
        return "region"  # the same country, or a country of the source's bloc (eu, eea)
    return "anywhere"  # a source without a jurisdiction cannot be shown to stay in its region (ES315)


def _where(level: str, source: Device, dest: Device) -> str:
    """How far `dest` is, as a reason says it: a target in a known country is named by it, never
    just 'anywhere'."""
    if level != "anywhere" or (dest.remote is not None and dest.remote.global_network) or dest.jurisdiction is None:
        return level
    if source.jurisdiction is None:
        return f"in {dest.jurisdiction.upper()}; {source.target} declares no jurisdiction"
    return f"in {dest.jurisdiction.upper()}, outside {source.jurisdiction.upper()}"


def transfer_allowed(ctx: Context, dest: Device, what: str) -> list[str]:
    """Privacy (`raw_data` or `features` may reach `dest`) and residency."""
    privacy = ctx.workload.privacy
    allowed = getattr(privacy, what)
    reasons = []
    for source in ctx.sources:
        level = distance(source, dest)
        if LEVELS.index(level) > LEVELS.index(allowed):
            reasons.append(
                f"privacy: {what}={allowed} forbids sending {'input' if what == 'raw_data' else 'features'} "
                f"from {source.target} to {dest.target} ({_where(level, source, dest)})"
            )
            break
    if privacy.residency and dest.role == "remote":
        if dest.remote is not None and dest.remote.global_network:
            reasons.append(
                f"residency: {dest.target} ({dest.remote.label}) may run anywhere; residency is "
                f"{', '.join(privacy.residency)}"
            )
        elif not catalog.within(dest.jurisdiction, privacy.residency):
            where = dest.jurisdiction.upper() if dest.jurisdiction else "unknown (set `jurisdiction` or `region`)"
            reasons.append(f"residency: {dest.target} is in {where}; residency is {', '.join(privacy.residency)}")
    return reasons


_POWER = "power: {:.2f} W average on {} at {:g} rps ({:.0%} busy at {:g} W{}) > power_budget_w {:g} W"
_POWER_BUSY = "power: {} draws {:g} W while busy{} > power_budget_w {:g} W (no throughput.rps to average over)"


def draw_w(device: Device, busy: float | None) -> float:
    """A device's average draw for inference: its power while busy (at its power mode) times the
    share of time it is busy (at most all of it); without a share (no rate), the power while busy."""
    return device.power_w if busy is None else device.power_w * min(busy, 1.0)


def power(rps: float, dev: Device, c: estimate.Compute) -> tuple | None:
    """`power_budget_w`: a budgeted device's average draw for the workload (c: its run there)
    within its budget; None when it holds. Idle power is not counted: the budget is what inference
    may add (docs/planner.md)."""
    budget = dev.power_budget_w
    if budget is None or dev.power_w is None:
        return None  # without a power figure the budget cannot be checked (ES503 says so)
    draw = draw_w(dev, rps * c.p50_ms / 1000 if rps else None)
    if draw <= budget + 1e-9:
        return None
    mode = f", {dev.power_mode} mode" if dev.power_mode else ""  # draw > budget, so power_w > 0
    if rps:
        return (_POWER, draw, dev.target, rps, draw / dev.power_w, dev.power_w, mode, budget)
    return (_POWER_BUSY, dev.target, dev.power_w, f" ({dev.power_mode} mode)" if mode else "", budget)


# the checks' reasons: (template, *args), spelled out by types.spell
_P50 = "latency: p50 {:.1f} ms > {:g} ms (from {})"
_P95 = "latency: p95 {:.1f} ms > {:g} ms (from {})"
_P99 = "latency: p99 {:.1f} ms > {:g} ms (from {})"
_BUSY = f"throughput: {{:g}} rps keeps {{}} {{:.0%}} busy (limit {estimate.UTILISATION_HEADROOM:.0%})"
_DROP = "accuracy: drop {:.3f} > max_drop {:g}"
_MIN = "accuracy: {:.3f} < min {:g}"
_OFFLINE = "offline: offline=required, but this pattern cannot answer without the uplink"


# a remote pool's or Workers AI's reasons, as templates
NEEDS = "throughput: needs {} x {} on {} for {:g} rps ({:.1f} rps each at {} {}, {:.0%} busy), {} is {}"
RATE_LIMIT = "throughput: {:g} rps to {} exceeds the Workers AI limit of {:g} requests/minute ({:.1f} rps) for {}"


def violation(reason) -> float:
    """How far a broken constraint is from holding, relative to its limit (0.068: 6.8% over a
    latency budget); infinite for a constraint no margin can meet (capability, privacy, memory,
    offline), which are reasons written as text."""
    if type(reason) is str:
        return float("inf")
    template, *args = reason
    if template in (_P50, _P95, _P99, _DROP):
        value, limit = args[0], args[1]
    elif template is _MIN:
        value, limit = -args[0], -args[1]  # accuracy below its minimum
    elif template is _BUSY:
        value, limit = args[2], estimate.UTILISATION_HEADROOM
    elif template is _POWER:
        value, limit = args[0], args[-1]
    elif template is _POWER_BUSY:
        value, limit = args[1], args[-1]
    elif template is NEEDS:
        value, limit = args[0], args[-1]
    elif template is RATE_LIMIT:
        value, limit = args[0], args[3]
    else:
        return float("inf")
    return (value - limit) / abs(limit) if limit else float("inf")


# -- the checks every formed candidate goes through (finish) ----------------------------------------
# A check appends the reasons a draft breaks it by to `out` and returns the target they are
# against ("" when it is the workload as a whole), or None when it holds.
def check_memory(ctx: Context, d: Draft, out: list) -> str | None:
    """Everything resident on a device (weights, runtime, activations) within its usable memory;
    a remote pool with no batching the instance's GPUs hold."""
    target = None
    for dev, work, gpus in d.resident:
        key = (dev.target, work, gpus, ctx.payload_bytes)
        found = ctx.memo.memory.get(key)
        if found is None:
            found = ctx.memo.memory[key] = memory(dev, work, ctx.payload_bytes, gpus)
        if found:
            target = target or dev.target
            out += found
    remote = d.remote
    if target is None and remote is not None and remote.pooled and d.estimates.pool is None:
        model = next(p.model for p in d.placements if p.target == remote.target)
        out.append(f"memory: {model} does not fit on the GPUs of {remote.instance_type}")
        return remote.target
    return target


def check_capacity(ctx: Context, d: Draft, out: list) -> str | None:
    """A remote pool's bound (a fixed `count`, `scaling.max`) holds the instances its share of the
    requests needs; Workers AI's rate limit holds that share."""
    remote = d.remote
    if remote is None:
        return None
    total = ctx.total_rps
    sized = d.estimates.pool
    if sized is not None:
        if sized.limit is not None and sized.needed > sized.limit:
            s = sized.serving
            bound = "count" if sized.fixed else "scaling.max"
            out.append(
                (
                    NEEDS,
                    sized.needed,
                    remote.instance_type,
                    remote.target,
                    (total or 0.0) * d.share,
                    s.capacity_rps,
                    "batch" if s.mode == "dynamic" else "concurrency",
                    s.batch,
                    estimate.UTILISATION_HEADROOM,
                    bound,
                    sized.limit,
                )
            )
            return remote.target
    elif remote.catalog_models:
        entry = d.entry or {}
        limit = remote.rate_limit_per_minute or estimate.workers_ai_rate_limit(entry, ctx.task)
        if total is not None and limit is not None and total * d.share > limit / 60:
            out.append((RATE_LIMIT, total * d.share, remote.target, limit, limit / 60, entry.get("id")))
            return remote.target
    return None


def check_privacy(ctx: Context, d: Draft, out: list) -> str | None:
    """Privacy (how far raw data or features may go) and residency, for each transfer the
    candidate makes: once per workload and destination."""
    target = None
    for dest, what in d.sends:
        key = (dest.target, what)
        found = ctx.local.transfer.get(key)
        if found is None:
            found = ctx.local.transfer[key] = transfer_allowed(ctx, dest, what)
        if found:
            target = target or dest.target
            out += found
    return target


def check_power(ctx: Context, d: Draft, out: list) -> str | None:
    """Each budgeted data source's average draw for what it runs of the candidate."""
    target = None
    if d.run is not None:
        for dev, c in d.run.results:
            reason = power(ctx.rps, dev, c)
            if reason is not None:
                target = target or dev.target
                out.append(reason)
    return target


def check_latency(ctx: Context, d: Draft, out: list) -> str | None:
    """The p50, p95 and p99 budgets (p99 from the p95 estimate: one more step of the same tail,
    docs/planner.md)."""
    limits = ctx.limits
    p50_budget, p95_budget, p99_budget = limits.p50_ms, limits.p95_ms, limits.p99_ms
    e = d.estimates
    n = len(out)
    p50, p95 = e.p50_ms, e.p95_ms
    if p50_budget is not None and p50 > p50_budget:
        out.append((_P50, p50, p50_budget, ctx.where))
    if p95_budget is not None and p95 > p95_budget:
        out.append((_P95, p95, p95_budget, ctx.where))
    if p99_budget is not None and 2 * p95 - p50 > p99_budget:
        out.append((_P99, 2 * p95 - p50, p99_budget, ctx.where))
    return "" if len(out) > n else None


def check_throughput(ctx: Context, d: Draft, out: list) -> str | None:
    """The declared rate keeps the busiest data source within the headroom."""
    busy = d.estimates.utilisation
    if busy is not None and busy > estimate.UTILISATION_HEADROOM:
        out.append((_BUSY, ctx.workload.throughput.rps, ctx.where, busy))
        return ctx.sources[0].target
    return None


def check_accuracy(ctx: Context, d: Draft, out: list) -> str | None:
    max_drop, min_accuracy = ctx.limits.max_drop, ctx.limits.min_accuracy
    e = d.estimates
    n = len(out)
    if max_drop is not None and e.accuracy_drop > max_drop + 1e-9:
        out.append((_DROP, e.accuracy_drop, max_drop))
    if min_accuracy is not None and e.accuracy < min_accuracy - 1e-9:
        out.append((_MIN, e.accuracy, min_accuracy))
    return "" if len(out) > n else None


def check_offline(ctx: Context, d: Draft, out: list) -> str | None:
    if d.local_answer or not ctx.limits.offline:
        return None
    out.append(_OFFLINE)
    return ""


def _always(ctx: Context) -> bool:
    return True


# In this order: the first broken check gives a candidate's headline reason. Each with when it can
# break for a workload at all: finish skips the others for all of the workload's candidates (a
# check also holds on its own where it cannot break, so skipping it changes nothing).
CHECKS = (
    (check_memory, _always),
    (check_capacity, _always),
    (check_privacy, _always),
    (check_power, lambda ctx: ctx.budgeted),
    (check_latency, lambda ctx: any(v is not None for v in ctx.limits[:3])),  # p50, p95, p99
    (check_throughput, lambda ctx: bool(ctx.rps)),
    (check_accuracy, lambda ctx: ctx.limits.max_drop is not None or ctx.limits.min_accuracy is not None),
    (check_offline, lambda ctx: ctx.limits.offline),
)


def finish(ctx: Context, d: Draft) -> Candidate:
    """The candidate `d` with every constraint it breaks (after what the pattern found forming it)
    and the target the first one is against."""
    checks = ctx.local.checks
    if checks is None:
        checks = ctx.local.checks = tuple(check for check, applies in CHECKS if applies(ctx))
    reasons = list(d.found)
    blame, headline = None, not reasons  # the first check to break gives the headline and its target
    for check in checks:
        target = check(ctx, d, reasons)
        if headline and target is not None:
            blame, headline = target or None, False
    return Candidate(d.pattern, d.placements, d.estimates, tuple(reasons), d.cut, blame)
