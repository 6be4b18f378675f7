"""Generated documents stay in sync with the code, and the examples are what the README says."""

from __future__ import annotations

from edgespec import docs
from tests.conftest import ROOT


def test_generated_docs_are_current():
    for rel, build in docs.DOCUMENTS.items():
        assert (ROOT / rel).read_text() == build(), f"run `python -m edgespec.docs --write` ({rel})"


def test_every_code_is_documented_and_explained():
    from edgespec.diagnostics.codes import CODES

    text = (ROOT / "docs" / "diagnostics.md").read_text()
    for code, entry in CODES.items():
        assert f"## {code}: " in text
        assert entry.explanation and entry.fix and code[:2] == "ES" and len(code) == 5


def test_examples_have_the_modeline():
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schemas/edgespec-v1.schema.json", path


def test_schemastore_entry_matches_the_schema():
    import json

    entry = json.loads((ROOT / "docs" / "schemastore-catalog-entry.json").read_text())
    schema = json.loads((ROOT / "schemas" / "edgespec-v1.schema.json").read_text())
    assert entry["url"] == schema["$id"]
    assert set(entry) == {"name", "description", "fileMatch", "url"}
    assert "*.edgespec.yaml" in entry["fileMatch"] and "*.edgespec.yaml" in (ROOT / "README.md").read_text()
