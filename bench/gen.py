"""Generate large, valid specs for the benchmarks (deterministic: the same N gives the same file)."""

from __future__ import annotations

import random

HARDWARE = [
    "jetson-orin-nx-16gb",
    "jetson-orin-nano-8gb",
    "jetson-agx-orin-64gb",
    "coral-usb",
    "qcs6490",
    "snapdragon-8-gen-3",
    "apple-a17-pro",
    "raspberry-pi-5",
]


def spec(workloads: int, targets: int | None = None, seed: int = 0, relaxed: bool = False) -> str:
    """A valid spec. `relaxed` makes every workload feasible (loose budgets, a large cloud pool),
    for benchmarks that need a plan for everything, such as compile."""
    rng = random.Random(seed)
    targets = targets or max(2, workloads // 10)
    models = max(1, workloads // 20)
    out = [
        "apiVersion: edgespec/v1",
        "kind: EdgeDeployment",
        f"metadata: {{name: bench-{workloads}, version: 1.0.0}}",
        "models:",
    ]
    for m in range(models):
        out += [
            f"  model-{m}:",
            "    task: object-detection",
            f"    source: {{uri: s3://bench/model-{m}.onnx, format: onnx}}",
            f"    params: {rng.uniform(1, 30):.1f}M",
            f"    gflops: {rng.uniform(0.5, 20):.2f}",
            "    input: {shape: [1, 3, 640, 640], dtype: float32}",
            f"    accuracy: {{metric: mAP50, value: {rng.uniform(0.4, 0.9):.2f}}}",
            "    variants:",
            f"      model-{m}-tiny: {{params: 0.5M, gflops: 0.4, accuracy: {{value: 0.35}}}}",
            "    split_points:",
            "      - {name: neck, flops_fraction: 0.6, activation_bytes: 800KiB}",
        ]
    out.append("targets:")
    devices = []
    for t in range(targets - 1):
        hw = HARDWARE[t % len(HARDWARE)]
        host = ", host: raspberry-pi-5" if hw == "coral-usb" else ""
        out.append(
            f"  device-{t}: {{hardware: {hw}, count: {rng.randint(1, 5000)}, site: site-{t % 7}{host}, "
            f"network: {{rtt_ms: {rng.randint(5, 80)}, uplink_mbps: {rng.randint(2, 100)}}}}}"
        )
        devices.append(f"device-{t}")
    pool = 100000 if relaxed else 1
    out.append(
        f"  cloud: {{hardware: aws-ec2, region: us-east-1, instance_type: g4dn.xlarge, count: {pool}, "
        "network: {rtt_ms: 40}}"
    )
    out.append("workloads:")
    for w in range(workloads):
        out += [
            f"  workload-{w}:",
            f"    model: model-{rng.randrange(models)}",
            f"    data_source: [{rng.choice(devices)}]",
            (
                f"    latency: {{p95_ms: {rng.randint(2000, 5000)}}}"
                if relaxed
                else f"    latency: {{p50_ms: {rng.randint(5, 50)}, p95_ms: {rng.randint(60, 500)}}}"
            ),
            f"    throughput: {{rps: {rng.uniform(0.1, 0.5 if relaxed else 30):.1f}}}",
            f"    accuracy: {{max_drop: {0.5 if relaxed else rng.choice([0.01, 0.02, 0.05])}}}",
            f"    privacy: {{raw_data: {rng.choice(['device', 'site', 'region', 'anywhere'])}, features: anywhere}}",
            f"    offline: {rng.choice(['required', 'preferred', 'none'])}",
            "    escalation: {to: cloud, confidence_below: 0.6}",
            f"    objective: {rng.choice(['latency', 'cost', 'energy', 'accuracy'])}",
        ]
        if w % 2 == 0:  # half the workloads consent to pruned weights (no draw: the others stay as they were)
            out.append("    optimize: {prune: auto}")
    return "\n".join(out) + "\n"
