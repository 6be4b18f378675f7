"""AWS stacks (Wavelength and EC2): cfn-lint accepts them with no findings, the network is the
right one for the tier, and user strings cannot change what the template or the user data do."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, check_golden
from tests.planner_helpers import model, spec
from tests.tools import executable

AR = ROOT / "examples" / "ar-carrier-edge.yaml"


class _Loader(yaml.SafeLoader):
    """Reads templates that use only the JSON forms of intrinsic functions (Ref, Fn::*)."""


def compile_spec(run, tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    code, _, err = run("compile", str(path), "-o", str(out))
    assert code == 0, err
    return out


def plan_json(run, path: Path) -> dict:
    code, out, err = run("plan", str(path), "--format", "json")
    assert code == 0, err
    return json.loads(out)["workloads"]


def cfn_lint(template: Path) -> None:
    result = subprocess.run([executable("cfn-lint"), str(template)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr  # no errors, no warnings


def ec2_spec(uri: str) -> str:
    doc = spec({"clf": model("image-classification", "25M", 8.2, 0.9)},
               {"cam": {"hardware": "qcs6490", "count": 100, "jurisdiction": "us",
                        "network": {"rtt_ms": 30, "uplink_mbps": 20}},
                "cloud": {"hardware": "aws-ec2", "region": "us-east-1", "instance_type": "g4dn.xlarge", "count": 4,
                          "network": {"rtt_ms": 30}}},
               {"w": {"model": "clf", "data_source": ["cam"], "latency": {"p95_ms": 500}, "throughput": {"rps": 1},
                      "pattern": "cloud"}})
    doc["models"]["clf"]["source"]["uri"] = uri
    return yaml.safe_dump(doc, sort_keys=False)


def test_wavelength_stack(run, tmp_path):
    out = compile_spec(run, tmp_path, AR.read_text())
    template = out / "boston-wlz" / "cloudformation.yaml"
    cfn_lint(template)
    t = yaml.load(template.read_text(), Loader=_Loader)
    r = t["Resources"]
    assert r["DefaultRoute"]["Properties"]["CarrierGatewayId"] == {"Ref": "CarrierGateway"}
    assert r["Subnet"]["Properties"]["AvailabilityZone"] == {"Ref": "WavelengthZone"}
    assert t["Parameters"]["WavelengthZone"]["Default"] == "us-east-1-wl1-bos-wlz-1"
    data = r["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["NetworkInterfaces"][0]["AssociateCarrierIpAddress"] is True
    assert data["InstanceType"] == "g4dn.2xlarge" and data["MetadataOptions"]["HttpTokens"] == "required"
    asg = r["AutoScalingGroup"]["Properties"]
    planned = json.loads((out / "edgespec.lock.json").read_text())["plan"]["overlay"]
    pool = plan_json(run, AR)["overlay"]["estimates"]["pool"]
    # the group follows the planned pool: scaling {max: 20} in the spec, the planner's size desired
    assert (asg["MinSize"], asg["DesiredCapacity"], asg["MaxSize"]) == ("1", str(pool["instances"]), "20")
    assert planned["pattern"] == "mec"
    policy = r["ScalingPolicy"]["Properties"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    tracked = policy["TargetTrackingConfiguration"]
    # a serving signal (requests per second per instance), never CPU
    assert tracked["CustomizedMetricSpecification"]["MetricName"] == "RequestsPerSecond"
    assert tracked["TargetValue"] == pytest.approx(pool["capacity_rps_per_instance"] * pool["headroom"], abs=2e-3)
    role = {p["PolicyName"]: p for p in r["InstanceRole"]["Properties"]["Policies"]}
    publish = role["publish-serving-signal"]["PolicyDocument"]["Statement"][0]
    assert publish["Condition"] == {"StringEquals": {"cloudwatch:namespace": "edgespec/Serving"}}
    user_data = data["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert "--namespace edgespec/Serving --metric-name RequestsPerSecond" in user_data
    assert "InternetGateway" not in r
    assert {"ImageId", "KeyName"} <= set(t["Parameters"])


def test_ec2_stack_with_an_https_model(run, tmp_path):
    out = compile_spec(run, tmp_path, ec2_spec("https://models.example.com/clf.onnx"))
    template = out / "cloud" / "cloudformation.yaml"
    cfn_lint(template)
    r = yaml.load(template.read_text(), Loader=_Loader)["Resources"]
    assert r["DefaultRoute"]["Properties"]["GatewayId"] == {"Ref": "InternetGateway"}
    policies = [p["PolicyName"] for p in r["InstanceRole"]["Properties"]["Policies"]]
    assert policies == ["publish-serving-signal"]  # nothing on S3 to read
    # count: 4 is a fixed pool: four instances, nothing to scale
    asg = r["AutoScalingGroup"]["Properties"]
    assert (asg["MinSize"], asg["DesiredCapacity"], asg["MaxSize"]) == ("4", "4", "4")
    assert "ScalingPolicy" not in r
    user_data = r["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert "curlimages/curl" in user_data and "https://models.example.com/clf.onnx" in user_data


@pytest.mark.parametrize("key", ["b/${AWS::AccountId}/m.onnx", "b/'$(reboot)'\";rm${IFS}-rf${IFS}/;#.onnx"])
def test_hostile_object_keys(run, tmp_path, key):
    out = compile_spec(run, tmp_path, ec2_spec(f"s3://{key}"))
    template = out / "cloud" / "cloudformation.yaml"
    cfn_lint(template)
    r = yaml.load(template.read_text(), Loader=_Loader)["Resources"]
    (resource,) = r["InstanceRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"]
    assert resource == {"Fn::Sub": "arn:${AWS::Partition}:s3:::" + key.replace("${", "${!")}
    sub = r["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert sub.count("${") == sub.count("${!") + 1  # the stack name is the only substitution
    user_data = sub.replace("${AWS::StackName}", "my-stack").replace("${!", "${")  # what the instance runs
    script = tmp_path / "user-data.sh"
    script.write_text(user_data)
    subprocess.run(["bash", "-n", str(script)], check=True)
    result = subprocess.run([executable("shellcheck"), str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    fetch = next(line for line in user_data.splitlines() if " s3 cp " in line)
    import shlex

    assert shlex.split(fetch)[-2] == f"s3://{key}"  # one word, exactly the key


def test_ec2_golden(run, tmp_path):
    """The EC2 stack of a small spec, reviewed like code (EDGESPEC_UPDATE_GOLDEN=1 refreshes)."""
    check_golden(compile_spec(run, tmp_path, ec2_spec("s3://acme-models/clf/2/model.onnx")), "ec2-cloud")
