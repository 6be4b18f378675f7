"""The classic placement decisions: each scenario asserts the chosen pattern and why the others lost."""

from __future__ import annotations

from tests.planner_helpers import misses, model, run, spec, video_analytics


def _any(reasons: list[str], *words: str) -> bool:
    return any(all(w in r for w in words) for r in reasons)


def test_chatbot_whose_budget_cloud_meets():
    chat = model("text-generation", "8B", 16, 0.68, input={"shape": [1, 4096], "dtype": "int64"}, format="gguf")
    chat["workers_ai"] = {"model": "@cf/meta/llama-3.1-8b-instruct-fp8", "accuracy": 0.67}
    doc = spec(
        {"chat-8b": chat},
        {
            "phones": {"hardware": "apple-a15", "count": 10000, "network": {"rtt_ms": 60, "uplink_mbps": 10}},
            "workers": {"hardware": "cloudflare-workers-ai"},
        },
        {
            "chat": {
                "model": "chat-8b",
                "data_source": ["phones"],
                "latency": {"p95_ms": "3s"},
                "throughput": {"rps": 0.0004},
                "generation": {"prompt_tokens": 300, "output_tokens": 120},
                "objective": "latency",
            }
        },
    )
    p, diagnostics = run(doc)
    wp = p.workloads["chat"]
    assert wp.chosen.pattern == "cloud" and wp.chosen.placements[0].target == "workers"
    assert wp.chosen.placements[0].model == "@cf/meta/llama-3.1-8b-instruct-fp8"
    assert wp.chosen.estimates.accuracy == 0.67  # the declared model's, not the user's own
    assert wp.chosen.estimates.p95_ms < 3000
    assert _any(misses(wp)["on-device"], "memory:", "phones")
    assert not [d for d in diagnostics if d.severity.value == "error"]


def test_fraud_scoring_stays_on_the_terminal():
    doc = spec(
        {"fraud": model("tabular", "450k", 0.002, 0.94, input={"shape": [1, 96], "dtype": "float32"})},
        {
            "pos": {
                "hardware": "qcs6490",
                "count": 5000,
                "jurisdiction": "de",
                "network": {"rtt_ms": 80, "uplink_mbps": 2},
            },
            "cloud": {
                "hardware": "aws-ec2",
                "region": "eu-central-1",
                "instance_type": "g4dn.xlarge",
                "count": 4,
                "network": {"rtt_ms": 30},
            },
        },
        {
            "score": {
                "model": "fraud",
                "data_source": ["pos"],
                "latency": {"p95_ms": 50},
                "throughput": {"rps": 0.5},
                "privacy": {"raw_data": "device", "features": "device", "pii": True},
                "offline": "required",
            }
        },
    )
    wp = run(doc)[0].workloads["score"]
    assert wp.chosen.pattern == "on-device"
    assert _any(misses(wp)["cloud"], "privacy: raw_data=device forbids sending input")
    assert _any(misses(wp)["cloud"], "offline:")


def test_video_analytics_with_a_thin_uplink_splits():
    doc = video_analytics()
    wp = run(doc)[0].workloads["analytics"]
    assert wp.chosen.pattern == "split", wp.why
    assert [p.role for p in wp.chosen.placements] == ["device", "remote"]
    m = misses(wp)
    assert _any(m["cloud"], "privacy: raw_data=device")
    assert _any(m["on-device"], "latency: p95")
    assert wp.chosen.estimates.network_ms < 200  # 40 KB of activations, not 400 KB of frames


def test_small_edge_model_escalates_to_the_cloud():
    doc = spec(
        {
            "products": model(
                "image-classification",
                "300M",
                120,
                0.93,
                input={"shape": [1, 3, 224, 224], "dtype": "uint8", "encoding": "jpeg", "encoded_bytes": "20KB"},
                variants={
                    "products-mobile": {
                        "params": "3.5M",
                        "gflops": 0.6,
                        "accuracy": {"value": 0.84},
                        "source": {"uri": "s3://m/products-mobile.onnx", "format": "onnx"},
                    }
                },
            )
        },
        {
            "lane": {
                "hardware": "coral-usb",
                "host": "raspberry-pi-5",
                "count": 500,
                "jurisdiction": "us",
                "network": {"rtt_ms": 60, "uplink_mbps": 20},
            },
            "cloud": {
                "hardware": "aws-ec2",
                "region": "us-east-1",
                "instance_type": "g4dn.xlarge",
                "count": 4,
                "network": {"rtt_ms": 60},
            },
        },
        {
            "recognise": {
                "model": "products",
                "data_source": ["lane"],
                "latency": {"p50_ms": 30, "p95_ms": 400},
                "throughput": {"rps": 1},
                "accuracy": {"min": 0.88},
                "escalation": {"to": "cloud", "confidence_below": 0.7},
                "objective": "latency",
            }
        },
    )
    wp = run(doc)[0].workloads["recognise"]
    assert wp.chosen.pattern == "cascade", wp.why
    assert wp.chosen.placements[0].model == "products-mobile"
    assert wp.chosen.estimates.escalation_rate == 0.15
    m = misses(wp)
    assert _any(m["on-device"], "accuracy: 0.8")  # the mobile model alone is not accurate enough
    assert _any(m["cloud"], "latency: p50")  # every request paying the round trip misses p50


