"""The planner's values: recipes, placements, estimates, candidates and the plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

PATTERNS = ("on-device", "split", "cascade", "federated", "mec", "cloud")


class Recipe(NamedTuple):
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


class Fetch(NamedTuple):
    """The source a placement's bundle fetches (planner/formats.py): its format, location and
    digest, the conversion the bundle performs on it (None: loaded as is), and how many sources
    (formats) the model declares."""

    format: str
    uri: str
    sha256: str | None
    conversion: str | None
    declared: int

    def as_json(self) -> dict:
        """As the plan's JSON and the lock record it."""
        return {"conversion": self.conversion, "format": self.format, "sha256": self.sha256, "uri": self.uri}


class Placement(NamedTuple):
    target: str
    role: str  # device | remote | aggregator
    model: str  # spec model or variant name, or a Workers AI model id
    recipe: Recipe
    source: Fetch | None = None  # None: a Workers AI catalog model (no file of the spec's)

    def described(self) -> str:
        """`target (role: model, recipe, format)`, as the report and the editor's hover show it."""
        fmt = f", {self.source.format}" if self.source is not None else ""
        return f"{self.target} ({self.role}: {self.model}, {self.recipe.label()}{fmt})"


class Estimates(NamedTuple):
    p50_ms: float
    p95_ms: float
    compute_ms: float
    network_ms: float
    accuracy: float
    accuracy_drop: float
    model_size_mb: float
    energy_mj: float
    cost_usd_per_1k: float | None  # None: unknown (a price the catalog does not have)
    cost_usd_per_month: float | None  # None: no declared rate, or unknown
    escalation_rate: float | None = None
    utilisation: float | None = None
    instances: int | None = None
    notes: tuple[str, ...] = ()
    pool: object | None = None  # serving.Pool of the remote tier (aws-ec2, aws-wavelength)
    # the p95 of the stage on the data sources and of the remote leg (uplink + remote tier), where a
    # pattern has them: what the emitted routers' and gateways' timeouts must not cut off
    local_p95_ms: float | None = None
    remote_p95_ms: float | None = None
    basis: str = "estimated"  # the latency's: measured | scaled from measured | partly measured (planner.measured)
    measured_p99_ms: float | None = None  # on-device with a measured p99 on every data source

    @property
    def p99_ms(self) -> float:
        """The measured p99, else from the p50 and p95: one more step of the same tail (docs/planner.md)."""
        if self.measured_p99_ms is not None:
            return self.measured_p99_ms
        return 2 * self.p95_ms - self.p50_ms


Reason = str | tuple  # text, or (template, *args): the text template.format(*args), see spelled()


def spell(reason: Reason) -> str:
    return reason if type(reason) is str else reason[0].format(*reason[1:])


class Candidate(NamedTuple):
    """One (pattern, placements, recipe): its estimates (None when it could not be formed) and
    every constraint it breaks. A plan holds tens of thousands, so the planner's values are named
    tuples: immutable, and several times cheaper to make than frozen dataclasses."""

    pattern: str
    placements: tuple[Placement, ...]
    estimates: Estimates | None
    reasons: tuple[Reason, ...] = ()  # why it is infeasible; empty when feasible
    cut: str | None = None  # split and federated: the split point the model is cut at
    blame: str | None = None  # the target the first reason is against (None: the workload or hardware)

    def spelled(self) -> Candidate:
        """This candidate with every reason as text. The planner leaves the per-candidate reasons
        (latency, throughput, accuracy, power) as templates and arguments, and spells out only those of
        the candidates a plan keeps: formatting all of them was 11% of planning's instructions."""
        for r in self.reasons:
            if type(r) is not str:
                return Candidate(
                    self.pattern, self.placements, self.estimates, tuple(map(spell, self.reasons)), self.cut, self.blame
                )
        return self

    @property
    def feasible(self) -> bool:
        return not self.reasons and self.estimates is not None

    @property
    def key(self) -> str:
        """A stable identity, used as the last tie-break (only exact ties need it)."""
        return (
            self.pattern
            + (f"@{self.cut}" if self.cut else "")
            + "|"
            + "|".join(f"{p.target}:{p.role}:{p.model}:{p.recipe.label()}" for p in self.placements)
        )

    @property
    def remote_target(self) -> str | None:
        for p in self.placements:  # a loop, not next(genexpr): nearest_misses asks for every candidate
            if p.role != "device":
                return p.target
        return None


class Draft(NamedTuple):
    """A candidate the pattern could form, before the constraints are applied (constraints.finish):
    its estimates and the facts the checks read."""

    pattern: str
    placements: tuple[Placement, ...]
    estimates: Estimates
    local_answer: bool  # answers without the uplink (the offline check)
    run: object | None = None  # runs.LocalRun: what runs on the data sources (power)
    resident: tuple = ()  # (Device, Work, GPUs): what each device holds in memory while serving
    sends: tuple = ()  # (Device, "raw_data" | "features"): what leaves the data sources, and to where
    remote: object | None = None  # the remote tier's Device, serving `share` of the requests (capacity)
    share: float = 1.0
    entry: dict | None = None  # the Workers AI catalog model the remote tier serves
    found: tuple = ()  # reasons the pattern found while forming it (some data sources' capability)
    cut: str | None = None


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
    fragments: dict[str, str] = field(default_factory=dict)  # a renderer's text per workload, if asked for
