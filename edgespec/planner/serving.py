"""How a remote GPU pool serves a stream of requests: the batching a server really uses, the
capacity of one instance at it, and the pool size that demand needs.

- CNNs and encoders: Triton dynamic batching. A batch of b costs the class's per-inference
  overhead once plus b x the FLOPs at an efficiency that grows with the batch; requests wait for
  their batch to fill. The planner takes the batch with the most capacity whose p95 (compute plus
  batch wait at the instance's share of the demand) fits the compute budget.
- Text generation: continuous batching (vLLM). c sequences decode together: one step reads the
  weights once and each sequence's KV cache, and computes c tokens; prompts prefill at the
  compute rate. Concurrency is bounded by the KV cache that fits beside the weights and by the
  runtime's sequence cap. The planner takes the concurrency with the most capacity whose
  per-request latency fits the budget.

Constants: catalog/serving.yaml (each with its source); docs/planner.md explains the terms and
bench/serving_error.py reports the error against published serving benchmarks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

from edgespec import catalog
from edgespec.catalog import value
from edgespec.planner import constraints, estimate
from edgespec.planner.device import Device

HEADROOM = estimate.UTILISATION_HEADROOM  # an instance is sized to run at most this busy


class Serving(NamedTuple):
    """One instance of a remote pool serving a model at the chosen batching."""

    mode: str  # "dynamic" (CNN/encoder batches) | "continuous" (LLM sequences)
    batch: int  # batch size, or concurrent sequences per replica
    replicas: int  # model replicas per instance (GPUs / GPUs per replica)
    gpus_per_replica: int
    capacity_rps: float  # per instance, saturated (the pool is sized at HEADROOM of it)
    p50_ms: float  # one request's compute and batch wait at the planned load
    p95_ms: float
    bound: str  # compute | memory | kv-cache | runtime | latency
    queue_ms: float = 0.0  # dynamic batching: how long a batch waits to fill at the planned load
    basis: str = "estimated"  # | measured | scaled from measured (planner.measured)


class Pool(NamedTuple):
    """A remote pool sized for a demand."""

    serving: Serving
    demand_rps: float | None  # None: no declared rate
    needed: int  # instances the demand needs at HEADROOM
    instances: int  # what the pool runs (fixed count, or needed within the scaling bounds)
    limit: int | None  # count (fixed) or scaling.max, when one applies
    fixed: bool
    minimum: int  # scaling.min (a fixed pool: its count)
    target: str
    instance_type: str | None
    region: str | None
    zone: str | None
    price_per_hour: float | None  # None: not in the catalog for this region

    def as_json(self) -> dict:
        """The pool as the plan's JSON contract shows it (docs/planner.md)."""
        s = self.serving
        return {
            "instances": self.instances,
            "needed": self.needed,
            "fixed": self.fixed,
            "min": self.minimum,
            "max": self.limit,
            "demand_rps": None if self.demand_rps is None else round(self.demand_rps, 6),
            "capacity_rps_per_instance": round(s.capacity_rps, 3),
            "headroom": HEADROOM,
            "batching": s.mode,
            "batch": s.batch,
            "basis": s.basis,
            "replicas_per_instance": s.replicas,
            "gpus_per_replica": s.gpus_per_replica,
            "bound": s.bound,
            "instance_type": self.instance_type,
            "serving_p95_ms": round(s.p95_ms, 3),
            "queue_delay_ms": round(s.queue_ms, 3),
            "region": self.region,
            "zone": self.zone,
            "price_usd_per_hour": self.price_per_hour,
        }


@functools.cache
def _constants() -> dict:
    return catalog._load("serving.yaml")


def kv_bytes_per_token(params: float, precision: str, architecture=None) -> float:
    """KV cache per token: 2 (K and V) x layers x kv_heads x head_dim values, at one byte for
    int8/fp8 serving and two otherwise. Without a declared architecture, the Llama 3 shape
    nearest in parameter count (serving.yaml)."""
    if architecture is None:
        table = _constants()["continuous_batching"]["default_architectures"]
        architecture = min(table, key=lambda a: abs(math.log(a["params"] / params)))
        layers, heads, dim = architecture["layers"], architecture["kv_heads"], architecture["head_dim"]
    else:
        layers, heads, dim = architecture.layers, architecture.kv_heads, architecture.head_dim
    return 2.0 * layers * heads * dim * (1.0 if precision == "int8" else 2.0)


def _overhead_and_efficiency(device: Device, work: estimate.Work) -> tuple[float, float, float, dict]:
    """(overhead, batch-1 efficiency, the op class's factor on it, class constants): as
    estimate.compute reads them, so a pool at batch 1 agrees with the estimator."""
    cal, k = estimate.class_constants(device, work.precision)
    op = cal.get("op_class_efficiency", {}).get(work.op_class, 1.0) if work.op_class else 1.0
    overhead = estimate.overhead_ms(cal, k, device.peak_tops.get(work.precision, 0.0))
    return overhead, k["efficiency"] * op, op, cal


