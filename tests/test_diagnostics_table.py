"""Table-driven diagnostics: each bad spec is one edit of tests/specs/base.yaml, and the test
asserts the complete list of (code, line, column) that `validate` reports for it."""

from __future__ import annotations

import pathlib

import pytest

from edgespec.load import load_bytes
from edgespec.validate import validate

BASE = (pathlib.Path(__file__).parent / "specs" / "base.yaml").read_text()

# (id, text to find in base.yaml, replacement, [(code, line, column), ...])
CASES = [
    # ES1xx: the file
    ("tab-indent", "    objective: cost", "\tobjective: cost", [("ES105", 41, 1)]),
    ("duplicate-key", "    objective: cost", "    objective: cost\n    objective: latency", [("ES106", 42, 5)]),
    ("unclosed-flow", "{p50_ms: 20, p95_ms: 50}", "{p50_ms: 20, p95_ms: 50", [("ES104", 36, 15)]),
    ("second-document", "telemetry: {", "---\ntelemetry: {", [("ES107", 44, 1)]),
    ("custom-tag", "count: 10", "count: !int 10", [("ES112", 21, 12)]),
    ("binary-tag", "count: 10", "count: !!binary 10", [("ES112", 21, 12)]),
    ("complex-key", "rollout:\n", "? [a, b]\n: 1\nrollout:\n", [("ES113", 42, 3)]),
    ("undefined-alias", "count: 10", "count: *ten", [("ES114", 21, 12)]),
    # ES2xx: shape
    ("unknown-key", "    objective: cost", "    objectiv: cost", [("ES201", 41, 5)]),
    ("unknown-top-key", "telemetry: {", "telemetri: {", [("ES201", 44, 1)]),
    ("unknown-flow-key", "uplink_mbps: 20", "uplnk_mbps: 20", [("ES201", 25, 27)]),
    ("misspelt-required", "  name: base", "  nmae: base", [("ES202", 3, 1), ("ES201", 4, 3)]),
    ("missing-model", "    model: det\n", "", [("ES202", 32, 3)]),
    ("missing-source-format", "{uri: s3://m/det.onnx, format: onnx}", "{uri: s3://m/det.onnx}", [("ES202", 9, 5)]),
    ("bad-offline", "offline: required", "offline: always", [("ES203", 39, 14)]),
    ("bad-kind", "kind: EdgeDeployment", "kind: Deployment", [("ES203", 2, 7)]),
    ("bad-api-version", "apiVersion: edgespec/v1", "apiVersion: edgespec/v2", [("ES203", 1, 13)]),
    ("bad-dtype", "dtype: float32", "dtype: fp32", [("ES203", 12, 45)]),
    ("bad-privacy-level", "raw_data: site", "raw_data: store", [("ES203", 38, 25)]),
    ("bad-objective", "objective: cost", "objective: speed", [("ES203", 41, 16)]),
    ("bad-pattern", "    objective: cost", "    pattern: edge", [("ES203", 41, 14)]),
    ("bad-task", "task: object-detection", "task: detection", [("ES203", 8, 11)]),
    ("bad-precision", "    objective: cost", "    optimize: {precision: int2}", [("ES203", 41, 27)]),
    ("bad-prune", "    objective: cost", "    optimize: {prune: 0.99}", [("ES203", 41, 23)]),
    ("count-not-int", "count: 10", "count: ten", [("ES204", 21, 12)]),
    ("count-float", "count: 10", "count: 10.5", [("ES204", 21, 12)]),
    ("count-bool", "count: 10", "count: true", [("ES204", 21, 12)]),
    ("data-source-scalar", "data_source: [cam]", "data_source: cam", [("ES204", 34, 18)]),
    ("throughput-scalar", "throughput: {rps: 15}", "throughput: 15", [("ES204", 36, 17)]),
    ("metadata-null", "metadata:\n  name: base\n  version: 1.0.0", "metadata:", [("ES204", 3, 10)]),
    ("sample-rate-bool", "sample_rate: 0.05", "sample_rate: yes", [("ES204", 44, 69)]),
    ("params-words", "params: 3.2M", "params: 3.2 million", [("ES205", 10, 13)]),
    ("soak-words", "soak: 2h", "soak: 2 hours", [("ES205", 43, 31)]),
    ("activation-unit", "activation_bytes: 800KiB", "activation_bytes: 800 kibibytes", [("ES205", 17, 61)]),
    ("uplink-unit", "uplink_mbps: 20", "uplink_mbps: 20MB/s", [("ES205", 25, 40)]),
    ("gflops-zero-string", "gflops: 8.7", "gflops: 0G", [("ES206", 11, 13)]),
    ("accuracy-above-one", "value: 0.62", "value: 1.62", [("ES206", 13, 38)]),
    (
        "fallback-fraction-one",
        "    gflops: 8.7\n",
        "    gflops: 8.7\n    cpu_fallback_fraction: 1\n",
        [("ES206", 12, 28)],
    ),
    ("fraction-above-one", "flops_fraction: 0.6", "flops_fraction: 1.2", [("ES206", 17, 38)]),
    ("negative-latency", "p95_ms: 50", "p95_ms: -5", [("ES206", 35, 35)]),
    ("zero-count", "count: 10", "count: 0", [("ES206", 21, 12)]),
    ("confidence-above-one", "confidence_below: 0.6", "confidence_below: 1.5", [("ES206", 40, 45)]),
    ("target-name-case", "  cam:", "  Cam:", [("ES207", 19, 3)]),
    ("model-name-underscore", "  det:", "  det_v2:", [("ES207", 7, 3)]),
    ("site-name-space", "site: store", "site: Main Store", [("ES207", 23, 11)]),
    ("version-not-semver", "version: 1.0.0", "version: v1.0", [("ES208", 5, 12)]),
    ("bad-sha256", "format: onnx}", "format: onnx, sha256: abc}", [("ES208", 9, 58)]),
    ("bad-zone", "zone: us-east-1-wl1-bos-wlz-1", "zone: Boston", [("ES208", 29, 11)]),
    ("endpoint-ftp", "https://otel.example.com:4318", "ftp://otel.example.com", [("ES208", 44, 23)]),
    ("empty-data-source", "data_source: [cam]", "data_source: []", [("ES209", 34, 18)]),
    ("empty-accuracy", "accuracy: {max_drop: 0.02}", "accuracy: {}", [("ES209", 37, 15)]),
    ("empty-latency", "latency: {p50_ms: 20, p95_ms: 50}", "latency: {}", [("ES209", 35, 14)]),
    ("empty-stages", "stages: [{percent: 1, soak: 2h}, {percent: 100}]", "stages: []", [("ES209", 43, 11)]),
    # ES3xx: meaning
    ("unknown-model", "    model: det", "    model: dett", [("ES301", 33, 12)]),
    (
        "unknown-escalation-model",
        "{to: mec, confidence_below",
        "{to: mec, model: big, confidence_below",
        [("ES301", 40, 34)],
    ),
    ("unknown-data-source", "data_source: [cam]", "data_source: [camera]", [("ES302", 34, 19)]),
    ("unknown-escalation-target", "{to: mec,", "{to: mek,", [("ES302", 40, 22)]),
    ("variant-parent-unknown", "distilled_from: det}", "distilled_from: dit}", [("ES303", 15, 139)]),
    ("variant-name-clash", "      det-tiny:", "      det:", [("ES304", 15, 7)]),
    ("latency-order", "p50_ms: 20", "p50_ms: 80", [("ES305", 35, 35)]),
    ("llm-without-generation", "task: object-detection", "task: text-generation", [("ES306", 32, 3)]),
    ("remote-data-source", "data_source: [cam]", "data_source: [cam, mec]", [("ES307", 34, 24), ("ES308", 40, 22)]),
    ("escalate-to-self", "{to: mec,", "{to: cam,", [("ES308", 40, 22)]),
    ("pinned-cloud-without-cloud", "    objective: cost", "    pattern: cloud", [("ES309", 41, 14)]),
    ("zone-on-jetson", "    site: store", "    zone: us-east-1-wl1-bos-wlz-1", [("ES310", 23, 5)]),
    ("wavelength-without-instance", "    instance_type: g4dn.2xlarge\n", "", [("ES310", 26, 3)]),
    ("zone-outside-region", "region: us-east-1", "region: us-west-2", [("ES310", 29, 11)]),
    ("rollout-not-to-100", "{percent: 100}]", "{percent: 50}]", [("ES311", 43, 46)]),
    ("rollout-decreasing", "{percent: 1, soak: 2h}", "{percent: 60, soak: 2h}, {percent: 30}", [("ES311", 43, 47)]),
    ("variant-larger", "det-tiny: {params: 1.1M", "det-tiny: {params: 5M", [("ES312", 15, 7)]),
    (
        "split-point-order",
        "      - {name: neck, flops_fraction: 0.6, activation_bytes: 800KiB}",
        "      - {name: neck, flops_fraction: 0.6, activation_bytes: 800KiB}\n"
        "      - {name: neck, flops_fraction: 0.4, activation_bytes: 1MB}",
        [("ES313", 18, 16), ("ES313", 18, 38)],
    ),
    ("power-mode-over-budget", "power_mode: 25W", "power_mode: 25W\n    power_budget_w: 15W", [("ES314", 22, 17)]),
    ("default-mode-over-budget", "    power_mode: 25W\n", "    power_budget_w: 12\n", [("ES314", 22, 21)]),
    ("jurisdiction-missing", "    jurisdiction: us\n", "", [("ES315", 37, 41)]),
    (
        "pool-fixed-and-scaled",
        "    instance_type: g4dn.2xlarge",
        "    instance_type: g4dn.2xlarge\n    count: 2\n    scaling: {max: 4}",
        [("ES316", 32, 5)],
    ),
    (
        "pool-bounds-reversed",
        "    instance_type: g4dn.2xlarge",
        "    instance_type: g4dn.2xlarge\n    scaling: {min: 5, max: 4}",
        [("ES316", 31, 20)],
    ),
    ("scaling-on-a-device", "    power_mode: 25W", "    power_mode: 25W\n    scaling: {max: 4}", [("ES310", 23, 5)]),
    (
        "rate-limit-on-wavelength",
        "    instance_type: g4dn.2xlarge",
        "    instance_type: g4dn.2xlarge\n    rate_limit_per_minute: 600",
        [("ES310", 31, 5)],
    ),
    (
        "jurisdiction-against-region",
        "    instance_type: g4dn.2xlarge",
        "    instance_type: g4dn.2xlarge\n    jurisdiction: de",
        [("ES317", 31, 19)],
    ),
    (
        "generation-on-a-detector",
        "    throughput: {rps: 15}",
        "    throughput: {rps: 15}\n    generation: {prompt_tokens: 10, output_tokens: 5}",
        [("ES318", 37, 5)],
    ),
    (
        "power-budget-on-wavelength",
        "    instance_type: g4dn.2xlarge",
        "    instance_type: g4dn.2xlarge\n    power_budget_w: 300",
        [("ES310", 31, 5)],
    ),
    # ES4xx: catalog
    ("unknown-hardware", "hardware: jetson-orin-nx-16gb", "hardware: jetson-orin-nx-16g", [("ES401", 20, 15)]),
    ("unknown-power-mode", "power_mode: 25W", "power_mode: 30W", [("ES402", 22, 17)]),
    ("unknown-instance-type", "instance_type: g4dn.2xlarge", "instance_type: p5.48xlarge", [("ES403", 30, 20)]),
    ("unknown-region", "region: us-east-1", "region: us-est-1", [("ES405", 28, 13)]),
    ("unknown-wavelength-zone", "zone: us-east-1-wl1-bos-wlz-1", "zone: us-east-1-wl1-bso-wlz-1", [("ES405", 29, 11)]),
    ("zone-of-another-region", "zone: us-east-1-wl1-bos-wlz-1", "zone: us-west-2-wl1-sea-wlz-1", [("ES310", 29, 11)]),
    (
        "unknown-workers-ai-model",
        "    split_points:",
        '    workers_ai: {model: "@cf/meta/detr", accuracy: 0.5}\n    split_points:',
        [("ES406", 16, 25)],
    ),
    (
        "workers-ai-model-of-another-task",
        "    split_points:",
        '    workers_ai: {model: "@cf/microsoft/resnet-50", accuracy: 0.5}\n    split_points:',
        [("ES406", 16, 25)],
    ),
    ("uk-is-gb", "features: region}", "features: region, residency: [uk]}", [("ES407", 38, 61)]),
    ("unknown-bloc", "    jurisdiction: us", "    jurisdiction: eea\n    description: fine", []),
    (
        "host-not-a-host",
        "hardware: jetson-orin-nx-16gb\n    count: 10\n    power_mode: 25W",
        "hardware: coral-usb\n    count: 10\n    host: jetson-orin-nano-8gb",
        [("ES404", 22, 11)],
    ),
]


