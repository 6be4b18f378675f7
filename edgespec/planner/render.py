"""Plan renderers: a table for humans, `--explain` for one workload, and the versioned JSON
contract for CI bots (documented in docs/planner.md)."""

from __future__ import annotations

from json.encoder import encode_basestring_ascii

from edgespec import jsontext
from edgespec.planner import select, serving
from edgespec.planner.types import Candidate, Fetch, Plan, WorkloadPlan

JSON_VERSION = 1


def _placements(c: Candidate) -> str:
    """Each placement as target(role):model; a remote pool with its instance count (x3)."""
    pool = c.estimates.pool if c.estimates is not None else None
    return ", ".join(
        f"{p.target}({p.role[0]}):{p.model}" + (f" x{pool.instances}" if pool and p.role == "remote" else "")
        for p in c.placements
    )


def _recipe(c: Candidate) -> str:
    return " + ".join(dict.fromkeys(p.recipe.label() for p in c.placements))


def money(v: float | None, unknown: str = "-") -> str:
    """Dollars: cents from $1 up, two significant figures below (a $0.004 request is not $0.00)."""
    if v is None:
        return unknown
    return f"${v:,.2f}" if v >= 1 or v == 0 else f"${v:.2g}"


def _cost(v: float | None, e) -> str:
    """A cost cell: `?` when unknown (a price or power figure the catalog lacks), `-` when there is
    no monthly figure because no rate is declared."""
    return "?" if e.cost_usd_per_1k is None else money(v)


def _num(v: float | None) -> str:
    if v is None:
        return "?"  # unknown: a figure the catalog lacks
    return f"{v:.1f}" if v >= 1 or v == 0 else f"{v:.2g}"


def text(plan: Plan, p99: bool = False) -> str:
    """The plan as a table (`p99`: with a p99 column, shown when some workload budgets p99)."""
    header = (
        "workload",
        "pattern",
        "placement",
        "recipe",
        "p50 ms",
        "p95 ms",
        *(("p99 ms",) if p99 else ()),
        "latency",
        "accuracy",
        "mJ",
        "$/1k",
        "$/month",
    )
    rows = []
    whys = []
    for name, wp in plan.workloads.items():
        c = wp.chosen
        if c is None:
            rows.append((name, "INFEASIBLE", *(["-"] * (len(header) - 2))))
        else:
            e = c.estimates
            rows.append(
                (
                    name,
                    c.pattern,
                    _placements(c),
                    _recipe(c),
                    _num(e.p50_ms),
                    _num(e.p95_ms),
                    *((_num(e.p99_ms),) if p99 else ()),
                    e.basis,
                    f"{e.accuracy:.3f}",
                    _num(e.energy_mj),
                    _cost(e.cost_usd_per_1k, e),
                    _cost(e.cost_usd_per_month, e),
                )
            )
        whys.append(f"  {name}: {wp.why}")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(widths[i]) for i, v in enumerate(r)).rstrip() for r in [header, *rows]]
    return "\n".join(lines + ["", "why:"] + whys + _sources(plan)) + "\n"


def _sources(plan: Plan) -> list[str]:
    """The `sources:` section: which declared format each placement fetches, and the conversion its
    bundle performs. Shown when some chosen placement's model declares several sources (with one,
    the source is the spec's and the JSON names it)."""
    if not any(
        p.source is not None and p.source.declared > 1
        for wp in plan.workloads.values()
        if wp.chosen is not None
        for p in wp.chosen.placements
    ):
        return []
    out = ["", "sources:"]
    for name, wp in plan.workloads.items():
        for p in wp.chosen.placements if wp.chosen is not None else ():
            if p.source is not None:
                via = f" ({p.source.conversion})" if p.source.conversion else ""
                out.append(f"  {name}: {p.target} ({p.role}) {p.model} <- {p.source.format} {p.source.uri}{via}")
    return out


def _estimates(c: Candidate) -> dict | None:
    e = c.estimates
    if e is None:
        return None
    return {
        "latency_ms": {
            "basis": e.basis,
            "p50": round(e.p50_ms, 3),
            "p95": round(e.p95_ms, 3),
            "p99": round(e.p99_ms, 3),
            "local_p95": None if e.local_p95_ms is None else round(e.local_p95_ms, 3),
            "remote_p95": None if e.remote_p95_ms is None else round(e.remote_p95_ms, 3),
        },
        "compute_ms": round(e.compute_ms, 3),
        "network_ms": round(e.network_ms, 3),
        "accuracy": round(e.accuracy, 4),
        "accuracy_drop": round(e.accuracy_drop, 4),
        "model_size_mb": round(e.model_size_mb, 3),
        "energy_mj": None if e.energy_mj is None else round(e.energy_mj, 3),
        "cost_usd_per_1k": None if e.cost_usd_per_1k is None else round(e.cost_usd_per_1k, 6),
        "cost_usd_per_month": None if e.cost_usd_per_month is None else round(e.cost_usd_per_month, 2),
        "escalation_rate": e.escalation_rate,
        "utilisation": None if e.utilisation is None else round(e.utilisation, 4),
        "instances": e.instances,
        "notes": list(e.notes),
        "pool": e.pool.as_json() if e.pool is not None else None,
    }


