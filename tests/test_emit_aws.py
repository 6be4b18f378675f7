"""AWS stacks (Wavelength and EC2): cfn-lint accepts them with no findings, the network is the
right one for the tier, and user strings cannot change what the template or the user data do."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, check_golden
from tests.planner_helpers import model, spec
from tests.tools import executable

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gateway-token-AbCdEf"  # a stack parameter
TLS_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gateway-tls-AbCdEf"  # another


def instance_script(sub: str) -> str:
    """The user data as the instance runs it: the stack's parameters substituted, `${!` unescaped."""
    return (
        sub.replace("${AWS::StackName}", "my-stack")
        .replace("${AWS::Region}", "us-east-1")
        .replace("${GatewayTokenSecretArn}", SECRET_ARN)
        .replace("${GatewayTlsSecretArn}", TLS_SECRET_ARN)
        .replace("${!", "${")
    )


AR = ROOT / "examples" / "ar-carrier-edge.yaml"


def ar_as_ec2() -> str:
    """The AR example with its Wavelength pool as the default EC2 stack (the example itself runs it
    as Kubernetes pods): the stack is what these tests read."""
    return "".join(
        line for line in AR.read_text().splitlines(keepends=True) if not line.strip().startswith("orchestrator:")
    )


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
    doc = spec(
        {"clf": model("image-classification", "25M", 8.2, 0.9)},
        {
            "cam": {
                "hardware": "qcs6490",
                "count": 100,
                "jurisdiction": "us",
                "network": {"rtt_ms": 30, "uplink_mbps": 20},
            },
            "cloud": {
                "hardware": "aws-ec2",
                "region": "us-east-1",
                "instance_type": "g4dn.xlarge",
                "count": 4,
                "network": {"rtt_ms": 30},
            },
        },
        {
            "w": {
                "model": "clf",
                "data_source": ["cam"],
                "latency": {"p95_ms": 500},
                "throughput": {"rps": 1},
                "pattern": "cloud",
            }
        },
    )
    doc["models"]["clf"]["source"]["uri"] = uri
    doc["models"]["clf"]["calibration"] = {"uri": uri + ".cache"}  # an int8 engine's cache, beside it
    return yaml.safe_dump(doc, sort_keys=False)


