"""CloudFormation for aws-wavelength and aws-ec2 targets whose `orchestrator` is ec2 (the default):
the serving stack as one template.

Wavelength: a VPC with a subnet in the Wavelength Zone, a carrier gateway and its default route,
and instances that take a carrier IP, which clients call. EC2: the same stack in a region behind
an internet gateway, with an HTTPS Application Load Balancer in front (load_balancer.py) that the
instances alone admit. Both: an instance role that may read exactly the models it serves and the
stack's two secrets (the callers' token, the endpoint's certificate), a launch template (IMDSv2,
hop limit 2 so the fetch container can use the role) whose user data fetches and verifies the
models, builds the TensorRT engines the plan chose on the instance's GPU, serves them with Triton
on loopback behind the HTTPS gateways and signals CloudFormation once they answer, and an auto
scaling group sized by the plan that rolls new versions out in batches of the rollout's first
stage. Built as data; the user data is a template with shell-quoted values.
"""

from __future__ import annotations

import base64
import gzip
import json
import math

from edgespec import __version__
from edgespec.device import ship
from edgespec.emit import kubernetes, load_balancer, router, servable
from edgespec.emit import pool as pool_mod
from edgespec.emit.common import (
    gateway_memory_mib,
    generates,
    input_config,
    no_llm_runtime,
    placement_calibration,
    placement_source,
    placements_on,
)
from edgespec.emit.jetson import engine_name
from edgespec.emit.package import identity, sha256
from edgespec.emit.serialize import json_bytes, yaml_documents
from edgespec.emit.templating import render
from edgespec.load.sourcemap import SourceMap
from edgespec.planner.types import Plan
from edgespec.spec.models import Spec
from edgespec.spec.targets import orchestrator

# Where the stack's name goes in the user data. It contains spaces, which no validated URI or name
# can, so user text can never produce it; it becomes ${AWS::StackName} after escaping.
STACK_PLACEHOLDER = "@@ stack name @@"
REGION_PLACEHOLDER = "@@ region @@"  # becomes ${AWS::Region}, as the stack name does
TOKEN_PLACEHOLDER = "@@ token secret @@"  # becomes ${GatewayTokenSecretArn}
TLS_PLACEHOLDER = "@@ tls secret @@"  # becomes ${GatewayTlsSecretArn}
PORTS = (8000, 8002)  # vLLM's (an LLM stack): clients call it directly
GATEWAY_DIR = "/opt/edgespec/gateway"
# A regional stack's instances sit behind its load balancer (load_balancer.py) and admit it alone;
# each still takes a public IP for its own egress (images, models, the AWS APIs) without a NAT
# gateway. (A Wavelength instance takes a carrier IP: it is the endpoint there.)
PUBLIC_IP_WAIVER = {
    "id": "CKV_AWS_88",
    "comment": "the public IP is the instances' egress (images, models, AWS "
    "APIs) without a NAT gateway: their security group admits the load balancer alone, and the "
    "model server listens on the instance's loopback",
}


def _ref(name: str) -> dict:
    return {"Ref": name}


def _tags(spec: Spec, target: str) -> list[dict]:
    return [
        {"Key": "Name", "Value": f"{spec.metadata.name}-{target}"},
        {"Key": "edgespec:deployment", "Value": spec.metadata.name},
        {"Key": "edgespec:version", "Value": spec.metadata.version},
    ]


def _gateway_files(gateways: list[dict]) -> dict:
    """What cfn-init writes on each instance: one settings file per workload, and router.py gzipped
    (base64 in the template, unpacked by the user data) so the template stays under the 51,200
    bytes CloudFormation takes without an S3 upload."""
    code = gzip.compress(ship("router", __version__), compresslevel=9, mtime=0)
    files = {f"{GATEWAY_DIR}/router.py.gz": {"content": base64.b64encode(code).decode("ascii"), "encoding": "base64"}}
    for g in gateways:
        files[f"{GATEWAY_DIR}/{g['workload']}.json"] = {"content": json_bytes(g).decode("utf-8")}
    return {path: {**file, "mode": "000644", "owner": "root", "group": "root"} for path, file in files.items()}


