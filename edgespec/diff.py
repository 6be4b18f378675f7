"""`edgespec diff OLD NEW`: what a spec change does, for the reviewer of a pull request.

Each side is a spec (compiled in memory) or an edgespec.lock.json; both reduce to the same
snapshot: every file's sha256, each workload's plan and predictions, the fleets, the rollout.
The diff lists the input changes first (two specs: every changed value by path, old -> new, and
the models, targets and workloads added or removed), then their effects: per workload, the plan
changes (pattern, placements, recipe, variant, a workload that became infeasible or feasible, with
the reason), the predicted deltas in p50, p95 and p99 (each against its budget, and a budget's own
change), accuracy, monthly cost and energy; per target, the
artifacts added, removed and changed (when both sides compile); and which fleets and rollout
stages the change will reach.

Exit codes (`edgespec diff`): 0 no change, 1 changes, 2 the diff could not be made (a side that
is not a valid spec or lock file).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from edgespec import catalog

METRICS = (
    ("p50_ms", "p50", "ms"),
    ("p95_ms", "p95", "ms"),
    ("p99_ms", "p99", "ms"),
    ("accuracy", "accuracy", ""),
    ("cost_usd_per_month", "cost/month", "$"),
    ("energy_mj", "energy", "mJ"),
    ("instances", "instances", "#"),
)

# each latency metric's budget in the plan summary
LATENCY = {"p50_ms": "p50_budget_ms", "p95_ms": "p95_budget_ms", "p99_ms": "p99_budget_ms"}


@dataclass
class Snapshot:
    files: dict[str, str]
    workloads: dict[str, dict | None]  # a plan summary, or {"infeasible": reason}
    targets: dict[str, dict]
    rollout: list[dict] = field(default_factory=list)
    data: dict | None = None  # the spec as loaded (a spec side): its input changes are diffed
    compiled: bool = True  # False: some workload is infeasible, so the side has no artifacts


def from_lock(text: str) -> Snapshot:
    lock = json.loads(text)
    return Snapshot(dict(lock["files"]), lock["plan"], lock.get("targets", {}), lock.get("rollout", []))


def from_files(files: dict[str, bytes]) -> Snapshot:
    """A compiled output in memory: its lock file holds everything the diff needs."""
    from edgespec.write import LOCK_FILE

    return from_lock(files[LOCK_FILE].decode("utf-8"))


def _target(path: str) -> str:
    return path.split("/", 1)[0] if "/" in path else "(top)"


def from_plan(plan_summary: dict, reasons: dict[str, str], targets: dict, rollout: list, data: dict) -> Snapshot:
    """A spec side some workload of which has no feasible plan: its plan, each infeasible
    workload with its reason, and no artifacts (nothing compiles from a spec with errors)."""
    workloads = {
        name: summary if summary is not None else {"infeasible": reasons.get(name, "no joint placement")}
        for name, summary in plan_summary.items()
    }
    return Snapshot({}, workloads, targets, rollout, data, compiled=False)


class CannotDiff(Exception):
    """A side is not a valid spec or lock file: `text` is what to print (its diagnostics)."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


def snapshot_of(path: str, measurements: tuple[str, ...] = ()) -> Snapshot:
    """A side of the diff: a lock file as recorded, or a spec planned and compiled in memory (a
    spec with an infeasible workload still gives its plan, with the reason), with `measurements`
    after the spec's own."""
    if path.endswith(".json"):
        try:
            with open(path, encoding="utf-8") as fh:
                return from_lock(fh.read())
        except (OSError, ValueError, KeyError) as exc:
            raise CannotDiff(f"edgespec: {path} is not an edgespec.lock.json ({type(exc).__name__}: {exc})\n") from None
    from edgespec.diagnostics import has_errors
    from edgespec.diagnostics.render import render as render_diagnostics
    from edgespec.emit import emit
    from edgespec.emit.lock import fleet_entries, plan_summary, rollout_entries
    from edgespec.pipeline import plan_file

    checked, planned, diagnostics = plan_file(path, jobs=None, measurements=measurements)
    if planned is None or checked.spec is None:  # not a valid spec: nothing to compare
        raise CannotDiff(render_diagnostics("text", diagnostics, checked.sources))
    data = checked.data  # as edgespec's loader reads it (YAML 1.2: `on` is a string), not re-parsed
    spec = checked.spec
    if has_errors(diagnostics):  # an infeasible workload: an effect of the change, not an abort
        reasons = {d.pointer.split("/")[2]: d.message for d in diagnostics if d.code == "ES501" and d.pointer}
        return from_plan(plan_summary(planned, spec), reasons, fleet_entries(spec), rollout_entries(spec), data)
    emitted = emit(spec, planned, checked.source, checked.measurement_digests)
    if has_errors(emitted.diagnostics):
        raise CannotDiff(render_diagnostics("text", emitted.diagnostics, checked.sources))
    snapshot = from_files(emitted.files)
    snapshot.data = data
    return snapshot


