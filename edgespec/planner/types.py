"""The planner's values: recipes, placements, estimates, candidates and the plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

PATTERNS = ("on-device", "split", "cascade", "federated", "mec", "cloud")


@dataclass(frozen=True)
class Recipe:
    precision: str  # fp32 | fp16 | int8 | int4 | served (Workers AI: fixed by the catalog model)
    prune: float = 0.0
    variant: str | None = None
    accelerator: str | None = None  # "dla" on Jetson when the plan uses a DLA core

    def label(self) -> str:
        parts = [self.variant or "", self.precision]
        if self.prune:
            parts.append(f"prune {self.prune:g}")
        if self.accelerator == "dla":
            parts.append("DLA")
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class Placement:
    target: str
    role: str  # device | remote | aggregator
    model: str  # spec model or variant name, or a Workers AI model id
    recipe: Recipe


@dataclass(frozen=True)
class Estimates:
    p50_ms: float
    p95_ms: float
    compute_ms: float
    network_ms: float
    accuracy: float
    accuracy_drop: float
    model_size_mb: float
    energy_mj: float
    cost_usd_per_1k: float
    cost_usd_per_month: float | None
    escalation_rate: float | None = None
    utilisation: float | None = None
    instances: int | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    pattern: str
    placements: tuple[Placement, ...]
    estimates: Estimates | None
    reasons: tuple[str, ...] = ()  # why it is infeasible; empty when feasible

    @property
    def feasible(self) -> bool:
        return not self.reasons and self.estimates is not None

    @cached_property
    def key(self) -> str:
        """A stable identity, used as the last tie-break."""
        return self.pattern + "|" + "|".join(f"{p.target}:{p.role}:{p.model}:{p.recipe.label()}" for p in self.placements)

    @property
    def remote_target(self) -> str | None:
        return next((p.target for p in self.placements if p.role != "device"), None)


@dataclass(frozen=True)
class WorkloadPlan:
    name: str
    objective: str
    chosen: Candidate | None
    candidates: tuple[Candidate, ...]
    why: str

    @property
    def rejected(self) -> list[Candidate]:
        return [c for c in self.candidates if not c.feasible]


@dataclass(frozen=True)
class Plan:
    workloads: dict[str, WorkloadPlan] = field(default_factory=dict)