def update_policies(spec: Spec, scale: pool_mod.Bounds) -> dict:
    """The group's creation and rolling update policies: an instance counts once it signals that
    its endpoints answer (the user data's cfn-signal). A new version replaces the instances in
    batches of the rollout's first stage (a share of the pool, at least one), keeping the rest in
    service, and CloudFormation rolls the update back when a batch does not come up within the hour.
    That is all CloudFormation can enforce: it cannot soak for hours or compare canary with stable
    answers (the Kubernetes orchestrator's Argo Rollouts does)."""
    stages = spec.rollout.stages if spec.rollout else []
    batch = max(1, math.ceil(scale.desired * stages[0].percent / 100)) if stages else 1
    return {
        "CreationPolicy": {"ResourceSignal": {"Count": scale.desired, "Timeout": "PT1H"}},
        "UpdatePolicy": {
            "AutoScalingRollingUpdate": {
                "MaxBatchSize": batch,
                "MinInstancesInService": max(0, scale.desired - batch),
                "MinSuccessfulInstancesPercent": 100,
                "PauseTime": "PT1H",
                "WaitOnResourceSignals": True,
                "SuspendProcesses": [
                    "HealthCheck",
                    "ReplaceUnhealthy",
                    "AZRebalance",
                    "AlarmNotification",
                    "ScheduledActions",
                ],
            }
        },
    }


