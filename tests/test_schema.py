"""The generated JSON Schema: checked in, complete, and in agreement with the validator."""

from __future__ import annotations

import json
import pathlib

import jsonschema
import pytest

from edgespec.diagnostics import Severity
from edgespec.load import load_bytes
from edgespec.spec import schema as spec_schema
from edgespec.validate import validate
from edgespec.validate.semantics import NOT_IN_SCHEMA
from tests.test_diagnostics_table import CASES, YAML12_CASES, apply

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCHEMA_FILE = ROOT / "schemas" / spec_schema.FILE_NAME
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def test_checked_in_schema_matches_models():
    assert SCHEMA_FILE.read_text() == spec_schema.render(), "run `edgespec schema --write`"


def test_schema_is_draft_2020_12_with_id():
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/edgespec-v1.schema.json")
    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_field_has_a_description():
    schema = json.loads(SCHEMA_FILE.read_text())
    objects = {"(root)": schema, **schema["$defs"]}
    fields = [(name, field, prop) for name, obj in objects.items() for field, prop in obj["properties"].items()]
    assert len(fields) > 80
    assert [(name, field) for name, field, prop in fields if not prop.get("description")] == []
    assert all(d.get("description") for d in objects.values())


def test_schema_has_enums_and_examples():
    schema = json.loads(SCHEMA_FILE.read_text())
    target = schema["$defs"]["Target"]["properties"]
    assert "jetson-orin-nx-16gb" in target["hardware"]["enum"]
    assert schema["$defs"]["Workload"]["properties"]["offline"]["enum"] == ["required", "preferred", "none"]
    assert target["hardware"]["examples"]


def test_map_keys_are_restricted_in_the_schema():
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    data = load_bytes(apply("  cam:", "  Cam:").encode(), "x.yaml").data
    assert not validator.is_valid(data)


def _verdicts():
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    specs = [(p.name, p.read_bytes()) for p in EXAMPLES]
    specs += [(case[0], apply(case[1], case[2]).encode()) for case in CASES + YAML12_CASES]
    for name, raw in specs:
        loaded = load_bytes(raw, name)
        if loaded.data is None:  # YAML-level problems: there is no document to give the schema
            continue
        _, diagnostics = validate(loaded)
        errors = {d.code for d in diagnostics if d.severity is Severity.ERROR}
        yield name, errors, validator.is_valid(loaded.data)


@pytest.mark.parametrize("name,errors,schema_ok", list(_verdicts()), ids=lambda v: v if isinstance(v, str) else "")
def test_validator_and_schema_agree(name, errors, schema_ok):
    if not errors:
        assert schema_ok, "the schema rejects a spec edgespec accepts"
    elif errors <= NOT_IN_SCHEMA:
        assert schema_ok, f"{errors} are listed as not expressible, yet the schema rejects the spec"
    else:
        assert not schema_ok, f"the schema accepts a spec edgespec rejects with {errors}"


def test_not_in_schema_list_is_documented():
    spec_doc = (ROOT / "docs" / "spec.md").read_text()
    for code in sorted(NOT_IN_SCHEMA):
        assert code in spec_doc
