"""Each constraint on its own: the reason it gives, and that it holds when it should."""

from __future__ import annotations

import pytest

from edgespec.planner import candidates, constraints, device, estimate
from edgespec.planner.types import Estimates, Recipe, spell
from edgespec.spec.models import Spec, Target
from tests.planner_helpers import model, spec


def dev(name: str, hardware: str, **fields) -> device.Device:
    return device.resolve(name, Target.model_validate({"hardware": hardware, **fields}))


def ctx_for(workload: dict, targets: dict | None = None):
    targets = targets or {"cam": {"hardware": "jetson-orin-nx-16gb", "site": "a", "jurisdiction": "us"}}
    doc = spec({"m": model()}, targets, {"w": {"model": "m", "data_source": ["cam"], **workload}})
    s = Spec.model_validate(doc)
    devices = {n: device.resolve(n, t) for n, t in s.targets.items()}
    return candidates.context(s, "w", devices, {})


def est(p50=10.0, p95=12.0, accuracy=0.9, drop=0.0, utilisation=0.1) -> Estimates:
    return Estimates(p50, p95, p50, 0.0, accuracy, drop, 1.0, 1.0, 0.0, None, utilisation=utilisation)


def test_capability():
    coral = dev("c", "coral-usb")
    assert constraints.capability("image-classification", "tflite", Recipe("int8"), coral) == []
    assert "runs int8, not fp16" in constraints.capability("image-classification", "tflite", Recipe("fp16"), coral)[0]
    assert "does not run text-generation" in constraints.capability("text-generation", "tflite", Recipe("int8"), coral)[0]
    assert "cannot load coreml" in constraints.capability("image-classification", "coreml", Recipe("int8"), coral)[0]
    nano = dev("n", "jetson-orin-nano-8gb")
    assert "has no DLA" in constraints.capability("image-classification", "onnx", Recipe("int8", accelerator="dla"), nano)[0]


def test_memory():
    phone = dev("p", "apple-a15")  # 4 GB x 50% usable
    assert constraints.memory(phone, estimate.Work(1, 0.9e9, "fp16"), 1e6) == []
    (reason,) = constraints.memory(phone, estimate.Work(1, 1e9, "fp32"), 1e6)
    assert reason.startswith("memory: needs 4.00 GB") and "2.00 GB usable" in reason


@pytest.mark.parametrize("dest_fields,level", [
    ({"hardware": "jetson-agx-orin-64gb", "site": "a"}, "site"),
    ({"hardware": "aws-ec2", "region": "us-east-1"}, "region"),
    ({"hardware": "aws-ec2", "region": "eu-west-1"}, "anywhere"),
    ({"hardware": "cloudflare-workers-ai"}, "anywhere"),
])
def test_privacy_distance(dest_fields, level):
    source = dev("cam", "jetson-orin-nx-16gb", site="a", jurisdiction="us")
    assert constraints.distance(source, dev("x", **dest_fields)) == level
    assert constraints.distance(source, source) == "device"


def test_privacy_and_residency_reasons():
    ctx = ctx_for({"latency": {"p95_ms": 100}, "privacy": {"raw_data": "site", "residency": ["us"]}})
    server = dev("srv", "jetson-agx-orin-64gb", site="a")
    eu = dev("eu", "aws-ec2", region="eu-west-1")
    workers = dev("wk", "cloudflare-workers-ai")
    assert constraints.transfer_allowed(ctx, server, "raw_data") == []
    reasons = constraints.transfer_allowed(ctx, eu, "raw_data")
    assert reasons[0].startswith("privacy: raw_data=site forbids sending input from cam to eu (anywhere)")
    assert reasons[1] == "residency: eu is in eu; residency is us"
    assert constraints.transfer_allowed(ctx, workers, "features")[0].startswith("residency: wk (Workers AI)")


def test_latency_throughput_accuracy_offline():
    ctx = ctx_for({"latency": {"p50_ms": 8, "p95_ms": 20, "p99_ms": 13}, "throughput": {"rps": 50},
                   "accuracy": {"max_drop": 0.01, "min": 0.85}, "offline": "required"})
    assert constraints.common(ctx, est(p50=5, p95=6), local_answer=True) == []
    reasons = constraints.common(ctx, est(p50=10, p95=12, accuracy=0.84, drop=0.06, utilisation=0.9),
                                 local_answer=False)
    assert [spell(r) for r in reasons] == [
        "latency: p50 10.0 ms > 8 ms (from cam)",
        "latency: p99 14.0 ms > 13 ms (from cam)",
        "throughput: 50 rps keeps cam 90% busy (limit 70%)",
        "accuracy: drop 0.060 > max_drop 0.01",
        "accuracy: 0.840 < min 0.85",
        "offline: offline=required, but this pattern cannot answer without the uplink",
    ]
    p99 = constraints.common(ctx, est(p50=5, p95=10), local_answer=True)  # p99 ~ p95 + (p95 - p50) = 15
    assert [spell(r) for r in p99] == ["latency: p99 15.0 ms > 13 ms (from cam)"]