def template(
    spec: Spec,
    target: str,
    models: list[dict],
    scale: pool_mod.Bounds,
    toolchain: dict,
    llm: dict | None = None,
    gateways: list[dict] | None = None,
) -> dict:
    t = spec.targets[target]
    wavelength = t.zone is not None and spec.targets[target].hardware == "aws-wavelength"
    tags = _tags(spec, target)
    gateways = gateways or []
    files = _gateway_files(gateways) if gateways else {}
    # The package identity the gateways report: the spec's version plus a hash of what they serve.
    package = identity(
        spec.metadata.version,
        sha256(
            json.dumps(
                [files, models, toolchain["python"]["image"], toolchain["triton_server"]["image"]], sort_keys=True
            ).encode()
        ),
    )
    images = any(g.get("input") for g in gateways)
    # what clients call: each gateway's port (Triton listens on the instance's loopback only), or vLLM's
    endpoints = [(g["port"], "/healthz") for g in gateways] or [(PORTS[0], "/health")]
    user_data = render(
        "aws/user-data.sh.j2",
        version=__version__,
        target=target,
        models=models,
        aws_cli_image=toolchain["aws_cli"]["image"],
        curl_image=toolchain["curl"]["image"],
        triton_image=toolchain["triton_server"]["image"],
        tensorrt_image=toolchain["tensorrt"]["image"],
        workspace_mib=kubernetes.WORKSPACE_MIB,
        build_engine=ship("aws_build_engine", __version__).decode("utf-8"),
        check_checkpoint=ship("aws_check_checkpoint", __version__).decode("utf-8"),
        llm=llm,
        vllm_image=toolchain["vllm"]["image"],
        python_image=toolchain["python"]["image"],
        counter="vllm:request_success_total" if llm else "nv_inference_request_success",
        stack_placeholder=STACK_PLACEHOLDER,
        region_placeholder=REGION_PLACEHOLDER,
        token_placeholder=TOKEN_PLACEHOLDER,
        tls_placeholder=TLS_PLACEHOLDER,
        gateways=[{**g, "memory_mib": gateway_memory_mib(g)} for g in gateways],
        package=package,
        image_packages=router.requirements(False, True) if images else [],
        namespace=pool_mod.NAMESPACE,
        metric=pool_mod.METRIC,
        health_urls=[f"https://127.0.0.1:{port}{path}" for port, path in endpoints],
    ).decode("utf-8")
    # Fn::Sub: every literal `${` (from an object key) is escaped as `${!`; the only variable is the
    # stack name, which labels the server container.
    user_data = (
        user_data.replace("${", "${!")
        .replace(STACK_PLACEHOLDER, "${AWS::StackName}")
        .replace(REGION_PLACEHOLDER, "${AWS::Region}")
        .replace(TOKEN_PLACEHOLDER, "${GatewayTokenSecretArn}")
        .replace(TLS_PLACEHOLDER, "${GatewayTlsSecretArn}")
    )
    if gateways:
        ports = (kubernetes.GATEWAY, kubernetes.GATEWAY + len(gateways) - 1)
        what = f"edgespec gateways for {spec.metadata.name}/{target}"
    else:
        ports, what = PORTS, f"the model server for {spec.metadata.name}/{target}"
    # Fn::Sub reads `${...}` in the object key as a substitution: `${!` writes a literal `${`.
    reads = [m["uri"] for m in models] + [m["calibration_uri"] for m in models if m["calibration_uri"]]
    if llm is not None:
        reads.append(llm["uri"] + "*")  # every file of the checkpoint's folder
    objects = sorted(
        {
            f"arn:${{AWS::Partition}}:s3:::{uri[len('s3://') :].replace('${', '${!')}"
            for uri in reads
            if uri.startswith("s3://")
        }
    )
    resources: dict = {
        "Vpc": {
            "Type": "AWS::EC2::VPC",
            "Properties": {
                "CidrBlock": {"Ref": "VpcCidr"},
                "EnableDnsSupport": True,
                "EnableDnsHostnames": True,
                "Tags": tags,
            },
        },
        "Subnet": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": _ref("Vpc"),
                "CidrBlock": {"Fn::Select": [0, {"Fn::Cidr": [{"Ref": "VpcCidr"}, 4, 8]}]},
                "AvailabilityZone": _ref("WavelengthZone") if wavelength else {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
                "Tags": tags,
            },
        },
        "RouteTable": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": _ref("Vpc"), "Tags": tags}},
        "SubnetRouteTableAssociation": {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"SubnetId": _ref("Subnet"), "RouteTableId": _ref("RouteTable")},
        },
        "SecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": what,
                "VpcId": _ref("Vpc"),
                # Wavelength: clients on the carrier network call the instances; a region: the load balancer does
                **(
                    {
                        "SecurityGroupIngress": [
                            {
                                "IpProtocol": "tcp",
                                "FromPort": ports[0],
                                "ToPort": ports[1],
                                "CidrIp": _ref("ClientCidr"),
                                "Description": "model clients",
                            }
                        ]
                    }
                    if wavelength
                    else {}
                ),
                "Tags": tags,
            },
        },
        "InstanceRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                },
                "ManagedPolicyArns": [
                    {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}
                ],
                "Policies": [
                    *(
                        [
                            {
                                "PolicyName": "read-models",
                                "PolicyDocument": {
                                    "Version": "2012-10-17",
                                    "Statement": [
                                        {
                                            "Effect": "Allow",
                                            "Action": "s3:GetObject",
                                            "Resource": [{"Fn::Sub": arn} for arn in objects],
                                        }
                                    ],
                                },
                            }
                        ]
                        if objects
                        else []
                    ),
                    # the clients' bearer token and the endpoint's certificate: the two secrets the stack was given
                    {
                        "PolicyName": "read-gateway-secrets",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "secretsmanager:GetSecretValue",
                                    "Resource": [_ref("GatewayTokenSecretArn"), _ref("GatewayTlsSecretArn")],
                                }
                            ],
                        },
                    },
                    # the serving signal the scaling policy tracks; PutMetricData takes no resource,
                    # so the grant is held to the one namespace
                    {
                        "PolicyName": "publish-serving-signal",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "cloudwatch:PutMetricData",
                                    "Resource": "*",
                                    "Condition": {"StringEquals": {"cloudwatch:namespace": pool_mod.NAMESPACE}},
                                }
                            ],
                        },
                    },
                ],
                "Tags": tags,
            },
        },
        "InstanceProfile": {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [_ref("InstanceRole")]}},
        "LaunchTemplate": {
            "Type": "AWS::EC2::LaunchTemplate",
            "Metadata": {
                **({"AWS::CloudFormation::Init": {"config": {"files": files}}} if files else {}),
                **({} if wavelength else {"checkov": {"skip": [PUBLIC_IP_WAIVER]}}),
            },
            "Properties": {
                "LaunchTemplateData": {
                    "ImageId": _ref("ImageId"),
                    "InstanceType": t.instance_type,
                    "KeyName": _ref("KeyName"),
                    "IamInstanceProfile": {"Arn": {"Fn::GetAtt": ["InstanceProfile", "Arn"]}},
                    "MetadataOptions": {
                        "HttpTokens": "required",
                        "HttpPutResponseHopLimit": 2,
                        "InstanceMetadataTags": "enabled",
                    },  # the publisher reads its group's name
                    "NetworkInterfaces": [
                        {
                            "DeviceIndex": 0,
                            "Groups": [_ref("SecurityGroup")],
                            **(
                                {"AssociateCarrierIpAddress": True}
                                if wavelength
                                else {"AssociatePublicIpAddress": True}
                            ),
                        }
                    ],
                    "UserData": {"Fn::Base64": {"Fn::Sub": user_data}},
                    "TagSpecifications": [{"ResourceType": "instance", "Tags": tags}],
                }
            },
        },
        "AutoScalingGroup": {
            "Type": "AWS::AutoScaling::AutoScalingGroup",
            "Properties": {
                "VPCZoneIdentifier": [_ref("Subnet")],
                "LaunchTemplate": {
                    "LaunchTemplateId": _ref("LaunchTemplate"),
                    "Version": {"Fn::GetAtt": ["LaunchTemplate", "LatestVersionNumber"]},
                },
                "MinSize": str(scale.minimum),
                "MaxSize": str(scale.maximum),
                "DesiredCapacity": str(scale.desired),
                **(
                    {}
                    if wavelength
                    else {
                        "TargetGroupARNs": [_ref(f"TargetGroup{i}") for i in range(len(endpoints))],
                        "HealthCheckType": "ELB",
                        "HealthCheckGracePeriod": 3600,
                    }
                ),  # engines build on first boot
                "Tags": [{**tag, "PropagateAtLaunch": True} for tag in tags],
            },
            **update_policies(spec, scale),
        },
    }
    if not wavelength:
        resources.update(load_balancer.resources(endpoints, tags))
    if scale.maximum > scale.minimum:  # a fixed pool has nothing to scale
        resources["ScalingPolicy"] = {
            "Type": "AWS::AutoScaling::ScalingPolicy",
            "Properties": {
                "AutoScalingGroupName": _ref("AutoScalingGroup"),
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingConfiguration": {
                    "CustomizedMetricSpecification": {
                        "Namespace": pool_mod.NAMESPACE,
                        "MetricName": pool_mod.METRIC,
                        "Statistic": "Average",
                        "Dimensions": [{"Name": "AutoScalingGroupName", "Value": _ref("AutoScalingGroup")}],
                    },
                    # requests per second per instance at the planned headroom
                    "TargetValue": scale.target_rps,
                },
            },
        }
    if wavelength:
        resources["CarrierGateway"] = {
            "Type": "AWS::EC2::CarrierGateway",
            "Properties": {"VpcId": _ref("Vpc"), "Tags": tags},
        }
        resources["DefaultRoute"] = {
            "Type": "AWS::EC2::Route",
            "Properties": {
                "RouteTableId": _ref("RouteTable"),
                "DestinationCidrBlock": "0.0.0.0/0",
                "CarrierGatewayId": _ref("CarrierGateway"),
            },
        }
    else:
        resources["InternetGateway"] = {"Type": "AWS::EC2::InternetGateway", "Properties": {"Tags": tags}}
        resources["GatewayAttachment"] = {
            "Type": "AWS::EC2::VPCGatewayAttachment",
            "Properties": {"VpcId": _ref("Vpc"), "InternetGatewayId": _ref("InternetGateway")},
        }
        resources["DefaultRoute"] = {
            "Type": "AWS::EC2::Route",
            "DependsOn": "GatewayAttachment",
            "Properties": {
                "RouteTableId": _ref("RouteTable"),
                "DestinationCidrBlock": "0.0.0.0/0",
                "GatewayId": _ref("InternetGateway"),
            },
        }
    where = f"Wavelength Zone {t.zone}" if wavelength else f"region {t.region}"
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"edgespec {__version__}: {spec.metadata.name} {spec.metadata.version}, "
        f"Triton serving on {t.instance_type} in {where}",
        "Parameters": {
            "ImageId": {
                "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
                "Default": toolchain["aws_ami"]["version"],
                "Description": "Deep Learning Base OSS Nvidia Driver GPU AMI, Amazon Linux 2023 (NVIDIA "
                "driver, container toolkit)",
            },
            "KeyName": {"Type": "AWS::EC2::KeyPair::KeyName", "Description": "SSH key pair for the instances"},
            "GatewayTokenSecretArn": {
                "Type": "String",
                "AllowedPattern": r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$",
                "Description": "Secrets Manager secret whose string is the bearer token clients must present",
            },
            "GatewayTlsSecretArn": {
                "Type": "String",
                "AllowedPattern": r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$",
                "Description": "Secrets Manager secret whose string is the endpoint's PEM certificate chain followed "
                "by its PEM private key (clients connect over HTTPS only)",
            },
            **({} if wavelength else load_balancer.PARAMETER),
            "ClientCidr": {
                "Type": "String",
                "AllowedPattern": r"^(\d{1,3}\.){3}\d{1,3}/\d{1,2}$",
                "Description": "CIDR of the clients allowed to call the model server",
            },
            **(
                {
                    "WavelengthZone": {
                        "Type": "String",
                        "Default": t.zone,
                        "Description": "Wavelength Zone of the subnet (the account must be opted in to its zone group)",
                    }
                }
                if wavelength
                else {}
            ),
            "VpcCidr": {
                "Type": "String",
                "Default": "10.0.0.0/16",
                "AllowedPattern": r"^(\d{1,3}\.){3}\d{1,3}/16$",
                "Description": "CIDR of the stack's VPC (a /16)",
            },
        },
        "Resources": resources,
        "Outputs": {
            "AutoScalingGroupName": {"Value": _ref("AutoScalingGroup")},
            **(
                {}
                if wavelength
                else {
                    "Endpoint": {
                        "Description": "the name clients call (HTTPS, on the gateways' ports)",
                        "Value": {"Fn::GetAtt": ["LoadBalancer", "DNSName"]},
                    }
                }
            ),
            "SecurityGroupId": {"Value": {"Fn::GetAtt": ["SecurityGroup", "GroupId"]}},
        },
    }


