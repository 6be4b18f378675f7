"""`edgespec compile`: artifacts accepted by their ecosystem's tools, golden files, determinism,
atomic replacement, the CI drift check, and hostile strings that change nothing."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, check_golden, compile_to, tree
from tests.tools import executable

AR = str(ROOT / "examples" / "ar-carrier-edge.yaml")
GOLDEN = ROOT / "tests" / "golden" / "ar-carrier-edge"


@pytest.fixture
def compiled(tmp_path) -> Path:
    return compile_to(AR, tmp_path / "out")


def test_golden(compiled):
    """Reviewed like code; refresh with EDGESPEC_UPDATE_GOLDEN=1 pytest tests/test_compile.py."""
    check_golden(compiled, "ar-carrier-edge")


def test_manifests_pass_kubernetes_validate_strict(compiled):
    manifests = sorted(str(p) for p in compiled.rglob("k8s/*.yaml"))
    assert manifests
    result = subprocess.run([executable("kubernetes-validate"), "--strict", *manifests], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    docs = [d for m in manifests for d in yaml.safe_load_all(Path(m).read_text())]
    core = [d for d in docs if not d["apiVersion"].startswith("argoproj.io/")]
    workloads = [m for m in manifests if not m.rsplit("/", 1)[-1].startswith("_")]
    # ConfigMap, Deployment, Service, HPA, NetworkPolicy, PodDisruptionBudget per workload; the code;
    # the namespace
    assert len(core) == 6 * len(workloads) + 2
    # every object in the deployment's own namespace, never `default`
    (ns,) = [d for d in core if d["kind"] == "Namespace"]
    assert {d["metadata"]["namespace"] for d in docs if d["kind"] != "Namespace"} == {ns["metadata"]["name"]}
    assert result.stdout.count("passed") == len(core)
    # kubernetes-validate has no schema for Argo's CRDs: tests/test_emit_argo.py checks those
    assert result.stdout.count("Couldn't find schema") == len(docs) - len(core)


def test_manifest_content(compiled):
    docs = {d["kind"]: d for d in yaml.safe_load_all((compiled / "boston-wlz" / "k8s" / "overlay.yaml").read_text())}
    deployment, service, hpa, rollout = (
        docs["Deployment"],
        docs["Service"],
        docs["HorizontalPodAutoscaler"],
        docs["Rollout"],
    )
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {
        "node.kubernetes.io/instance-type": "g4dn.2xlarge",
        "topology.kubernetes.io/zone": "us-east-1-wl1-bos-wlz-1",
    }
    assert pod["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": 1, "cpu": "4", "memory": "16Gi"}
    # only the gateway faces clients: the Service has its port alone, the NetworkPolicy admits it alone
    assert [p["name"] for p in service["spec"]["ports"]] == ["gateway"]
    assert docs["NetworkPolicy"]["spec"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": "gateway"}]}]
    assert docs["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1
    for container in (*pod["initContainers"], *pod["containers"]):
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"], container["name"]
        assert security["capabilities"] == {"drop": ["ALL"]} and security["runAsUser"] >= 10000
        assert {"cpu", "memory"} <= set(container["resources"]["limits"]), container["name"]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    fetch = pod["initContainers"][0]
    assert fetch["args"] == [
        "s3://field-ml/scene-seg/12/model.onnx",
        "/build/model.onnx",
        "5d41402abc4b2a76b9719d911017c592ae5f1e6d8c0b1e4f3a2b1c0d9e8f7a6b",
    ]
    assert service["spec"]["type"] == "NodePort"
    # the planned pool: scaling {max: 20} in the spec, the planner's size as the starting replicas
    assert hpa["spec"]["minReplicas"] == 1 and hpa["spec"]["maxReplicas"] == 20
    assert (
        rollout["spec"]["replicas"]
        == json.loads((compiled / "edgespec.lock.json").read_text())["plan"]["overlay"]["estimates"]["instances"]
        > 1
    )
    # scaled on requests per second per pod (prometheus-adapter), never on CPU
    assert [m["type"] for m in hpa["spec"]["metrics"]] == ["Pods"]
    assert hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] == "edgespec_requests_per_second"


def test_lock_file(compiled):
    lock = json.loads((compiled / "edgespec.lock.json").read_text())
    import hashlib

    from edgespec import __version__

    assert lock["compiler"] == {"name": "edgespec", "version": __version__}
    assert lock["spec"]["sha256"] == hashlib.sha256(Path(AR).read_bytes()).hexdigest()
    for rel, digest in lock["files"].items():
        assert hashlib.sha256((compiled / rel).read_bytes()).hexdigest() == digest
    assert lock["plan"]["overlay"]["pattern"] == "mec"
    assert lock["toolchain"]["triton_server"].startswith("nvcr.io/nvidia/tritonserver:")


def test_deterministic(run, tmp_path, compiled):
    again = tmp_path / "again"
    assert run("compile", AR, "-o", str(again))[0] == 0
    assert tree(again) == tree(compiled)
    assert all(b"\r\n" not in data for data in tree(again).values())


def test_check_and_diff(run, compiled):
    assert run("compile", AR, "-o", str(compiled), "--check")[0] == 0
    manifest = compiled / "boston-wlz" / "k8s" / "overlay.yaml"
    text = manifest.read_text()
    planned = max(int(n) for n in re.findall(r"^  replicas: (\d+)$", text, re.M))  # the pool's size
    manifest.write_text(text.replace(f"replicas: {planned}\n", f"replicas: {planned + 1}\n"))
    (compiled / "boston-wlz" / "stale.txt").write_text("x")
    before = tree(compiled)
    code, out, err = run("compile", AR, "-o", str(compiled), "--check", "--diff", "--format", "text")
    assert code == 1
    assert (
        "error[ES604]" in err and "changed boston-wlz/k8s/overlay.yaml" in err and "removed boston-wlz/stale.txt" in err
    )
    assert f"-  replicas: {planned + 1}\n+  replicas: {planned}\n" in out
    assert tree(compiled) == before  # --check writes nothing


def test_recompile_replaces_the_tree(run, compiled):
    (compiled / "boston-wlz" / "stale.txt").write_text("x")
    assert run("compile", AR, "-o", str(compiled))[0] == 0
    assert not (compiled / "boston-wlz" / "stale.txt").exists()
    assert [p.name for p in compiled.parent.iterdir() if ".edgespec-" in p.name] == []  # no temp dirs left


def test_failed_compile_leaves_previous_output(run, tmp_path, compiled):
    before = tree(compiled)
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(AR).read_text().replace("p95_ms: 50", "p95_ms: 1"))  # infeasible: ES501
    code, _, err = run("compile", str(bad), "-o", str(compiled), "--format", "text")
    assert code == 1 and "ES501" in err
    assert tree(compiled) == before


def test_refuses_a_directory_it_did_not_write(run, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "precious.txt").write_text("keep me")
    code, _, err = run("compile", AR, "-o", str(mine), "--format", "text")
    assert code == 1 and "ES603" in err
    assert (mine / "precious.txt").read_text() == "keep me"


def test_hostile_strings_change_nothing(run, tmp_path):
    hostile = (
        Path(AR)
        .read_text()
        .replace("s3://field-ml/scene-seg/12/model.onnx", "'s3://x/\"$(reboot)\";rm`-rf`/#.onnx'")
        .replace("labels: {team: field-apps}", 'labels: {team: field-apps}\n  description: "\\"; rm -rf / #\\nEOF"')
    )
    spec = tmp_path / "hostile.yaml"
    spec.write_text(hostile)
    out = tmp_path / "out"
    code, _, err = run("compile", str(spec), "-o", str(out))
    assert code == 0, err
    deployment = list(yaml.safe_load_all((out / "boston-wlz" / "k8s" / "overlay.yaml").read_text()))[1]
    fetch = deployment["spec"]["template"]["spec"]["initContainers"][0]
    golden = list(yaml.safe_load_all((GOLDEN / "boston-wlz" / "k8s" / "overlay.yaml").read_text()))[1]
    golden_fetch = golden["spec"]["template"]["spec"]["initContainers"][0]
    assert fetch["command"] == golden_fetch["command"]  # the script is fixed text
    assert fetch["args"][0] == 's3://x/"$(reboot)";rm`-rf`/#.onnx'  # one argv element, never interpolated
    assert b"rm -rf" not in (out / "boston-wlz" / "k8s" / "overlay.yaml").read_bytes()


def test_targets_without_an_emitter_are_reported(run, tmp_path):
    """A Raspberry Pi without its accelerator (kind `host`) is the one kind still unsupported."""
    spec = tmp_path / "pi.yaml"
    spec.write_text(
        (ROOT / "examples" / "pos-fraud.yaml").read_text().replace("hardware: qcs6490", "hardware: raspberry-pi-5")
    )
    code, _, err = run("compile", str(spec), "-o", str(tmp_path / "o"), "--format", "text")
    assert code == 0, err
    assert (
        "warning[ES602]: pos-terminal: edgespec does not emit CPU-only bundles for a host computer without its "
        "accelerator yet; no artifacts there for card-scoring" in err
    )  # the kind's declared reason
    files = json.loads((tmp_path / "o" / "edgespec.lock.json").read_text())["files"]
    assert files == {}


@pytest.mark.parametrize("orchestrator", ["kubernetes", "ec2"])
def test_model_the_server_cannot_fetch_is_es601(run, tmp_path, orchestrator):
    """One rule (emit/servable.py) for both forms of a pool: a model it cannot fetch is an error at
    its source's line, never a pool silently left out."""
    text = Path(AR).read_text().replace("s3://field-ml/scene-seg/12/model.onnx", "models/scene-seg.onnx")
    if orchestrator == "ec2":  # the example's Wavelength pool as an EC2 stack
        text = "".join(line for line in text.splitlines(keepends=True) if not line.strip().startswith("orchestrator:"))
    spec = tmp_path / "s.yaml"
    spec.write_text(text)
    code, _, err = run("compile", str(spec), "-o", str(tmp_path / "o"), "--format", "json")
    assert code == 1 and not (tmp_path / "o").exists()
    found = [(d["code"], d["line"]) for d in json.loads(err)["diagnostics"] if d["severity"] == "error"]
    lines = text.splitlines()
    uri = next(i for i, x in enumerate(lines) if "models/scene-seg.onnx" in x)
    key = max(i for i in range(uri + 1) if lines[i].strip().startswith("source:"))  # the model's `source:`
    assert ("ES601", key + 1) in found, found


