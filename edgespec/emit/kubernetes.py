"""Kubernetes manifests for workloads served on an aws-wavelength or aws-ec2 target.

With the target's `orchestrator: kubernetes` (then the CloudFormation stack is not emitted), for
teams running EKS nodes there (self-managed nodes in a Wavelength Zone: managed node groups
cannot run in Wavelength). Per workload: a Deployment of Triton Inference Server pinned to the
zone and instance type with one GPU; init containers that fetch and verify the model and build
the TensorRT engine the plan chose (its precision, batch 1 to the planned batch) on the pod's GPU,
in NVIDIA's TensorRT container of Triton's release; the engine's config.pbtxt (dynamic batching
at the planned batch and queue delay) from the workload's ConfigMap; the edgespec gateway beside
it (router.py in server mode: it takes the raw tensors the device routers send and exports the
metrics the rollout analysis reads; its code, with build_engine.py, is one ConfigMap per target
in k8s/_gateway-code.yaml, a name no workload can have, and its settings a ConfigMap per
workload), a Service, and a HorizontalPodAutoscaler sized from the plan. With `rollout` in the
spec, an Argo Rollouts canary takes over the Deployment (see argo.py). Built as data and written
by a YAML serializer; user strings only ever travel as separate argv elements, label values or
ConfigMap data.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from edgespec import __version__
from edgespec.device import ship
from edgespec.emit import argo, k8s_security, router, servable
from edgespec.emit import pool as pool_mod
from edgespec.emit.common import (
    budget_ms,
    calibration_of,
    gateway_limits,
    gateway_memory_mib,
    generates,
    input_config,
    placement_source,
    placements_on,
    timeout_ms,
)
from edgespec.emit.jetson import engine_name
from edgespec.emit.package import identity, sha256
from edgespec.emit.pbtxt import Enum, dumps
from edgespec.load.sourcemap import SourceMap
from edgespec.planner.types import Plan
from edgespec.spec.models import Spec
from edgespec.spec.targets import orchestrator

TRITON_HTTP, TRITON_GRPC, TRITON_METRICS = 8000, 8001, 8002
LLM_HTTP = 8000  # vLLM's OpenAI-compatible server
GATEWAY = 8090
MODELS = "/models"
BUILD = "/build"
GATEWAY_DIR = "/etc/edgespec"
GATEWAY_CODE_DIR = "/opt/edgespec"
GATEWAY_PACKAGES_DIR = "/opt/edgespec-packages"  # Pillow and NumPy, for a gateway that decodes images
TOKEN_DIR = "/etc/edgespec-token"  # the gateway's bearer token: key `token` of the Secret <workload>-gateway-token
TLS_DIR = "/etc/edgespec-tls"  # the gateway's certificate: the kubernetes.io/tls Secret <workload>-gateway-tls
WORKSPACE_MIB = 4096  # TensorRT's builder workspace on a datacenter GPU


def token_secret(workload: str) -> str:
    """The Secret that holds a workload's gateway token (key `token`); the user creates it."""
    return f"{workload}-gateway-token"


def tls_secret(workload: str) -> str:
    """The kubernetes.io/tls Secret (tls.crt, tls.key) the gateway serves HTTPS with; the user (or
    cert-manager) creates it."""
    return f"{workload}-gateway-tls"


def code_name(spec: Spec, target: str) -> str:
    return f"{spec.metadata.name}-{target}-gateway-code"[:253]