def _placement_json(c: Candidate) -> list[dict]:
    return [
        {
            "target": p.target,
            "role": p.role,
            "model": p.model,
            "recipe": {
                "precision": p.recipe.precision,
                "prune": p.recipe.prune,
                "variant": p.recipe.variant,
                "accelerator": p.recipe.accelerator,
            },
            "source": p.source.as_json() if p.source is not None else None,  # None: a catalog model
        }
        for p in c.placements
    ]


def _workload_json(wp: WorkloadPlan) -> dict:
    """One workload's JSON entry as data: the readable definition of the contract (docs/planner.md).
    The document is written by json_fragment, which must give the text of this dict; the tests hold
    the two together (tests/test_plan_render.py) and compare plans through it."""
    c = wp.chosen
    # The closest miss per pattern and target (all candidates: `plan --explain`), so the document
    # stays a size a bot can read: every rejected candidate of a large spec runs to tens of MB.
    misses = select.nearest_misses(wp.rejected, group=select.by_pattern_and_target)
    rejected = [
        {
            "pattern": r.pattern,
            "target": select.blamed(r),
            "recipe": _placement_json(r)[0]["recipe"],
            "cut": r.cut,
            "reason": r.reasons[0],
            "reasons": list(r.reasons),
        }
        for _, r in sorted(misses.items())
    ]
    return {
        "cut": c.cut if c else None,
        "feasible": c is not None,
        "objective": wp.objective,
        "pattern": c.pattern if c else None,
        "placements": _placement_json(c) if c else [],
        "estimates": _estimates(c) if c else None,
        "why": wp.why,
        "rejected": rejected,
    }


def as_json(plan: Plan) -> str:
    """The JSON document: jsontext.dumps of {"version", "workloads"}, each workload's entry taken
    from plan.fragments when the planner made it (plan(..., fragment=json_fragment))."""
    if not plan.workloads:
        return jsontext.dumps({"version": JSON_VERSION, "workloads": {}}) + "\n"
    entries = [
        f"    {encode_basestring_ascii(name)}: {plan.fragments.get(name) or json_fragment(wp)}"
        for name, wp in sorted(plan.workloads.items())
    ]
    return f'{{\n  "version": {JSON_VERSION},\n  "workloads": {{\n' + ",\n".join(entries) + "\n  }\n}\n"


def json_fragment(wp: WorkloadPlan) -> str:
    """One workload's value in the JSON document, indented for its place there (two levels): the
    text of `jsontext.dumps(_workload_json(wp))`, written straight from the plan's values.

    A large plan writes one per workload, in the planning processes, so this is the JSON's hot path
    (2-2.5x faster than building the dicts and walking them). tests/test_plan_render.py checks it is
    byte-identical to the dict path on every candidate of the example and generated specs; a key
    added to _workload_json fails that test until it is written here too."""
    c = wp.chosen
    rejected = select.nearest_misses(wp.rejected, group=select.by_pattern_and_target)
    out = [
        '{\n      "cut": ',
        _str(c.cut) if c and c.cut else "null",
        ',\n      "estimates": ',
        _estimates_text(c.estimates) if c else "null",
        ',\n      "feasible": ',
        "true" if c else "false",
        ',\n      "objective": ',
        _str(wp.objective),
        ',\n      "pattern": ',
        _str(c.pattern) if c else "null",
        ',\n      "placements": ',
    ]
    if c and c.placements:
        out.append(
            "[\n        "
            + ",\n        ".join(
                f'{{\n          "model": {_str(p.model)},\n          "recipe": {_recipe_text(p.recipe, "          ")},'
                f'\n          "role": {_str(p.role)},\n          "source": {_source_text(p.source)},'
                f'\n          "target": {_str(p.target)}\n        }}'
                for p in c.placements
            )
            + "\n      ]"
        )
    else:
        out.append("[]")
    out.append(',\n      "rejected": ')
    if rejected:
        out.append(
            "[\n        "
            + ",\n        ".join(
                f'{{\n          "cut": {_str(r.cut) if r.cut else "null"},'
                f'\n          "pattern": {_str(r.pattern)},\n          "reason": {_str(r.reasons[0])},'
                f'\n          "reasons": {_strings(r.reasons, "          ")},'
                f'\n          "recipe": {_recipe_text(r.placements[0].recipe, "          ")},'
                f'\n          "target": {_str(select.blamed(r))}\n        }}'
                for _, r in sorted(rejected.items())
            )
            + "\n      ]"
        )
    else:
        out.append("[]")
    out.append(',\n      "why": ' + _str(wp.why) + "\n    }")
    return "".join(out)


_str = encode_basestring_ascii  # what jsontext (and json) write a string as


