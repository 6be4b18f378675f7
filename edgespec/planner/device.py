"""Resolve a target into the figures the estimator needs (peak per precision at its power
mode, bandwidth, usable memory, power, price, link). Pure: catalog data in, a value out."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

from edgespec import catalog, kinds
from edgespec.catalog import value
from edgespec.kinds import Remote
from edgespec.spec import targets
from edgespec.spec.models import Target

# Performance at a lower Jetson power mode, relative to the reference mode: (W / W_ref) ** 0.6.
# Calibrated on the one published same-device comparison we have: Orin Nano Super LLM decode,
# 25W delivering 36-47% more tokens/s than 15W (the curve gives 36%); see docs/planner.md.
POWER_MODE_EXPONENT = 0.6


@dataclass(frozen=True)
class Device:
    """What the planner knows about one target."""

    target: str
    hardware: str
    kind: str
    cls: str
    role: str  # device | remote
    count: int
    precisions: tuple[str, ...]
    peak_tops: dict[str, float]  # precision -> dense peak (TOPS, 1 MAC = 2 ops) at the power mode
    bandwidth_gbs: float | None
    memory_bytes: float | None  # usable for one model (weights + activations)
    sram_bytes: float | None  # Coral on-chip cache usable for parameters
    interconnect: str | None
    power_w: float | None  # None: the catalog has no power figure (Apple, Snapdragon): unknown, never 0
    power_mode: str | None
    price_per_hour: float | None
    price_is_lower_bound: bool
    dla_cores: int
    rtt_ms: float | None
    uplink_mbps: float | None
    downlink_mbps: float | None
    site: str | None
    jurisdiction: str | None
    instance_type: str | None
    tasks: str | tuple[str, ...]
    host_fp32_gflops: float | None = None  # Coral: the CPU that runs the ops the Edge TPU cannot
    host: str | None = None  # which catalog entry that figure comes from
    power_budget_w: float | None = None  # the spec's cap on this device's average draw for inference
    region: str | None = None  # aws-ec2 / aws-wavelength: the region (a zone's parent region)
    zone: str | None = None
    gpus: int = 1  # GPUs per instance (remote pools)
    pool_fixed: int | None = None  # remote pools: `count`, a fixed number of instances
    pool_min: int = 1  # remote pools: `scaling.min`
    pool_max: int | None = None  # remote pools: `scaling.max` (None: unbounded)
    rate_limit_per_minute: int | None = None  # Workers AI: the account's raised limit, if declared
    remote: Remote | None = None  # how a remote tier of this kind is planned (edgespec/kinds), None for devices

    @property
    def pooled(self) -> bool:
        """A pool of instances the planner sizes (EC2, Wavelength)."""
        return self.remote is not None and self.remote.pooled

    @property
    def catalog_models(self) -> bool:
        """Serves its own catalog's models, per request (Workers AI)."""
        return self.remote is not None and self.remote.catalog_models

    def runs(self, task: str) -> bool:
        return self.tasks == "all" or task in self.tasks

    @cached_property
    def compute_key(self) -> tuple:
        """Everything estimate.compute reads of a device: targets of the same hardware at the same
        power mode share their compute estimates (the planner's Memo.compute is keyed on it)."""
        return (
            self.cls,
            tuple(sorted(self.peak_tops.items())),
            self.bandwidth_gbs,
            self.sram_bytes,
            self.interconnect,
            self.host_fp32_gflops,
        )


def jurisdiction_of(target: Target) -> str | None:
    """Where a target's data is: the country of an AWS target's region or zone (catalog/cloud.yaml),
    else the declared jurisdiction (a country code or a bloc)."""
    if target.region or target.zone:
        country = catalog.country_of(target.region, target.zone)
        if country:
            return country
    return target.jurisdiction


def _gpu_peaks(gpu: dict) -> dict[str, float]:
    fp16 = value(gpu["peak_fp16_tflops"])
    return {
        "int8": value(gpu["peak_int8_tops"]),
        "fp16": fp16,
        "fp32": value(gpu["peak_fp32_tflops"]),
        "int4": fp16,
    }  # weight-only int4 computes at the fp16 rate