def code_config_map(spec: Spec, target: str) -> dict:
    """router.py, shared by every workload's gateway on the target."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": code_name(spec, target),
            "labels": {**_part_of(spec), "app.kubernetes.io/component": "gateway"},
        },
        "data": {
            "router.py": ship("router", __version__).decode(),
            "build_engine.py": ship("aws_build_engine", __version__).decode(),
            "check_checkpoint.py": ship("aws_check_checkpoint", __version__).decode(),
        },
    }


def engine_config(name: str, serving) -> str:
    """Triton's config.pbtxt for the engine a pool serves: a TensorRT plan, dynamic batching up to
    the planned batch with the planned queue delay."""
    batch = pool_mod.engine_batch(serving)
    doc = {
        "name": name,
        "platform": "tensorrt_plan",
        "max_batch_size": batch,
        "instance_group": [{"kind": Enum("KIND_GPU"), "count": 1}],
    }
    if batch > 1:
        doc["dynamic_batching"] = {
            "preferred_batch_size": [batch],
            "max_queue_delay_microseconds": max(1, round(serving.queue_ms * 1000)),
        }
    return dumps(doc).decode()


# Fetch with the checksum verified when the spec declares one. The script is fixed text; the URI,
# the destination and the digest arrive as positional arguments ("$1"...), never interpolated.
_FETCH = {
    "s3": (
        "aws_cli",
        'set -eu; mkdir -p "$(dirname "$2")"; aws s3 cp --only-show-errors "$1" "$2"; '
        'if [ -n "$3" ]; then echo "$3  $2" | sha256sum -c -; fi',
    ),
    "https": (
        "curl",
        'set -eu; mkdir -p "$(dirname "$2")"; curl -fsSL --retry 3 -o "$2" "$1"; '
        'if [ -n "$3" ]; then echo "$3  $2" | sha256sum -c -; fi',
    ),
}


def _part_of(spec: Spec) -> dict[str, str]:
    return {
        "app.kubernetes.io/part-of": spec.metadata.name,
        "app.kubernetes.io/version": spec.metadata.version.replace("+", "_"),
        "app.kubernetes.io/managed-by": "edgespec",
    }


def _labels(spec: Spec, workload: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": workload, **_part_of(spec)}


# prometheus-adapter's chart values (`rules.custom`): the per-pod request rate the HPAs scale on,
# from the gateway's request counter (https://github.com/kubernetes-sigs/prometheus-adapter).
ADAPTER_RULES = {
    "rules": {
        "custom": [
            {
                "seriesQuery": 'edgespec_requests_total{namespace!="",pod!=""}',
                "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
                "name": {"matches": "^edgespec_requests_total$", "as": pool_mod.SIGNAL},
                "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)",
            }
        ]
    }
}


def _quantity(rps: float) -> str:
    """A Kubernetes quantity for a rate: milli-units, so a fraction of a request survives."""
    return f"{round(rps * 1000)}m"


def gateway_config(
    spec: Spec,
    workload: str,
    model: str,
    target: str,
    serving,
    token_file: str = f"{TOKEN_DIR}/token",
    tls: dict | None = None,
) -> dict:
    """The gateway waits for Triton at most the latency budget, never less than the pool's
    predicted serving p95 (at its planned batching), holds at most twice the planned batch,
    takes callers' bearer token from `token_file` and serves HTTPS with `tls` (here both from the
    Secrets' volumes): clients reach it over a network."""
    return {
        "workload": workload,
        "target": target,
        "mode": "server",
        "server_url": f"http://127.0.0.1:{TRITON_HTTP}",
        "server_model": model,
        "server_timeout_ms": timeout_ms(budget_ms(spec, workload), serving.p95_ms if serving else None),
        "port": GATEWAY,
        "telemetry": None,
        **gateway_limits(pool_mod.engine_batch(serving)),
        "auth": {"token_file": token_file},
        "tls": tls or {"cert_file": f"{TLS_DIR}/tls.crt", "key_file": f"{TLS_DIR}/tls.key"},
    }


