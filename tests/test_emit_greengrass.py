"""Greengrass packages for device fleets: recipes valid against the public recipe schema,
deployments accepted by cfn-lint, package identities that match their files."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import ROOT, compile_to
from tests.standin import StandIn
from tests.tools import executable

FLAGSHIP = ROOT / "examples" / "store-vision.yaml"
RECIPE_SCHEMA = json.loads((ROOT / "tests" / "vendor" / "greengrass_recipe_schema.json").read_text())


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return compile_to(FLAGSHIP, tmp_path_factory.mktemp("gg") / "out")


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
    if "coral" in recipe["ComponentConfiguration"]["DefaultConfiguration"]["Hardware"]:
        # one process owns the Edge TPU: the systemd unit, started and stopped by Greengrass
        assert set(lifecycle) == {"Install", "Startup", "Shutdown"}
        unit = "edgespec-checkout-tpu.service"
        assert lifecycle["Startup"]["Script"] == f"systemctl restart {unit}"
        assert f"install -m 0644 {unit} /etc/systemd/system/" in lifecycle["Install"]["Script"]
    else:
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
    assert rate == {
        "baseRatePerMinute": 12,
        "incrementFactor": 5.0,  # 1% of 1,200 stores; 10%/1% capped at 5
        "rateIncreaseCriteria": {"numberOfSucceededThings": 12},
    }
    (criterion,) = cli["iotJobConfiguration"]["abortConfig"]["criteriaList"]
    assert criterion == {
        "failureType": "FAILED",
        "action": "CANCEL",
        "thresholdPercentage": 5.0,
        "minNumberOfExecutedThings": 12,
    }
    assert cli["deploymentPolicies"]["failureHandlingPolicy"] == "ROLLBACK"
    template = yaml.safe_load((out / "store-orin" / "greengrass" / "greengrass.yaml").read_text())
    props = template["Resources"]["Deployment"]["Properties"]
    assert props["DeploymentPolicies"]["FailureHandlingPolicy"] == "ROLLBACK"
    assert props["IotJobConfiguration"]["JobExecutionsRolloutConfig"]["ExponentialRate"]["BaseRatePerMinute"] == 12
    readme = (out / "store-orin" / "greengrass" / "README.md").read_text()
    # the stages are cohorts of their own (soaks enforced by watch_rollout.py, not by a rate)
    assert "| 1 | 1% | 12 | 2 h | `{fleet}-cohort-1` |\n| 2 | 10% | 108 | 12 h | `{fleet}-cohort-2` |" in readme
    settings = json.loads((out / "store-orin" / "greengrass" / "rollback.json").read_text())
    assert [(c["devices"], c["soak_s"]) for c in settings["cohorts"]] == [(12, 7200), (108, 43200), (1080, 0)]


def test_package_identity_matches_the_files(out):
    package = json.loads((out / "store-orin" / "package.json").read_text())
    assert package["version"] == "1.4.0" and package["package"].startswith("1.4.0+")
    for rel, digest in package["files"].items():
        assert hashlib.sha256((out / "store-orin" / rel).read_bytes()).hexdigest() == digest
    assert "package.json" not in package["files"] and not any(p.startswith("greengrass/") for p in package["files"])
    assert json.loads((out / "checkout-tpu" / "package.json").read_text())["hardware"] == "coral-usb"
    # what it runs: the model's sha256 from the spec and the recipe the plan chose
    spec = yaml.safe_load(FLAGSHIP.read_text())
    lock = json.loads((out / "edgespec.lock.json").read_text())
    (entry,) = package["models"]
    chosen = lock["plan"][entry["workload"]]
    root = (
        spec["models"][entry["model"]]
        if entry["model"] in spec["models"]
        else next(m for m in spec["models"].values() if entry["model"] in m.get("variants", {}))
    )
    assert entry["sha256"] == root["source"].get("sha256")
    placement = next(p for p in chosen["placements"] if p["target"] == "store-orin")
    assert entry["recipe"]["label"] == placement["recipe"] and entry["pattern"] == chosen["pattern"]


def test_health_watcher_compiles(out):
    import py_compile

    py_compile.compile(str(out / "store-orin" / "health.py"), doraise=True)


def greengrass_api(method, path, headers, body):
    if path.endswith("/cancel"):
        return 200, {"message": "cancelled"}
    return 201, {"deploymentId": "d-rollback", "iotJobId": "j-1", "iotJobArn": "arn:aws:iot:us-east-1:1:job/j-1"}


def aws_env(endpoint: str) -> dict:
    """The real AWS CLI (awscli, a test dependency), pointed at a stand-in endpoint."""
    import os
    import sys

    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }


def test_create_deployment_input_is_accepted_by_the_aws_cli(out):
    """`aws greengrassv2 create-deployment --cli-input-json` checks the input against the API model."""
    api = StandIn(greengrass_api)
    try:
        for target in ("store-orin", "checkout-tpu"):
            cli_input = json.loads((out / target / "greengrass" / "create-deployment.json").read_text())
            cli_input["targetArn"] = f"arn:aws:iot:us-east-1:123456789012:thinggroup/{target}"
            path = out / f"{target}-input.json"
            path.write_text(json.dumps(cli_input))
            result = subprocess.run(
                [executable("aws"), "greengrassv2", "create-deployment", "--cli-input-json", f"file://{path}"],
                env=aws_env(api.url),
                capture_output=True,
                text=True,
            )
            assert result.returncode == 0, result.stderr
            method, url, body = api.requests[-1]
            assert (method, url) == ("POST", "/greengrass/v2/deployments")
            sent = json.loads(body)
            assert sent["iotJobConfiguration"] == cli_input["iotJobConfiguration"]
            assert sent["deploymentPolicies"]["failureHandlingPolicy"] == "ROLLBACK"
        # the check can fail: a misspelled field is refused before anything is sent
        cli_input["iotJobConfiguration"]["jobExecutionsRolloutConfig"]["maximumPerMinutes"] = 10
        path.write_text(json.dumps(cli_input))
        sent_before = len(api.requests)
        result = subprocess.run(
            [executable("aws"), "greengrassv2", "create-deployment", "--cli-input-json", f"file://{path}"],
            env=aws_env(api.url),
            capture_output=True,
            text=True,
        )
        assert result.returncode != 0 and "maximumPerMinutes" in result.stderr and len(api.requests) == sent_before
    finally:
        api.stop()


def prometheus_api(values):
    """A Prometheus HTTP API whose answer to a query depends on the criterion it belongs to."""

    def respond(method, path, headers, body):
        from urllib.parse import parse_qs, urlparse

        query = parse_qs(urlparse(path).query)["query"][0]
        value = next((v for marker, v in values.items() if marker in query), 0.0)
        return 200, {
            "status": "success",
            "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1.0, str(value)]}]},
        }

    return respond


def watch(out, prometheus: str, api: str, *extra: str) -> subprocess.CompletedProcess:
    import sys

    script = out / "store-orin" / "greengrass" / "watch_rollout.py"
    return subprocess.run(
        [
            sys.executable,
            str(script),
            "--prometheus",
            prometheus,
            "--deployment-id",
            "d-canary",
            "--interval",
            "0.05",
            *extra,
        ],
        env=aws_env(api),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_rollback_settings_read_what_the_devices_export(out):
    import promql_parser

    settings = json.loads((out / "store-orin" / "greengrass" / "rollback.json").read_text())
    package = json.loads((out / "store-orin" / "package.json").read_text())["package"]
    router = json.loads((out / "store-orin" / "router" / "shelf-monitoring.json").read_text())
    assert settings["package"] == package and settings["watch_s"] == 14 * 3600  # soaks 2 h + 12 h
    # rollback: {accuracy_drop: 0.02, error_rate: 0.05, latency_p95_ms: 60}
    assert {(c["workload"], c["name"], c["threshold"]) for c in settings["criteria"]} == {
        ("shelf-monitoring", "error-rate", 0.05),
        ("shelf-monitoring", "latency-p95-ms", 60),
        ("shelf-monitoring", "device-latency-p95-ms", 60),
        ("shelf-monitoring", "accuracy-drop", 0.02),
        ("shelf-monitoring", "confidence-drop", 0.02),
    }
    assert (
        settings["reporting_query"]
        == f'count(edgespec_package_info{{target="store-orin",package="{package}"}}) or vector(0)'
    )
    exported = {
        "edgespec_errors_total",
        "edgespec_requests_total",
        "edgespec_request_duration_seconds_bucket",
        "edgespec_feedback_total",
        "edgespec_confidence_sum",
        "edgespec_confidence_count",
    }
    for c in settings["criteria"]:
        found = []
        promql_parser.walk(
            promql_parser.parse(c["query"]),
            lambda n: found.append(n) if isinstance(n, promql_parser.VectorSelector) else None,
        )
        for selector in found:
            assert selector.name in exported
            matchers = {m.name: (str(m.op), m.value) for m in selector.matchers.matchers}
            assert matchers["workload"][1] == router["workload"] and matchers["target"][1] == router["target"]
            assert matchers["package"][1] == package  # canary: =, stable: !=


def test_watch_passes_when_the_canary_holds(out):
    prometheus, api = StandIn(prometheus_api({"edgespec_package_info": 3})), StandIn(greengrass_api)
    try:
        result = watch(out, prometheus.url, api.url, "--duration", "0.2")
    finally:
        prometheus.stop()
        api.stop()
    assert result.returncode == 0, result.stderr
    assert "every criterion held" in result.stdout and api.requests == []
    # the reporting count (asked until a device reports), then whole rounds of the five criteria
    assert "edgespec_package_info" in prometheus.requests[0][1]
    assert len(prometheus.requests) >= 6 and (len(prometheus.requests) - 1) % 5 == 0


def test_watch_without_canary_telemetry_judges_nothing(out):
    prometheus, api = StandIn(prometheus_api({})), StandIn(greengrass_api)  # every query reads 0
    try:
        result = watch(out, prometheus.url, api.url, "--duration", "0.2")
    finally:
        prometheus.stop()
        api.stop()
    assert result.returncode == 3 and "no device on this package reported" in result.stderr
    assert api.requests == []  # nothing rolled back either


def test_watch_rolls_back_when_confidence_drops(out):
    prometheus = StandIn(prometheus_api({"edgespec_confidence_sum": 0.05}))  # 0.05 > accuracy_drop 0.02
    api = StandIn(greengrass_api)
    try:
        result = watch(
            out,
            prometheus.url,
            api.url,
            "--duration",
            "30",
            "--rollback-to",
            "1.3.0",
            "--target-arn",
            "arn:aws:iot:us-east-1:123456789012:thinggroup/store-orin",
        )
    finally:
        prometheus.stop()
        api.stop()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "shelf-monitoring/confidence-drop = 0.05 > 0.02" in result.stderr
    assert result.stdout.count("(failure ") == 3  # the third failure in a row (failure_limit 2) acts
    (cancel, create) = api.requests
    assert cancel[:2] == ("POST", "/greengrass/v2/deployments/d-canary/cancel")
    sent = json.loads(create[2])
    assert sent["components"] == {"com.edgespec.store-vision.store-orin": {"componentVersion": "1.3.0"}}
    assert sent["targetArn"].endswith("thinggroup/store-orin") and sent["deploymentName"].endswith("-rollback")


def test_watch_rolls_back_when_the_backend_is_gone(out):
    prometheus, api = StandIn(prometheus_api({})), StandIn(greengrass_api)
    prometheus.stop()
    try:
        result = watch(out, prometheus.url, api.url, "--duration", "30")
    finally:
        api.stop()
    assert result.returncode == 1 and "no measurements for 5 attempts in a row" in result.stderr
    assert [r[1] for r in api.requests] == ["/greengrass/v2/deployments/d-canary/cancel"]


def _recipe(out: Path, target: str) -> dict:
    template = yaml.safe_load((out / target / "greengrass" / "greengrass.yaml").read_text())
    inline = template["Resources"]["Component"]["Properties"]["InlineRecipe"]["Fn::Sub"]
    return json.loads(inline.replace("${ArtifactBucket}", "my-bucket"))


def test_models_are_the_components_artifacts_and_install_needs_no_aws_cli(out, tmp_path):
    """The nucleus downloads the Jetson's S3 models and their INT8 calibration caches as the
    component's artifacts (with the device's role): build_engine.sh copies them from {artifacts:path}
    on a device without the AWS CLI, sets the planned power mode first, and still verifies each
    file's sha256; the package hashes what it ships (the caches' digests are in package.json)."""
    recipe = _recipe(out, "store-orin")
    package = json.loads((out / "store-orin" / "package.json").read_text())
    calibrations = [m["calibration"] for m in package["models"] if "calibration" in m]
    assert calibrations and all(c["sha256"] for c in calibrations)
    sources = sorted(
        {m["uri"] for m in package["models"] if m["uri"].startswith("s3://")}
        | {c["uri"] for c in calibrations if c["uri"].startswith("s3://")}
    )
    artifacts = [a for a in recipe["Manifests"][0]["Artifacts"] if not a["URI"].startswith("s3://my-bucket/")]
    assert [a["URI"] for a in artifacts] == sources and all(a["Permission"] == {"Read": "OWNER"} for a in artifacts)
    install = recipe["Manifests"][0]["Lifecycle"]["Install"]["Script"]
    assert install.startswith("export EDGESPEC_ARTIFACTS={artifacts:path} ")
    assert " && cd {artifacts:decompressedPath}/bundle && " in install
    assert "bash power-mode.sh" in install.split("bash build_engine.sh")[0]  # the mode first
    # the install step as the nucleus runs it: artifacts downloaded, no `aws` anywhere on PATH
    artifacts_dir = tmp_path / "artifacts"
    artifacts_dir.mkdir()
    (model,) = package["models"]
    (artifacts_dir / model["uri"].rsplit("/", 1)[-1]).write_bytes(b"onnx")
    (artifacts_dir / model["calibration"]["uri"].rsplit("/", 1)[-1]).write_bytes(b"cache")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "trtexec").write_text('#!/usr/bin/env bash\ntouch "$TRT_RAN"\n')
    (bin_dir / "trtexec").chmod(0o755)
    (bin_dir / "sha256sum").write_text('#!/usr/bin/env bash\ncat > /dev/null; echo "OK"\n')  # the digest is a stand-in
    (bin_dir / "sha256sum").chmod(0o755)
    bundle = tmp_path / "bundle"  # the script works in its own folder
    shutil.copytree(out / "store-orin", bundle)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "TRTEXEC": str(bin_dir / "trtexec"),
        "TRT_RAN": str(tmp_path / "ran"),
        "EDGESPEC_ARTIFACTS": str(artifacts_dir),
    }
    assert subprocess.run(["bash", "-c", "command -v aws"], env=env).returncode != 0
    result = subprocess.run(["bash", str(bundle / "build_engine.sh")], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (bundle / "models" / f"{model['model']}-int8.onnx").read_bytes() == b"onnx" and (tmp_path / "ran").exists()
    assert (bundle / "calibration" / f"{model['model']}-int8.cache").read_bytes() == b"cache"  # fetched, not made
    # without the artifact and without the CLI: says what to do
    del env["EDGESPEC_ARTIFACTS"]
    (bundle / "models" / f"{model['model']}-int8.onnx").unlink()
    result = subprocess.run(["bash", str(bundle / "build_engine.sh")], env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "no AWS CLI here; deploy with Greengrass" in result.stderr


def test_the_bundle_layout_follows_the_nucleus_unarchive_rule(out, tmp_path):
    """The README's zip (files at the archive's root) unpacks, as the nucleus does, into
    {artifacts:decompressedPath}/bundle/: exactly where the lifecycle scripts cd."""
    import zipfile

    readme = (out / "store-orin" / "greengrass" / "README.md").read_text()
    assert "cd store-orin && zip -r ../bundle.zip ." in readme
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as z:  # what `cd store-orin && zip -r ../bundle.zip .` writes
        for path in sorted((out / "store-orin").rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(out / "store-orin").as_posix())
    decompressed = tmp_path / "decompressed"
    with zipfile.ZipFile(archive) as z:  # the nucleus: <decompressedPath>/<archive name without .zip>/
        z.extractall(decompressed / archive.stem)
    install = _recipe(out, "store-orin")["Manifests"][0]["Lifecycle"]["Install"]["Script"]
    folder = install.split("cd ", 1)[1].split(" &&", 1)[0].replace("{artifacts:decompressedPath}", str(decompressed))
    assert (Path(folder) / "build_engine.sh").is_file() and (Path(folder) / "router" / "install.sh").is_file()


def test_two_models_with_one_file_name_are_said(run, tmp_path):
    doc = yaml.safe_load(FLAGSHIP.read_text())
    doc["workloads"]["shelf-monitoring"]["model"] = "shelf-detector"
    second = json.loads(json.dumps(doc["models"]["shelf-detector"]))
    name = doc["models"]["shelf-detector"]["source"]["uri"].rsplit("/", 1)[-1]
    second["source"]["uri"] = "s3://acme-models/other/1/" + name
    second.pop("variants", None)
    doc["models"]["other-detector"] = second
    doc["workloads"]["shelf-monitoring-2"] = {**doc["workloads"]["shelf-monitoring"], "model": "other-detector"}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, _, err = run("compile", str(path), "-o", str(tmp_path / "out"))
    assert "warning[ES607]" in err and "has the file name of another model of store-orin" in err, err
    artifacts = _recipe(tmp_path / "out", "store-orin")["Manifests"][0]["Artifacts"]
    assert len([a for a in artifacts if a["URI"].endswith(".onnx")]) == 1


def test_deploy_keeps_the_groups_other_components(out, tmp_path):
    """deploy.py, run with the real AWS CLI against a stand-in Greengrass API: it creates the
    component version from recipe.json (the bucket filled in) and a deployment whose components are
    the group's latest ones plus this package's, at its version."""
    calls = []

    def api(method, path, headers, body):
        calls.append((method, path, body))
        if method == "POST" and path == "/greengrass/v2/createComponentVersion":
            return 201, {
                "arn": "arn:aws:greengrass:us-east-1:1:components:x:versions:1.4.0",
                "componentName": "x",
                "componentVersion": "1.4.0",
                "creationTimestamp": 0,
                "status": {"componentState": "DEPLOYABLE"},
            }
        if method == "GET" and path.startswith("/greengrass/v2/deployments?"):
            return 200, {"deployments": [{"deploymentId": "d-old", "targetArn": "arn"}]}
        if method == "GET" and path == "/greengrass/v2/deployments/d-old":
            return 200, {
                "deploymentId": "d-old",
                "components": {
                    "aws.greengrass.Nucleus": {"componentVersion": "2.13.0"},
                    "com.example.Camera": {"componentVersion": "1.2.0"},
                    "com.edgespec.store-vision.store-orin": {"componentVersion": "1.3.0"},
                },
            }
        if method == "POST" and path == "/greengrass/v2/deployments":
            return 201, {"deploymentId": "d-new"}
        return 404, {"message": path}

    stand_in = StandIn(api)
    group = "arn:aws:iot:us-east-1:123456789012:thinggroup/store-orin"
    try:
        result = subprocess.run(
            ["python3", str(out / "store-orin" / "greengrass" / "deploy.py"), group, "my-bucket"],
            env=aws_env(stand_in.url),
            capture_output=True,
            text=True,
        )
    finally:
        stand_in.stop()
    assert result.returncode == 0, result.stderr
    assert "keeping com.example.Camera 1.2.0" in result.stdout and "deployment d-new created" in result.stdout
    (recipe_body,) = [body for method, path, body in calls if path == "/greengrass/v2/createComponentVersion"]
    import base64

    recipe = json.loads(base64.b64decode(json.loads(recipe_body)["inlineRecipe"]))
    assert recipe["Manifests"][0]["Artifacts"][0]["URI"].startswith(
        "s3://my-bucket/com.edgespec.store-vision.store-orin/"
    )
    (deployment,) = [
        json.loads(body) for method, path, body in calls if (method, path) == ("POST", "/greengrass/v2/deployments")
    ]
    assert deployment["targetArn"] == group
    assert deployment["components"] == {
        "aws.greengrass.Nucleus": {"componentVersion": "2.13.0"},
        "com.example.Camera": {"componentVersion": "1.2.0"},
        "com.edgespec.store-vision.store-orin": {"componentVersion": "1.4.0"},
    }
    assert deployment["deploymentPolicies"]["failureHandlingPolicy"] == "ROLLBACK"


def test_a_version_greengrass_refuses_is_an_error_at_its_line(run, tmp_path):
    """Greengrass component versions are major.minor.patch: a pre-release in metadata.version is ES608
    at its line for a fleet that ships as a component, and nothing is written; build metadata is
    dropped from the component version, as before."""
    text = (ROOT / "examples" / "hospital-imaging.yaml").read_text()
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace("  version: 3.0.0\n", "  version: 3.0.0-1\n"))
    code, _, err = run("compile", str(path), "-o", str(tmp_path / "out"), "--format", "json")
    assert code == 1 and not (tmp_path / "out").exists()
    found = [(d["code"], d["line"]) for d in json.loads(err)["diagnostics"]]
    line = next(i + 1 for i, x in enumerate(path.read_text().splitlines()) if x == "  version: 3.0.0-1")
    assert found and set(found) == {("ES608", line)}, found
    path.write_text(text.replace("  version: 3.0.0\n", "  version: 3.0.0+build.7\n"))
    code, _, err = run("compile", str(path), "-o", str(tmp_path / "built"))
    assert code == 0, err
    recipe = json.loads(next((tmp_path / "built").rglob("greengrass/recipe.json")).read_text())
    assert recipe["ComponentVersion"] == "3.0.0"
