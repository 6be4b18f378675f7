"""One workload, resolved once for every candidate of it: its model and the stage it runs, the
variants the planner may use instead, its data sources, input sizes, rate and budgets."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from edgespec import catalog
from edgespec.measure.index import Index
from edgespec.planner import estimate, formats
from edgespec.planner.device import Device
from edgespec.planner.memo import Memo, WorkloadMemo
from edgespec.planner.types import Fetch
from edgespec.spec.models import Model, Spec, Workload


class Limits(NamedTuple):
    """A workload's budgets and bounds (None: not declared)."""

    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_drop: float | None
    min_accuracy: float | None
    offline: bool  # offline: required


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
    memo: Memo  # shared by every workload this process plans
    prune_dominated: bool = True  # off only in the test that checks pruning keeps the optimum
    local: WorkloadMemo = field(default_factory=WorkloadMemo)  # this workload's repeated sub-results
    root_name: str = ""  # the spec's name for `root`
    measured: Index = field(default_factory=Index)  # the measurements that apply to the spec (edgespec.measure)

    @cached_property
    def where(self) -> str:
        """The data sources, as constraint messages name them."""
        return ", ".join(d.target for d in self.sources)

    @cached_property
    def rps(self) -> float:
        return self.workload.throughput.rps if self.workload.throughput else 0.0

    @cached_property
    def limits(self) -> Limits:
        """What the checks compare every candidate with (constraints.CHECKS)."""
        w = self.workload
        need = w.accuracy
        return Limits(
            w.latency.p50_ms,
            w.latency.p95_ms,
            w.latency.p99_ms,
            need.max_drop if need else None,
            need.min if need else None,
            w.offline == "required",
        )

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

    def calibrated(self, variant: str | None) -> bool:
        """Whether the stage a recipe runs (a variant, or this workload's own stage) declares an
        INT8 calibration cache."""
        name = variant or self.stage.name
        runnable = self.root if name == self.root_name else self.root.variants.get(name)
        return runnable is not None and runnable.calibration is not None

    def declared_formats(self, variant: str | None) -> tuple[str, ...]:
        """The formats the file a recipe runs is declared in (the model's sources, or a variant's
        own: none when it declares none, its parent's file is not its weights): once per workload
        and stage."""
        found = self.local.formats.get(variant)
        if found is None:
            sources = formats.sources_of(self.root, variant or self.stage.name)
            found = self.local.formats[variant] = tuple(s.format for s in sources)
        return found

    def intake(self, model: str, device: Device) -> formats.Intake | None:
        """The source `device` runs `model` (this workload's model or one of its variants) from, and
        its bundle's conversion (formats.pick): once per process for each model and class of device."""
        key = (model, device.cls)
        if key not in self.memo.intakes:
            self.memo.intakes[key] = formats.pick(formats.sources_of(self.root, model), device.cls, self.llm)
        return self.memo.intakes[key]

    def fetch(self, model: str, device: Device) -> Fetch | None:
        """What a placement of `model` on `device` fetches, as the plan carries it (formats.fetch):
        once per process for each model and class of device."""
        key = (model, device.cls)
        if key not in self.memo.fetches:
            declared = len(formats.sources_of(self.root, model))
            self.memo.fetches[key] = formats.fetch(self.intake(model, device), declared)
        return self.memo.fetches[key]

    @property
    def llm(self) -> bool:
        return self.root.task == "text-generation"


def context(
    spec: Spec, name: str, devices: dict[str, Device], memo: Memo | None = None, measured: Index | None = None
) -> Context:
    """Workload `name` resolved for planning (`memo`: the process's shared caches, a new one if none;
    `measured`: the spec's measurements)."""
    w = spec.workloads[name]
    root_name = spec.owners[w.model]
    root = spec.models[root_name]
    if w.model == root_name:
        stage = _stage(root_name, root)
        smaller = [_stage(n, v) for n, v in sorted(root.variants.items())]
    else:
        stage, smaller = _stage(w.model, root.variants[w.model]), []
    sources = [devices[s] for s in w.data_source]
    rps = w.throughput.rps if w.throughput else None
    total = rps * sum(d.count for d in sources) if rps is not None else None
    payload = estimate.input_bytes(root.input.shape, root.input.dtype, root.input.encoded_bytes)
    tensor = estimate.input_bytes(root.input.shape, root.input.dtype, None)
    return Context(
        name,
        w,
        root,
        stage,
        smaller,
        sources,
        devices,
        payload,
        tensor,
        total,
        Memo() if memo is None else memo,
        root_name=root_name,
        measured=measured if measured is not None else Index(),
    )


def _stage(name: str, runnable) -> Stage:
    """A model or variant as the planner runs it: validation has filled in the sizes a spec leaves
    out (edgespec.describe), so a missing one here is a bug, not a spec error."""
    if runnable.params is None or runnable.gflops is None:
        raise ValueError(f"{name}: params and gflops are unknown after validation")
    return Stage(name, runnable.params, runnable.gflops, runnable.accuracy.value)


def model_key(ctx: Context) -> tuple:
    """What a workload's model-only results depend on: the model, the stage it runs, the pins and
    (LLMs) the token counts. Workloads that agree on these share those results."""
    opt = ctx.workload.optimize
    return ctx.root_name, ctx.stage.name, opt.precision, opt.prune, ctx.tokens
