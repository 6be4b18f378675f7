"""Package identity: the spec's version plus a hash of what a target runs (`1.4.0+3f9c0a1b2c3d`).

One definition for every target kind, so the same content always gets the same name: the
Greengrass component and package.json of a device fleet, a Workers project, a Kubernetes pod.
"""

from __future__ import annotations

import hashlib


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_hashes(files: dict[str, bytes]) -> dict[str, str]:
    """path -> sha256 of every file, sorted by path."""
    return {path: sha256(files[path]) for path in sorted(files)}


def content_sha256(hashes: dict[str, str]) -> str:
    """One digest over the paths and the hashes of a set of files."""
    digest = hashlib.sha256()
    for path in sorted(hashes):
        digest.update(path.encode() + b"\0" + hashes[path].encode() + b"\n")
    return digest.hexdigest()


def identity(version: str, content: str) -> str:
    return f"{version}+{content[:12]}"