def emit(spec: Spec, plan: Plan, target: str, toolchain: dict, source: SourceMap):
    from edgespec.emit import Emitted

    out = Emitted()
    if orchestrator(spec.targets[target]) != "ec2":  # the Kubernetes manifests serve this pool
        return out
    models: dict[str, dict] = {}
    llms: dict[str, dict] = {}
    pools = []
    gateways: list[dict] = []
    for workload, candidate, p in placements_on(plan, target, roles=("remote",)):
        issue = servable.problem(spec, workload, target, p, source)
        if issue is not None:  # ES601: nothing is emitted for it, and compile says why
            out.diagnostics.append(issue)
            continue
        src = placement_source(p)
        if generates(spec, p.model):
            entry = _llm(spec, workload, candidate, p, src)
            held = llms.setdefault(entry["name"], entry)  # several workloads: the most sequences
            held["sequences"] = max(held["sequences"], entry["sequences"])
            pools.append(candidate.estimates.pool)
            continue
        # an ONNX model on S3 or HTTPS (servable): the planned engine, behind a gateway
        pool = candidate.estimates.pool
        serving = pool.serving if pool is not None else None
        name = engine_name(p.model, p.recipe)  # the planned model at the planned recipe
        batch = pool_mod.engine_batch(serving)
        previous = models.get(name)
        if previous is None or batch > previous["max_batch"]:  # several workloads: the largest batch
            calibration = placement_calibration(spec, p)
            models[name] = {
                "name": name,
                "model": p.model,
                "uri": src.uri,
                "sha256": src.sha256 or "",
                "precision": p.recipe.precision,
                "max_batch": batch,
                "calibration_uri": calibration.uri if calibration else "",
                "calibration_sha256": (calibration.sha256 or "") if calibration else "",
                "config": kubernetes.engine_config(name, serving),
            }
        gateways.append(
            {
                **kubernetes.gateway_config(
                    spec,
                    workload,
                    name,
                    target,
                    serving,
                    token_file=f"{GATEWAY_DIR}/token",
                    tls={"cert_file": f"{GATEWAY_DIR}/tls.pem"},
                ),
                "input": input_config(spec, p.model),
                "port": kubernetes.GATEWAY + len(gateways),
            }
        )
        pools.append(pool)
    if llms and (models or len(llms) > 1):  # one server per instance: vLLM alone, or Triton
        for entry in sorted(llms.values(), key=lambda e: e["name"]):
            out.diagnostics.append(
                no_llm_runtime(
                    spec,
                    entry["workload"],
                    target,
                    entry["model"],
                    source,
                    "a stack whose instances run vLLM beside other models (set `orchestrator: kubernetes` on the "
                    "target to deploy them as Kubernetes pods)",
                )
            )
        llms = {}
        pools = [p for p in pools if p is not None and p.serving.mode != "continuous"]
    if models or llms:
        scale = pool_mod.bounds(pool_mod.largest(pools))
        llm = next(iter(llms.values()), None)
        doc = template(
            spec, target, [models[k] for k in sorted(models)], scale, toolchain, llm, [] if llm else gateways
        )
        out.files[f"{target}/cloudformation.yaml"] = yaml_documents([doc])
    return out


def _llm(spec: Spec, workload: str, candidate, p, src) -> dict:
    """The LLM a pool's instances serve in vLLM (a servable checkpoint folder on S3), with the plan's
    limits."""
    serving = candidate.estimates.pool.serving if candidate.estimates.pool is not None else None
    return {
        "workload": workload,
        "name": engine_name(p.model, p.recipe),
        "model": p.model,
        "uri": src.uri.rstrip("/") + "/",
        "precision": p.recipe.precision,
        **pool_mod.llm_limits(spec, workload, serving)._asdict(),
    }