def _fit(device: Device, work: estimate.Work, usable: float) -> int | None:
    """GPUs one replica needs for the weights (a power of two up to the instance's GPUs)."""
    need = work.weight_bytes * (constraints.LLM_RUNTIME_FACTOR if work.output_tokens else 1.0)
    k = 1
    while k <= device.gpus:
        if need <= usable * k:
            return k
        k *= 2
    return None


def dynamic_options(
    device: Device, work: estimate.Work, eff_max: float | None = None, measured: Callable | None = None
) -> tuple[Serving, ...]:
    """Triton dynamic batching on one instance, one option per preferred batch size, each at the
    load the pool is sized for (HEADROOM of its capacity): a batch of b waits (b-1)/rate to fill.
    The same for every workload of the model, so the planner works them out once per process and
    `choose` picks per budget. `measured(b, t, t95, t1)`: a batch's time from the records
    (planner.measured.batched), given the estimator's for it and for batch 1."""
    overhead, eff1, op, cal = _overhead_and_efficiency(device, work)
    p95_factor = cal["p95_over_p50"]
    eff_max = (eff_max if eff_max is not None else value(_constants()["dynamic_batching"]["efficiency_max"])) * op
    peak = device.peak_tops[work.precision] * 1e12
    memory_ms = (
        work.weight_bytes / (device.bandwidth_gbs * 1e9 * cal["bandwidth_efficiency"]) * 1e3
        if device.bandwidth_gbs
        else 0.0
    )
    options = []
    t1 = overhead + max(work.gflops * 1e9 / (peak * eff1) * 1e3, memory_ms)
    for b in _constants()["dynamic_batching"]["batch_sizes"]:
        eff = eff1 + (eff_max - eff1) * (1 - 1 / b)
        compute_ms = b * work.gflops * 1e9 / (peak * eff) * 1e3
        t = overhead + max(compute_ms, memory_ms)
        t95, basis = t * p95_factor, "estimated"
        bound = "compute" if compute_ms >= memory_ms else "memory"
        if measured is not None:
            t, t95, basis = measured(b, t, t95, t1)
            bound = "measured" if basis != "estimated" else bound
        capacity = b / t * 1e3 * device.gpus
        per_gpu = HEADROOM * capacity / device.gpus
        wait = (b - 1) / per_gpu * 1e3 if b > 1 else 0.0
        options.append(Serving("dynamic", b, device.gpus, 1, capacity, t + wait / 2, t95 + wait, bound, wait, basis))
    return tuple(options)


def choose(options: tuple[Serving, ...], budget_ms: float | None) -> Serving:
    """The option with the most capacity whose p95 fits the budget; when none fits, the fastest
    (the smallest batch), marked latency-bound so the latency constraint names it."""
    best = None
    for s in options:
        if (budget_ms is None or s.p95_ms <= budget_ms) and (best is None or s.capacity_rps > best.capacity_rps):
            best = s
    return best if best is not None else options[0]._replace(bound="latency")


def dynamic(device: Device, work: estimate.Work, budget_ms: float | None, eff_max: float | None = None) -> Serving:
    """Triton dynamic batching at the batch `choose` takes for the budget."""
    return choose(dynamic_options(device, work, eff_max), budget_ms)


class _Decode(NamedTuple):
    """What continuous batching of one model on one instance's GPUs costs, per concurrency."""

    replicas: int
    gpus_per_replica: int
    prefill_ms: float
    weight_bytes: float
    kv_context_bytes: float  # the KV cache one sequence reads per step, at its mean context
    bandwidth: float  # bytes/s, the replica's GPUs together
    decode_flops_per_ms: float
    flops_per_token: float
    output: int
    kv_cap: int  # sequences whose KV cache fits beside the weights
    cap: int  # the runtime's cap, or kv_cap when lower
    p95_factor: float

    def at(self, c: int) -> tuple[float, float, str]:
        """(one decode step, the GPU time one request costs, the bound) at c sequences."""
        memory_ms = (self.weight_bytes + c * self.kv_context_bytes) / self.bandwidth * 1e3
        compute_ms = c * self.flops_per_token / self.decode_flops_per_ms
        step = max(memory_ms, compute_ms)
        return step, self.prefill_ms + self.output * step / c, "memory" if memory_ms >= compute_ms else "compute"


