"""SARIF 2.1.0, for GitHub code scanning and other SARIF consumers."""

from __future__ import annotations

import json
from collections.abc import Sequence

from edgespec import __version__
from edgespec.diagnostics.codes import CODES
from edgespec.diagnostics.diagnostic import Diagnostic, Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


def _rules() -> list[dict]:
    return [
        {
            "id": c.code,
            "name": c.title.title().replace(" ", "").replace("-", ""),
            "shortDescription": {"text": c.title},
            "fullDescription": {"text": c.explanation},
            "help": {"text": c.fix},
            "defaultConfiguration": {"level": _LEVEL[c.severity]},
        }
        for c in CODES.values()
    ]


def render(diagnostics: Sequence[Diagnostic], sources: dict[str, str]) -> str:
    index = {code: i for i, code in enumerate(CODES)}
    results = []
    for d in diagnostics:
        region = {"startLine": d.line, "startColumn": d.column}
        if d.end_line:
            region["endLine"] = d.end_line
        if d.end_column:
            region["endColumn"] = d.end_column
        results.append(
            {
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": _LEVEL[d.severity],
                "message": {"text": d.message + (f" (hint: {d.hint})" if d.hint else "")},
                "locations": [
                    {
                        "physicalLocation": {"artifactLocation": {"uri": d.file}, "region": region},
                        **(
                            {"logicalLocations": [{"fullyQualifiedName": d.pointer, "kind": "member"}]}
                            if d.pointer
                            else {}
                        ),
                    }
                ],
            }
        )
    doc = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "edgespec",
                        "version": __version__,
                        "rules": _rules(),
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"
