"""Measured latency records: edgespec's JSON-lines format, version 1 (docs/measurements.md).

One JSON object per line; blank lines are skipped. A record says how fast one model ran on one
catalog hardware at one precision (and batch, power mode, instance type): `hardware`, `model`,
`precision` and `p50_ms` are required. `model` is the spec's model or variant name, or
`sha256:<hex>` of the model file. Unknown keys are errors (a misspelt `p95` would otherwise be
dropped without a word); `schema` names the format version and defaults to this one.

Parsing is pure: text in, (records, diagnostics) out, every diagnostic at its file:line:col.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NamedTuple

from edgespec.diagnostics import Diagnostic
from edgespec.diagnostics.codes import diag
from edgespec.shorten import cut
from edgespec.validate.schema_errors import suggest

SCHEMA = "edgespec-measurement/v1"
PRECISIONS = ("fp32", "fp16", "int8", "int4")
ACCELERATORS = ("dla",)
SHA256 = re.compile(r"^[0-9a-f]{64}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$")
MAX_LINE = 64 * 1024  # a record is a few hundred bytes; a longer line is not one
SHOWN = 60  # characters of a bad value quoted in a message
EXAMPLE = (
    'each line is one JSON object, e.g. {"hardware": "jetson-orin-nx-16gb", "model": "detector", '
    '"precision": "int8", "p50_ms": 4.2}'
)


class Record(NamedTuple):
    """One measurement, with where it was read (file, 1-based line)."""

    hardware: str
    model: str  # a model or variant name, or "sha256:<hex>"
    precision: str
    p50_ms: float
    file: str
    line: int
    p95_ms: float | None = None
    p99_ms: float | None = None
    batch: int = 1
    power_mode: str | None = None
    instance_type: str | None = None
    accelerator: str | None = None  # "dla": measured on a Jetson DLA core, not the GPU
    sha256: str | None = None  # the measured file's digest, when `model` is a name
    samples: int | None = None
    tool: str | None = None
    date: str | None = None
    tokens_per_s: float | None = None  # LLM decode rate
    notes: str | None = None
    columns: tuple[tuple[str, int], ...] = ()  # (field, 1-based column of its key), for diagnostics

    def column(self, key: str) -> int:
        return dict(self.columns).get(key, 1)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def model_hash(self) -> str | None:
        """The digest `model` names (`sha256:<hex>`), else None."""
        return self.model[7:] if self.model.startswith("sha256:") else None

    def as_json(self) -> dict:
        """The record as its line says it (defaults left out), for writers and importers."""
        out: dict[str, Any] = {"schema": SCHEMA}
        for name in FIELDS:
            v = getattr(self, name)
            if v is not None and not (name == "batch" and v == 1):
                out[name] = v
        return out


def _positive(v: Any) -> bool:
    return type(v) in (int, float) and math.isfinite(v) and v > 0


def _count(v: Any) -> bool:
    return type(v) is int and v >= 1


def _text(v: Any) -> bool:
    return type(v) is str and 0 < len(v) <= 4096


# field -> (check, what the value must be): the required ones first, in the documented order
REQUIRED = ("hardware", "model", "precision", "p50_ms")
CHECKS: dict[str, tuple[Any, str]] = {
    "hardware": (lambda v: _text(v) and len(v) <= 64, "a catalog hardware id (`edgespec catalog`)"),
    "model": (
        lambda v: _text(v) and (not v.startswith("sha256:") or bool(SHA256.match(v[7:]))),
        "a model or variant name of the spec, or sha256:<64 lowercase hex digits>",
    ),
    "precision": (lambda v: v in PRECISIONS, "one of " + ", ".join(PRECISIONS)),
    "p50_ms": (_positive, "a positive number of milliseconds"),
    "p95_ms": (_positive, "a positive number of milliseconds"),
    "p99_ms": (_positive, "a positive number of milliseconds"),
    "batch": (_count, "a whole number >= 1"),
    "power_mode": (_text, "the catalog's power-mode name (e.g. 25W, MAXN)"),
    "instance_type": (_text, "an instance type (e.g. g5.xlarge)"),
    "accelerator": (lambda v: v in ACCELERATORS, "dla (omit it for the device's main engine)"),
    "sha256": (lambda v: type(v) is str and bool(SHA256.match(v)), "64 lowercase hex digits"),
    "samples": (_count, "a whole number >= 1"),
    "tool": (_text, "text"),
    "date": (lambda v: type(v) is str and bool(DATE.match(v)), "an ISO 8601 date (2026-11-30 or 2026-11-30T12:00Z)"),
    "tokens_per_s": (_positive, "a positive number"),
    "notes": (_text, "text"),
}
FIELDS = tuple(CHECKS)
KEYS = ("schema", *FIELDS)


def _shown(v: Any) -> str:
    text = json.dumps(v)
    return cut(text, SHOWN)


def _column(line: str, key: str) -> int:
    """The 1-based column of `"key"` in the line (1 when it is not written there)."""
    found = line.find(json.dumps(key))
    return found + 1 if found >= 0 else 1


def parse(file: str, text: str) -> tuple[list[Record], list[Diagnostic]]:
    """Every record of a measurement file, and an ES7xx diagnostic per line that is not one."""
    records: list[Record] = []
    problems: list[Diagnostic] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE:
            problems.append(
                diag(
                    "ES702",
                    f"line {n} is {len(line)} characters long; a record is one short JSON object",
                    file=file,
                    line=n,
                    hint="split the file into one record per line",
                )
            )
            continue
        found = _record(file, n, line)
        if isinstance(found, Record):
            records.append(found)
        else:
            problems.extend(found)
    return records, problems


def _record(file: str, n: int, line: str) -> Record | list[Diagnostic]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return [
            diag(
                "ES702",
                f"not JSON: {exc.msg}",
                file=file,
                line=n,
                column=exc.colno,
                hint=EXAMPLE,
            )
        ]
    if type(data) is not dict:
        return [diag("ES702", f"expected a JSON object, got {type(data).__name__}", file=file, line=n, hint=EXAMPLE)]
    problems = []
    schema = data.get("schema", SCHEMA)
    if schema != SCHEMA:
        problems.append(
            diag(
                "ES702",
                f"unsupported record schema {_shown(schema)}; this edgespec reads {SCHEMA}",
                file=file,
                line=n,
                column=_column(line, "schema"),
                hint="upgrade edgespec, or write the record in the documented format (docs/measurements.md)",
            )
        )
    for key in data:
        if key not in KEYS:
            close = suggest(key, list(KEYS))
            problems.append(
                diag(
                    "ES702",
                    f"unknown field {_shown(key)}",
                    file=file,
                    line=n,
                    column=_column(line, key),
                    hint=f"did you mean {close!r}?" if close else "fields: " + ", ".join(KEYS),
                )
            )
    for key in REQUIRED:
        if key not in data:
            problems.append(
                diag(
                    "ES702",
                    f"missing required field {key!r}: expected {CHECKS[key][1]}",
                    file=file,
                    line=n,
                    hint="required: " + ", ".join(REQUIRED),
                )
            )
    for key, (ok, what) in CHECKS.items():
        if key in data and data[key] is not None and not ok(data[key]):
            problems.append(
                diag(
                    "ES702",
                    f"{key} is {_shown(data[key])}: expected {what}",
                    file=file,
                    line=n,
                    column=_column(line, key),
                    hint=f"write {key} as {what}",
                )
            )
    if problems:
        return problems
    values: dict[str, Any] = {k: data.get(k) for k in FIELDS}
    values["batch"] = values["batch"] or 1
    for key in ("p50_ms", "p95_ms", "p99_ms", "tokens_per_s"):
        if values[key] is not None:
            values[key] = float(values[key])
    tails = [(k, values[k]) for k in ("p50_ms", "p95_ms", "p99_ms") if values[k] is not None]
    for (low_key, low), (high_key, high) in zip(tails, tails[1:]):
        if high < low:
            return [
                diag(
                    "ES702",
                    f"{high_key} {high:g} is below {low_key} {low:g}: percentiles only grow",
                    file=file,
                    line=n,
                    column=_column(line, high_key),
                    hint="check that the fields are not swapped, and that both are milliseconds",
                )
            ]
    columns = tuple((k, _column(line, k)) for k in data)
    return Record(file=file, line=n, columns=columns, **values)


def dumps(records: list[Record]) -> str:
    """Records as JSON lines (keys in the documented order; the same records give the same text)."""
    return "".join(json.dumps(r.as_json(), separators=(", ", ": ")) + "\n" for r in records)