def test_ar_only_the_carrier_edge_is_fast_enough():
    doc = spec(
        {
            "ar": model(
                "segmentation",
                "40M",
                300,
                0.8,
                input={"shape": [1, 3, 512, 512], "dtype": "uint8", "encoding": "jpeg", "encoded_bytes": "30KB"},
            )
        },
        {
            "phone": {
                "hardware": "snapdragon-8-gen-2",
                "count": 20000,
                "jurisdiction": "us",
                "network": {"rtt_ms": 70, "uplink_mbps": 50},
            },
            "edge": {
                "hardware": "aws-wavelength",
                "region": "us-east-1",
                "zone": "us-east-1-wl1-bos-wlz-1",
                "instance_type": "g4dn.2xlarge",
                "count": 20,
                "network": {"rtt_ms": 12},
            },
            "cloud": {
                "hardware": "aws-ec2",
                "region": "us-east-1",
                "instance_type": "g4dn.xlarge",
                "count": 20,
                "network": {"rtt_ms": 70},
            },
        },
        {
            "overlay": {
                "model": "ar",
                "data_source": ["phone"],
                "latency": {"p95_ms": 50},
                "throughput": {"rps": 0.01},
                "optimize": {"precision": "fp16", "prune": "none"},
                "objective": "latency",
            }
        },
    )
    wp = run(doc)[0].workloads["overlay"]
    assert wp.chosen.pattern == "mec", wp.why
    m = misses(wp)
    assert _any(m["cloud"], "latency: p95")
    assert _any(m["on-device"], "latency: p95")


def test_multi_site_data_never_leaves_the_site():
    doc = spec(
        {
            "cxr": model(
                "image-classification",
                "86M",
                35,
                0.91,
                split_points=[{"name": "block-3", "flops_fraction": 0.25, "activation_bytes": "600KiB"}],
            )
        },
        {
            "ward": {"hardware": "raspberry-pi-5", "count": 12, "site": "north", "jurisdiction": "us"},
            "server": {"hardware": "jetson-agx-orin-64gb", "site": "north", "jurisdiction": "us"},
            "cloud": {
                "hardware": "aws-ec2",
                "region": "us-east-1",
                "instance_type": "g4dn.xlarge",
                "count": 2,
                "network": {"rtt_ms": 20},
            },
        },
        {
            "triage": {
                "model": "cxr",
                "data_source": ["ward"],
                # the Pi's quarter of the model (8.75 GFLOPs at fp32) takes about 170 ms p50 at
                # the calibrated CPU efficiency; the whole model about 690 ms
                "latency": {"p95_ms": 300},
                "throughput": {"rps": 0.2},
                "privacy": {"raw_data": "device", "features": "site", "residency": ["us"], "pii": True},
                "offline": "required",
                "optimize": {"precision": "fp32", "prune": "none"},
            }
        },
    )
    wp = run(doc)[0].workloads["triage"]
    assert wp.chosen.pattern == "federated", wp.why
    assert {p.role for p in wp.chosen.placements} == {"device", "aggregator"}
    m = misses(wp)
    assert _any(m["cloud"], "privacy: raw_data=device")
    assert _any(m["split"], "privacy: features=site")
    assert _any(m["on-device"], "latency: p95")


def test_a_7b_model_on_a_coral_fails_with_a_clear_reason():
    doc = spec(
        {"llm": model("text-generation", "7B", 14, 0.6, input={"shape": [1, 2048], "dtype": "int64"})},
        {"stick": {"hardware": "coral-usb", "host": "raspberry-pi-5"}},
        {
            "chat": {
                "model": "llm",
                "data_source": ["stick"],
                "latency": {"p95_ms": "5s"},
                "generation": {"prompt_tokens": 100, "output_tokens": 50},
            }
        },
    )
    p, diagnostics = run(doc)
    assert p.workloads["chat"].chosen is None
    (d,) = [d for d in diagnostics if d.code == "ES501"]
    assert "on-device: capability: coral-usb does not run text-generation models" in d.message
    assert d.line == 1 + [line.strip() for line in _yaml(doc).splitlines()].index("chat:") and d.hint


def _yaml(doc):
    import yaml

    return yaml.safe_dump(doc, sort_keys=False)


def test_pinning_a_pattern_restricts_the_search():
    doc = spec(
        {"m": model()},
        {
            "cam": {"hardware": "jetson-orin-nx-16gb", "count": 2, "network": {"rtt_ms": 20, "uplink_mbps": 50}},
            "cloud": {"hardware": "aws-ec2", "region": "us-east-1", "count": 2, "network": {"rtt_ms": 20}},
        },
        {
            "w": {
                "model": "m",
                "data_source": ["cam"],
                "latency": {"p95_ms": 500},
                "pattern": "cloud",
                "optimize": {"precision": "int8"},
            }
        },
    )
    wp = run(doc)[0].workloads["w"]
    assert {c.pattern for c in wp.candidates} == {"cloud"}
    assert all(p.recipe.precision == "int8" for c in wp.candidates for p in c.placements)
