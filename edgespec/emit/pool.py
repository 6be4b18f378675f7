"""A remote pool's bounds and scaling signal, as the plan sized it: one rule for the EC2 auto
scaling group and the Kubernetes HPA, so both scale the way the planner counted."""

from __future__ import annotations

from typing import NamedTuple

from edgespec.planner import serving
from edgespec.spec.models import Spec

# An autoscaled pool with no declared `scaling.max` may grow to this many times its planned size
# (a burst's headroom); `scaling.max` sets the ceiling instead (docs/compile.md).
UNBOUNDED_GROWTH = 2
# The serving signal both scalers track: requests per second per instance (or pod), published on
# EC2 by the instance's metric publisher and on Kubernetes through prometheus-adapter.
SIGNAL = "edgespec_requests_per_second"
NAMESPACE = "edgespec/Serving"  # CloudWatch namespace of the EC2 publisher's metric
METRIC = "RequestsPerSecond"


class Bounds(NamedTuple):
    minimum: int
    desired: int
    maximum: int
    target_rps: float  # per instance: the planned capacity at the headroom the pool is sized for


def bounds(pool: serving.Pool) -> Bounds:
    """Min, desired and max instances, and the per-instance request rate to hold."""
    target = round(pool.serving.capacity_rps * serving.HEADROOM, 3)
    if pool.fixed:
        return Bounds(pool.instances, pool.instances, pool.instances, target)
    ceiling = pool.limit if pool.limit is not None else max(pool.instances * UNBOUNDED_GROWTH, pool.minimum)
    return Bounds(pool.minimum, pool.instances, max(ceiling, pool.instances), target)


def engine_batch(planned: serving.Serving | None) -> int:
    """The batch a pool's Triton engine is built for and batches to: the planned dynamic batch (1
    without one)."""
    return planned.batch if planned is not None and planned.mode == "dynamic" else 1


class LlmLimits(NamedTuple):
    """What vLLM is started with on a pool, as the plan sized it."""

    sequences: int  # --max-num-seqs: the planned concurrency
    gpus: int  # --tensor-parallel-size, and the GPUs it takes
    max_len: int  # --max-model-len: the planned prompt and output


def llm_limits(spec: Spec, workload: str, planned: serving.Serving | None) -> LlmLimits:
    gen = spec.workloads[workload].generation
    return LlmLimits(
        planned.batch if planned else 1,
        planned.gpus_per_replica if planned else 1,
        (gen.prompt_tokens + gen.output_tokens) if gen else 2048,
    )


def largest(pools: list[serving.Pool]) -> serving.Pool:
    """Of the pools planned on one target, the one that needs the most instances (the group is
    sized for it; ties: the lower per-instance capacity, the conservative signal)."""
    return max(pools, key=lambda p: (p.instances, -p.serving.capacity_rps))
