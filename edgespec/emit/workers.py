"""Cloudflare Workers AI targets: a wrangler project per target.

wrangler.jsonc binds Workers AI (`ai.binding: AI`) at a pinned compatibility date; src/config.json
holds the routes (one per workload: the catalog model id the plan chose, the task, token and body
limits, a timeout from the latency budget); src/index.js is fixed code. With `rollout` in the spec,
rollout.sh deploys the project as a gradual deployment: a new Worker version tagged with the
package identity (spec version + content hash), traffic split stage by stage.
"""

from __future__ import annotations

import math

from edgespec import __version__
from edgespec.emit.common import placements_on, root_model
from edgespec.emit.package import content_sha256, file_hashes, identity
from edgespec.emit.serialize import json_bytes
from edgespec.emit.templating import render
from edgespec.load.sourcemap import SourceMap
from edgespec.planner.types import Plan
from edgespec.spec.models import Spec

MAX_BODY = {
    "text-generation": 100_000,
    "embedding": 100_000,
    "image-classification": 10_000_000,
    "object-detection": 10_000_000,
    "speech-recognition": 25_000_000,
}


def _timeout_ms(spec: Spec, workload: str, predicted_p95_ms: float) -> int:
    """Twice the loosest latency budget (past that the caller has given up anyway), within [1 s,
    30 s], and never below the predicted p95."""
    lat = spec.workloads[workload].latency
    budget = max(b for b in (lat.p50_ms, lat.p95_ms, lat.p99_ms) if b is not None)
    return max(int(min(30_000, max(1_000, 2 * budget))), math.ceil(predicted_p95_ms))


def emit(spec: Spec, plan: Plan, target: str, toolchain: dict, source: SourceMap):
    from edgespec.emit import Emitted

    out = Emitted()
    routes = {}
    for workload, c, p in placements_on(plan, target, roles=("remote",)):
        task = root_model(spec, spec.workloads[workload].model).task
        gen = spec.workloads[workload].generation
        predicted = c.estimates.remote_p95_ms or c.estimates.p95_ms
        routes[workload] = {
            "model": p.model,
            "task": task,
            "timeout_ms": _timeout_ms(spec, workload, predicted),
            "max_tokens": gen.output_tokens if gen else 0,
            "max_body_bytes": MAX_BODY[task],
        }
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
    out.files[base + "package.json"] = json_bytes(
        {
            "name": worker,
            "private": True,
            "type": "module",
            "scripts": {"deploy": "wrangler deploy", "dev": "wrangler dev"},
            "devDependencies": {"wrangler": toolchain["wrangler"]["version"].split()[-1]},
        }
    )
    out.files[base + "src/config.json"] = json_bytes({"deployment": spec.metadata.name, "routes": routes})
    out.files[base + "src/index.js"] = render("workers/index.js.j2", version=__version__)
    package = identity(
        spec.metadata.version, content_sha256(file_hashes({p[len(base) :]: d for p, d in out.files.items()}))
    )
    if spec.rollout:
        out.files[base + "rollout.sh"] = rollout_script(spec, worker, package)
    out.files[base + "README.md"] = render(
        "workers/README.md.j2",
        version=__version__,
        target=target,
        worker=worker,
        spec_name=spec.metadata.name,
        spec_version=spec.metadata.version,
        package=package,
        rollout=spec.rollout is not None,
        routes=[{"name": k, **v} for k, v in sorted(routes.items())],
    )
    return out


def rollout_script(spec: Spec, worker: str, package: str) -> bytes:
    stages = [{"percent": min(100, max(1, round(s.percent))), "soak": int(s.soak or 0)} for s in spec.rollout.stages]
    rollback = spec.rollout.rollback
    criteria = (
        []
        if rollback is None
        else [
            f"{name} <= {value:g}"
            for name, value in (
                ("error_rate", rollback.error_rate),
                ("latency_p95_ms", rollback.latency_p95_ms),
                ("accuracy_drop", rollback.accuracy_drop),
            )
            if value is not None
        ]
    )
    return render(
        "workers/rollout.sh.j2",
        version=__version__,
        worker=worker,
        package=package,
        stages=stages,
        stages_text=", ".join(f"{s['percent']}%" + (f" for {s['soak']} s" if s["soak"] else "") for s in stages),
        criteria_text=", ".join(criteria) or "none declared",
    )