def _feasible(side: dict | None) -> bool:
    return side is not None and "infeasible" not in side


def diff(old: Snapshot, new: Snapshot) -> dict:
    """The change from OLD to NEW as data (the json format; text and markdown render it)."""
    from edgespec.diff_inputs import inputs

    artifacts: dict[str, dict[str, list[str]]] = {}
    compared = old.compiled and new.compiled
    for path in sorted(set(old.files) | set(new.files)) if compared else []:
        kind = (
            "added"
            if path not in old.files
            else "removed"
            if path not in new.files
            else "changed"
            if old.files[path] != new.files[path]
            else None
        )
        if kind:
            artifacts.setdefault(_target(path), {"added": [], "removed": [], "changed": []})[kind].append(path)
    workloads = {}
    for name in sorted(set(old.workloads) | set(new.workloads)):
        before, after = old.workloads.get(name), new.workloads.get(name)
        if before == after:
            continue
        entry: dict = {
            "status": "added" if name not in old.workloads else "removed" if name not in new.workloads else "changed"
        }
        if before and after and _feasible(before) != _feasible(after):
            entry["feasible"] = [_feasible(before), _feasible(after)]
            entry["reason"] = (after if not _feasible(after) else before)["infeasible"]
            entry["plan"] = after if _feasible(after) else before
        elif before and after and not _feasible(after):
            if before != after:
                entry["reason"] = after["infeasible"]
                entry["feasible"] = [False, False]
        elif before and after:
            if before["pattern"] != after["pattern"]:
                entry["pattern"] = [before["pattern"], after["pattern"]]
            if _where(before["placements"]) != _where(after["placements"]):
                entry["placements"] = [before["placements"], after["placements"]]
            else:
                moved = _sources(before["placements"], after["placements"])
                if moved:
                    entry["sources"] = moved
            deltas = {}
            for key, _, _ in METRICS:
                a, b = before.get("estimates", {}).get(key), after.get("estimates", {}).get(key)
                if a is not None and b is not None and not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
                    deltas[key] = {"old": a, "new": b, "delta": round(b - a, 6)}
                    if key in LATENCY:  # against the budget the new plan was made for
                        deltas[key]["budget"] = after.get("estimates", {}).get(LATENCY[key])
            entry["estimates"] = deltas
            for budget in LATENCY.values():
                sides = [side.get("estimates", {}) for side in (before, after)]
                # a lock written before p50/p99 were recorded says nothing of those budgets
                if all(budget in side for side in sides) and sides[0][budget] != sides[1][budget]:
                    entry[budget] = [sides[0][budget], sides[1][budget]]
        else:
            entry["plan"] = after or before
        workloads[name] = entry
    # Fleets a rollout reaches: targets whose artifacts change, and targets a workload moves to or
    # from. A change only in predictions (a fleet's size, say) ships nothing.
    touched = set(artifacts) - {"(top)"}
    for name, entry in workloads.items():
        if entry["status"] == "changed" and not {"pattern", "placements", "sources"} & set(entry):
            continue
        for side in (old.workloads.get(name), new.workloads.get(name)):
            for p in (side or {}).get("placements", []) if _feasible(side) else []:
                touched.add(p["target"])
    fleets = {t: new.targets.get(t, old.targets.get(t, {})) for t in sorted(touched)}
    hardware = catalog.hardware()
    devices = sum(
        f.get("count", 1) for f in fleets.values() if hardware.get(f.get("hardware"), {}).get("role") == "device"
    )
    stages = [{**s, "devices": math.ceil(devices * s["percent"] / 100)} for s in new.rollout] if devices else []
    changed_inputs = inputs(old.data, new.data) if old.data is not None and new.data is not None else None
    touched_inputs = bool(
        changed_inputs and (changed_inputs["changes"] or changed_inputs["added"] or changed_inputs["removed"])
    )
    return {
        "version": 1,
        "inputs": changed_inputs,
        "artifacts": artifacts,
        "artifacts_compared": compared,
        "workloads": workloads,
        "fleets": fleets,
        "rollout": stages,
        "unchanged": not artifacts and not workloads and not touched_inputs and compared,
    }


