"""The only writer: files appear whole or not at all.

`write_tree` builds the whole output in a temporary directory beside OUT and swaps it in, so a
failed compile leaves the previous output untouched and files that no longer belong are gone.
It refuses to replace a directory that edgespec did not write (one without its lock file).
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

LOCK_FILE = "edgespec.lock.json"


class NotOurs(Exception):
    """OUT exists, is not empty, and holds no edgespec lock file."""


def write_text_atomic(path: str, text: str) -> None:
    """Write `text` (LF endings, UTF-8) to `path` through a temporary file and a rename."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".edgespec-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


@dataclass(frozen=True)
class Change:
    path: str
    kind: str  # added | changed | removed


def _safe(rel: str) -> PurePosixPath:
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise ValueError(f"refusing to write outside the output directory: {rel!r}")
    return p


def _existing(out: Path) -> dict[str, bytes]:
    if not out.is_dir():
        return {}
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def check_ours(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / LOCK_FILE).is_file())):
        raise NotOurs(str(out))


def changes(out: Path, files: dict[str, bytes]) -> list[Change]:
    """What writing `files` to `out` would change."""
    return _changes(_existing(out), files)


def _changes(current: dict[str, bytes], files: dict[str, bytes]) -> list[Change]:
    found = [Change(p, "added") for p in files if p not in current]
    found += [Change(p, "changed") for p in files if p in current and current[p] != files[p]]
    found += [Change(p, "removed") for p in current if p not in files]
    return sorted(found, key=lambda c: c.path)


def unified_diff(out: Path, files: dict[str, bytes]) -> str:
    current = _existing(out)  # read once: the changes and their text come from it
    chunks = []
    for c in _changes(current, files):
        old = current.get(c.path, b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = files.get(c.path, b"").decode("utf-8", "replace").splitlines(keepends=True)
        chunks.extend(difflib.unified_diff(old, new, f"a/{c.path}", f"b/{c.path}"))
    return "".join(chunks)


def write_tree(out: Path, files: dict[str, bytes]) -> None:
    """Replace `out` with exactly `files`, atomically from a reader's point of view."""
    check_ours(out)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.edgespec-new-"))
    try:
        for rel, data in sorted(files.items()):
            target = tmp / _safe(rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            if rel.endswith(".sh"):
                target.chmod(0o755)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.edgespec-old-"))
        os.rmdir(old)
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
