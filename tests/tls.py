"""A certificate for the gateways the tests start (they serve HTTPS only, as deployed), made with
the openssl command line: self-signed, for 127.0.0.1 and localhost, valid for a day. `trust()`
makes urllib's default HTTPS context trust it, so the tests call the gateways as clients would."""

from __future__ import annotations

import functools
import shutil
import ssl
import subprocess
import tempfile
from pathlib import Path


@functools.cache
def certificate() -> tuple[str, str]:
    """(certificate file, key file)."""
    openssl = shutil.which("openssl")
    assert openssl, "openssl (Debian's openssl package) is needed to make the test certificate"
    folder = Path(tempfile.mkdtemp(prefix="edgespec-tls-"))
    cert, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def serve_tls(monkeypatch) -> None:
    """The gateway started next reads the test certificate (what the Secret's volume holds)."""
    cert, key = certificate()
    monkeypatch.setenv("EDGESPEC_TLS_CERT_FILE", cert)
    monkeypatch.setenv("EDGESPEC_TLS_KEY_FILE", key)
    trust(monkeypatch)


def trust(monkeypatch) -> None:
    cert, _ = certificate()
    monkeypatch.setattr(ssl, "_create_default_https_context", lambda *a, **k: ssl.create_default_context(cafile=cert))