def _init_containers(spec: Spec, placement, name: str, serving, toolchain: dict) -> list[dict]:
    """Fetch and verify the ONNX model (and an int8 engine's declared calibration cache), then build
    the engine on the pod's GPU."""
    model, recipe = placement.model, placement.recipe
    source = placement_source(placement)
    image_key, script = _FETCH[servable.scheme(source.uri)]
    mounts = [{"name": "build", "mountPath": BUILD}]
    steps = [
        {
            "name": "fetch-model",
            "image": toolchain[image_key]["image"],
            "command": ["sh", "-c", script, "fetch"],
            "args": [source.uri, f"{BUILD}/model.onnx", source.sha256 or ""],
            "volumeMounts": mounts,
        }
    ]
    build = [
        "python3",
        f"{GATEWAY_CODE_DIR}/build_engine.py",
        "--onnx",
        f"{BUILD}/model.onnx",
        "--engine",
        f"{MODELS}/{name}/1/model.plan",
        "--precision",
        recipe.precision,
        "--max-batch",
        str(pool_mod.engine_batch(serving)),
        "--workspace-mib",
        str(WORKSPACE_MIB),
    ]
    if recipe.precision == "int8":  # the planner chose int8 because the spec declares the cache
        calibration = calibration_of(spec, model)
        calibration_image, calibration_script = _FETCH[servable.scheme(calibration.uri)]
        steps.append(
            {
                "name": "fetch-calibration",
                "image": toolchain[calibration_image]["image"],
                "command": ["sh", "-c", calibration_script, "fetch"],
                "args": [calibration.uri, f"{BUILD}/calibration.cache", calibration.sha256 or ""],
                "volumeMounts": mounts,
            }
        )
        build += ["--calibration-cache", f"{BUILD}/calibration.cache"]
    steps.append(
        {
            "name": "build-engine",
            "image": toolchain["tensorrt"]["image"],
            "command": build,
            "resources": {
                "limits": {"nvidia.com/gpu": 1, "cpu": "4", "memory": "16Gi"},
                "requests": {"cpu": "2", "memory": "8Gi"},
            },
            "volumeMounts": [
                *mounts,
                {"name": "models", "mountPath": MODELS},
                {"name": "gateway-code", "mountPath": GATEWAY_CODE_DIR, "readOnly": True},
            ],
        }
    )
    return steps


class Server(NamedTuple):
    """The model server of a pool's pod: Triton on the planned TensorRT engine, or vLLM for an LLM."""

    gateway: dict  # the gateway's settings (gateway.json)
    data: dict  # more ConfigMap entries (config.pbtxt)
    init: list  # init containers: fetch, verify, build
    container: dict
    volumes: list
    images: list  # what the package identity hashes


def _triton(spec: Spec, workload: str, placement, serving, toolchain: dict, target: str) -> Server:
    name = engine_name(placement.model, placement.recipe)  # the planned model at the planned recipe
    probe = {"httpGet": {"path": "/v2/health/ready", "port": "http"}, "periodSeconds": 10, "failureThreshold": 3}
    container = {
        "name": "triton",
        "image": toolchain["triton_server"]["image"],
        "args": ["tritonserver", f"--model-repository={MODELS}"],
        "ports": [
            {"name": "http", "containerPort": TRITON_HTTP},
            {"name": "grpc", "containerPort": TRITON_GRPC},
            {"name": "metrics", "containerPort": TRITON_METRICS},
        ],
        "resources": {
            "limits": {"nvidia.com/gpu": 1, "cpu": "4", "memory": "16Gi"},
            "requests": {"cpu": "2", "memory": "8Gi"},
        },
        "readinessProbe": probe,
        "livenessProbe": {**probe, "httpGet": {"path": "/v2/health/live", "port": "http"}},
        "volumeMounts": [
            {"name": "models", "mountPath": MODELS, "readOnly": True},
            {
                "name": "gateway",
                "mountPath": f"{MODELS}/{name}/config.pbtxt",
                "subPath": "config.pbtxt",
                "readOnly": True,
            },
        ],
    }
    gateway = {**gateway_config(spec, workload, name, target, serving), "input": input_config(spec, placement.model)}
    return Server(
        gateway,
        {"config.pbtxt": engine_config(name, serving)},
        _init_containers(spec, placement, name, serving, toolchain),
        container,
        [{"name": "build", "emptyDir": {}}],
        [toolchain["triton_server"]["image"], toolchain["tensorrt"]["image"]],
    )


