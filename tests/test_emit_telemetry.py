"""OpenTelemetry Collector configs. No collector installs from the package registries this
project uses (PyPI, npm, Debian), so `otelcol validate` cannot run here: the configs are checked
structurally (every referenced component defined, the offline queue sized from the spec, the
package identity stamped, PII kept out) and against the build manifest of the collector release
the devices install, which must contain every component they name. On the device, the Greengrass
Install step runs `otelcol-contrib validate` before starting it (tests/test_collector_install.py)."""

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
        assert (
            config["exporters"]["otlphttp"]["sending_queue"]["queue_size"] == 2 * 24 * 3600 // 5 * 2
        )  # 2d, 2 pipelines


def test_plain_http_off_the_device_is_refused(run, tmp_path):
    """ES320 at the endpoint's line; a collector on the device itself may take plain HTTP."""
    text = (ROOT / "examples" / "store-vision.yaml").read_text()
    for endpoint, refused in (
        ("http://otel.example.com:4318", True),
        ("http://127.0.0.1:4318", False),
        ("https://otel.example.com:4318", False),
    ):
        path = tmp_path / "spec.yaml"
        path.write_text(text.replace("https://otel.example.com:4318", endpoint))
        code, out, _ = run("validate", str(path), "--format", "json")
        found = [(d["code"], d["line"]) for d in json.loads(out)["diagnostics"]]
        line = next(i + 1 for i, x in enumerate(path.read_text().splitlines()) if endpoint in x)
        assert (("ES320", line) in found) == refused and code == (1 if refused else 0), found


# the config's component type -> the module that provides it in the collector's build manifest
COMPONENT_MODULES = {
    ("receivers", "otlp"): "go.opentelemetry.io/collector/receiver/otlpreceiver",
    (
        "receivers",
        "prometheus",
    ): "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver",
    ("processors", "memory_limiter"): "go.opentelemetry.io/collector/processor/memorylimiterprocessor",
    ("processors", "resource"): "github.com/open-telemetry/opentelemetry-collector-contrib/processor/resourceprocessor",
    (
        "processors",
        "probabilistic_sampler",
    ): "github.com/open-telemetry/opentelemetry-collector-contrib/processor/probabilisticsamplerprocessor",
    (
        "processors",
        "attributes",
    ): "github.com/open-telemetry/opentelemetry-collector-contrib/processor/attributesprocessor",
    ("exporters", "otlphttp"): "go.opentelemetry.io/collector/exporter/otlphttpexporter",
    (
        "extensions",
        "file_storage",
    ): "github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage",
    (
        "extensions",
        "health_check",
    ): "github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension",
    (
        "extensions",
        "bearertokenauth",
    ): "github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension",
}


def test_every_component_is_in_the_pinned_collector(store, hospital):
    """The devices install otelcol-contrib at the version toolchain.yaml pins; every component the
    configs name must be built into that release (its manifest, vendored in tests/vendor)."""
    from edgespec.emit import toolchain

    pinned = toolchain()["otelcol_contrib"]["version"]
    manifest = ROOT / "tests" / "vendor" / f"otelcol-contrib-{pinned}-components.txt"
    modules = {line.split()[0] for line in manifest.read_text().splitlines() if line and not line.startswith("#")}
    assert len(modules) > 100
    configs = sorted(store.rglob("otel/collector.yaml")) + sorted(hospital.rglob("otel/collector.yaml"))
    assert configs
    for path in configs:
        config = yaml.safe_load(path.read_text())
        for section in ("receivers", "processors", "exporters", "extensions"):
            for name in config.get(section, {}):
                kind = name.split("/", 1)[0]
                assert (section, kind) in COMPONENT_MODULES, (path, section, kind)
                assert COMPONENT_MODULES[(section, kind)] in modules, (section, kind)
    # the list is this release's: the `logging` exporter, removed from the collector, is not in it
    assert "go.opentelemetry.io/collector/exporter/loggingexporter" not in modules
    assert "go.opentelemetry.io/collector/exporter/debugexporter" in modules
