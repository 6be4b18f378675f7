"""The device's collector is installed, configured and started by the Greengrass component (issue
16, points 1 and 3): otel/install.sh and otel/fetch_token.py, run here as the Install step runs
them. The collector's own package, dpkg and systemd are stood in (no otelcol binary installs from
PyPI, npm or Debian); everything else is real: the script's directories, owners and modes (in a
private mount namespace over a copy of /etc, where the package's otelcol-contrib user exists),
and the token fetched from a stand-in Secrets Manager with a Signature Version 4 request that
botocore's own signer (vendored in the AWS CLI) reproduces."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, compile_to
from tests.standin import StandIn

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:otlp-token-AbCdEf"
CREDS = {
    "AccessKeyId": "ASIAEXAMPLE",
    "SecretAccessKey": "secret/key+example",
    "Token": "session-token",
    "Expiration": "2030-01-01T00:00:00Z",
}


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return compile_to(ROOT / "examples" / "store-vision.yaml", tmp_path_factory.mktemp("otel") / "out")


def botocore_signature(method: str, url: str, headers: dict, body: bytes) -> str:
    """The signature botocore computes for the same request, date and credentials."""
    from awscli.botocore.auth import SigV4Auth
    from awscli.botocore.awsrequest import AWSRequest
    from awscli.botocore.credentials import Credentials

    signed = headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    request = AWSRequest(
        method=method, url=url, data=body, headers={k: v for k, v in headers.items() if k.lower() in signed}
    )
    request.context["timestamp"] = headers["X-Amz-Date"]
    auth = SigV4Auth(
        Credentials(CREDS["AccessKeyId"], CREDS["SecretAccessKey"], CREDS["Token"]), "secretsmanager", "us-east-1"
    )
    return auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)


class Cloud:
    """The Token Exchange Service's credentials endpoint and Secrets Manager, on one stand-in."""

    def __init__(self):
        self.signatures: list[tuple[str, str]] = []
        self.server = StandIn(self)
        self.url = self.server.url

    def __call__(self, method, path, headers, body):
        if path == "/2016-11-01/credentialprovider/":
            if headers.get("Authorization") != "tes-auth-token":
                return 403, {"message": "bad token"}
            return 200, CREDS
        if method == "POST" and path == "/" and headers.get("X-Amz-Target") == "secretsmanager.GetSecretValue":
            sent = headers["Authorization"].rsplit("Signature=", 1)[1]
            self.signatures.append((sent, botocore_signature("POST", self.url + "/", dict(headers), body)))
            if sent != self.signatures[-1][1] or headers.get("X-Amz-Security-Token") != CREDS["Token"]:
                return 403, {"__type": "InvalidSignatureException"}
            assert json.loads(body) == {"SecretId": SECRET_ARN}
            return 200, {"ARN": SECRET_ARN, "Name": "otlp-token", "SecretString": "s3cr3t-otlp-token\n"}
        return 404, {"message": path}


def env_for(cloud: Cloud) -> dict:
    return {
        **os.environ,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": cloud.url + "/2016-11-01/credentialprovider/",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "tes-auth-token",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": cloud.url,
    }