def _source_text(f: Fetch | None) -> str:
    if f is None:
        return "null"
    return (
        f'{{\n            "conversion": {_str(f.conversion) if f.conversion else "null"},'
        f'\n            "format": {_str(f.format)},'
        f'\n            "sha256": {_str(f.sha256) if f.sha256 else "null"},'
        f'\n            "uri": {_str(f.uri)}\n          }}'
    )


def _scalar(v) -> str:
    """A JSON number or null, as jsontext writes it."""
    if v is None:
        return "null"
    return jsontext.dumps(v) if type(v) is not float or v - v != 0.0 else float.__repr__(v)


def _round(v, digits: int) -> str:
    return "null" if v is None else _scalar(round(v, digits))


def _strings(values, indent: str) -> str:
    if not values:
        return "[]"
    inner = "\n  " + indent
    return "[" + inner + ("," + inner).join(_str(v) for v in values) + "\n" + indent + "]"


def _recipe_text(r, indent: str) -> str:
    inner = ",\n  " + indent
    return (
        f'{{\n  {indent}"accelerator": {"null" if r.accelerator is None else _str(r.accelerator)}'
        f'{inner}"precision": {_str(r.precision)}{inner}"prune": {_scalar(r.prune)}'
        f'{inner}"variant": {"null" if r.variant is None else _str(r.variant)}\n{indent}}}'
    )


def _estimates_text(e) -> str:
    if e is None:
        return "null"
    i = ",\n        "
    return (
        '{\n        "accuracy": '
        + _round(e.accuracy, 4)
        + i
        + '"accuracy_drop": '
        + _round(e.accuracy_drop, 4)
        + i
        + '"compute_ms": '
        + _round(e.compute_ms, 3)
        + i
        + '"cost_usd_per_1k": '
        + _round(e.cost_usd_per_1k, 6)
        + i
        + '"cost_usd_per_month": '
        + _round(e.cost_usd_per_month, 2)
        + i
        + '"energy_mj": '
        + _round(e.energy_mj, 3)
        + i
        + '"escalation_rate": '
        + _scalar(e.escalation_rate)
        + i
        + '"instances": '
        + _scalar(e.instances)
        + i
        + '"latency_ms": {\n          "basis": '
        + _str(e.basis)
        + ',\n          "local_p95": '
        + _round(e.local_p95_ms, 3)
        + ',\n          "p50": '
        + _round(e.p50_ms, 3)
        + ',\n          "p95": '
        + _round(e.p95_ms, 3)
        + ',\n          "p99": '
        + _round(e.p99_ms, 3)
        + ',\n          "remote_p95": '
        + _round(e.remote_p95_ms, 3)
        + "\n        }"
        + i
        + '"model_size_mb": '
        + _round(e.model_size_mb, 3)
        + i
        + '"network_ms": '
        + _round(e.network_ms, 3)
        + i
        + '"notes": '
        + _strings(e.notes, "        ")
        + i
        + '"pool": '
        + _pool_text(e.pool)
        + i
        + '"utilisation": '
        + _round(e.utilisation, 4)
        + "\n      }"
    )


def _pool_text(pool) -> str:
    """A pool's JSON at its place in a workload's entry (rare: only remote pools have one, so the
    general serializer, re-indented, is fast enough)."""
    if pool is None:
        return "null"
    return jsontext.dumps(pool.as_json()).replace("\n", "\n        ")


def explain(wp: WorkloadPlan) -> str:
    lines = [f"workload {wp.name} (objective: {wp.objective})", f"decision: {wp.why}", ""]
    ordered = sorted(wp.candidates, key=lambda c: (not c.feasible, c.pattern, c.key))
    for c in ordered:
        mark = "*" if c is wp.chosen else ("+" if c.feasible else "-")
        e = c.estimates
        figures = (
            (
                f"p50 {e.p50_ms:.1f} ms, p95 {e.p95_ms:.1f} ms, p99 {e.p99_ms:.1f} ms ({e.basis}), "
                f"acc {e.accuracy:.3f}, "
                f"{_num(e.energy_mj)} mJ, {_cost(e.cost_usd_per_month, e)}/month"
            )
            if e
            else "not estimated"
        )
        cut = f" cut at {c.cut}" if c.cut else ""
        lines.append(f"{mark} {c.pattern:9} {_placements(c)} [{_recipe(c)}]{cut} {figures}")
        for reason in c.reasons:
            lines.append(f"      rejected: {reason}")
        if e and e.pool is not None:
            lines.append(f"      pool: {serving.note(e.pool)}")
        if e and c is wp.chosen:
            for note in e.notes:
                lines.append(f"      note: {note}")
    lines.append("")
    lines.append("(* chosen, + feasible, - rejected)")
    return "\n".join(lines) + "\n"


# `plan --format` -> renderer(plan, p99): keyed by edgespec.outputs.PLAN (the CLI's choices)
RENDERERS = {
    "text": text,
    "json": lambda plan, p99=False: as_json(plan),
}
