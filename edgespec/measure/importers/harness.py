"""The bundles' own benchmark scripts (edgespec-bench) write records already: importing their files
checks every record and writes them out again in the canonical form, with the command line's
identity fields (hardware, model, ...) replacing the file's where given."""

from __future__ import annotations

from edgespec.measure import records
from edgespec.measure.importers.common import ImportError_

TOOL = "edgespec-bench"


def parse(text: str) -> list[records.Record]:
    found, problems = records.parse("<harness>", text)
    if problems:
        raise ImportError_(problems[0].message, problems[0].line, problems[0].hint)
    if not found:
        raise ImportError_("no records", hint="pass the JSON lines the bundle's benchmark script wrote")
    return found
