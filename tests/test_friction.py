"""Small frictions a new user meets (issue 19, point 4): hints that say what to write instead,
correct semver hints, long values cut in messages, edgespec's own wording, labels where the docs
say they go."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.conftest import ROOT

FLAGSHIP = (ROOT / "examples" / "store-vision.yaml").read_text()


def errors(run, tmp_path, text: str) -> list[tuple[str, str, str]]:
    """(code, message, hint) of every diagnostic `validate --format json` gives for `text`."""
    path = tmp_path / "deploy.yaml"
    path.write_text(text)
    code, out, _ = run("validate", str(path), "--format", "json")
    assert code == 1
    return [(d["code"], d["message"], d["hint"] or "") for d in json.loads(out)["diagnostics"]]


def flagship_with(old: str, new: str) -> str:
    assert old in FLAGSHIP
    return FLAGSHIP.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "hint"),
    [
        ("params: 3.2M ", "params: 7b ", "write 7B"),
        ("gflops: 8.7 ", "gflops: 8.7 GFLOPS ", "write 8.7GFLOPs"),
        ("encoded_bytes: 60KB", "encoded_bytes: 60 kb", "write 60kB"),
        ("params: 3.2M ", "params: 3.2 ms ", "ms is a unit of duration; this field is a count"),
    ],
)
def test_a_misspelt_unit_gets_the_spelling_to_write(run, tmp_path, old, new, hint):
    (found,) = errors(run, tmp_path, flagship_with(old, new))
    assert found[0] == "ES205" and hint in found[2]


def test_a_power_in_lowercase_gets_the_spelling(run, tmp_path):
    text = flagship_with("    power_mode: 25W\n", "    power_mode: 25W\n    power_budget_w: 25w\n")
    (found,) = errors(run, tmp_path, text)
    assert found[0] == "ES205" and found[2] == "write 25W"


def test_a_budget_written_as_a_figure_gets_the_mapping_to_write(run, tmp_path):
    (found,) = errors(run, tmp_path, flagship_with("latency: {p95_ms: 50}", "latency: 50 ms"))
    assert found[0] == "ES204" and "write latency: {p95_ms: 50}" in found[2]


def test_an_enum_spelt_as_other_tools_spell_it_gets_the_value(run, tmp_path):
    (found,) = errors(run, tmp_path, flagship_with("dtype: float32", "dtype: fp32"))
    assert found[0] == "ES203" and found[2] == "did you mean 'float32'?"


def test_a_version_read_as_a_number_gets_a_hint_that_validates(run, tmp_path):
    version = re.search(r"^  version: .*$", FLAGSHIP, re.M).group(0)
    (found,) = errors(run, tmp_path, FLAGSHIP.replace(version, "  version: 1.0"))
    assert found[0] == "ES204" and 'write version: "1.0.0"' in found[2]
    # following the old hint ("quote it") gave "1.0", which fails semver: the hint there says what passes
    (found,) = errors(run, tmp_path, FLAGSHIP.replace(version, '  version: "1.0"'))
    assert found[0] == "ES208" and 'write "1.0.0"' in found[2]
    fixed = FLAGSHIP.replace(version, '  version: "1.0.0"')
    (tmp_path / "ok.yaml").write_text(fixed)
    assert run("validate", str(tmp_path / "ok.yaml"))[0] == 0


def test_a_huge_value_is_cut_in_messages_and_code_frames(run, tmp_path):
    description = re.search(r"^  description: .*$", FLAGSHIP, re.M).group(0)
    text = FLAGSHIP.replace(description, '  description: "' + "x" * 2_000_000 + '"')
    text = text.replace("name: store-vision", 'name: "' + "Y" * 2_000_000 + '"', 1)
    path = tmp_path / "big.yaml"
    path.write_text(text)
    for fmt in ("text", "json"):
        code, out, err = run("validate", str(path), "--format", fmt)
        assert code == 1 and len(out) + len(err) < 10_000, fmt  # the input is 4 MB
    code, out, _ = run("validate", str(path), "--format", "text")
    assert "ES207" in out and "ES209" in out and "..." in out


def test_list_sizes_are_said_in_edgespecs_words(run, tmp_path):
    found = errors(run, tmp_path, flagship_with("data_source: [store-orin]", "data_source: []"))
    (size,) = [f for f in found if f[0] == "ES209"]
    assert size[1] == "expected at least 1 item, got 0" and "after validation" not in size[1] and size[2]


def test_no_message_is_pydantics(run, tmp_path):
    """The wordings pydantic uses ("Input should", "after validation", "Value error") never reach
    a user: a spec with many kinds of mistakes at once."""
    text = yaml.safe_load(FLAGSHIP)
    text["metadata"]["labels"] = ["not", "a", "mapping"]
    text["workloads"]["shelf-monitoring"]["data_source"] = []
    text["models"]["shelf-detector"]["accuracy"] = {"metric": "map", "value": "high"}
    text["targets"]["store-orin"]["count"] = -3
    found = errors(run, tmp_path, yaml.safe_dump(text, sort_keys=False))
    assert len(found) >= 4
    for code, message, _ in found:
        assert not re.search(r"Input should|after validation|Value error|validation error", message), (code, message)


def test_labels_are_recorded_in_the_lock_as_documented(run, tmp_path):
    spec = tmp_path / "store-vision.yaml"
    spec.write_text(FLAGSHIP)
    code, _, err = run("compile", str(spec), "-o", str(tmp_path / "out"))
    assert code == 0, err
    lock = json.loads((tmp_path / "out" / "edgespec.lock.json").read_text())
    declared = yaml.safe_load(FLAGSHIP)["metadata"]["labels"]
    assert declared and lock["spec"]["labels"] == dict(sorted(declared.items()))
    schema = json.loads((ROOT / "schemas" / "edgespec-v1.schema.json").read_text())
    described = schema["$defs"]["Metadata"]["properties"]["labels"]["description"]
    assert "edgespec.lock.json" in described and "copied to emitted artifacts" not in described
