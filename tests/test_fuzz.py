"""Property-based fuzzing: whatever the input, a diagnostic and exit 0 or 1, never a traceback."""

from __future__ import annotations

import copy
import json

import jsonschema
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgespec.diagnostics import Severity
from edgespec.load import load_bytes
from edgespec.validate import validate
from edgespec.validate.semantics import NOT_IN_SCHEMA
from tests.conftest import ROOT

SPECS = [p.read_bytes() for p in sorted((ROOT / "examples").glob("*.yaml"))]
SPECS.append((ROOT / "tests" / "specs" / "base.yaml").read_bytes())
DATA = [yaml.safe_load(raw) for raw in SPECS]
SCHEMA = jsonschema.Draft202012Validator(json.loads((ROOT / "schemas" / "edgespec-v1.schema.json").read_text()))
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["3.2M", "25W", "2h", "500ms", "auto", "int8", "cam", "det", "-1", "1e999"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)


def _run_cli(raw: bytes, command: str = "validate") -> int:
    from click.testing import CliRunner

    from edgespec.cli import cli

    args = ["validate", "--format", "json", "-"] if command == "validate" else ["plan", "--format", "json", "-"]
    result = CliRunner().invoke(cli, args, input=raw, catch_exceptions=False)
    json.loads(result.stdout or "{}")  # the output is always well-formed
    return result.exit_code


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes(raw):
    assert _run_cli(raw) in (0, 1)


@FUZZ
@given(st.sampled_from(SPECS), st.data())
def test_text_mutations(raw, data):
    lines = raw.split(b"\n")
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        op = data.draw(st.sampled_from(["delete", "duplicate", "insert", "indent", "truncate"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "insert":
            lines.insert(i, data.draw(st.binary(max_size=30)))
        elif op == "indent":
            lines[i] = b" " * data.draw(st.integers(1, 3)) + lines[i]
        else:
            lines[i] = lines[i][: data.draw(st.integers(0, max(0, len(lines[i]) - 1)))]
        if not lines:
            lines = [b""]
    assert _run_cli(b"\n".join(lines)) in (0, 1)


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, path + (i,))


def _set(node, path, value):
    for token in path[:-1]:
        node = node[token]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value


_DELETE = object()


@FUZZ
@given(st.sampled_from(DATA), st.data())
def test_structural_mutations_agree_with_schema(doc, data):
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        path = data.draw(st.sampled_from(paths))
        _set(doc, path, data.draw(st.one_of(values, st.just(_DELETE))))
    raw = yaml.safe_dump(doc, sort_keys=False).encode()
    assert _run_cli(raw) in (0, 1)
    assert _run_cli(raw, "plan") in (0, 1)
    loaded = load_bytes(raw, "m.yaml")
    if loaded.data is None:
        return
    _, diagnostics = validate(loaded)
    errors = {d.code for d in diagnostics if d.severity is Severity.ERROR}
    schema_ok = SCHEMA.is_valid(loaded.data)
    if not errors or errors <= NOT_IN_SCHEMA:
        assert schema_ok, (errors, list(SCHEMA.iter_errors(loaded.data))[:1])
    else:
        assert not schema_ok, errors