def _fmt(key: str, value: float) -> str:
    unit = next(u for k, _, u in METRICS if k == key)
    if unit == "$":
        return f"${value:,.2f}"
    if key == "accuracy":
        return f"{value:.3f}"
    if unit == "#":
        return f"{value:g}"
    return f"{value:,.1f} {unit}"


def _where(placements: list[dict]) -> list[dict]:
    """Placements without the source each fetches (compared on their own: _sources)."""
    return [{k: v for k, v in p.items() if k != "source"} for p in placements]


def _sources(before: list[dict], after: list[dict]) -> dict[str, list]:
    """Per target, [old, new] source of a placement whose fetched source changed (the same target,
    role and model). A lock written before sources were recorded has none to compare."""
    out = {}
    for a, b in zip(before, after, strict=True):
        if "source" in a and "source" in b and a["source"] != b["source"]:
            out[a["target"]] = [a["source"], b["source"]]
    return out


def _source(s: dict | None) -> str:
    if s is None:
        return "(none)"
    via = f" ({s['conversion']})" if s.get("conversion") else ""
    return f"{s['format']} {s['uri']}" + (f" sha256:{s['sha256'][:12]}..." if s.get("sha256") else "") + via


def _placements(placements: list[dict]) -> str:
    return ", ".join(f"{p['target']} ({p['role']}: {p['model']}, {p['recipe']})" for p in placements)


def _value(v) -> str:
    return "(none)" if v is None else json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else str(v)


def _input_lines(d: dict, md: bool, code) -> list[str]:
    found = d.get("inputs")
    if not found or not (found["changes"] or found["added"] or found["removed"]):
        return []
    out = ["### Inputs" if md else "Inputs:"]
    for kind in ("added", "removed"):
        for section, names in found[kind].items():
            out.append(f"- {section} {kind}: " + ", ".join(code(n) for n in names))
    for c in found["changes"]:
        out.append(f"- {code(c['path'])}: {_value(c['old'])} -> {_value(c['new'])}")
    return out


