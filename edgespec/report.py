"""`edgespec report SPEC -o report.html`: the plan as one self-contained page people look at.

The page has no script and fetches nothing: its Content-Security-Policy forbids every load but its
own inline styles and SVG. It shows the deployment's topology (devices, site aggregators, carrier
edge, cloud; an SVG drawn here, each node an element with `data-node` = the target's name), per
workload a budget bar (compute, network and queueing against p50/p95/p99 and the budget), the
cost and instances of every workload, and the rejected alternatives with their reasons. Every
string from the spec is HTML-escaped. Pure: a plan and a spec in, text out; deterministic.
"""

from __future__ import annotations

from html import escape

from edgespec import catalog
from edgespec.planner import select
from edgespec.planner.render import money
from edgespec.planner.types import Plan, spell
from edgespec.spec.models import Spec

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'"
# columns of the topology, left to right: where the data is, then each step further from it
TIERS = ("device", "site", "carrier edge", "cloud")
NODE_W, NODE_H, COL_W, ROW_H = 190, 46, 250, 70
COLOURS = {"compute": "#4c78a8", "network": "#f58518", "queueing": "#e45756"}


def _tier(spec: Spec, target: str, roles: set[str]) -> str:
    entry = catalog.hardware()[spec.targets[target].hardware]
    if entry["kind"] == "wavelength":
        return "carrier edge"
    if entry["role"] == "remote":
        return "cloud"
    return "site" if "aggregator" in roles else "device"


