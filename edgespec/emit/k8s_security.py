"""Secure defaults for a pool's pods, applied to every container the Kubernetes emitter writes.

Each rule answers a check of checkov (the scanner the suite runs on every emitted manifest):

- the pod: non-root with a high UID and a group that owns its volumes, the runtime's default
  seccomp profile, no service-account token (the pods call no Kubernetes API);
- every container, init containers included: no privilege escalation, every capability dropped,
  a read-only root filesystem (a `tmp` emptyDir is /tmp and HOME, for the servers' caches), CPU and
  memory requests and limits, images pulled on every start (tags are the pins: a moved tag is seen);
- a NetworkPolicy: only the gateway's port is reachable from outside the pod (the model server
  behind it is not); out of the pod, DNS and HTTPS only (the model fetch and the checkpoint);
- a PodDisruptionBudget: a node drain takes at most one pod at a time.

One waiver, on the Deployment: image digests (CKV_K8S_43). The images are pinned by version tag in
edgespec's toolchain (edgespec/emit/toolchain.yaml); a digest is per registry and architecture and
cannot be verified without the registry, and a guessed digest would make the pod fail to pull.
"""

from __future__ import annotations

UID = 10001  # above 10000: no clash with a host user (checkov CKV_K8S_40)
TMP = {"name": "tmp", "mountPath": "/tmp"}
DNS_AND_HTTPS = [
    {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
    {"ports": [{"protocol": "TCP", "port": 443}]},
]
DIGEST_WAIVER = (
    "CKV_K8S_43=images are pinned by version tag in edgespec's toolchain.yaml; a digest is per "
    "registry mirror and architecture and is not guessed"
)

# requests and limits of the helper containers (the servers' own are sized where they are defined)
HELPER_RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def _container(container: dict) -> dict:
    resources = container.get("resources") or {}
    requests = {**HELPER_RESOURCES["requests"], **resources.get("requests", {})}
    limits = {**HELPER_RESOURCES["limits"], **resources.get("limits", {})}
    for key in ("cpu", "memory"):  # a limit never below its request
        if _quantity(limits[key]) < _quantity(requests[key]):
            limits[key] = requests[key]
    env = [e for e in container.get("env", []) if e["name"] != "HOME"]
    return {
        **container,
        "imagePullPolicy": "Always",
        "env": [*env, {"name": "HOME", "value": "/tmp"}],
        "resources": {"requests": requests, "limits": limits},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [*[m for m in container.get("volumeMounts", []) if m["mountPath"] != "/tmp"], TMP],
    }


def _quantity(value: str) -> float:
    """A Kubernetes quantity as a number (enough for cpu and memory: m, Ki, Mi, Gi)."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)


def harden(pod: dict) -> dict:
    """The pod spec with the rules above applied to it and to every container."""
    return {
        **pod,
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "fsGroup": UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": [_container(c) for c in pod.get("initContainers", [])],
        "containers": [_container(c) for c in pod["containers"]],
        "volumes": [*pod.get("volumes", []), {"name": "tmp", "emptyDir": {}}],
    }


def network_policy(name: str, labels: dict, selector: dict, port: str) -> dict:
    """Ingress only to the gateway's port; egress only DNS and HTTPS."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "podSelector": {"matchLabels": selector},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"ports": [{"protocol": "TCP", "port": port}]}],
            "egress": DNS_AND_HTTPS,
        },
    }


def disruption_budget(name: str, labels: dict, selector: dict) -> dict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "labels": labels},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
    }