def test_wavelength_stack(run, tmp_path):
    out = compile_spec(run, tmp_path, ar_as_ec2())
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
    assert policies == ["read-gateway-secrets", "publish-serving-signal"]  # nothing on S3 to read
    (token,) = r["InstanceRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    # the two secrets the stack was given (the clients' token, the endpoint's certificate), read-only
    assert token == {
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": [{"Ref": "GatewayTokenSecretArn"}, {"Ref": "GatewayTlsSecretArn"}],
    }
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
    resources = r["InstanceRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"]
    arn = "arn:${AWS::Partition}:s3:::" + key.replace("${", "${!")
    # the model, and the int8 engine's declared calibration cache
    assert {"Fn::Sub": arn} in resources and all(x["Fn::Sub"] in (arn, arn + ".cache") for x in resources)
    sub = r["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    # the stack name, the region and the two secrets are the only substitutions
    assert sub.count("${") == sub.count("${!") + sub.count("${AWS::StackName}") + sub.count(
        "${AWS::Region}"
    ) + sub.count("${GatewayTokenSecretArn}") + sub.count("${GatewayTlsSecretArn}")
    user_data = instance_script(sub)  # what the instance runs
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


class _Imds(BaseHTTPRequestHandler):
    """Stand-ins for the instance metadata service (IMDSv2), Triton's metrics and CloudWatch."""

    served = 0
    cloudwatch: list[tuple[str, dict]] = []

    def log_message(self, *args):
        pass

    def _reply(self, status: int, text: str, kind: str = "text/plain") -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        ok = self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        self._reply(200 if ok else 400, "token-1")

    def do_GET(self):
        if self.path.startswith("/latest/meta-data/"):
            if self.headers.get("X-aws-ec2-metadata-token") != "token-1":
                return self._reply(401, "")
            meta = {"tags/instance/aws:autoscaling:groupName": "my-asg", "placement/region": "us-east-1"}
            return self._reply(200, meta[self.path[len("/latest/meta-data/") :]])
        if self.path == "/metrics":  # two models, 30 more requests answered every scrape
            type(self).served += 30
            n = type(self).served
            return self._reply(
                200,
                "# TYPE nv_inference_request_success counter\n"
                f'nv_inference_request_success{{model="a",version="1"}} {n - 10}\n'
                f'nv_inference_request_success{{model="b",version="1"}} 10\n'
                'nv_inference_request_failure{model="a",version="1"} 3\n',
            )
        self._reply(404, "")

    def do_POST(self):  # CloudWatch (the AWS CLI's endpoint; the JSON protocol botocore speaks to it)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).cloudwatch.append((self.headers.get("X-Amz-Target"), json.loads(body)))
        self._reply(200, "{}", "application/x-amz-json-1.0")


def test_the_serving_signal_publisher_runs(run, tmp_path):
    """The user data's publisher, run for real: IMDSv2 for the group and region, Triton's success
    counters summed, and the real AWS CLI putting RequestsPerSecond for the group (docker stood in
    by a shim that runs the CLI it names, against a stand-in CloudWatch)."""
    out = compile_spec(run, tmp_path, ar_as_ec2())
    t = yaml.load((out / "boston-wlz" / "cloudformation.yaml").read_text(), Loader=_Loader)
    sub = t["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    user_data = instance_script(sub)
    body = user_data.split("<<'PUBLISH'\n", 1)[1].split("\nPUBLISH\n", 1)[0]
    script = tmp_path / "edgespec-serving-signal"
    script.write_text(body + "\n")
    result = subprocess.run([executable("shellcheck"), str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Imds)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    shims = tmp_path / "bin"
    shims.mkdir()
    aws = Path(executable("aws"))
    # docker run --rm IMAGE ARGS...: run the AWS CLI with ARGS against the stand-in
    (shims / "docker").write_text(f'#!/bin/bash\nshift 3\nexec {shlex.quote(str(aws))} --endpoint-url {url} "$@"\n')
    (shims / "docker").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{shims}:{os.environ['PATH']}",
        "EDGESPEC_IMDS": url,
        "EDGESPEC_TRITON_METRICS": f"{url}/metrics",
        "EDGESPEC_SIGNAL_INTERVAL": "0.5",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    proc = subprocess.Popen(["bash", str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while len(_Imds.cloudwatch) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
    finally:
        proc.kill()
        err = proc.communicate()[1].decode()
        server.shutdown()
        server.server_close()
    assert len(_Imds.cloudwatch) >= 2, err
    target, doc = _Imds.cloudwatch[0]
    assert target.endswith(".PutMetricData") and doc["Namespace"] == "edgespec/Serving"
    # 30 requests answered per 0.5 s scrape: 60 per second, for the instance's group
    assert doc["MetricData"] == [
        {
            "MetricName": "RequestsPerSecond",
            "Value": 60.0,
            "Dimensions": [{"Name": "AutoScalingGroupName", "Value": "my-asg"}],
        }
    ]


def test_one_form_per_pool_and_the_stack_rolls_out_in_batches(run, tmp_path):
    """orchestrator: ec2 (the default) is the stack alone, kubernetes the manifests alone. The
    stack's instances count once their endpoints answer (cfn-signal from the user data), and a new
    version replaces them in batches of the rollout's first stage (10% here, at least one)."""
    import math

    (tmp_path / "ec2").mkdir()
    (tmp_path / "pods").mkdir()
    out = compile_spec(run, tmp_path / "ec2", ar_as_ec2())
    assert (out / "boston-wlz" / "cloudformation.yaml").exists() and not (out / "boston-wlz" / "k8s").exists()
    pods = compile_spec(run, tmp_path / "pods", AR.read_text())
    assert (pods / "boston-wlz" / "k8s").is_dir() and not (pods / "boston-wlz" / "cloudformation.yaml").exists()
    group = yaml.load((out / "boston-wlz" / "cloudformation.yaml").read_text(), Loader=_Loader)["Resources"][
        "AutoScalingGroup"
    ]
    desired = int(group["Properties"]["DesiredCapacity"])
    batch = max(1, math.ceil(desired * 10 / 100))
    assert group["CreationPolicy"] == {"ResourceSignal": {"Count": desired, "Timeout": "PT1H"}}
    update = group["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert (update["MaxBatchSize"], update["MinInstancesInService"]) == (batch, max(0, desired - batch))
    assert update["WaitOnResourceSignals"] is True and update["MinSuccessfulInstancesPercent"] == 100
    sub = yaml.load((out / "boston-wlz" / "cloudformation.yaml").read_text(), Loader=_Loader)["Resources"][
        "LaunchTemplate"
    ]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    script = instance_script(sub).splitlines()
    trap = script.index("trap 'signal 1' ERR")
    assert trap < next(i for i, line in enumerate(script) if line.startswith("docker run"))  # failures are signalled
    assert script[-2:] == ["answers https://127.0.0.1:8090/healthz", "signal 0"]  # ready only once it answers
    # a device target has no orchestrator to choose
    doc = yaml.safe_load(AR.read_text())
    doc["targets"][next(n for n, t in doc["targets"].items() if not t["hardware"].startswith("aws-"))] |= {
        "orchestrator": "ec2"
    }
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, _, err = run("compile", str(path), "-o", str(tmp_path / "bad"))
    assert code == 1 and "ES310" in err and "orchestrator applies to aws-ec2 and aws-wavelength" in err


def test_a_regional_stack_serves_behind_its_load_balancer(run, tmp_path):
    """Clients call one name over HTTPS (ACM certificate, TLS 1.2+); the load balancer forwards over
    HTTPS to each gateway's port, checks /healthz, and is the only caller the instances admit. A
    Wavelength stack has none (no NLB there, ALB not in every zone): clients call its carrier IPs."""
    from edgespec.emit import load_balancer

    out = compile_spec(run, tmp_path, ec2_spec("s3://m/clf.onnx"))
    template = out / "cloud" / "cloudformation.yaml"
    cfn_lint(template)
    t = yaml.load(template.read_text(), Loader=_Loader)
    r = t["Resources"]
    assert "SecurityGroupIngress" not in r["SecurityGroup"]["Properties"]  # nobody reaches the instances directly
    ingress = r["InstancesFromLoadBalancer"]["Properties"]
    assert ingress["SourceSecurityGroupId"] == {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]}
    assert r["LoadBalancerSecurityGroup"]["Properties"]["SecurityGroupIngress"][0]["CidrIp"] == {"Ref": "ClientCidr"}
    files = r["LaunchTemplate"]["Metadata"]["AWS::CloudFormation::Init"]["config"]["files"]
    gateways = [json.loads(f["content"]) for path, f in sorted(files.items()) if path.endswith(".json")]
    assert gateways
    for i, gateway in enumerate(gateways):
        group, listener = r[f"TargetGroup{i}"]["Properties"], r[f"Listener{i}"]["Properties"]
        assert (group["Protocol"], group["Port"], group["HealthCheckProtocol"], group["HealthCheckPath"]) == (
            "HTTPS",
            gateway["port"],
            "HTTPS",
            "/healthz",
        )
        assert gateway["tls"]["cert_file"]  # the gateway itself serves TLS: the hop behind the balancer is encrypted
        assert (listener["Protocol"], listener["Port"], listener["SslPolicy"]) == (
            "HTTPS",
            gateway["port"],
            load_balancer.SSL_POLICY,
        )
        assert listener["Certificates"] == [{"CertificateArn": {"Ref": "LoadBalancerCertificateArn"}}]
    asg = r["AutoScalingGroup"]["Properties"]
    assert asg["TargetGroupARNs"] == [{"Ref": f"TargetGroup{i}"} for i in range(len(gateways))]
    assert asg["HealthCheckType"] == "ELB"
    assert t["Outputs"]["Endpoint"]["Value"] == {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}
    (tmp_path / "wlz").mkdir()
    wavelength = compile_spec(run, tmp_path / "wlz", ar_as_ec2())
    w = yaml.load((wavelength / "boston-wlz" / "cloudformation.yaml").read_text(), Loader=_Loader)
    assert not any(v["Type"].startswith("AWS::ElasticLoadBalancingV2::") for v in w["Resources"].values())
    (rule,) = w["Resources"]["SecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert rule["CidrIp"] == {"Ref": "ClientCidr"}