def _vllm(spec: Spec, workload: str, placement, serving, toolchain: dict, target: str) -> Server:
    """vLLM's OpenAI-compatible server on the planned checkpoint: continuous batching up to the
    planned concurrency, the planned tensor parallelism, a context of the planned prompt and
    output; an init step checks the checkpoint is quantized as planned (fp16: not at all; int8 or
    int4: a checkpoint quantized to that width, which vLLM reads from its config)."""
    model = placement.model
    name = engine_name(model, placement.recipe)
    source = placement_source(placement)
    gen = spec.workloads[workload].generation
    sequences, gpus, tokens = pool_mod.llm_limits(spec, workload, serving)
    checkpoint = f"{MODELS}/{name}"
    init = [
        {
            "name": "fetch-checkpoint",
            "image": toolchain["aws_cli"]["image"],
            "command": ["sh", "-c", 'set -eu; aws s3 cp --recursive --only-show-errors "$1" "$2"', "fetch"],
            "args": [source.uri.rstrip("/") + "/", checkpoint],
            "volumeMounts": [{"name": "models", "mountPath": MODELS}],
        },
        {
            "name": "check-checkpoint",
            "image": toolchain["python"]["image"],
            "command": ["python3", f"{GATEWAY_CODE_DIR}/check_checkpoint.py", checkpoint, placement.recipe.precision],
            "volumeMounts": [
                {"name": "models", "mountPath": MODELS, "readOnly": True},
                {"name": "gateway-code", "mountPath": GATEWAY_CODE_DIR, "readOnly": True},
            ],
        },
    ]
    probe = {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10, "failureThreshold": 3}
    container = {
        "name": "vllm",
        "image": toolchain["vllm"]["image"],
        "args": [
            "--model",
            checkpoint,
            "--served-model-name",
            name,
            "--host",
            "0.0.0.0",
            "--port",
            str(LLM_HTTP),
            "--max-num-seqs",
            str(sequences),
            "--max-model-len",
            str(tokens),
            "--tensor-parallel-size",
            str(gpus),
            "--dtype",
            "float16",
        ],
        "ports": [{"name": "http", "containerPort": LLM_HTTP}],
        "resources": {
            "limits": {"nvidia.com/gpu": gpus, "cpu": str(8 * gpus), "memory": f"{32 * gpus}Gi"},
            "requests": {"cpu": str(4 * gpus), "memory": f"{16 * gpus}Gi"},
        },
        "readinessProbe": {**probe, "initialDelaySeconds": 30},
        "livenessProbe": {**probe, "initialDelaySeconds": 300},
        "volumeMounts": [
            {"name": "models", "mountPath": MODELS, "readOnly": True},
            {"name": "shm", "mountPath": "/dev/shm"},
        ],  # tensor parallelism shares memory
    }
    gateway = {
        **gateway_config(spec, workload, name, target, serving),
        "mode": "llm",
        "server_url": f"http://127.0.0.1:{LLM_HTTP}",
        "max_tokens": gen.output_tokens if gen else None,
        "max_body_bytes": 1_000_000,
    }
    return Server(
        gateway, {}, init, container, [{"name": "shm", "emptyDir": {"medium": "Memory"}}], [toolchain["vllm"]["image"]]
    )


class Packages(NamedTuple):
    """What a gateway that decodes images adds to its pod: an init step that installs the pinned
    Pillow and NumPy wheels (router.py's image decoding) into a volume the gateway reads them from."""

    init: list
    env: list
    mounts: list
    volumes: list


def gateway_packages(gateway: dict, toolchain: dict) -> Packages:
    if not gateway.get("input"):
        return Packages([], [], [], [])
    volume = {"name": "gateway-packages", "mountPath": GATEWAY_PACKAGES_DIR}
    install = {
        "name": "gateway-packages",
        "image": toolchain["python"]["image"],
        "command": [
            "python3",
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--only-binary=:all:",
            "--target",
            GATEWAY_PACKAGES_DIR,
            *router.requirements(False, True),
        ],
        "volumeMounts": [volume],
    }
    return Packages(
        [install],
        [{"name": "PYTHONPATH", "value": GATEWAY_PACKAGES_DIR}],
        [{**volume, "readOnly": True}],
        [{"name": "gateway-packages", "emptyDir": {}}],
    )