def _lines(d: dict, md: bool) -> list[str]:
    code = (lambda s: f"`{s}`") if md else (lambda s: s)
    out = []
    if d["unchanged"]:
        return ["No change: same plan, same artifacts."]
    out += _input_lines(d, md, code)
    if d["workloads"]:
        out.append("### Plan" if md else "Plan:")
        for name, e in d["workloads"].items():
            if "feasible" in e:
                was, now = ("feasible" if f else "infeasible" for f in e["feasible"])
                out.append(f"- {code(name)}: {was} -> {now}: {e['reason']}")
                continue
            if e["status"] != "changed":
                plan = e.get("plan") or {}
                out.append(f"- {code(name)}: {e['status']} ({plan.get('pattern') or 'infeasible'})")
                continue
            parts = []
            if "pattern" in e:
                parts.append(f"pattern {e['pattern'][0]} -> {e['pattern'][1]}")
            if "placements" in e:
                parts.append(f"placement {_placements(e['placements'][0])} -> {_placements(e['placements'][1])}")
            for target, (was, now) in e.get("sources", {}).items():
                parts.append(f"source on {target}: {_source(was)} -> {_source(now)}")
            for key, budget in LATENCY.items():
                if budget in e:
                    old, new = ("none" if v is None else _fmt(key, v) for v in e[budget])
                    parts.append(f"{key[:3]} budget {old} -> {new}")
            for key, label, _ in METRICS:
                if key in e["estimates"]:
                    x = e["estimates"][key]
                    sign = "+" if x["delta"] >= 0 else "-"
                    budget = x.get("budget")
                    against = f"; budget {_fmt(key, budget)}" if budget is not None else ""
                    parts.append(
                        f"{label} {_fmt(key, x['old'])} -> {_fmt(key, x['new'])} "
                        f"({sign}{_fmt(key, abs(x['delta']))}{against})"
                    )
            out.append(f"- {code(name)}: " + "; ".join(parts))
    if not d.get("artifacts_compared", True):
        out.append("### Artifacts" if md else "Artifacts:")
        out.append("- not compared: a side has an infeasible workload, so nothing compiles from it")
    if d["artifacts"]:
        out.append("### Artifacts" if md else "Artifacts:")
        for target, kinds in d["artifacts"].items():
            summary = ", ".join(f"{len(v)} {k}" for k, v in kinds.items() if v)
            out.append(f"- {code(target)}: {summary}")
            for kind, paths in kinds.items():
                out += [f"  - {kind} {code(p)}" for p in paths]
    if d["fleets"]:
        out.append("### Fleets touched" if md else "Fleets touched:")
        out += [
            f"- {code(t)}: {f.get('hardware', '?')} " + (f"x {f['count']}" if "count" in f else "(autoscaled pool)")
            for t, f in d["fleets"].items()
        ]
    if d["rollout"]:
        out.append("### Rollout" if md else "Rollout:")
        out += [
            f"- stage {i + 1}: {s['percent']:g}% = {s['devices']} devices"
            + (f", soak {s['soak_s'] / 3600:g} h" if s.get("soak_s") else "")
            for i, s in enumerate(d["rollout"])
        ]
    return out


def mermaid(d: dict) -> str | None:
    """A Mermaid flowchart of the changed workloads as the new plan places them (GitHub renders it in
    a pull-request comment): a node per target, an edge from the devices to the tier that answers
    with them, labelled with the workload. None when no changed workload has a new placement."""
    edges: list[tuple[str, str, str]] = []
    nodes: dict[str, str] = {}
    for name, e in d["workloads"].items():
        if "placements" in e:
            placements = e["placements"][1]
        elif e.get("plan") and "placements" in e["plan"] and (e["status"] == "added" or e.get("feasible", [0, 1])[1]):
            placements = e["plan"]["placements"]
        else:
            continue
        devices = [p["target"] for p in placements if p["role"] == "device"]
        others = [p for p in placements if p["role"] != "device"]
        for p in placements:
            fleet = d["fleets"].get(p["target"], {})
            nodes[p["target"]] = f"{p['target']} ({fleet.get('hardware', p['role'])})"
        edges += [(device, p["target"], name) for device in devices for p in others]
    if not nodes:
        return None
    ids = {target: f"n{i}" for i, target in enumerate(sorted(nodes))}
    lines = ["flowchart LR"]
    lines += [f'  {ids[t]}["{nodes[t].replace(chr(34), "#quot;")}"]' for t in sorted(nodes)]
    lines += [f'  {ids[a]} -->|"{w}"| {ids[b]}' for a, b, w in sorted(set(edges))]
    return "\n".join(lines)


FORMATS = ("text", "markdown", "json")  # edgespec.outputs.DIFF, the CLI's choices


def render(d: dict, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"no diff format {fmt!r}")
    if fmt == "json":
        return json.dumps(d, indent=2, sort_keys=True) + "\n"
    lines = _lines(d, fmt == "markdown")
    if fmt == "markdown":
        chart = mermaid(d) if not d["unchanged"] else None
        topology = ["### Topology of the changed workloads", "", "```mermaid", chart, "```"] if chart else []
        lines = ["## edgespec diff", "", *lines, *topology]
    return "\n".join(lines) + "\n"