def resolve(name: str, target: Target) -> Device:
    entry = catalog.hardware()[target.hardware]
    cls_name = entry["class"]
    cls = catalog.classes()[cls_name]
    dc = catalog.datacenter()
    power_mode = None
    price = None
    lower_bound = False
    instance_type = None
    memory_gb = value(entry.get("memory_gb"))
    bandwidth = value(entry.get("bandwidth_gbs"), value(cls.get("bandwidth_gbs_default")))
    power = value(entry.get("power_w"))
    kind = kinds.get(entry["kind"])
    remote = kind.remote if kind is not None else None

    gpus = 1
    region = targets.region(target)
    if cls_name == "datacenter-gpu":
        types = entry.get("instance_types")
        if types:
            instance_type = target.instance_type or types["default"]
            gpu_name, gpus = catalog.cloud()["instance_types"].get(instance_type, (None, 1))
            gpu = dc["gpus"][gpu_name] if gpu_name else None
            price = value(catalog.hourly_price(instance_type, region))
            lower_bound = remote is not None and remote.price_is_lower_bound
        else:
            gpu = dc["gpus"][value(entry["gpu"])]
        peaks = _gpu_peaks(gpu) if gpu else {}
        memory_gb = value(gpu["memory_gb"]) if gpu else None
        bandwidth = value(gpu["bandwidth_gbs"]) if gpu else None
        power = value(gpu["power_w"]) if gpu else None
    elif cls_name == "client":  # sends requests, runs nothing
        peaks = {}
    elif cls_name == "arm-cpu":
        fp32 = value(entry["peak_fp32_gflops"]) / 1000
        scale = value(cls["precision_scale"])
        peaks = {p: fp32 * scale[p] for p in cls["precisions"]}
    else:
        int8 = value(entry["peak_int8_tops"])
        modes = entry.get("power_modes")
        if modes:
            power_mode = target.power_mode or modes["default"]
            watts = catalog.power_mode_watts(entry)
            power = watts[power_mode]
            int8 *= (watts[power_mode] / watts[modes["reference"]]) ** POWER_MODE_EXPONENT
        scale = value(cls["precision_scale"])
        peaks = {p: int8 * scale[p] for p in cls["precisions"]}

    host_gflops, host = None, None
    if "host_fp32_gflops" in entry and cls_name != "coral-tpu":  # an SoC's own CPU (QCS6490's Kryo)
        host_gflops, host = value(entry["host_fp32_gflops"]), target.hardware
    elif cls_name == "coral-tpu":
        # A USB or M.2 accelerator's host is the declared `host`; without one, assume a host no
        # faster than a Raspberry Pi 5 (conservative: desktop hosts are faster).
        if "host_fp32_gflops" in entry:
            host_gflops, host = value(entry["host_fp32_gflops"]), target.hardware
        else:
            host = target.host or "raspberry-pi-5"
            host_gflops = value(catalog.hardware()[host]["peak_fp32_gflops"])
    usable = value(cls.get("memory_usable"), 1.0)
    sram = value(entry.get("sram_mb"))
    network = target.network
    rtt = network.rtt_ms if network and network.rtt_ms is not None else value(entry.get("default_rtt_ms"))
    return Device(
        target=name,
        hardware=target.hardware,
        kind=entry["kind"],
        cls=cls_name,
        role=entry["role"],
        count=targets.device_count(target) or 1,
        precisions=tuple(p for p in cls["precisions"] if p in peaks and p in value(entry.get("npu_precisions"), (p,))),
        peak_tops=peaks,
        bandwidth_gbs=bandwidth,
        memory_bytes=memory_gb * 1e9 * usable if memory_gb else None,
        sram_bytes=sram * 1e6 * value(cls["sram_usable"]) if sram else None,
        interconnect=entry.get("interconnect"),
        power_w=power,
        power_mode=power_mode,
        price_per_hour=price,
        price_is_lower_bound=lower_bound,
        dla_cores=value(entry.get("dla_cores"), 0),
        rtt_ms=rtt,
        uplink_mbps=network.uplink_mbps if network else None,
        downlink_mbps=network.downlink_mbps if network else None,
        site=target.site,
        jurisdiction=jurisdiction_of(target),
        instance_type=instance_type,
        tasks=cls["tasks"] if cls["tasks"] == "all" else tuple(cls["tasks"]),
        host_fp32_gflops=host_gflops,
        host=host,
        power_budget_w=target.power_budget_w,
        region=region,
        zone=target.zone,
        gpus=gpus,
        pool_fixed=target.count if entry["role"] == "remote" else None,
        pool_min=target.scaling.min if target.scaling else 1,
        pool_max=target.scaling.max if target.scaling else None,
        rate_limit_per_minute=target.rate_limit_per_minute,
        remote=remote,
    )


def at_power_mode(device: Device, mode: str | None) -> Device:
    """`device` at another power mode of its hardware (peaks scaled as `resolve` scales them): the
    point a measurement at that mode was taken at. Unchanged for None or its own mode."""
    if mode is None or mode == device.power_mode or device.power_mode is None:
        return device
    watts = catalog.power_mode_watts(catalog.hardware()[device.hardware])
    k = (watts[mode] / watts[device.power_mode]) ** POWER_MODE_EXPONENT
    return dataclasses.replace(
        device, peak_tops={p: v * k for p, v in device.peak_tops.items()}, power_mode=mode, power_w=watts[mode]
    )
