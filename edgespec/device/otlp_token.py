"""Fetch the OTLP backend's bearer token from AWS Secrets Manager into the collector's token file.

Runs in the Greengrass component's Install step (otel/install.sh), with the credentials of the
device's role from the Token Exchange Service: the nucleus gives a component that depends on
aws.greengrass.TokenExchangeService the variables AWS_CONTAINER_CREDENTIALS_FULL_URI and
AWS_CONTAINER_AUTHORIZATION_TOKEN. It signs one GetSecretValue request (Signature Version 4) for
the secret's ARN, in the secret's region, and writes the SecretString to the file atomically,
readable by root and the collector's group only. The collector's bearertokenauth extension reads
that file and re-reads it when it changes; the file is also what survives a reboot without uplink.
AWS_ENDPOINT_URL_SECRETS_MANAGER or AWS_ENDPOINT_URL override the endpoint, as in the AWS SDKs.

    python3 fetch_token.py SECRET_ARN /etc/edgespec/otlp-token [--group otelcol-contrib]

Standard library only: JetPack and Mendel images have no AWS CLI or SDK.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import json
import os
import pathlib
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

SERVICE = "secretsmanager"
TARGET = "secretsmanager.GetSecretValue"


def credentials(environ: dict) -> dict:
    """The device role's credentials from the Token Exchange Service (the container-credentials protocol)."""
    uri = environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    if not uri:
        raise SystemExit(
            "no AWS_CONTAINER_CREDENTIALS_FULL_URI: run this from the Greengrass component, which "
            "depends on aws.greengrass.TokenExchangeService"
        )
    token = environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN", "")
    request = urllib.request.Request(uri, headers={"Authorization": token})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except (OSError, ValueError) as err:  # HTTPError and URLError are OSErrors
        raise SystemExit(f"the Token Exchange Service gave no credentials ({err}); is the device role set?") from None


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign(method: str, url: str, headers: dict, body: bytes, creds: dict, region: str, now: datetime.datetime) -> dict:
    """The headers with X-Amz-Date, X-Amz-Security-Token and a SigV4 Authorization for `SERVICE`."""
    parts = urllib.parse.urlsplit(url)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    signed = {**{k.lower(): v.strip() for k, v in headers.items()}, "host": parts.netloc, "x-amz-date": stamp}
    if creds.get("Token"):
        signed["x-amz-security-token"] = creds["Token"]
    names = ";".join(sorted(signed))
    canonical = "\n".join(
        [
            method,
            parts.path or "/",
            parts.query,
            "".join(f"{k}:{signed[k]}\n" for k in sorted(signed)),
            names,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{SERVICE}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + creds["SecretAccessKey"]).encode(), day), region), SERVICE), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {k: v for k, v in signed.items() if k != "host"}
    out["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={creds['AccessKeyId']}/{scope}, SignedHeaders={names}, Signature={signature}"
    )
    return out


def secret_string(arn: str, environ: dict, now: datetime.datetime | None = None) -> str:
    fields = arn.split(":")
    if len(fields) < 7 or fields[2] != "secretsmanager":
        raise SystemExit(
            f"{arn!r} is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"
        )
    region = fields[3]
    url = (
        environ.get("AWS_ENDPOINT_URL_SECRETS_MANAGER")
        or environ.get("AWS_ENDPOINT_URL")
        or f"https://secretsmanager.{region}.amazonaws.com"
    ).rstrip("/") + "/"
    body = json.dumps({"SecretId": arn}).encode()
    headers = sign(
        "POST",
        url,
        {"content-type": "application/x-amz-json-1.1", "x-amz-target": TARGET},
        body,
        credentials(environ),
        region,
        now or datetime.datetime.now(datetime.timezone.utc),
    )
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=body, headers=headers, method="POST"), timeout=15
        ) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as err:
        raise SystemExit(
            f"GetSecretValue {arn}: HTTP {err.code} {err.read().decode(errors='replace')[:300]} "
            "(the device role needs secretsmanager:GetSecretValue on it)"
        ) from None
    except OSError as err:
        raise SystemExit(f"GetSecretValue {arn}: {err}") from None
    if not answer.get("SecretString"):
        raise SystemExit(f"{arn} has no SecretString: store the token as a plain-text secret")
    return answer["SecretString"].strip()


def write(path: pathlib.Path, text: str, group: str | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".token-")
    try:
        os.fchmod(fd, 0o640)
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
        if group:
            shutil.chown(tmp, group=group)
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("secret_arn")
    parser.add_argument("token_file", type=pathlib.Path)
    parser.add_argument("--group", help="the group that may read the file (the collector's)")
    args = parser.parse_args(argv)
    write(args.token_file, secret_string(args.secret_arn, dict(os.environ)), args.group)
    print(f"{args.token_file}: the OTLP token from {args.secret_arn}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
