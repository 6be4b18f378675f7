"""Measured records in place of estimates (edgespec.measure): a stage's latency on a target comes
from the record that speaks for it, exactly, or scaled by the estimator's ratio from the nearest
measured point (another precision or power mode); with no record, the estimate stands.

Every figure says which it is (Compute.basis: estimated | measured | scaled from measured) and,
when measured, where it comes from (Compute.note: target, file:line, what was scaled)."""

from __future__ import annotations

from collections.abc import Callable

from edgespec.measure.index import Index
from edgespec.planner import estimate
from edgespec.planner.device import Device, at_power_mode

BASES = ("estimated", "measured", "scaled from measured", "partly measured")


def compute(index: Index, device: Device, work: estimate.Work, estimated: estimate.Compute) -> estimate.Compute:
    """`work` on `device` at batch 1 (`estimated`: the estimator's figure for it)."""
    assert work.model is not None
    found = index.find(device, work.model, work.precision, work.accelerator)
    if found is None:
        return estimated
    r, exact = found
    tail = estimated.p95_ms / estimated.p50_ms
    if exact:
        note = f"{device.target}: measured {r.p50_ms:g} ms p50 ({r.where}"
        note += ")" if r.p95_ms is not None else "; p95 from the class's tail ratio)"
        return estimate.Compute(r.p50_ms, r.p95_ms or r.p50_ms * tail, "measured", "measured", r.p99_ms, note)
    there = estimate.compute(at_power_mode(device, r.power_mode), work._replace(precision=r.precision))
    ratio = estimated.p50_ms / there.p50_ms
    moved = [f"{r.precision} -> {work.precision}"] if r.precision != work.precision else []
    if r.power_mode is not None and r.power_mode != device.power_mode:
        moved.append(f"{r.power_mode} -> {device.power_mode}")
    note = f"{device.target}: scaled from measured {r.where} ({', '.join(moved)}: x{ratio:.2f} by the estimator)"
    p50 = r.p50_ms * ratio
    p95 = r.p95_ms * ratio if r.p95_ms is not None else p50 * tail
    return estimate.Compute(
        p50, p95, "measured", "scaled from measured", None if r.p99_ms is None else r.p99_ms * ratio, note
    )


def batched(index: Index, device: Device, work: estimate.Work, one: estimate.Compute) -> Callable | None:
    """How a pool's dynamic-batching options take the records (serving.dynamic_options' `measured`):
    a record at the batch is the batch's time; otherwise the batch-1 figure `one`, when measured,
    scales the estimator's by the same ratio. None: nothing measured for this stage on `device`."""
    stage = work.model
    if stage is None or (one.basis == "estimated" and not _any_batch(index, device, stage)):
        return None

    def adjust(b: int, t: float, t95: float, t1: float) -> tuple[float, float, str]:
        found = index.find(device, stage, work.precision, work.accelerator, batch=b)
        if found is not None and found[1]:
            r = found[0]
            return r.p50_ms, r.p95_ms or r.p50_ms * t95 / t, "measured"
        if one.basis == "estimated":
            return t, t95, "estimated"
        ratio = one.p50_ms / t1
        return t * ratio, t95 * ratio, "measured" if b == 1 and one.basis == "measured" else "scaled from measured"

    return adjust


def _any_batch(index: Index, device: Device, stage: str) -> bool:
    return any(r.batch > 1 for r in index.by_stage.get((device.hardware, stage), ()))


def combine(*bases: str) -> str:
    """One basis for figures made of several (a cascade's two tiers): the shared one, else
    `partly measured` when some part is measured."""
    distinct = set(bases)
    if len(distinct) == 1:
        return bases[0]
    return "partly measured" if distinct - {"estimated"} else "estimated"
