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
from typing import NamedTuple

from edgespec import catalog
from edgespec.catalog import value
from edgespec.planner import estimate
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


class Pool(NamedTuple):
    """A remote pool sized for a demand."""

    serving: Serving
    demand_rps: float | None  # None: no declared rate
    needed: int  # instances the demand needs at HEADROOM
    instances: int  # what the pool runs (fixed count, or needed within the scaling bounds)
    limit: int | None  # count (fixed) or scaling.max, when one applies
    fixed: bool
    minimum: int  # scaling.min (a fixed pool: its count)
    instance_type: str | None
    region: str | None
    zone: str | None
    price_per_hour: float | None  # None: not in the catalog for this region

    def as_json(self) -> dict:
        """The pool as the plan's JSON contract shows it (docs/planner.md)."""
        s = self.serving
        return {"instances": self.instances, "needed": self.needed, "fixed": self.fixed, "min": self.minimum,
                "max": self.limit, "demand_rps": None if self.demand_rps is None else round(self.demand_rps, 6),
                "capacity_rps_per_instance": round(s.capacity_rps, 3), "headroom": HEADROOM,
                "batching": s.mode, "batch": s.batch, "replicas_per_instance": s.replicas,
                "gpus_per_replica": s.gpus_per_replica, "bound": s.bound, "instance_type": self.instance_type,
                "region": self.region, "zone": self.zone, "price_usd_per_hour": self.price_per_hour}


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


def _overhead_and_efficiency(device: Device, precision: str) -> tuple[float, float, dict]:
    cal, k = estimate.class_constants(device, precision)
    return k["overhead_ms"], k["efficiency"], cal


def _fit(device: Device, work: estimate.Work, usable: float) -> int | None:
    """GPUs one replica needs for the weights (a power of two up to the instance's GPUs)."""
    need = work.weight_bytes * (1.2 if work.output_tokens else 1.0)
    k = 1
    while k <= device.gpus:
        if need <= usable * k:
            return k
        k *= 2
    return None


def dynamic(device: Device, work: estimate.Work, budget_ms: float | None, rate: float | None,
            eff_max: float | None = None) -> Serving:
    """Triton dynamic batching on one instance (`rate`: the instance's share of the demand, rps;
    `budget_ms`: the p95 left for compute and queueing)."""
    overhead, eff1, cal = _overhead_and_efficiency(device, work.precision)
    p95_factor = cal["p95_over_p50"]
    eff_max = eff_max if eff_max is not None else value(_constants()["dynamic_batching"]["efficiency_max"])
    peak = device.peak_tops[work.precision] * 1e12
    memory_ms = work.weight_bytes / (device.bandwidth_gbs * 1e9 * cal["bandwidth_efficiency"]) * 1e3 \
        if device.bandwidth_gbs else 0.0
    best = None
    for b in _constants()["dynamic_batching"]["batch_sizes"]:
        eff = eff1 + (eff_max - eff1) * (1 - 1 / b)
        compute_ms = b * work.gflops * 1e9 / (peak * eff) * 1e3
        t = overhead + max(compute_ms, memory_ms)
        capacity = b / t * 1e3 * device.gpus
        # at the planned load each GPU receives rate/gpus rps: a batch of b waits (b-1)/rate_gpu to fill
        per_gpu = (rate if rate else HEADROOM * capacity) / device.gpus
        wait = (b - 1) / per_gpu * 1e3 if b > 1 else 0.0
        p50, p95 = t + wait / 2, t * p95_factor + wait
        if budget_ms is not None and p95 > budget_ms and best is not None:
            break  # larger batches wait longer still
        bound = "compute" if compute_ms >= memory_ms else "memory"
        candidate = Serving("dynamic", b, device.gpus, 1, capacity, p50, p95, bound)
        if best is None or (capacity > best.capacity_rps and (budget_ms is None or p95 <= budget_ms)):
            best = candidate
    return best


def continuous(device: Device, work: estimate.Work, budget_ms: float | None, rate: float | None,
               architecture=None, constants: dict | None = None) -> Serving | None:
    """Continuous batching of a text-generation model on one instance (None: the weights do not
    fit on its GPUs)."""
    cb = constants or {k: value(v) for k, v in _constants()["continuous_batching"].items()
                       if k != "default_architectures"}
    cal, _ = estimate.class_constants(device, work.precision)
    usable = device.memory_bytes or 0.0
    k = _fit(device, work, usable)
    if k is None:
        return None
    replicas = device.gpus // k
    peak = device.peak_tops[work.precision] * 1e12 * k
    bandwidth = device.bandwidth_gbs * 1e9 * cal["bandwidth_efficiency"] * k
    kv = kv_bytes_per_token(work.params, work.precision, architecture)
    prompt, output = work.prompt_tokens, max(work.output_tokens, 1)
    flops_per_token = work.gflops * 1e9
    prefill_ms = prompt * flops_per_token / (peak * cb["prefill_efficiency"]) * 1e3
    free = usable * k - work.weight_bytes
    kv_cap = int(free // (kv * (prompt + output))) if kv > 0 else 10 ** 6
    cap = min(int(cb["max_sequences"]), kv_cap)
    if cap < 1:
        return None
    context = prompt + output / 2

    def at(c: int) -> tuple[float, float, str]:
        memory_ms = (work.weight_bytes + c * kv * context) / bandwidth * 1e3
        compute_ms = c * flops_per_token / (peak * cb["decode_efficiency"]) * 1e3
        step = max(memory_ms, compute_ms)
        per_request = prefill_ms + output * step / c  # GPU time one request costs at concurrency c
        return step, per_request, "memory" if memory_ms >= compute_ms else "compute"

    best = None
    c = 1
    while True:
        step, per_request, bound = at(c)
        latency = c * per_request  # Little's law: c in flight, each taking this long
        capacity = 1e3 / per_request * replicas
        p95 = latency * cal["p95_over_p50"]
        fits = budget_ms is None or p95 <= budget_ms
        if fits or best is None:
            limit = "kv-cache" if c == kv_cap else ("runtime" if c == cap else bound)
            best = Serving("continuous", c, replicas, k, capacity, latency, p95, limit if fits else "latency")
        if not fits or c >= cap:
            break
        c = min(cap, c * 2)
    if rate and best.capacity_rps * HEADROOM > rate and best.batch > 1:
        # below saturation the pool runs fewer sequences at once: latency at the concurrency the
        # planned load keeps in flight (Little's law), no lower than one sequence's
        c = max(1, min(best.batch, math.ceil(rate / replicas * best.p50_ms / 1e3)))
        step, per_request, bound = at(c)
        latency = max(c * per_request, prefill_ms + output * at(1)[0])
        best = best._replace(p50_ms=latency, p95_ms=latency * cal["p95_over_p50"])
    return best


def size(device: Device, serving: Serving, demand_rps: float | None) -> Pool:
    """The pool for `demand_rps` (None: no declared rate, one instance is costed) within the
    target's bounds: `count` fixes the pool; `scaling` bounds an autoscaled one."""
    if demand_rps is None:
        needed = 1
    else:
        per = HEADROOM * serving.capacity_rps
        needed = max(1, math.ceil(demand_rps / per - 1e-9)) if per > 0 else 10 ** 9
    where = (device.instance_type, device.region, device.zone, device.price_per_hour)
    if device.pool_fixed is not None:
        return Pool(serving, demand_rps, needed, device.pool_fixed, device.pool_fixed, True, device.pool_fixed, *where)
    instances = max(needed, device.pool_min)
    return Pool(serving, demand_rps, needed, instances, device.pool_max, False, device.pool_min, *where)
