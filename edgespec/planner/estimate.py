"""The estimator's terms: compute latency (a calibrated roofline), network, accuracy, energy, cost.

Each function is pure and documented in docs/planner.md. Constants come from the catalogs
(figures with sources) and from calibration.yaml (fitted on the published benchmarks).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

from edgespec import catalog
from edgespec.catalog import value
from edgespec.planner.device import Device
from edgespec.spec.models import DTYPE_BYTES

BYTES_PER_PARAM = {"fp32": 4.0, "fp16": 2.0, "int8": 1.0, "int4": 0.5}
SECONDS_PER_MONTH = 30 * 24 * 3600
HOURS_PER_MONTH = 730

# Model assumptions (not hardware figures), documented in docs/planner.md:
NETWORK_P95_RTT_FACTOR = 1.5  # tail RTT on shared links
NETWORK_P95_BANDWIDTH_SHARE = 0.5  # share of the nominal uplink available at the tail
LAN_RTT_MS = 1.0  # a same-site hop on switched Ethernet
LAN_MBPS = 1000.0
UTILISATION_HEADROOM = 0.7  # queueing grows sharply past ~70% utilisation (M/M/1: wait = rho/(1-rho))


class Work(NamedTuple):
    """What one stage computes: FLOPs and weights at a precision (an LLM adds token counts)."""

    gflops: float  # per inference; per token for text generation
    params: float
    precision: str
    prompt_tokens: int = 0
    output_tokens: int = 0
    accelerator: str | None = None  # "dla" on Jetson when the plan uses a DLA core
    cpu_fraction: float = 0.0  # share of FLOPs an accelerator leaves to its host CPU (Coral)
    io_bytes: float = 0.0  # the input tensor, which crosses the host link when ops fall back
    bits_per_weight: float | None = None  # the runtime's storage (llama.cpp's GGUF types), else the precision's
    kv_bytes: float = 0.0  # an LLM runtime's KV cache for the planned context, when it is modelled explicitly
    model: str | None = None  # the stage, when measurements may name it (the whole stage, unpruned)
    op_class: str | None = None  # dense | depthwise | transformer | hybrid | detector | llm (model-families.yaml)

    @property
    def weight_bytes(self) -> float:
        if self.bits_per_weight is not None:
            return self.params * self.bits_per_weight / 8
        return self.params * BYTES_PER_PARAM[self.precision]


def llm_runtime_entry(device: Device) -> dict | None:
    """The LLM runtime a device class serves text generation with (classes.yaml `llm_runtime`: its
    name as `value`, the formats it loads, the fix for another), if the class names one."""
    return catalog.classes().get(device.cls, {}).get("llm_runtime")


def llm_runtime(device: Device) -> str | None:
    return value(llm_runtime_entry(device))


def held(work: Work, runtime: str | None, architecture=None) -> Work:
    """`work` as `runtime` holds it. llama.cpp stores the weights in the GGUF type of the planned
    precision (Q4_K_M is 4.84 bits per weight, not 4) and keeps an f16 KV cache for the prompt and
    output (serving.yaml, llama_cpp); other runtimes store the nominal precision."""
    if runtime != "llama.cpp" or not work.output_tokens:
        return work
    table = catalog._load("serving.yaml")["llama_cpp"]
    bits = value(table["quant_types"][work.precision]["bits_per_weight"])
    from edgespec.planner.serving import kv_bytes_per_token  # serving imports this module

    per_token = kv_bytes_per_token(work.params, "fp16", architecture)  # 2 bytes per value: f16
    per_token *= value(table["kv_cache_bytes_per_value"]) / 2
    return work._replace(bits_per_weight=bits, kv_bytes=per_token * (work.prompt_tokens + work.output_tokens))


class Compute(NamedTuple):
    p50_ms: float
    p95_ms: float
    bound: str  # compute | memory | spill | cpu-fallback: which term dominated; "measured" for a record
    basis: str = "estimated"  # | "measured" | "scaled from measured" (edgespec.measure)
    p99_ms: float | None = None  # a measured p99 (estimates derive theirs from p50 and p95)
    note: str | None = None  # where a measured figure comes from (file:line), as the plan shows it


def class_constants(device: Device, precision: str, cal: dict | None = None) -> tuple[dict, dict]:
    """The class's fitted constants, and those of `precision` (or the nearest fitted one)."""
    cal = cal or catalog.calibration()["classes"][device.cls]
    return cal, precision_constants(cal, precision)


