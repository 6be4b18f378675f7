"""Measurements matched to a spec: which record speaks for which (target, stage, recipe).

A record applies to every target of its `hardware` (and `instance_type`, when it gives one),
for the model or variant it names (or whose `source.sha256` it gives). The planner asks `find`
for the record of a placement: one at the placement's precision and power mode is the
measurement itself; otherwise the nearest one (same precision, then same power mode) is scaled
by the estimator's ratio between the two points. Later records replace earlier ones (files in
the order given, lines in file order), so a re-measurement appended to a file wins.

Records that can apply to nothing in the spec are warnings at their file:line (ES703), as are
records of a different model file than the spec declares (ES704): neither changes the plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from edgespec import catalog
from edgespec.diagnostics import Diagnostic
from edgespec.diagnostics.codes import diag
from edgespec.measure.records import Record
from edgespec.spec.models import Spec
from edgespec.validate.schema_errors import suggest


@dataclass(frozen=True)
class Index:
    """The records that apply to a spec, by (hardware, stage name)."""

    by_stage: dict[tuple[str, str], tuple[Record, ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.by_stage)

    @cached_property
    def stages(self) -> frozenset[str]:
        return frozenset(stage for _, stage in self.by_stage)

    def find(
        self,
        device,
        stage: str,
        precision: str,
        accelerator: str | None = None,
        batch: int = 1,
    ) -> tuple[Record, bool] | None:
        """The record for `stage` at `precision` on `device` (planner.device.Device), and whether it
        is exact (True) or to be scaled from (False); None when no record speaks for it."""
        found = [
            r
            for r in self.by_stage.get((device.hardware, stage), ())
            if r.batch == batch
            and r.accelerator == accelerator
            and (r.instance_type is None or r.instance_type == device.instance_type)
        ]
        if not found:
            return None
        mode = [r for r in found if r.power_mode is None or r.power_mode == device.power_mode]
        for r in reversed(mode):
            if r.precision == precision:
                return r, True
        same_precision = [r for r in found if r.precision == precision]
        return (same_precision or mode or found)[-1], False


def index(spec: Spec, devices: dict, records: Iterable[Record]) -> tuple[Index, list[Diagnostic]]:
    """Match `records` to `spec` (`devices`: its targets resolved, planner.device.resolve)."""
    by_hardware: dict[str, list] = {}
    for d in devices.values():
        by_hardware.setdefault(d.hardware, []).append(d)
    hashes = _declared_hashes(spec)
    out: dict[tuple[str, str], list[Record]] = {}
    problems: list[Diagnostic] = []
    for r in records:
        stage, problem = _stage(spec, hashes, r)
        problem = problem or _hardware(r, by_hardware)
        if problem is not None:
            problems.append(problem)
        else:
            assert stage is not None
            out.setdefault((r.hardware, stage), []).append(r)
    return Index({k: tuple(v) for k, v in out.items()}), problems


def _declared_hashes(spec: Spec) -> dict[str, str]:
    """Each stage's own source digests (a model's, or a variant's own sources', in every format) ->
    the stage."""
    found: dict[str, str] = {}
    for name, model in spec.models.items():
        for src in model.sources:
            if src.sha256:
                found.setdefault(src.sha256, name)
        for vname, variant in model.variants.items():
            for src in variant.sources:
                if src.sha256:
                    found.setdefault(src.sha256, vname)
    return found


def _declared_hash(spec: Spec, stage: str) -> tuple[str, ...]:
    """The digests a stage's own sources declare (one per format that declares one)."""
    owner = spec.owners[stage]
    model = spec.models[owner]
    sources = model.sources if stage == owner else model.variants[stage].sources
    return tuple(s.sha256 for s in sources if s.sha256)


def _stage(spec: Spec, hashes: dict[str, str], r: Record) -> tuple[str | None, Diagnostic | None]:
    """The model or variant `r` measured, or the warning that it names none of the spec's."""
    digest = r.model_hash
    if digest is not None:
        if digest in hashes:
            return hashes[digest], None
        declared = ", ".join(f"{stage} sha256:{h[:12]}..." for h, stage in sorted(hashes.items(), key=lambda x: x[1]))
        return None, diag(
            "ES704",
            f"record {r.where} measured model file sha256:{digest[:12]}..., which no model or variant of the "
            "spec declares as its source.sha256",
            file=r.file,
            line=r.line,
            column=r.column("model"),
            hint=(f"the spec declares: {declared}; " if declared else "the spec declares no source.sha256; ")
            + "measure the file the spec ships, or name the model instead of its hash",
        )
    if r.model not in spec.owners:
        close = suggest(r.model, list(spec.owners))
        return None, diag(
            "ES703",
            f"record {r.where} names model {r.model!r}, which is no model or variant of the spec",
            file=r.file,
            line=r.line,
            column=r.column("model"),
            hint=f"did you mean {close!r}?" if close else "models and variants: " + ", ".join(spec.owners),
        )
    own = _declared_hash(spec, r.model)
    if r.sha256 is not None and own and r.sha256 not in own:
        return None, diag(
            "ES704",
            f"record {r.where} measured {r.model} from a file with sha256 {r.sha256[:12]}..., but the spec's "
            f"{r.model} is sha256 {' or '.join(h[:12] + '...' for h in own)}",
            file=r.file,
            line=r.line,
            column=r.column("sha256"),
            hint="measure the file the spec ships (a stale record would stand in for a model that changed)",
        )
    return r.model, None


def _hardware(r: Record, by_hardware: dict[str, list]) -> Diagnostic | None:
    """The warning that no target of the spec is the hardware `r` was measured on, else None."""
    devices = by_hardware.get(r.hardware)
    if not devices:
        known = r.hardware in catalog.hardware()
        close = None if known else suggest(r.hardware, list(catalog.hardware()))
        return _nothing(
            r,
            "hardware",
            f"was measured on {r.hardware}, "
            + ("which no target of the spec is" if known else "which is not in edgespec's catalog"),
            f"did you mean {close!r}?" if close else "the spec's hardware: " + ", ".join(sorted(by_hardware)),
        )
    if r.instance_type is not None and all(d.instance_type != r.instance_type for d in devices):
        return _nothing(
            r,
            "instance_type",
            f"was measured on instance type {r.instance_type}, which no {r.hardware} target of the spec runs",
            "the spec's: " + ", ".join(sorted({str(d.instance_type) for d in devices})),
        )
    modes = catalog.hardware()[r.hardware].get("power_modes")
    names = list(catalog.power_mode_watts(catalog.hardware()[r.hardware])) if modes else []
    if r.power_mode is not None and r.power_mode not in names:
        return _nothing(
            r,
            "power_mode",
            f"gives power mode {r.power_mode!r}, which {r.hardware} does not have",
            ("its modes: " + ", ".join(names)) if names else f"{r.hardware} has no power modes: omit power_mode",
        )
    if r.precision not in devices[0].peak_tops:
        return _nothing(
            r,
            "precision",
            f"was measured at {r.precision}, which edgespec does not plan on {r.hardware}",
            "precisions it plans: " + ", ".join(devices[0].precisions),
        )
    if r.accelerator == "dla" and not devices[0].dla_cores:
        return _nothing(
            r, "accelerator", f"was measured on a DLA core, which {r.hardware} does not have", "omit accelerator"
        )
    return None


def _nothing(r: Record, key: str, what: str, hint: str) -> Diagnostic:
    return diag(
        "ES703",
        f"record {r.where} {what}: it applies to nothing",
        file=r.file,
        line=r.line,
        column=r.column(key),
        hint=hint,
    )
