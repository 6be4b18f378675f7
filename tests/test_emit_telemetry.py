"""OpenTelemetry Collector configs. No collector installs from the package registries this
project uses, so the configs are checked structurally: every referenced component defined, the
offline queue sized from the spec, the package identity stamped, and PII kept out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, compile_to


def compile_example(name: str, tmp_path_factory) -> Path:
    return compile_to(ROOT / "examples" / f"{name}.yaml", tmp_path_factory.mktemp(name) / "out")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return compile_example("store-vision", tmp_path_factory)


@pytest.fixture(scope="module")
def hospital(tmp_path_factory) -> Path:
    return compile_example("hospital-imaging", tmp_path_factory)


def check_structure(config: dict) -> None:
    service = config["service"]
    for extension in service["extensions"]:
        assert extension in config["extensions"]
    for pipeline in service["pipelines"].values():
        for kind, section in (("receivers", "receivers"), ("processors", "processors"), ("exporters", "exporters")):
            for name in pipeline[kind]:
                assert name in config[section], (kind, name)
        assert pipeline["processors"][0] == "memory_limiter" and "batch" not in pipeline["processors"]
    # batching in the exporter, behind the persistent queue (the batch processor is being retired)
    assert "batch" not in config["processors"]
    exporter = config["exporters"]["otlphttp"]
    queue = exporter["sending_queue"]
    assert queue["enabled"] and queue["storage"] in config["extensions"]
    assert set(queue["batch"]) == {"flush_timeout", "sizer", "min_size"} and queue["batch"]["sizer"] == "items"
    # the backend's token from a file the device's secret store fills, over TLS
    authenticator = exporter["auth"]["authenticator"]
    assert authenticator in service["extensions"] and config["extensions"][authenticator]["filename"].startswith("/")
    assert exporter["endpoint"].startswith("https://")


def test_store_fleet_config(store):
    for target in ("store-orin", "checkout-tpu"):
        config = yaml.safe_load((store / target / "otel" / "collector.yaml").read_text())
        check_structure(config)
        package = json.loads((store / target / "package.json").read_text())["package"]
        versions = [a["value"] for a in config["processors"]["resource"]["attributes"] if a["key"] == "service.version"]
        assert versions == [package]  # which device runs which version
        assert config["processors"]["probabilistic_sampler"]["sampling_percentage"] == 5.0  # sample_rate 0.05
        exporter = config["exporters"]["otlphttp"]
        assert exporter["endpoint"] == "https://otel.example.com:4318"
        pipelines = len(config["service"]["pipelines"])
        assert exporter["sending_queue"]["queue_size"] == 24 * 3600 // 5 * pipelines  # offline_buffer 24h
        assert exporter["retry_on_failure"]["max_elapsed_time"] == "86400s"
        assert "logs" in config["service"]["pipelines"]  # no PII here


def test_pii_never_leaves(hospital):
    configs = sorted(hospital.rglob("otel/collector.yaml"))
    assert configs
    for path in configs:
        config = yaml.safe_load(path.read_text())
        check_structure(config)
        assert "logs" not in config["service"]["pipelines"]  # log bodies could carry inputs
        deleted = {a["key"] for a in config["processors"]["attributes/pii"]["actions"] if a["action"] == "delete"}
        assert {"edgespec.input", "edgespec.output"} <= deleted
        assert "attributes/pii" in config["service"]["pipelines"]["traces"]["processors"]
        assert config["exporters"]["otlphttp"]["sending_queue"]["queue_size"] == 2 * 24 * 3600 // 5 * 2  # 2d, 2 pipelines


def test_plain_http_off_the_device_is_refused(run, tmp_path):
    """ES320 at the endpoint's line; a collector on the device itself may take plain HTTP."""
    text = (ROOT / "examples" / "store-vision.yaml").read_text()
    for endpoint, refused in (("http://otel.example.com:4318", True), ("http://127.0.0.1:4318", False),
                              ("https://otel.example.com:4318", False)):
        path = tmp_path / "spec.yaml"
        path.write_text(text.replace("https://otel.example.com:4318", endpoint))
        code, out, _ = run("validate", str(path), "--format", "json")
        found = [(d["code"], d["line"]) for d in json.loads(out)["diagnostics"]]
        line = next(i + 1 for i, x in enumerate(path.read_text().splitlines()) if endpoint in x)
        assert (("ES320", line) in found) == refused and code == (1 if refused else 0), found