# Numbers that YAML 1.2 (edgespec) reads differently from YAML 1.1 (PyYAML): 1E310 is infinity in
# 1.2 and a string in 1.1, so fmt's PyYAML-based "same data" check does not apply to them.
YAML12_CASES = [
    ("infinite-latency", "p95_ms: 50", "p95_ms: 1E310", [("ES205", 35, 35)]),  # overflows to infinity
]


def apply(find: str, replace: str) -> str:
    assert BASE.count(find) == 1, f"{find!r} must occur exactly once in base.yaml"
    return BASE.replace(find, replace)


def test_base_is_valid():
    spec, diagnostics = validate(load_bytes(BASE.encode(), "base.yaml"))
    assert diagnostics == [] and spec is not None


def test_table_is_large_enough():
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(
    "case_id,find,replace,expected", CASES + YAML12_CASES, ids=[c[0] for c in CASES + YAML12_CASES]
)
def test_diagnostic(case_id, find, replace, expected):
    spec, diagnostics = validate(load_bytes(apply(find, replace).encode(), "spec.yaml"))
    assert [(d.code, d.line, d.column) for d in diagnostics] == expected
    for d in diagnostics:
        assert d.file == "spec.yaml" and d.message
    if all(d.severity.value == "warning" for d in diagnostics):
        assert spec is not None
    else:
        assert spec is None