def test_fetch_token_signs_like_botocore_and_writes_the_file_atomically(out, tmp_path):
    cloud = Cloud()
    token = tmp_path / "etc" / "otlp-token"
    try:
        result = subprocess.run(
            [sys.executable, str(out / "store-orin" / "otel" / "fetch_token.py"), SECRET_ARN, str(token)],
            env=env_for(cloud),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert token.read_text() == "s3cr3t-otlp-token\n" and stat.S_IMODE(token.stat().st_mode) == 0o640
        ((sent, expected),) = cloud.signatures
        assert sent == expected
        # the check can fail: credentials the TES did not give are refused, and the file stays as it was
        bad = {**env_for(cloud), "AWS_CONTAINER_AUTHORIZATION_TOKEN": "wrong"}
        result = subprocess.run(
            [sys.executable, str(out / "store-orin" / "otel" / "fetch_token.py"), SECRET_ARN, str(token)],
            env=bad,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1 and token.read_text() == "s3cr3t-otlp-token\n"
        assert "Traceback" not in result.stderr and "the Token Exchange Service gave no credentials" in result.stderr
    finally:
        cloud.server.stop()
    assert sorted(p.name for p in token.parent.iterdir()) == ["otlp-token"]  # no temporary file left behind


STUBS = {
    # the collector's .deb: "installs" the binary (its preinstall's user is in the /etc copy)
    "dpkg": '#!/usr/bin/env bash\necho "dpkg $*" >> "$LOG"\n'
    'printf \'#!/usr/bin/env bash\\necho "otelcol-contrib $*" >> "$LOG"\\n'
    'if [[ "$1" == --version ]]; then echo "otelcol-contrib version 0.159.0"; fi\\n'
    'if [[ "$1" == validate ]]; then python3 -c "import sys, json; json.load(open(sys.argv[1]))" '
    '"${2#--config=}" 2>/dev/null || grep -q "^service:" "${2#--config=}"; fi\\n\' > "$STUB_BIN/otelcol-contrib"\n'
    'chmod +x "$STUB_BIN/otelcol-contrib"\n',
    "systemctl": '#!/usr/bin/env bash\necho "systemctl $*" >> "$LOG"\n',
}


def test_install_sh_installs_configures_and_starts_the_collector(out, tmp_path):
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to give the install script a private /etc")
    bundle = out / "store-orin"
    stub_bin, artifacts, etc = tmp_path / "bin", tmp_path / "artifacts", tmp_path / "etc"
    stub_bin.mkdir()
    artifacts.mkdir()
    for name, text in STUBS.items():
        (stub_bin / name).write_text(text)
        (stub_bin / name).chmod(0o755)
    (artifacts / "otelcol-contrib_0.159.0_linux_arm64.deb").write_bytes(b"deb")
    shutil.copytree(
        "/etc",
        etc,
        symlinks=True,
        ignore_dangling_symlinks=True,
        ignore=shutil.ignore_patterns("shadow*", "gshadow*", "ssl", "alternatives"),
    )
    (etc / "otelcol-contrib").mkdir(exist_ok=True)
    with open(etc / "group", "a") as f:
        f.write("otelcol-contrib:x:64999:\n")
    with open(etc / "passwd", "a") as f:
        f.write("otelcol-contrib:x:64999:64999::/nonexistent:/usr/sbin/nologin\n")
    var = tmp_path / "var-lib"
    var.mkdir()
    log = tmp_path / "log"
    cloud = Cloud()
    script = (
        f"mount --bind {etc} /etc && mount --bind {var} /var/lib && "
        f"bash {bundle / 'otel' / 'install.sh'} && "
        "stat -c '%U:%G %a %n' /var/lib/edgespec/otel-queue /etc/edgespec /etc/edgespec/otlp-token "
        "/etc/otelcol-contrib/config.yaml && cat /etc/edgespec/otlp-token && "
        "cmp /etc/otelcol-contrib/config.yaml " + str(bundle / "otel" / "collector.yaml")
    )
    env = {
        **env_for(cloud),
        "PATH": f"{stub_bin}:{os.environ['PATH']}",
        "LOG": str(log),
        "STUB_BIN": str(stub_bin),
        "EDGESPEC_ARTIFACTS": str(artifacts),
        "EDGESPEC_OTLP_SECRET_ARN": SECRET_ARN,
    }
    try:
        result = subprocess.run(
            ["unshare", "-m", "bash", "-c", script], env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        cloud.server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == f"/etc/edgespec/otlp-token: the OTLP token from {SECRET_ARN}"
    assert result.stdout.splitlines()[1:6] == [
        "otelcol-contrib:otelcol-contrib 750 /var/lib/edgespec/otel-queue",  # the queue's directory, the collector's
        "root:otelcol-contrib 750 /etc/edgespec",
        "root:otelcol-contrib 640 /etc/edgespec/otlp-token",  # readable by the collector, no one else
        "root:otelcol-contrib 640 /etc/otelcol-contrib/config.yaml",
        "s3cr3t-otlp-token",
    ]
    calls = log.read_text().splitlines()
    assert calls[calls.index(f"dpkg -i {artifacts}/otelcol-contrib_0.159.0_linux_arm64.deb") :] == [
        f"dpkg -i {artifacts}/otelcol-contrib_0.159.0_linux_arm64.deb",
        "otelcol-contrib validate --config=/etc/otelcol-contrib/config.yaml",  # checked before it is (re)started
        "systemctl enable otelcol-contrib.service",
        "systemctl restart otelcol-contrib.service",
    ]
    # the host's /etc was never touched
    assert not Path("/etc/edgespec/otlp-token").exists()


def test_install_sh_refuses_without_the_package_or_a_token(out, tmp_path):
    """No .deb beside the bundle, or no secret and no token yet: the Install step fails with the fix
    (the component is BROKEN and the deployment rolls back) instead of starting a collector that
    cannot export."""
    bundle = out / "store-orin"
    stub_bin = tmp_path / "bin"
    stub_bin.mkdir()
    for name, text in STUBS.items():
        (stub_bin / name).write_text(text)
        (stub_bin / name).chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{stub_bin}:{os.environ['PATH']}",
        "LOG": str(tmp_path / "log"),
        "STUB_BIN": str(stub_bin),
        "EDGESPEC_ARTIFACTS": str(tmp_path / "empty"),
    }
    result = subprocess.run(["bash", str(bundle / "otel" / "install.sh")], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert "otelcol-contrib_0.159.0_linux_arm64.deb: not found" in result.stderr and "sha256sum -c" in result.stderr
    assert not (tmp_path / "log").exists()  # nothing installed, nothing started


def test_the_component_depends_on_token_exchange_and_ships_the_collector(out):
    recipe = json.loads((out / "store-orin" / "greengrass" / "recipe.json").read_text())
    assert recipe["ComponentDependencies"]["aws.greengrass.TokenExchangeService"]["DependencyType"] == "HARD"
    assert recipe["ComponentConfiguration"]["DefaultConfiguration"]["OtlpTokenSecretArn"] == ""
    (manifest,) = recipe["Manifests"]
    uris = [a["URI"] for a in manifest["Artifacts"]]
    assert uris[1] == (
        "s3://${ArtifactBucket}/com.edgespec.store-vision.store-orin/1.4.0/otelcol-contrib_0.159.0_linux_arm64.deb"
    )
    install = manifest["Lifecycle"]["Install"]["Script"]
    assert "EDGESPEC_OTLP_SECRET_ARN={configuration:/OtlpTokenSecretArn}" in install
    assert install.endswith("if [ -f otel/install.sh ]; then bash otel/install.sh; fi")
    package = json.loads((out / "store-orin" / "package.json").read_text())
    assert {"otel/install.sh", "otel/fetch_token.py"} <= set(package["files"])  # part of the package's identity
