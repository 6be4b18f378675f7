"""OpenTelemetry Collector configuration per device fleet (one per target, i.e. per device class).

Receives OTLP from local processes (the routers push theirs) and scrapes the model server's
Prometheus metrics; stamps every signal with the package identity (service.version) so the backend knows
which device runs which version; exports to `telemetry.endpoint` over OTLP/HTTP through a
persistent sending queue on disk (file_storage) sized from `telemetry.offline_buffer`, so a device
offline for that long loses nothing. Traces are sampled at `telemetry.sample_rate`. When any
workload on the fleet declares `privacy.pii`, input and output attributes are deleted from spans
and no logs pipeline exists, so raw inputs and outputs never leave in telemetry.
"""

from __future__ import annotations

import json
import math

from edgespec import __version__, catalog, kinds
from edgespec.device import ship
from edgespec.emit.common import placements_on
from edgespec.emit.serialize import yaml_documents
from edgespec.emit.templating import render
from edgespec.load.sourcemap import SourceMap
from edgespec.planner.types import Plan
from edgespec.spec.models import Spec

QUEUE_DIR = "/var/lib/edgespec/otel-queue"
BATCH_SECONDS = 5
TOKEN_FILE = "/etc/edgespec/otlp-token"  # the OTLP backend's bearer token on the device
PII_ATTRIBUTES = ("edgespec.input", "edgespec.output", "http.request.body", "http.response.body")


def config(spec: Spec, target: str, kind: str, package: str, pii: bool) -> dict:
    telemetry = spec.telemetry
    scrape = kinds.fleet(kind).scrape  # the device's own servers' metrics
    processors = {
        "memory_limiter": {"check_interval": "1s", "limit_mib": 128, "spike_limit_mib": 32},
        "resource": {
            "attributes": [
                {"key": "service.name", "value": f"edgespec-{spec.metadata.name}", "action": "upsert"},
                {"key": "service.version", "value": package, "action": "upsert"},
                {"key": "edgespec.target", "value": target, "action": "upsert"},
                {"key": "edgespec.hardware", "value": spec.targets[target].hardware, "action": "upsert"},
            ]
        },
        "probabilistic_sampler": {"sampling_percentage": round(telemetry.sample_rate * 100, 4)},
    }
    trace_processors = ["memory_limiter", "probabilistic_sampler", "resource"]
    if pii:
        processors["attributes/pii"] = {"actions": [{"key": k, "action": "delete"} for k in PII_ATTRIBUTES]}
        trace_processors.append("attributes/pii")
    receivers = {
        "otlp": {"protocols": {"grpc": {"endpoint": "127.0.0.1:4317"}, "http": {"endpoint": "127.0.0.1:4318"}}}
    }
    metric_receivers = ["otlp"]
    if scrape:
        receivers["prometheus"] = {
            "config": {
                "scrape_configs": [
                    {"job_name": name, "scrape_interval": "15s", "static_configs": [{"targets": [address]}]}
                    for name, address in scrape
                ]
            }
        }
        metric_receivers.append("prometheus")
    pipelines = {
        "traces": {"receivers": ["otlp"], "processors": trace_processors, "exporters": ["otlphttp"]},
        "metrics": {
            "receivers": metric_receivers,
            "processors": ["memory_limiter", "resource"],
            "exporters": ["otlphttp"],
        },
    }
    if not pii:
        pipelines["logs"] = {
            "receivers": ["otlp"],
            "processors": ["memory_limiter", "resource"],
            "exporters": ["otlphttp"],
        }
    queue_batches = math.ceil(telemetry.offline_buffer / BATCH_SECONDS) * len(pipelines)
    return {
        "extensions": {
            "file_storage/queue": {
                "directory": QUEUE_DIR,
                "timeout": "10s",
                "compaction": {"on_start": True, "on_rebound": True, "directory": QUEUE_DIR},
            },
            "health_check": {"endpoint": "127.0.0.1:13133"},
            # the backend's bearer token, from a file the device's secret store fills (re-read when it changes)
            "bearertokenauth/otlp": {"filename": TOKEN_FILE},
        },
        "receivers": receivers,
        "processors": processors,
        "exporters": {
            "otlphttp": {
                "endpoint": telemetry.endpoint,  # https: validation refuses plain HTTP off the device (ES320)
                "auth": {"authenticator": "bearertokenauth/otlp"},
                # batching in the exporter (the batch processor is being retired: collector#13582), behind
                # the persistent queue so a device that is offline keeps what it could not send
                "sending_queue": {
                    "enabled": True,
                    "storage": "file_storage/queue",
                    "sizer": "requests",
                    "queue_size": queue_batches,
                    "batch": {"flush_timeout": f"{BATCH_SECONDS}s", "sizer": "items", "min_size": 512},
                },
                "retry_on_failure": {
                    "enabled": True,
                    "initial_interval": "5s",
                    "max_interval": "5m",
                    "max_elapsed_time": f"{int(telemetry.offline_buffer)}s",
                },
            }
        },
        "service": {
            "extensions": ["file_storage/queue", "health_check", "bearertokenauth/otlp"],
            "pipelines": pipelines,
        },
    }


def device_files(spec: Spec, toolchain: dict, target: str) -> dict[str, bytes]:
    """What installs and starts the collector on a device (part of the package: otel/install.sh
    and the token fetcher), when the spec has telemetry."""
    if spec.telemetry is None:
        return {}
    return {
        "otel/install.sh": render(
            "otel/install.sh.j2",
            version=__version__,
            target=target,
            otelcol=toolchain["otelcol_contrib"],
            queue_dir=QUEUE_DIR,
            token_dir=TOKEN_FILE.rsplit("/", 1)[0],
            token_file=TOKEN_FILE,
        ),
        "otel/fetch_token.py": ship("otlp_token", __version__),
    }


def emit(spec: Spec, plan: Plan, target: str, toolchain: dict, source: SourceMap, files: dict[str, bytes]):
    from edgespec.emit import Emitted

    out = Emitted()
    package_file = files.get(f"{target}/package.json")
    if spec.telemetry is None or package_file is None:
        return out
    kind = catalog.hardware()[spec.targets[target].hardware]["kind"]
    workloads = {w for w, _, _ in placements_on(plan, target)}
    pii = any(spec.workloads[w].privacy.pii for w in workloads)
    package = json.loads(package_file)["package"]
    out.files[f"{target}/otel/collector.yaml"] = yaml_documents([config(spec, target, kind, package, pii)])
    return out
