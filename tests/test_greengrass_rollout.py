"""Canaries that compare (issue 16, point 2) on Greengrass: the spec's stages become cohorts (thing
groups of their own), the canary cohort stays small for its soak while the rest of the fleet keeps
the old package, the criteria compare the devices on the package with the others per device, and
a regression rolls back every cohort reached.

The shipped scripts run as they would for an operator: with the real AWS CLI, against a stand-in
of the Greengrass and IoT APIs, and with their PromQL evaluated by a real Prometheus holding
per-device series (tests/prometheus.py)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from tests.conftest import ROOT, compile_to
from tests.prometheus import Device, Prometheus
from tests.standin import StandIn
from tests.test_emit_greengrass import aws_env
from tests.tools import load_module

FLEET = "arn:aws:iot:us-east-1:123456789012:thinggroup/store-orin-fleet"
COMPONENT = "com.edgespec.store-vision.store-orin"


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return compile_to(ROOT / "examples" / "store-vision.yaml", tmp_path_factory.mktemp("ggr") / "out")


@pytest.fixture(scope="module")
def cohorts(out):
    return load_module(out / "store-orin" / "greengrass" / "cohorts.py", "shipped_cohorts")


def settings(out: Path) -> dict:
    return json.loads((out / "store-orin" / "greengrass" / "rollback.json").read_text())


def package(out: Path) -> str:
    return json.loads((out / "store-orin" / "package.json").read_text())["package"]


def test_cohorts_are_the_stages_sized_from_the_fleet(cohorts):
    assert cohorts.sizes([1, 10, 100], 1200) == [12, 108, 1080]
    assert cohorts.sizes([1, 10, 100], 40) == [1, 3, 36]  # a canary of at least one device
    assert cohorts.sizes([5, 50, 100], 10) == [1, 4, 5]
    assert cohorts.sizes([1, 5, 100], 10) == [1, 0, 9]  # a stage that adds nobody is empty, not negative
    assert cohorts.sizes([50, 100], 0) == [0, 0]


def test_assignment_is_deterministic_and_never_moves_a_device(cohorts):
    fleet = [f"store-{i:04d}" for i in range(1200)]
    added, strays = cohorts.assign(fleet, [[], [], []], [1, 10, 100])
    assert [len(a) for a in added] == [12, 108, 1080] and strays == []
    assert cohorts.assign(list(reversed(fleet)), [[], [], []], [1, 10, 100])[0] == added  # order-free
    # devices join, one leaves: the cohorts already filled keep their devices, the canary stays small
    grown = [t for t in fleet if t != added[0][0]] + [f"store-{i:04d}" for i in range(1200, 1300)]
    more, strays = cohorts.assign(grown, added, [1, 10, 100])
    assert strays == [added[0][0]]
    assert [len(m) for m in more] == [2, 9, 89]  # 13 and 130 of 1,299 devices: 11 + 2, 108 + 9
    assert not set().union(*map(set, more)) & set().union(*map(set, added))


def test_cohorts_script_puts_the_fleet_into_thing_groups(out):
    """cohorts.py with the real AWS CLI against a stand-in IoT API: it creates the cohort groups
    and adds each device of the fleet group to exactly one."""
    fleet = [f"store-{i:04d}" for i in range(40)]
    members: dict[str, list[str]] = {"store-orin-fleet-cohort-1": [fleet[0]]}  # assigned earlier

    def iot(method, path, headers, body):
        url = urlparse(path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        if method == "GET" and parts[0] == "thing-groups" and parts[-1] == "things":
            group = parts[1]
            return 200, {"things": fleet if group == "store-orin-fleet" else members.get(group, [])}
        if method == "POST" and parts[0] == "thing-groups":
            return 200, {
                "thingGroupName": parts[1],
                "thingGroupArn": FLEET.rsplit("/", 1)[0] + "/" + parts[1],
                "thingGroupId": "id-" + parts[1],
            }
        if method == "PUT" and parts == ["thing-groups", "addThingToThingGroup"]:
            doc = json.loads(body)
            members.setdefault(doc["thingGroupName"], []).append(doc["thingName"])
            return 200, {}
        return 404, {"message": path}

    api = StandIn(iot)
    try:
        result = subprocess.run(
            [sys.executable, str(out / "store-orin" / "greengrass" / "cohorts.py"), FLEET],
            env=aws_env(api.url),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        api.stop()
    assert result.returncode == 0, result.stderr
    created = sorted(p for m, p, _ in api.requests if m == "POST")
    assert created == [f"/thing-groups/store-orin-fleet-cohort-{i}" for i in (1, 2, 3)]
    assert {g: len(m) for g, m in members.items()} == {
        "store-orin-fleet-cohort-1": 1,
        "store-orin-fleet-cohort-2": 3,
        "store-orin-fleet-cohort-3": 36,
    }
    assert sorted(sum(members.values(), [])) == fleet  # everyone in exactly one cohort


class Fleet:
    """A stand-in of the Greengrass API for a fleet already in cohorts, each running 1.3.0."""

    def __init__(self):
        self.created: list[dict] = []
        self.cancelled: list[str] = []
        self.previous = {COMPONENT: {"componentVersion": "1.3.0"}, "com.example.Camera": {"componentVersion": "1.2.0"}}

    def __call__(self, method, path, headers, body):
        url = urlparse(path)
        if method == "POST" and url.path == "/greengrass/v2/createComponentVersion":
            return 201, {
                "arn": "arn",
                "componentName": COMPONENT,
                "componentVersion": "1.4.0",
                "creationTimestamp": 0,
                "status": {"componentState": "DEPLOYABLE"},
            }
        if method == "GET" and url.path == "/greengrass/v2/deployments":
            group = parse_qs(url.query)["targetArn"][0].rsplit("/", 1)[1]
            return 200, {"deployments": [{"deploymentId": f"old-{group}"}]}
        if method == "GET" and url.path.startswith("/greengrass/v2/deployments/old-"):
            return 200, {"deploymentId": url.path.rsplit("/", 1)[1], "components": self.previous}
        if method == "POST" and url.path == "/greengrass/v2/deployments":
            self.created.append(json.loads(body))
            return 201, {"deploymentId": f"d-{len(self.created)}"}
        if method == "POST" and url.path.endswith("/cancel"):
            self.cancelled.append(url.path.split("/")[-2])
            return 200, {"message": "cancelled"}
        return 404, {"message": path}


def fleet_series(new: str, slow_canary: bool) -> list[Device]:
    """12 canary stores on the new package (cohort 1) and 28 on 1.3.0. With `slow_canary`, one
    quiet canary store answers in 400 ms: under 1% of the canary's requests, so the pooled p95
    stays at ~24 ms and only the per-device criterion sees it."""
    labels = {"workload": "shelf-monitoring", "target": "store-orin"}
    canary = [Device(f"store-{i:04d}", {**labels, "package": new}, 10.0, 0.02) for i in range(12)]
    if slow_canary:
        canary[7] = Device("store-0007", {**labels, "package": new}, 0.5, 0.4)
    stable = [Device(f"store-{i:04d}", {**labels, "package": "1.3.0+0123456789ab"}, 10.0, 0.02) for i in range(12, 40)]
    return canary + stable


def run_rollout(out: Path, prometheus: str, api: str, soak: str = "1.5") -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(out / "store-orin" / "greengrass" / "watch_rollout.py"),
            "--prometheus",
            prometheus,
            "--fleet-group",
            FLEET,
            "--bucket",
            "my-bucket",
            "--soak",
            soak,
            "--interval",
            "0.2",
        ],
        env=aws_env(api),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_one_slow_canary_device_rolls_the_canary_cohort_back(out, tmp_path):
    prometheus = Prometheus(tmp_path / "prometheus", fleet_series(package(out), slow_canary=True))
    fleet = Fleet()
    api = StandIn(fleet)
    try:
        result = run_rollout(out, prometheus.url, api.url, soak="60")
    finally:
        prometheus.stop()
        api.stop()
    assert result.returncode == 1, result.stdout + result.stderr
    # Prometheus itself evaluated the criteria: the pooled p95 holds, the slowest device's does not
    pooled = [line for line in result.stdout.splitlines() if line.startswith("shelf-monitoring/latency-p95-ms: ")]
    assert pooled and all(20 < float(line.split()[1]) < 25 for line in pooled), pooled
    assert "shelf-monitoring/device-latency-p95-ms = 487.5 (device store-0007) > 60" in result.stderr
    # only the canary cohort was reached; it was cancelled and given back what it ran before
    first, rollback = fleet.created
    assert first["targetArn"] == FLEET + "-cohort-1"
    assert first["components"][COMPONENT] == {"componentVersion": "1.4.0"}
    assert first["components"]["com.example.Camera"] == {"componentVersion": "1.2.0"}  # kept
    assert fleet.cancelled == ["d-1"]
    assert rollback["targetArn"] == FLEET + "-cohort-1" and rollback["components"] == fleet.previous


def test_a_healthy_canary_widens_cohort_by_cohort(out, tmp_path):
    prometheus = Prometheus(tmp_path / "prometheus", fleet_series(package(out), slow_canary=False))
    fleet = Fleet()
    api = StandIn(fleet)
    try:
        result = run_rollout(out, prometheus.url, api.url)
    finally:
        prometheus.stop()
        api.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert [d["targetArn"] for d in fleet.created] == [FLEET + f"-cohort-{i}" for i in (1, 2, 3)]
    assert fleet.cancelled == []
    # cohorts 1 and 2 were each watched for their soak before the next deployment; cohort 3 (100%) has none
    assert result.stdout.count("every criterion held for 1.5 s") == 2
    device = [line for line in result.stdout.splitlines() if line.startswith("shelf-monitoring/device-latency")]
    assert device and all("(device store-00" in line and "<= 60" in line for line in device)


def test_a_republished_version_must_hold_the_same_content(out):
    """Greengrass versions are immutable: deploy.py deploys an existing version only when its
    recipe's ContentSha256 is this package's; otherwise it refuses and deploys nothing."""
    recipe = json.loads((out / "store-orin" / "greengrass" / "recipe.json").read_text())
    calls = []

    def api(theirs):
        def respond(method, path, headers, body):
            calls.append((method, path))
            if path == "/greengrass/v2/createComponentVersion":
                return (
                    409,
                    {"message": "Component version already exists", "__type": "ConflictException"},
                    {"Content-Type": "application/json", "x-amzn-ErrorType": "ConflictException"},
                )
            if method == "GET" and "/components/" in path:
                other = {**recipe, "ComponentConfiguration": {"DefaultConfiguration": {"ContentSha256": theirs}}}
                return 200, {
                    "recipeOutputFormat": "JSON",
                    "componentName": COMPONENT,
                    "componentVersion": "1.4.0",
                    "recipe": base64.b64encode(json.dumps(other).encode()).decode(),
                }
            if method == "GET" and path.startswith("/greengrass/v2/deployments?"):
                return 200, {"deployments": []}
            if method == "POST" and path == "/greengrass/v2/deployments":
                return 201, {"deploymentId": "d-1"}
            return 404, {"message": path}

        return respond

    script = str(out / "store-orin" / "greengrass" / "deploy.py")
    mine = recipe["ComponentConfiguration"]["DefaultConfiguration"]["ContentSha256"]
    for theirs, code in ((mine, 0), ("0" * 64, 1)):
        calls.clear()
        stand_in = StandIn(api(theirs))
        try:
            result = subprocess.run(
                [sys.executable, script, FLEET, "my-bucket"],
                env=aws_env(stand_in.url),
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            stand_in.stop()
        assert result.returncode == code, result.stderr
        get = [p for m, p in calls if m == "GET" and "/components/" in p]
        assert get and unquote(get[0]).startswith(
            f"/greengrass/v2/components/arn:aws:greengrass:us-east-1:123456789012:components:{COMPONENT}:versions:1.4.0"
        )
        deployed = ("POST", "/greengrass/v2/deployments") in calls
        assert deployed == (code == 0)
    assert "exists already with content sha256 " + "0" * 64 in result.stderr
    assert "give the spec a new metadata.version" in result.stderr