def manifests(spec: Spec, workload: str, placement, pool, target: str, toolchain: dict, code: dict) -> list[dict]:
    scale = pool_mod.bounds(pool)
    serving = pool.serving if pool is not None else None
    model = placement.model
    server = (_vllm if generates(spec, model) else _triton)(spec, workload, placement, serving, toolchain, target)
    packages = gateway_packages(server.gateway, toolchain)
    memory = gateway_memory_mib(server.gateway)
    replicas = scale.desired
    t = spec.targets[target]
    source = placement_source(placement)
    labels = _labels(spec, workload)
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{workload}-gateway", "labels": labels},
        "data": {"gateway.json": json.dumps(server.gateway, indent=2, sort_keys=True) + "\n", **server.data},
    }
    # The package identity the gateway reports: the spec's version plus a hash of what the pod runs.
    content = sha256(
        json.dumps(
            [
                config_map["data"],
                code["data"],
                source.uri,
                source.sha256 or "",
                *server.images,
                toolchain["python"]["image"],
            ],
            sort_keys=True,
        ).encode()
    )
    package = identity(spec.metadata.version, content)
    selector = {"app.kubernetes.io/name": workload}
    node_selector = {"node.kubernetes.io/instance-type": t.instance_type or ""}
    if t.zone:
        node_selector["topology.kubernetes.io/zone"] = t.zone
    elif t.region:
        node_selector["topology.kubernetes.io/region"] = t.region
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": workload, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(GATEWAY),
                        "prometheus.io/path": "/metrics",
                        "prometheus.io/scheme": "https",
                    },
                },
                "spec": k8s_security.harden(
                    {
                        "nodeSelector": {k: v for k, v in node_selector.items() if v},
                        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                        "initContainers": [*server.init, *packages.init],
                        "containers": [
                            server.container,
                            {
                                "name": "gateway",
                                "image": toolchain["python"]["image"],
                                "command": [
                                    "python3",
                                    f"{GATEWAY_CODE_DIR}/router.py",
                                    f"{GATEWAY_DIR}/gateway.json",
                                    "--host",
                                    "0.0.0.0",
                                ],
                                "env": [{"name": "EDGESPEC_PACKAGE", "value": package}, *packages.env],
                                "ports": [{"name": "gateway", "containerPort": GATEWAY}],
                                # memory for max_inflight answers of max_output_bytes (router.py bounds both)
                                "resources": {
                                    "requests": {"cpu": "250m", "memory": f"{memory}Mi"},
                                    "limits": {"cpu": "1", "memory": f"{memory}Mi"},
                                },
                                "readinessProbe": {
                                    "httpGet": {"path": "/healthz", "port": "gateway", "scheme": "HTTPS"},
                                    "periodSeconds": 10,
                                },
                                "livenessProbe": {
                                    "httpGet": {"path": "/healthz", "port": "gateway", "scheme": "HTTPS"},
                                    "periodSeconds": 20,
                                    "failureThreshold": 3,
                                },
                                "volumeMounts": [
                                    {"name": "gateway", "mountPath": GATEWAY_DIR, "readOnly": True},
                                    {"name": "gateway-code", "mountPath": GATEWAY_CODE_DIR, "readOnly": True},
                                    {"name": "gateway-token", "mountPath": TOKEN_DIR, "readOnly": True},
                                    {"name": "gateway-tls", "mountPath": TLS_DIR, "readOnly": True},
                                    *packages.mounts,
                                ],
                            },
                        ],
                        "volumes": [
                            {"name": "models", "emptyDir": {}},
                            *server.volumes,
                            *packages.volumes,
                            {"name": "gateway", "configMap": {"name": f"{workload}-gateway"}},
                            {"name": "gateway-code", "configMap": {"name": code["metadata"]["name"]}},
                            # not emitted: create it (kubectl create secret generic <workload>-gateway-token
                            # --from-literal=token=...); the pod does not start without it
                            {
                                "name": "gateway-token",
                                "secret": {"secretName": token_secret(workload), "defaultMode": 0o440},
                            },
                            # not emitted either: kubectl create secret tls <workload>-gateway-tls
                            # --cert=... --key=... (or a cert-manager Certificate of that name)
                            {
                                "name": "gateway-tls",
                                "secret": {"secretName": tls_secret(workload), "defaultMode": 0o440},
                            },
                        ],
                    }
                ),
            },
        },
    }
    deployment["metadata"]["annotations"] = {"checkov.io/skip1": k8s_security.DIGEST_WAIVER}
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": workload, "labels": labels},
        "spec": {
            # Wavelength: clients on the carrier network reach the nodes' carrier IPs directly.
            "type": "NodePort" if t.zone else "ClusterIP",
            "selector": selector,
            # the model server is reached through the gateway only (the NetworkPolicy holds it to that)
            "ports": [{"name": "gateway", "port": GATEWAY, "targetPort": "gateway"}],
        },
    }
    scale_target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": workload}
    rollout_docs = []
    if spec.rollout:
        # Argo Rollouts runs the pods from the Deployment's template; the Deployment itself stays at 0.
        deployment["spec"]["replicas"] = 0
        scale_target = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": workload}
        rollout_docs = [
            argo.rollout(spec, workload, labels, selector, replicas),
            argo.analysis_template(spec, workload, labels, toolchain["prometheus"]["version"]),
        ]
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": workload, "labels": labels},
        "spec": {
            "scaleTargetRef": scale_target,
            "minReplicas": scale.minimum,
            "maxReplicas": scale.maximum,
            # the serving signal, not CPU: requests per second per pod (prometheus-adapter serves it
            # from the gateway's edgespec_requests_total, see prometheus-adapter-values.yaml)
            "metrics": [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": pool_mod.SIGNAL},
                        "target": {"type": "AverageValue", "averageValue": _quantity(scale.target_rps)},
                    },
                }
            ],
        },
    }
    security = [
        k8s_security.network_policy(workload, labels, selector, "gateway"),
        k8s_security.disruption_budget(workload, labels, selector),
    ]
    return [config_map, deployment, service, hpa, *security, *rollout_docs]