def precision_constants(cal: dict, precision: str) -> dict:
    """A class's constants for `precision`, or for the nearest precision it has benchmarks of."""
    per_precision = cal["precisions"]
    if precision not in per_precision:  # no benchmark at this precision: nearest one with data
        precision = next(p for p in cal["fallback_order"] if p in per_precision)
    return per_precision[precision]


def peak_correction(cal: dict, device: Device) -> float:
    """What the chip's benchmarks say of its catalog peak (fitted where it has rows of several
    models; 1 elsewhere): a factor on the peak wherever the estimator reads it."""
    return cal.get("peak_correction", {}).get(device.hardware, 1.0)


def compute(device: Device, work: Work, cal: dict | None = None) -> Compute:
    """Latency of `work` on `device` at batch 1 (`cal`: class constants to use instead of the fitted ones)."""
    cal, k = class_constants(device, work.precision, cal)
    peak = device.peak_tops[work.precision]
    if work.accelerator == "dla":
        peak = (
            device.peak_tops["int8"]
            * value(catalog.classes()[device.cls]["dla_share_of_peak"])
            * (1.0 if work.precision == "int8" else 0.5)
        )
    peak *= peak_correction(cal, device)
    # the op class's efficiency relative to the class's (fitted where the class has the rows for it)
    op_efficiency = cal.get("op_class_efficiency", {}).get(work.op_class, 1.0) if work.op_class else 1.0
    flops_per_ms = peak * 1e12 * k["efficiency"] * op_efficiency / 1e3
    overhead = overhead_ms(cal, k, peak)
    fallback_ms = 0.0
    gflops = work.gflops
    if work.cpu_fraction and device.host_fp32_gflops:  # Coral, an SoC's NPU: unsupported ops run on the CPU
        gflops = work.gflops * (1 - work.cpu_fraction)
        cpu_cal = precision_constants(catalog.calibration()["classes"]["arm-cpu"], "fp32")
        # a Coral's tensors cross its USB or PCIe link; an SoC's stay in its shared memory
        link_gbs = cal["spill_gbs"][device.interconnect or "usb3"] if "spill_gbs" in cal else device.bandwidth_gbs
        fallback_ms = (
            work.gflops * work.cpu_fraction / (device.host_fp32_gflops * cpu_cal["efficiency"]) * 1e3
            + 2 * work.io_bytes / (link_gbs * 1e9) * 1e3
        )  # tensors out to the CPU and back
    compute_ms = gflops * 1e9 / flops_per_ms
    memory_ms = 0.0
    if device.bandwidth_gbs:
        memory_ms = work.weight_bytes / (device.bandwidth_gbs * 1e9 * cal["bandwidth_efficiency"]) * 1e3
    spill_ms = 0.0
    if device.sram_bytes is not None:  # Coral: parameters beyond the cache stream over the link
        spill = max(0.0, work.weight_bytes - device.sram_bytes)
        spill_ms = spill / (cal["spill_gbs"][device.interconnect or "usb3"] * 1e9) * 1e3
    if work.output_tokens:  # LLM: compute-bound prefill, then memory-bound decode per token
        prefill = work.prompt_tokens * compute_ms
        decode = work.output_tokens * (max(compute_ms, memory_ms) + spill_ms)
        total = overhead + prefill + decode
        bound = "memory" if memory_ms >= compute_ms else "compute"
    else:
        total = overhead + max(compute_ms, memory_ms) + spill_ms + fallback_ms
        bound = max((compute_ms, "compute"), (memory_ms, "memory"), (spill_ms, "spill"), (fallback_ms, "cpu-fallback"))[
            1
        ]
    return Compute(total, total * cal["p95_over_p50"], bound)


def overhead_ms(cal: dict, k: dict, peak_tops: float) -> float:
    """The fixed per-inference cost on a device of `peak_tops`: the class's fitted overhead at its
    reference peak, scaled by (reference / peak) ** exponent, so a larger device of the class pays
    less (exponent 0: one floor for the class)."""
    exponent = cal.get("overhead_exponent", 0.0)
    if not exponent or not peak_tops:
        return k["overhead_ms"]
    return k["overhead_ms"] * (cal["overhead_ref_tops"] / peak_tops) ** exponent


