"""`edgespec measurements import`: a tool's output file plus the identity the command line gives
(hardware, model, precision, ...) become records, checked as the planner will read them."""

from __future__ import annotations

import hashlib
import json
import sys

from edgespec import catalog
from edgespec.diagnostics import Diagnostic
from edgespec.diagnostics.codes import diag
from edgespec.measure import records
from edgespec.measure.importers import IMPORTERS, ImportError_, Timing
from edgespec.validate.schema_errors import suggest

IDENTITY = ("hardware", "model", "precision", "batch", "power_mode", "instance_type", "accelerator", "date", "notes")


def run(tool: str, path: str, given: dict) -> tuple[str, str, list[Diagnostic]]:
    """(the file's text, the records as JSON lines, diagnostics): records are empty on an error."""
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8", errors="replace").read()
    except OSError as exc:
        return "", "", [diag("ES705", f"cannot read {path}: {exc.strerror or exc}", file=path, hint="check the path")]
    module = IMPORTERS[tool]
    try:
        if tool == "trtexec":
            parsed = module.parse(text, warmup_ms=given.get("warmup_ms", 200.0))
        else:
            parsed = module.parse(text)
    except ImportError_ as exc:
        return (
            text,
            "",
            [
                diag(
                    "ES705",
                    f"{path} is not {tool} output: {exc}",
                    file=path,
                    line=exc.line or 1,
                    hint=exc.hint
                    or f"pass the file {tool} wrote (docs/measurements.md lists what each importer reads)",
                )
            ],
        )
    identity = {k: given.get(k) for k in IDENTITY if given.get(k) is not None}
    model_file = given.get("model_file")
    if model_file:
        with open(model_file, "rb") as f:
            identity["sha256"] = hashlib.sha256(f.read()).hexdigest()
    if isinstance(parsed, Timing):
        found = [_record(tool, parsed, identity)]
    else:  # the harness's own records: the command line's identity replaces theirs where given
        found = [r._asdict() | identity for r in parsed]
        for r in found:
            r.pop("file"), r.pop("line"), r.pop("columns")
    problems = [p for r in found for p in _missing(path, r)]
    if problems:
        return text, "", problems
    checked, bad = records.parse(path, "".join(_line(r) for r in found))
    if bad:  # a value the format refuses (a malformed --date, ...)
        return (
            text,
            "",
            [diag("ES705", f"the record would not be valid: {d.message}", file=path, hint=d.hint) for d in bad],
        )
    return text, records.dumps(checked), []


def _record(tool: str, t: Timing, identity: dict) -> dict:
    out = {
        "p50_ms": round(t.p50_ms, 6),
        "p95_ms": None if t.p95_ms is None else round(t.p95_ms, 6),
        "p99_ms": None if t.p99_ms is None else round(t.p99_ms, 6),
        "samples": t.samples,
        "batch": t.batch,
        "tokens_per_s": t.tokens_per_s,
        "tool": tool,
        "notes": t.notes,
    }
    out.update(identity)
    if identity.get("notes") and t.notes:
        out["notes"] = f"{identity['notes']}; {t.notes}"
    return {k: v for k, v in out.items() if v is not None}


def _line(r: dict) -> str:
    order = {k: i for i, k in enumerate(records.KEYS)}
    return json.dumps({k: r[k] for k in sorted(r, key=lambda k: order.get(k, 99)) if r[k] is not None}) + "\n"


def _missing(path: str, r: dict) -> list[Diagnostic]:
    """The identity the record lacks, or a hardware id the catalog does not have."""
    out = []
    for key in ("hardware", "model", "precision"):
        if not r.get(key):
            out.append(
                diag(
                    "ES705",
                    f"the record needs --{key.replace('_', '-')}: {path} does not say which {key} it measured",
                    file=path,
                    hint=f"add --{key.replace('_', '-')} (see `edgespec measurements import --help`)",
                )
            )
    hardware = r.get("hardware")
    if hardware and hardware not in catalog.hardware():
        close = suggest(hardware, list(catalog.hardware()))
        out.append(
            diag(
                "ES705",
                f"--hardware {hardware!r} is not in edgespec's catalog",
                file=path,
                hint=f"did you mean {close!r}?" if close else "`edgespec catalog` lists the hardware ids",
            )
        )
    return out
