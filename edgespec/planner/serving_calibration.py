"""The serving model against published serving benchmarks (catalog/serving-calibration.csv):
predictions, the error, and the fit of the serving constants (bench/serving_error.py runs it)."""

from __future__ import annotations

import csv
import itertools
import statistics
from importlib import resources
from typing import NamedTuple

from edgespec import catalog
from edgespec.catalog import value
from edgespec.planner import estimate, serving
from edgespec.planner.device import Device


class Row(NamedTuple):
    gpu: str
    model: str
    params: float
    gflops: float | None
    precision: str
    prompt: int
    output: int
    scenario: str
    bound_ms: float | None
    measured: float
    source: str


def rows() -> list[Row]:
    text = resources.files("edgespec.catalog").joinpath("serving-calibration.csv").read_text("utf-8")
    out = []
    for r in csv.DictReader(text.splitlines()):
        out.append(
            Row(
                r["gpu"],
                r["model"],
                float(r["params_m"]) * 1e6,
                float(r["gflops"]) if r["gflops"] else None,
                r["precision"],
                int(r["prompt_tokens"] or 0),
                int(r["output_tokens"] or 0),
                r["scenario"],
                float(r["latency_bound_ms"]) if r["latency_bound_ms"] else None,
                float(r["value"]),
                r["source_url"],
            )
        )
    return out


def gpu_device(gpu: str) -> Device:
    """One GPU of the catalog as a one-GPU instance (a serving benchmark's system under test)."""
    g = catalog.datacenter()["gpus"][gpu]
    fp16 = value(g["peak_fp16_tflops"])
    peaks = {"int8": value(g["peak_int8_tops"]), "fp16": fp16, "fp32": value(g["peak_fp32_tflops"]), "int4": fp16}
    usable = value(catalog.classes()["datacenter-gpu"]["memory_usable"])
    return Device(
        target=gpu,
        hardware="aws-ec2",
        kind="ec2",
        cls="datacenter-gpu",
        role="remote",
        count=1,
        precisions=("fp32", "fp16", "int8", "int4"),
        peak_tops=peaks,
        bandwidth_gbs=value(g["bandwidth_gbs"]),
        memory_bytes=value(g["memory_gb"]) * 1e9 * usable,
        sram_bytes=None,
        interconnect=None,
        power_w=value(g["power_w"]),
        power_mode=None,
        price_per_hour=None,
        price_is_lower_bound=False,
        dla_cores=0,
        rtt_ms=None,
        uplink_mbps=None,
        downlink_mbps=None,
        site=None,
        jurisdiction=None,
        instance_type=None,
        tasks="all",
    )


def predict(row: Row, constants: dict | None = None) -> float:
    """The model's figure for a row: samples/s (offline: the most a GPU serves; server: the most
    it serves within the latency bound at p99), or output tokens/s for text generation."""
    constants = constants or current()
    device = gpu_device(row.gpu)
    if row.output:
        work = estimate.Work(2 * row.params / 1e9, row.params, row.precision, row.prompt, row.output)
        cb = {
            "max_sequences": constants["max_sequences"],
            "decode_efficiency": constants["decode_efficiency"],
            "prefill_efficiency": constants["prefill_efficiency"],
            "bandwidth_efficiency": constants["bandwidth_efficiency"],
        }
        s = serving.continuous(device, work, None, None, None, cb)
        return s.capacity_rps * row.output
    work = estimate.Work(row.gflops, row.params, row.precision)
    if row.scenario == "offline":
        return serving.dynamic(device, work, None, constants["efficiency_max"]).capacity_rps
    # server: the most a GPU serves with p99 (2 x p95 - p50) within the bound. At rate r a batch of
    # b waits (b-1)/r to fill, so p99 = t (2k - 1) + 1.5 (b-1)/r: the bound holds at saturation
    # (r = b/t) when the batch fills fast enough there
    cal, _ = estimate.class_constants(device, work.precision)
    best = 0.0
    for s in serving.dynamic_options(device, work, constants["efficiency_max"]):
        t = s.batch / s.capacity_rps * 1e3  # the batch's time on the benchmark's one GPU
        if t * (2 * cal["p95_over_p50"] - 1) + 1.5 * (s.batch - 1) / s.capacity_rps * 1e3 <= row.bound_ms:
            best = max(best, s.capacity_rps)
    return best


def current() -> dict:
    data = catalog._load("serving.yaml")
    cb = data["continuous_batching"]
    return {
        "efficiency_max": value(data["dynamic_batching"]["efficiency_max"]),
        "max_sequences": value(cb["max_sequences"]),
        "decode_efficiency": value(cb["decode_efficiency"]),
        "prefill_efficiency": value(cb["prefill_efficiency"]),
        "bandwidth_efficiency": value(cb["bandwidth_efficiency"]),
    }


def ape(row: Row, constants: dict) -> float:
    return abs(predict(row, constants) / row.measured - 1)


GRID = {
    "efficiency_max": [round(0.30 + 0.0025 * i, 4) for i in range(121)],
    "decode_efficiency": [round(0.05 + 0.025 * i, 3) for i in range(38)],
    "prefill_efficiency": [round(0.10 + 0.025 * i, 3) for i in range(36)],
    "bandwidth_efficiency": [round(0.40 + 0.05 * i, 3) for i in range(12)],
}


def fit(training: list[Row], base: dict | None = None) -> dict:
    """The constants that minimise the median absolute percentage error on `training` (a grid
    search: one constant for dynamic batching, three for continuous batching: the decode's HBM
    bandwidth efficiency, its compute efficiency and the prefill's)."""
    constants = dict(base or current())
    cnn = [r for r in training if not r.output]
    llm = [r for r in training if r.output]

    def error(rows: list[Row], **changed) -> float:
        return statistics.median(ape(r, {**constants, **changed}) for r in rows)

    if cnn:
        constants["efficiency_max"] = min(GRID["efficiency_max"], key=lambda e: error(cnn, efficiency_max=e))
    if llm:
        triples = itertools.product(GRID["bandwidth_efficiency"], GRID["decode_efficiency"], GRID["prefill_efficiency"])
        best = min(
            triples,
            key=lambda t: error(llm, bandwidth_efficiency=t[0], decode_efficiency=t[1], prefill_efficiency=t[2]),
        )
        constants["bandwidth_efficiency"], constants["decode_efficiency"], constants["prefill_efficiency"] = best
    return constants


def report() -> dict:
    """In-sample and leave-one-out errors per regime, with the fitted constants."""
    all_rows = rows()
    fitted = fit(all_rows)
    out = {"constants": fitted, "regimes": {}}
    for regime, members in (
        ("dynamic batching (CNN)", [r for r in all_rows if not r.output]),
        ("continuous batching (LLM)", [r for r in all_rows if r.output]),
    ):
        in_sample = [ape(r, fitted) for r in members]
        loo = [ape(r, fit([o for o in all_rows if o is not r])) for r in members]
        out["regimes"][regime] = {
            "rows": len(members),
            "mdape_in_sample": statistics.median(in_sample),
            "mdape_leave_one_out": statistics.median(loo),
            "rows_detail": [
                (r.gpu, r.model, r.prompt, r.output, r.scenario, r.measured, round(predict(r, fitted), 1))
                for r in members
            ],
        }
    return out