def _decode(device: Device, work: estimate.Work, architecture, constants: dict | None) -> _Decode | None:
    cb = constants or {
        k: value(v) for k, v in _constants()["continuous_batching"].items() if k != "default_architectures"
    }
    cal, _ = estimate.class_constants(device, work.precision)
    usable = device.memory_bytes or 0.0
    k = _fit(device, work, usable)
    if k is None:
        return None
    peak = device.peak_tops[work.precision] * 1e12 * k
    kv = kv_bytes_per_token(work.params, work.precision, architecture)
    prompt, output = work.prompt_tokens, max(work.output_tokens, 1)
    flops_per_token = work.gflops * 1e9
    free = usable * k - work.weight_bytes
    kv_cap = int(free // (kv * (prompt + output))) if kv > 0 else 10**6
    cap = min(int(cb["max_sequences"]), kv_cap)
    if cap < 1:
        return None
    return _Decode(
        device.gpus // k,
        k,
        prompt * flops_per_token / (peak * cb["prefill_efficiency"]) * 1e3,
        work.weight_bytes,
        kv * (prompt + output / 2),
        # decode streams the weights and the KV cache from HBM at its own fitted efficiency (batch-1
        # latencies, which fit the class's, do not measure it)
        device.bandwidth_gbs * 1e9 * cb["bandwidth_efficiency"] * k,
        peak * cb["decode_efficiency"] / 1e3,
        flops_per_token,
        output,
        kv_cap,
        cap,
        cal["p95_over_p50"],
    )


def continuous_options(
    device: Device, work: estimate.Work, architecture=None, constants: dict | None = None
) -> tuple[Serving, ...] | None:
    """Continuous batching of a text-generation model on one instance, one option per concurrency
    (doubling up to the KV-cache and runtime caps), each saturated: c sequences in flight, each
    taking c x the GPU time one costs (Little's law). None: the weights do not fit the GPUs."""
    d = _decode(device, work, architecture, constants)
    if d is None:
        return None
    options = []
    c = 1
    while True:
        _, per_request, bound = d.at(c)
        latency = c * per_request
        limit = "kv-cache" if c == d.kv_cap else ("runtime" if c == d.cap else bound)
        options.append(
            Serving(
                "continuous",
                c,
                d.replicas,
                d.gpus_per_replica,
                1e3 / per_request * d.replicas,
                latency,
                latency * d.p95_factor,
                limit,
            )
        )
        if c >= d.cap:
            return tuple(options)
        c = min(d.cap, c * 2)


def at_load(
    device: Device, work: estimate.Work, chosen: Serving, rate: float, architecture=None, constants: dict | None = None
) -> Serving:
    """A continuous-batching instance below saturation runs fewer sequences at once: its latency
    at the concurrency `rate` (rps per instance) keeps in flight, no lower than one sequence's."""
    if not rate or chosen.batch <= 1 or chosen.capacity_rps * HEADROOM <= rate:
        return chosen
    d = _decode(device, work, architecture, constants)
    c = max(1, min(chosen.batch, math.ceil(rate / d.replicas * chosen.p50_ms / 1e3)))
    latency = max(c * d.at(c)[1], d.prefill_ms + d.output * d.at(1)[0])
    return chosen._replace(p50_ms=latency, p95_ms=latency * d.p95_factor)


def continuous(
    device: Device,
    work: estimate.Work,
    budget_ms: float | None,
    rate: float | None,
    architecture=None,
    constants: dict | None = None,
) -> Serving | None:
    """Continuous batching at the concurrency `choose` takes for the budget, at `rate` (rps per
    instance) when one is given (None: the weights do not fit on the instance's GPUs)."""
    options = continuous_options(device, work, architecture, constants)
    if options is None:
        return None
    chosen = choose(options, budget_ms)
    return at_load(device, work, chosen, rate, architecture, constants) if rate else chosen


def note(pool: Pool) -> str:
    """The sizing arithmetic, as `plan --explain` shows it."""
    s = pool.serving
    how = (
        (f"batch {s.batch}" if s.mode == "dynamic" else f"{s.batch} concurrent sequences")
        + (f" x {s.replicas} replicas" if s.replicas > 1 else "")
        + (f" (tensor-parallel over {s.gpus_per_replica} GPUs)" if s.gpus_per_replica > 1 else "")
    )
    price = (
        f"${pool.price_per_hour:g}/h"
        if pool.price_per_hour is not None
        else f"no on-demand price for {pool.instance_type} in {pool.region} in edgespec's catalog: cost unknown"
    )
    demand = "no declared rate" if pool.demand_rps is None else f"{pool.demand_rps:g} rps"
    bound = (
        "fixed by count"
        if pool.fixed
        else f"scaling {pool.minimum}..{pool.limit if pool.limit is not None else 'unbounded'}"
    )
    return (
        f"{pool.target}: {pool.instances} x {pool.instance_type} in {pool.zone or pool.region} ({bound}): "
        f"{demand} / ({s.capacity_rps:.1f} rps per instance at {how}, {s.bound}-bound, x {HEADROOM:.0%} busy) "
        f"-> {pool.needed} needed; {price}"
    )


def size(device: Device, serving: Serving, demand_rps: float | None) -> Pool:
    """The pool for `demand_rps` (None: no declared rate, one instance is costed) within the
    target's bounds: `count` fixes the pool; `scaling` bounds an autoscaled one."""
    if demand_rps is None:
        needed = 1
    else:
        per = HEADROOM * serving.capacity_rps
        needed = max(1, math.ceil(demand_rps / per - 1e-9)) if per > 0 else 10**9
    where = (device.target, device.instance_type, device.region, device.zone, device.price_per_hour)
    if device.pool_fixed is not None:
        return Pool(serving, demand_rps, needed, device.pool_fixed, device.pool_fixed, True, device.pool_fixed, *where)
    instances = max(needed, device.pool_min)
    return Pool(serving, demand_rps, needed, instances, device.pool_max, False, device.pool_min, *where)
