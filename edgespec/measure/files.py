"""Reading measurement files: those the spec lists (relative to it) and those given on the command
line (as given), in that order, so a file named later replaces an earlier one's records."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from typing import NamedTuple

from edgespec.diagnostics import Diagnostic
from edgespec.diagnostics.codes import diag
from edgespec.load.sourcemap import SourceMap, pointer_join
from edgespec.measure.records import Record, parse
from edgespec.spec.models import Spec

MAX_BYTES = 16 * 1024 * 1024


class Loaded(NamedTuple):
    records: list[Record]
    diagnostics: list[Diagnostic]
    texts: dict[str, str]  # file -> text, for the diagnostics' code frames
    digests: tuple[tuple[str, str], ...] = ()  # (path as named, sha256 of its bytes), for the lock file


def named(spec: Spec, source: SourceMap, given: Iterable[str]) -> list[tuple[str, str, dict | None]]:
    """(path to open, path as named, where the spec names it or None) for each file: the spec's
    first (relative to the spec), then `given` (as given)."""
    base = os.path.dirname(source.file) if source.file not in ("-", "<stdin>") else "."
    out: list[tuple[str, str, dict | None]] = []
    for i, path in enumerate(spec.measurements or ()):
        where = source.at(pointer_join("/measurements", i))
        out.append((os.path.normpath(os.path.join(base, path)), path, where))
    out.extend((path, path, None) for path in given)
    return out


def load(spec: Spec, source: SourceMap, given: Iterable[str] = ()) -> Loaded:
    records: list[Record] = []
    problems: list[Diagnostic] = []
    texts: dict[str, str] = {}
    digests = []
    for path, label, where in named(spec, source, given):
        text, problem = _read(path, where)
        if problem is not None:
            problems.append(problem)
            continue
        texts[path] = text
        digests.append((label, hashlib.sha256(text.encode("utf-8")).hexdigest()))
        found, bad = parse(path, text)
        records += found
        problems += bad
    return Loaded(records, problems, texts, tuple(digests))


def _read(path: str, where: dict | None) -> tuple[str, Diagnostic | None]:
    at = where if where is not None else {"file": path}
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            return "", diag(
                "ES701",
                f"measurement file {path} is {size} bytes; the limit is {MAX_BYTES}",
                hint="keep the records of this deployment's targets only",
                **at,
            )
        with open(path, "rb") as f:
            return f.read().decode("utf-8"), None
    except UnicodeDecodeError:
        return "", diag("ES701", f"measurement file {path} is not UTF-8", hint="write the records as UTF-8", **at)
    except OSError as exc:
        return "", diag(
            "ES701",
            f"cannot read measurement file {path}: {exc.strerror or exc}",
            hint="paths in the spec's `measurements` are relative to the spec's directory"
            if where is not None
            else "check the path given to --measurements",
            **at,
        )
