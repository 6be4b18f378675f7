"""`edgespec diff OLD NEW`: what a spec change does, for the reviewer of a pull request.

Each side is a spec (compiled in memory) or an edgespec.lock.json; both reduce to the same
snapshot: every file's sha256, each workload's plan and predictions, the fleets, the rollout.
The diff lists, per target, the artifacts added, removed and changed; per workload, the plan
changes (pattern, placements, recipe, variant) and the predicted deltas in p95, accuracy, monthly
cost and energy; and which fleets and rollout stages the change will reach.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from edgespec import catalog

METRICS = (
    ("p95_ms", "p95", "ms"),
    ("accuracy", "accuracy", ""),
    ("cost_usd_per_month", "cost/month", "$"),
    ("energy_mj", "energy", "mJ"),
)


@dataclass
class Snapshot:
    files: dict[str, str]
    workloads: dict[str, dict | None]
    targets: dict[str, dict]
    rollout: list[dict] = field(default_factory=list)


def from_lock(text: str) -> Snapshot:
    lock = json.loads(text)
    return Snapshot(dict(lock["files"]), lock["plan"], lock.get("targets", {}), lock.get("rollout", []))


def from_files(files: dict[str, bytes]) -> Snapshot:
    """A compiled output in memory: its lock file holds everything the diff needs."""
    from edgespec.write import LOCK_FILE

    return from_lock(files[LOCK_FILE].decode("utf-8"))


def _target(path: str) -> str:
    return path.split("/", 1)[0] if "/" in path else "(top)"


def diff(old: Snapshot, new: Snapshot) -> dict:
    """The change from OLD to NEW as data (the json format; text and markdown render it)."""
    artifacts: dict[str, dict[str, list[str]]] = {}
    for path in sorted(set(old.files) | set(new.files)):
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
        if before and after:
            if before["pattern"] != after["pattern"]:
                entry["pattern"] = [before["pattern"], after["pattern"]]
            if before["placements"] != after["placements"]:
                entry["placements"] = [before["placements"], after["placements"]]
            deltas = {}
            for key, _, _ in METRICS:
                a, b = before.get("estimates", {}).get(key), after.get("estimates", {}).get(key)
                if a is not None and b is not None and not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
                    deltas[key] = {"old": a, "new": b, "delta": round(b - a, 6)}
            entry["estimates"] = deltas
        else:
            entry["plan"] = after or before
        workloads[name] = entry
    # Fleets a rollout reaches: targets whose artifacts change, and targets a workload moves to or
    # from. A change only in predictions (a fleet's size, say) ships nothing.
    touched = set(artifacts) - {"(top)"}
    for name, entry in workloads.items():
        if entry["status"] == "changed" and "pattern" not in entry and "placements" not in entry:
            continue
        for side in (old.workloads.get(name), new.workloads.get(name)):
            for p in (side or {}).get("placements", []):
                touched.add(p["target"])
    fleets = {t: new.targets.get(t, old.targets.get(t, {})) for t in sorted(touched)}
    hardware = catalog.hardware()
    devices = sum(
        f.get("count", 1) for f in fleets.values() if hardware.get(f.get("hardware"), {}).get("role") == "device"
    )
    stages = [{**s, "devices": math.ceil(devices * s["percent"] / 100)} for s in new.rollout] if devices else []
    return {
        "version": 1,
        "artifacts": artifacts,
        "workloads": workloads,
        "fleets": fleets,
        "rollout": stages,
        "unchanged": not artifacts and not workloads,
    }


def _fmt(key: str, value: float) -> str:
    unit = next(u for k, _, u in METRICS if k == key)
    if unit == "$":
        return f"${value:,.2f}"
    if key == "accuracy":
        return f"{value:.3f}"
    return f"{value:,.1f} {unit}"


def _placements(placements: list[dict]) -> str:
    return ", ".join(f"{p['target']} ({p['role']}: {p['model']}, {p['recipe']})" for p in placements)


def _lines(d: dict, md: bool) -> list[str]:
    code = (lambda s: f"`{s}`") if md else (lambda s: s)
    out = []
    if d["unchanged"]:
        return ["No change: same plan, same artifacts."]
    if d["workloads"]:
        out.append("### Plan" if md else "Plan:")
        for name, e in d["workloads"].items():
            if e["status"] != "changed":
                out.append(f"- {code(name)}: {e['status']} ({(e.get('plan') or {}).get('pattern', 'no plan')})")
                continue
            parts = []
            if "pattern" in e:
                parts.append(f"pattern {e['pattern'][0]} -> {e['pattern'][1]}")
            if "placements" in e:
                parts.append(f"placement {_placements(e['placements'][0])} -> {_placements(e['placements'][1])}")
            for key, label, _ in METRICS:
                if key in e["estimates"]:
                    x = e["estimates"][key]
                    sign = "+" if x["delta"] >= 0 else "-"
                    parts.append(
                        f"{label} {_fmt(key, x['old'])} -> {_fmt(key, x['new'])} ({sign}{_fmt(key, abs(x['delta']))})"
                    )
            out.append(f"- {code(name)}: " + "; ".join(parts))
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


FORMATS = ("text", "markdown", "json")  # edgespec.outputs.DIFF, the CLI's choices


def render(d: dict, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"no diff format {fmt!r}")
    if fmt == "json":
        return json.dumps(d, indent=2, sort_keys=True) + "\n"
    lines = _lines(d, fmt == "markdown")
    if fmt == "markdown":
        lines = ["## edgespec diff", "", *lines]
    return "\n".join(lines) + "\n"