def test_no_change_recompile_writes_nothing(run, compiled):
    before = {p: p.stat().st_mtime_ns for p in compiled.rglob("*")}
    inode = compiled.stat().st_ino
    code, _, err = run("compile", AR, "-o", str(compiled), "--format", "text")
    assert code == 0 and "nothing written" in err
    assert compiled.stat().st_ino == inode  # not swapped for a new tree
    assert {p: p.stat().st_mtime_ns for p in compiled.rglob("*")} == before


def test_json_format_keeps_stderr_machine_readable(run, tmp_path):
    code, _, err = run(
        "compile", str(ROOT / "examples" / "store-vision.yaml"), "-o", str(tmp_path / "o"), "--format", "json"
    )
    assert code == 0
    doc = json.loads(err)  # only the diagnostics document, no status lines
    assert doc["version"] == 1 and doc["summary"]["errors"] == 0


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.yaml")))
def test_hostile_descriptions_change_no_artifact(run, tmp_path, example):
    """Free text (descriptions) never reaches an artifact: only the lock's spec digest may differ."""
    text = (ROOT / "examples" / example).read_text()
    hostile = '"; rm -rf / #\\n$(reboot)`id`\\r\\n--fp16 {{ x }} <script>'
    doc = yaml.safe_load(text)
    doc["metadata"]["description"] = hostile
    for section in ("models", "targets", "workloads"):
        for entry in doc[section].values():
            entry["description"] = hostile
    plain, evil = tmp_path / "plain.yaml", tmp_path / "evil.yaml"
    plain.write_text(text)
    evil.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert run("compile", str(plain), "-o", str(tmp_path / "a"))[0] == 0
    assert run("compile", str(evil), "-o", str(tmp_path / "b"))[0] == 0
    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert a.keys() == b.keys()
    assert {k for k in a if a[k] != b[k]} <= {"edgespec.lock.json"}
    lock_a, lock_b = json.loads(a["edgespec.lock.json"]), json.loads(b["edgespec.lock.json"])
    assert {k for k in lock_a if lock_a[k] != lock_b[k]} <= {"spec"}
