"""checkov, the infrastructure scanner platform teams run, on every emitted Kubernetes manifest and
CloudFormation template: every example, plus an LLM pool (vLLM) and a plain EC2 stack. No check
fails; the two waivers carry their reasons in checkov's own inline form: image digests
(CKV_K8S_43, a Deployment annotation) and a regional stack's public instances (CKV_AWS_88, the
launch template's Metadata: clients call them directly, as long as the stack has no load balancer).

checkov lives in .venv-checkov (scripts/test.sh installs tools/requirements-checkov.txt there)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from edgespec.emit import cloudformation, k8s_security, load_balancer
from tests.conftest import ROOT

CHECKOV = Path(os.environ.get("EDGESPEC_CHECKOV_VENV", ROOT / ".venv-checkov")) / "bin" / "checkov"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def emitted(tmp_path_factory) -> Path:
    from tests.test_emit_aws import ec2_spec
    from tests.test_llm_pool import SPEC as LLM_POOL

    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: scripts/test.sh installs tools/requirements-checkov.txt there")
    out = tmp_path_factory.mktemp("checkov")
    specs = {p.stem: p.read_text() for p in sorted((ROOT / "examples").glob("*.yaml"))}
    specs["llm-pool"] = yaml.safe_dump(LLM_POOL, sort_keys=False)
    specs["llm-pool-pods"] = yaml.safe_dump(
        {
            **LLM_POOL,
            "targets": {**LLM_POOL["targets"], "gpu": {**LLM_POOL["targets"]["gpu"], "orchestrator": "kubernetes"}},
        },
        sort_keys=False,
    )
    specs["ec2"] = ec2_spec("s3://m/clf.onnx")
    for name in ("store-vision", "ar-carrier-edge"):  # their Wavelength pools as EC2 stacks, too
        specs[f"{name}-ec2"] = "".join(
            line for line in specs[name].splitlines(keepends=True) if not line.strip().startswith("orchestrator:")
        )
    for name, text in specs.items():
        (out / f"{name}.yaml").write_text(text)
        subprocess.run(
            [sys.executable, "-m", "edgespec", "compile", str(out / f"{name}.yaml"), "-o", str(out / name)],
            check=True,
            capture_output=True,
        )
    return out


def scan(path: Path) -> list[dict]:
    result = subprocess.run(
        [str(CHECKOV), "-d", str(path), "--framework", "kubernetes", "cloudformation", "--compact", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def test_no_check_fails_on_any_emitted_manifest_or_template(emitted):
    reports = {r["check_type"]: r for r in scan(emitted)}
    assert set(reports) == {"kubernetes", "cloudformation"}  # both were found and scanned
    for kind, report in reports.items():
        failed = [(f["check_id"], f["file_path"], f["resource"]) for f in report["results"]["failed_checks"]]
        assert failed == [], kind
        assert report["summary"]["passed"] > 0
    skipped = reports["kubernetes"]["results"]["skipped_checks"]
    assert {s["check_id"] for s in skipped} == {"CKV_K8S_43"}
    assert all(s["check_result"]["suppress_comment"] == k8s_security.DIGEST_WAIVER.split("=", 1)[1] for s in skipped)
    # one waiver per Deployment, nothing else waived
    deployments = [
        d
        for p in emitted.rglob("k8s/*.yaml")
        for d in yaml.safe_load_all(p.read_text())
        if d and d["kind"] == "Deployment"
    ]
    assert len(skipped) == len(deployments) >= 3
    # a regional stack: its instances' public IPs (their egress) and its load balancer's access logs
    # (the account's log bucket), each waived with its reason, per stack; a Wavelength stack waives nothing
    skipped = reports["cloudformation"]["results"]["skipped_checks"]
    reasons = {
        "CKV_AWS_88": cloudformation.PUBLIC_IP_WAIVER["comment"],
        "CKV_AWS_91": load_balancer.ACCESS_LOG_WAIVER["comment"],
    }
    assert {s["check_id"] for s in skipped} == set(reasons)
    assert all(s["check_result"]["suppress_comment"] == reasons[s["check_id"]] for s in skipped)
    regional = [
        p
        for p in emitted.rglob("cloudformation.yaml")
        if "WavelengthZone" not in yaml.safe_load(p.read_text())["Parameters"]
    ]
    assert len(skipped) == 2 * len(regional) and len(regional) >= 2


def test_the_scanner_sees_a_regression(emitted, tmp_path):
    """Drop the hardening from one pod: checkov fails it (the clean result above is not vacuous)."""
    (manifest,) = [p for p in emitted.rglob("k8s/checkout-recognition.yaml")]
    docs = list(yaml.safe_load_all(manifest.read_text()))
    for doc in docs:
        if doc and doc["kind"] == "Deployment":
            pod = doc["spec"]["template"]["spec"]
            del pod["securityContext"]
            for container in pod["containers"]:
                del container["securityContext"]
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "weakened.yaml").write_text(yaml.safe_dump_all(docs))
    (report,) = scan(tmp_path)
    failed = {f["check_id"] for f in report["results"]["failed_checks"]}
    assert {"CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_23", "CKV_K8S_28", "CKV_K8S_37"} <= failed, failed
