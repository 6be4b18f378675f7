"""Cloudflare Workers AI targets: a wrangler project per target.

wrangler.jsonc binds Workers AI (`ai.binding: AI`) at a pinned compatibility date; src/config.json
holds the routes (one per workload: the catalog model id the plan chose, the task, token and body
limits, a timeout from the latency budget); src/index.js is fixed code.
"""

from __future__ import annotations

from edgespec import __version__
from edgespec.emit.common import placements_on, root_model
from edgespec.emit.serialize import json_bytes
from edgespec.emit.templating import render
from edgespec.load.sourcemap import SourceMap
from edgespec.planner.types import Plan
from edgespec.spec.models import Spec

MAX_BODY = {"text-generation": 100_000, "embedding": 100_000, "image-classification": 10_000_000,
            "object-detection": 10_000_000, "speech-recognition": 25_000_000}


def _timeout_ms(spec: Spec, workload: str) -> int:
    """Twice the loosest latency budget: past that the caller has given up anyway."""
    lat = spec.workloads[workload].latency
    budget = max(b for b in (lat.p50_ms, lat.p95_ms, lat.p99_ms) if b is not None)
    return int(min(30_000, max(1_000, 2 * budget)))


def emit(spec: Spec, plan: Plan, target: str, toolchain: dict, source: SourceMap):
    from edgespec.emit import Emitted

    out = Emitted()
    routes = {}
    for workload, _, p in placements_on(plan, target, roles=("remote",)):
        task = root_model(spec, spec.workloads[workload].model).task
        gen = spec.workloads[workload].generation
        routes[workload] = {"model": p.model, "task": task, "timeout_ms": _timeout_ms(spec, workload),
                            "max_tokens": gen.output_tokens if gen else 0, "max_body_bytes": MAX_BODY[task]}
    if not routes:
        return out
    worker = f"{spec.metadata.name}-{target}"[:63].rstrip("-")
    base = f"{target}/"
    wrangler = {
        "$schema": "node_modules/wrangler/config-schema.json",
        "name": worker,
        "main": "src/index.js",
        "compatibility_date": toolchain["workers_compatibility_date"]["version"],
        "ai": {"binding": "AI"},
        "observability": {"enabled": True},
    }
    out.files[base + "wrangler.jsonc"] = json_bytes(wrangler)
    out.files[base + "package.json"] = json_bytes({
        "name": worker, "private": True, "type": "module",
        "scripts": {"deploy": "wrangler deploy", "dev": "wrangler dev"},
        "devDependencies": {"wrangler": toolchain["wrangler"]["version"].split()[-1]},
    })
    out.files[base + "src/config.json"] = json_bytes({"deployment": spec.metadata.name, "routes": routes})
    out.files[base + "src/index.js"] = render("workers/index.js.j2", version=__version__)
    out.files[base + "README.md"] = render(
        "workers/README.md.j2", version=__version__, target=target, worker=worker, spec_name=spec.metadata.name,
        spec_version=spec.metadata.version, routes=[{"name": k, **v} for k, v in sorted(routes.items())])
    return out
