"""Build small specs in code and plan them."""

from __future__ import annotations

import yaml

from edgespec.load import load_bytes
from edgespec.planner.plan import plan
from edgespec.validate import validate


def model(task="image-classification", params="25M", gflops=8.0, accuracy=0.9, **extra) -> dict:
    """A model; it declares a TensorRT calibration cache (so int8 is open on Jetsons and GPU pools)
    unless `calibration=None` is passed."""
    calibration = extra.pop("calibration", {"uri": "s3://m/model.cache"})
    return {
        "task": task,
        "source": {"uri": "s3://m/model.onnx", "format": extra.pop("format", "onnx")},
        **({"calibration": calibration} if calibration else {}),
        "params": params,
        "gflops": gflops,
        "input": extra.pop("input", {"shape": [1, 3, 224, 224], "dtype": "uint8"}),
        "accuracy": {"metric": "top1", "value": accuracy},
        **extra,
    }


def spec(models: dict, targets: dict, workloads: dict) -> dict:
    return {
        "apiVersion": "edgespec/v1",
        "kind": "EdgeDeployment",
        "metadata": {"name": "t", "version": "1.0.0"},
        "models": models,
        "targets": targets,
        "workloads": workloads,
    }


def video_analytics() -> dict:
    """A heavy detector on weak cameras with a thin uplink; features may leave, frames may not."""
    return spec(
        {
            "detector": model(
                "object-detection",
                "60M",
                600,
                0.7,
                input={"shape": [1, 3, 1280, 1280], "dtype": "uint8", "encoding": "jpeg", "encoded_bytes": "400KB"},
                split_points=[{"name": "backbone", "flops_fraction": 0.15, "activation_bytes": "40KB"}],
            )
        },
        {
            "cam": {
                "hardware": "jetson-orin-nano-4gb",
                "power_mode": "7W",
                "count": 300,
                "jurisdiction": "us",
                "network": {"rtt_ms": 25, "uplink_mbps": 4},
            },
            "cloud": {
                "hardware": "aws-ec2",
                "region": "us-east-1",
                "instance_type": "g6.xlarge",
                "count": 10,
                "network": {"rtt_ms": 25},
            },
        },
        {
            "analytics": {
                "model": "detector",
                "data_source": ["cam"],
                "latency": {"p95_ms": 400},
                "throughput": {"rps": 1},
                "privacy": {"raw_data": "device", "features": "region"},
                "optimize": {"precision": "fp16", "prune": "none"},
            }
        },
    )


def run(doc: dict):
    """(Plan, diagnostics) of a spec given as data; asserts the spec itself is valid."""
    raw = yaml.safe_dump(doc, sort_keys=False).encode()
    loaded = load_bytes(raw, "t.yaml")
    checked, diagnostics = validate(loaded)
    assert checked is not None, [d.message for d in diagnostics]
    return plan(checked, loaded.source)


def misses(workload_plan) -> dict[str, list[str]]:
    """Pattern -> the reasons of every rejected candidate of that pattern."""
    out: dict[str, list[str]] = {}
    for c in workload_plan.rejected:
        out.setdefault(c.pattern, []).extend(c.reasons)
    return out