def topology(spec: Spec, plan: Plan) -> str:
    """An SVG of the targets the plan uses and, per workload, an edge from each data source to
    the tier that answers with it."""
    roles: dict[str, set[str]] = {}
    edges: list[tuple[str, str, str]] = []
    for name, wp in plan.workloads.items():
        for source in spec.workloads[name].data_source:
            roles.setdefault(source, set()).add("device")
        if wp.chosen is None:
            continue
        for p in wp.chosen.placements:
            roles.setdefault(p.target, set()).add(p.role)
            if p.role != "device":
                for source in spec.workloads[name].data_source:
                    edges.append((source, p.target, name))
    columns: dict[str, list[str]] = {t: [] for t in TIERS}
    for target in sorted(roles):
        columns[_tier(spec, target, roles[target])].append(target)
    at: dict[str, tuple[int, int]] = {}
    for i, tier in enumerate(TIERS):
        for j, target in enumerate(columns[tier]):
            at[target] = (20 + i * COL_W, 50 + j * ROW_H)
    height = 60 + max(1, *(len(v) for v in columns.values())) * ROW_H
    width = 40 + len(TIERS) * COL_W
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="deployment topology" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for i, tier in enumerate(TIERS):
        parts.append(f'<text x="{20 + i * COL_W}" y="24" class="tier">{escape(tier)}</text>')
    for source, target, workload in sorted(set(edges)):
        (x1, y1), (x2, y2) = at[source], at[target]
        parts.append(
            f'<line class="edge" data-workload="{escape(workload)}" x1="{x1 + NODE_W}" y1="{y1 + NODE_H // 2}" '
            f'x2="{x2}" y2="{y2 + NODE_H // 2}"><title>{escape(workload)}</title></line>'
        )
    for target, (x, y) in sorted(at.items()):
        t = spec.targets[target]
        count = f" x{t.count}" if t.count else ""
        parts.append(
            f'<g class="node" data-node="{escape(target)}"><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
            f'<text x="{x + 8}" y="{y + 19}">{escape(target)}</text>'
            f'<text x="{x + 8}" y="{y + 37}" class="hw">{escape(t.hardware + count)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def budget_bar(name: str, e, budget: float | None) -> str:
    """Compute, network and queueing of the median request as stacked segments, with the p50,
    p95, p99 and budget marked on the same scale."""
    queue = e.pool.serving.queue_ms if e.pool is not None else 0.0
    segments = [("compute", e.compute_ms), ("network", e.network_ms), ("queueing", queue)]
    scale = max(e.p99_ms, budget or 0.0, 1e-9) * 1.05
    width = 600
    parts = [f'<svg class="bar" data-workload="{escape(name)}" width="{width}" height="58" viewBox="0 0 {width} 58">']
    x = 0.0
    for label, value in segments:
        w = max(0.0, value) / scale * width
        parts.append(
            f'<rect x="{x:.1f}" y="8" width="{w:.1f}" height="20" fill="{COLOURS[label]}">'
            f"<title>{label} {value:.1f} ms</title></rect>"
        )
        x += w
    marks = [("p50", e.p50_ms), ("p95", e.p95_ms), ("p99", e.p99_ms)] + ([("budget", budget)] if budget else [])
    for label, value in marks:
        mx = value / scale * width
        parts.append(
            f'<line class="mark {label}" x1="{mx:.1f}" y1="4" x2="{mx:.1f}" y2="34"/>'
            f'<text x="{mx:.1f}" y="50" class="marklabel">{label} {value:.1f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render(spec: Spec, plan: Plan) -> str:
    rows, bars, rejected = [], [], []
    for name, wp in plan.workloads.items():
        c = wp.chosen
        budget = spec.workloads[name].latency.p95_ms
        if c is None or c.estimates is None:
            rows.append(f"<tr><td>{escape(name)}</td><td colspan='7'>infeasible: {escape(wp.why)}</td></tr>")
        else:
            e = c.estimates
            where = ", ".join(p.described() for p in c.placements)
            rows.append(
                "<tr>"
                + "".join(
                    f"<td>{escape(str(v))}</td>"
                    for v in (
                        name,
                        c.pattern,
                        where,
                        f"{e.p95_ms:.1f} ms" + (f" / {budget:g} ms" if budget else ""),
                        e.basis,
                        f"{e.accuracy:.3f}",
                        money(e.cost_usd_per_month, "unknown"),
                        "-" if e.instances is None else e.instances,
                    )
                )
                + "</tr>"
            )
            bars.append(f"<h3>{escape(name)}</h3>{budget_bar(name, e, budget)}")
        misses = select.nearest_misses(wp.rejected, group=select.by_pattern_and_target)
        for _, miss in sorted(misses.items()):
            rejected.append(
                f"<tr><td>{escape(name)}</td><td>{escape(miss.pattern)}</td><td>{escape(str(select.blamed(miss)))}</td>"
                f"<td>{escape(spell(miss.reasons[0]))}</td></tr>"
            )
    legend = "".join(f'<span class="key" style="background:{c}"></span>{k} ' for k, c in COLOURS.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>edgespec plan: {escape(spec.metadata.name)} {escape(spec.metadata.version)}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; margin: 8px 0 24px; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; }}
.node rect {{ fill: #eef3fa; stroke: #4c78a8; }} .node .hw {{ fill: #555; font-size: 12px; }}
.edge {{ stroke: #888; stroke-width: 1.5; }} .tier {{ font-weight: bold; }}
.mark {{ stroke: #222; stroke-width: 1.5; }} .mark.budget {{ stroke: #d62728; stroke-dasharray: 4 2; }}
.marklabel {{ font-size: 11px; }} .key {{ display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; }}
</style></head><body>
<h1>{escape(spec.metadata.name)} {escape(spec.metadata.version)}</h1>
<p>{escape(spec.metadata.description or "")}</p>
<h2>Topology</h2>
{topology(spec, plan)}
<h2>Workloads</h2>
<table><tr><th>workload</th><th>pattern</th><th>placement</th><th>p95 / budget</th><th>latency</th><th>accuracy</th><th>cost/month</th><th>instances</th></tr>
{"".join(rows)}
</table>
<h2>Latency budgets</h2>
<p>{legend}</p>
{"".join(bars)}
<h2>Rejected alternatives</h2>
<table><tr><th>workload</th><th>pattern</th><th>target</th><th>reason</th></tr>
{"".join(rejected)}
</table>
</body></html>
"""
