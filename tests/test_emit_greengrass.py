"""Greengrass packages for device fleets: recipes valid against the public recipe schema,
deployments accepted by cfn-lint, package identities that match their files."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import ROOT
from tests.tools import executable

FLAGSHIP = ROOT / "examples" / "store-vision.yaml"
RECIPE_SCHEMA = json.loads((ROOT / "tests" / "vendor" / "greengrass_recipe_schema.json").read_text())


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    from click.testing import CliRunner

    from edgespec.cli import cli

    target = tmp_path_factory.mktemp("gg") / "out"
    result = CliRunner().invoke(cli, ["compile", str(FLAGSHIP), "-o", str(target)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return target


def lowercase_keys(node):
    """What the Greengrass Development Kit does before validating: recipe keys are case-insensitive."""
    if isinstance(node, dict):
        return {k.lower(): lowercase_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [lowercase_keys(v) for v in node]
    return node


@pytest.mark.parametrize("target", ["store-orin", "checkout-tpu"])
def test_recipe_matches_the_greengrass_schema(out, target):
    template = yaml.safe_load((out / target / "greengrass" / "greengrass.yaml").read_text())
    inline = template["Resources"]["Component"]["Properties"]["InlineRecipe"]["Fn::Sub"]
    recipe = json.loads(inline.replace("${ArtifactBucket}", "my-bucket"))
    jsonschema.Draft7Validator(RECIPE_SCHEMA).validate(lowercase_keys(recipe))
    assert recipe["ComponentVersion"] == "1.4.0"
    lifecycle = recipe["Manifests"][0]["Lifecycle"]
    assert {"Install", "Run", "Shutdown"} <= set(lifecycle)
    assert recipe["Manifests"][0]["Artifacts"][0]["URI"].startswith("s3://my-bucket/com.edgespec.store-vision.")
    broken = {**recipe, "ComponentVersion": 7}  # the schema is not a rubber stamp
    assert not jsonschema.Draft7Validator(RECIPE_SCHEMA).is_valid(lowercase_keys(broken))


def test_deployments_pass_cfn_lint(out):
    templates = sorted(str(p) for p in out.rglob("greengrass/greengrass.yaml"))
    assert len(templates) == 2  # one package per hardware class in the same rollout
    result = subprocess.run([executable("cfn-lint"), *templates], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_rollout_and_rollback_mapping(out):
    cli = json.loads((out / "store-orin" / "greengrass" / "create-deployment.json").read_text())
    rate = cli["iotJobConfiguration"]["jobExecutionsRolloutConfig"]["exponentialRate"]
    assert rate == {"baseRatePerMinute": 12, "incrementFactor": 5.0,  # 1% of 1,200 stores; 10%/1% capped at 5
                    "rateIncreaseCriteria": {"numberOfSucceededThings": 12}}
    (criterion,) = cli["iotJobConfiguration"]["abortConfig"]["criteriaList"]
    assert criterion == {"failureType": "FAILED", "action": "CANCEL", "thresholdPercentage": 5.0,
                         "minNumberOfExecutedThings": 12}
    assert cli["deploymentPolicies"]["failureHandlingPolicy"] == "ROLLBACK"
    template = yaml.safe_load((out / "store-orin" / "greengrass" / "greengrass.yaml").read_text())
    props = template["Resources"]["Deployment"]["Properties"]
    assert props["DeploymentPolicies"]["FailureHandlingPolicy"] == "ROLLBACK"
    assert props["IotJobConfiguration"]["JobExecutionsRolloutConfig"]["ExponentialRate"]["BaseRatePerMinute"] == 12
    readme = (out / "store-orin" / "greengrass" / "README.md").read_text()
    assert "1% for 2 h, 10% for 12 h" in readme  # soak times Greengrass cannot express, said plainly


def test_package_identity_matches_the_files(out):
    package = json.loads((out / "store-orin" / "package.json").read_text())
    assert package["version"] == "1.4.0" and package["package"].startswith("1.4.0+")
    for rel, digest in package["files"].items():
        assert hashlib.sha256((out / "store-orin" / rel).read_bytes()).hexdigest() == digest
    assert "package.json" not in package["files"] and not any(p.startswith("greengrass/") for p in package["files"])
    assert json.loads((out / "checkout-tpu" / "package.json").read_text())["hardware"] == "coral-usb"


def test_health_watcher_compiles(out):
    import py_compile

    py_compile.compile(str(out / "store-orin" / "health.py"), doraise=True)