def emit(spec: Spec, plan: Plan, target: str, toolchain: dict, source: SourceMap):
    from edgespec.emit import Emitted
    from edgespec.emit.serialize import yaml_documents

    out = Emitted()
    if orchestrator(spec.targets[target]) != "kubernetes":  # the CloudFormation stack serves this pool
        return out
    code = code_config_map(spec, target)
    for workload, candidate, p in placements_on(plan, target, roles=("remote",)):
        issue = servable.problem(spec, workload, target, p, source)
        if issue is not None:
            out.diagnostics.append(issue)
            continue
        docs = manifests(spec, workload, p, candidate.estimates.pool, target, toolchain, code)
        out.files[f"{target}/k8s/{workload}.yaml"] = yaml_documents(in_namespace(spec, docs))
    if out.files:
        out.files[f"{target}/k8s/_gateway-code.yaml"] = yaml_documents(in_namespace(spec, [code]))
        out.files[f"{target}/k8s/_namespace.yaml"] = yaml_documents([namespace(spec)])
        out.files[f"{target}/prometheus-adapter-values.yaml"] = yaml_documents([ADAPTER_RULES])
    return out


def namespace_name(spec: Spec) -> str:
    """The deployment's own namespace (never `default`): its name, as a DNS label."""
    return spec.metadata.name[:63].rstrip("-")


def namespace(spec: Spec) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace_name(spec), "labels": _part_of(spec)},
    }


def in_namespace(spec: Spec, docs: list[dict]) -> list[dict]:
    """Every namespaced object of the deployment in its own namespace (k8s/_namespace.yaml)."""
    for doc in docs:
        doc["metadata"] = {
            "name": doc["metadata"]["name"],
            "namespace": namespace_name(spec),
            **{k: v for k, v in doc["metadata"].items() if k != "name"},
        }
    return docs