class Network(NamedTuple):
    p50_ms: float
    p95_ms: float


def transfer(payload_bytes: float, rtt_ms: float | None, mbps: float | None) -> Network:
    """One request over a link: round trip plus payload over bandwidth (median and tail)."""
    rtt = rtt_ms or 0.0
    if not mbps:
        return Network(rtt, rtt * NETWORK_P95_RTT_FACTOR)
    wire_ms = payload_bytes * 8 / (mbps * 1e6) * 1e3
    return Network(rtt + wire_ms, rtt * NETWORK_P95_RTT_FACTOR + wire_ms / NETWORK_P95_BANDWIDTH_SHARE)


def input_bytes(shape: list[int], dtype: str, encoded: float | None) -> float:
    return encoded if encoded else math.prod(shape) * DTYPE_BYTES[dtype]


@functools.cache  # the catalog is read once per process; the planner asks ~80 times per workload
def precision_drop(task: str, precision: str) -> float:
    table = value(catalog.accuracy()["precision_drop"][precision])
    return table.get(task, table["default"])


@functools.cache
def prune_drop(fraction: float) -> float:
    return fraction * value(catalog.accuracy()["prune_drop_per_fraction"])


def cascade_accuracy(small: float, large: float, rate: float | None = None) -> tuple[float, float]:
    """(accuracy, escalation rate) of a cascade without measurements: see docs/planner.md."""
    default_rate, gap_recovered = _cascade_priors()
    rate = default_rate if rate is None else rate
    recovered = min(1.0, gap_recovered * rate / default_rate)
    return small + (large - small) * recovered, rate


@functools.cache
def _cascade_priors() -> tuple[float, float]:
    priors = catalog.accuracy()["cascade"]
    return value(priors["escalation_rate"]), value(priors["gap_recovered"])


def energy_mj(power_w: float | None, busy_ms: float) -> float | None:
    """Energy of one inference: power while busy times busy time (W x ms = mJ); unknown without a
    power figure."""
    return None if power_w is None else power_w * busy_ms


def electricity_usd(energy_mj_per_inference: float, inferences: float) -> float:
    kwh = energy_mj_per_inference * inferences / 3.6e9
    return kwh * _usd_per_kwh()


@functools.cache
def _usd_per_kwh() -> float:
    return value(catalog.datacenter()["electricity_usd_per_kwh"])


def instances_needed(rps: float, compute_ms: float) -> int:
    """Instances to serve `rps` at batch 1 within the utilisation headroom."""
    # max() spelled as comparisons (the same values, NaN included): asked for every remote candidate
    per_instance = UTILISATION_HEADROOM * 1000.0 / (1e-6 if compute_ms < 1e-6 else compute_ms)
    needed = math.ceil(rps / per_instance)
    return needed if needed > 1 else 1


def workers_ai_usd(entry: dict, prompt_tokens: int, output_tokens: int) -> float:
    """Price of one Workers AI request from the model's Neuron rates."""
    neurons = value(entry.get("neurons_per_request"), 0.0)
    neurons += value(entry.get("neurons_per_m_input_tokens"), 0.0) * prompt_tokens / 1e6
    neurons += value(entry.get("neurons_per_m_output_tokens"), 0.0) * output_tokens / 1e6
    return neurons / 1000 * value(catalog.workers_ai()["usd_per_1000_neurons"])


def workers_ai_entry(model_id: str) -> dict | None:
    """The Workers AI catalog entry (price, size, stored precision) of a model id, with its task."""
    return _workers_ai_ids().get(model_id)


@functools.cache
def _workers_ai_ids() -> dict[str, dict]:
    return {m["id"]: {**m, "task": task} for task, models in catalog.workers_ai()["models"].items() for m in models}


def workers_ai_rate_limit(entry: dict, task: str) -> float | None:
    """Requests per minute Workers AI allows for a model: its own limit, else its task's."""
    limits = catalog.workers_ai()["rate_limits_per_minute"]
    own = entry.get("rate_limit_per_minute")
    if own is not None:
        return value(own)
    return value(limits.get(entry.get("task", task)))
