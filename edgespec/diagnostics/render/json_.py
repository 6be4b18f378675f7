"""Machine-readable diagnostics. The shape is versioned; docs/diagnostics-json.md documents it."""

from __future__ import annotations

import json
from collections.abc import Sequence

from edgespec.diagnostics.diagnostic import Diagnostic, Severity

VERSION = 1


def render(diagnostics: Sequence[Diagnostic], sources: dict[str, str]) -> str:
    doc = {
        "version": VERSION,
        "diagnostics": [d.to_dict() for d in diagnostics],
        "summary": {
            "errors": sum(d.severity is Severity.ERROR for d in diagnostics),
            "warnings": sum(d.severity is Severity.WARNING for d in diagnostics),
            "files": sorted(sources),
        },
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"
