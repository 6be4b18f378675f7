"""`edgespec fmt`: canonical, idempotent, and it never loses a comment, a blank line or a value."""

from __future__ import annotations

import re

import pytest
import yaml

from edgespec.fmt import format_text
from tests.conftest import ROOT
from tests.test_diagnostics_table import CASES, apply

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))

COMMENTED = """\
# yaml-language-server: $schema=../schemas/edgespec-v1.schema.json
# Header comment, first line of the file after the modeline.

kind: EdgeDeployment   # eol comment on kind
apiVersion: "edgespec/v1"

# --- identity ---
metadata:
  version: '1.0.0'     # quoted for no reason

  # why this name
  name: commented
workloads:
  w:
    # budget first, by habit
    latency: {p95_ms: 50}   # tight


    data_source:
    - cam      # the camera
    # the model comes last here
    model: m
models:
  m:
    source: {uri: s3://m/x.onnx, format: onnx}
    task: image-classification   # what it does
    params: 3M
    gflops: 1
    input: {shape: [1, 3, 224, 224], dtype: uint8}
    accuracy: {metric: top1, value: 0.8}
targets:
  cam:
    network: {rtt_ms: 20}
    hardware: jetson-orin-nano-8gb   # the device

# trailing comment at the end
"""


def comments(text: str) -> list[str]:
    return sorted(m.group(0).strip() for m in re.finditer(r"#[^\n]*", text))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_are_canonical(run, path):
    assert format_text(path.read_text()) == path.read_text()
    assert run("fmt", "--check", str(path))[0] == 0


def check_preserving(text: str) -> str:
    out = format_text(text)
    assert format_text(out) == out  # idempotent
    assert yaml.safe_load(out) == yaml.safe_load(text)  # same data
    assert comments(out) == comments(text)  # every comment kept
    assert out.count("\n\n") == text.count("\n\n")  # blank lines kept
    return out


def test_commented_spec():
    out = check_preserving(COMMENTED)
    lines = out.splitlines()
    assert lines[0].startswith("# yaml-language-server:")  # the header stays first
    top = [line.split(":")[0] for line in lines if re.match(r"^[a-z]", line)]
    assert top == ["apiVersion", "kind", "metadata", "models", "targets", "workloads"]
    assert out.index("  # why this name\n  name: commented") < out.index("  version: 1.0.0")
    workload = out[out.index("  w:") :]
    assert workload.index("    model: m") < workload.index("    data_source:") < workload.index("    latency:")
    assert "    # the model comes last here\n    model: m" in workload  # a comment travels with its key
    assert "apiVersion: edgespec/v1" in out and "version: 1.0.0" in out  # needless quotes dropped
    assert "      - cam" in out  # sequences indented under their key


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_every_table_variant_keeps_its_data(case):
    from edgespec.load import load_bytes

    text = apply(case[1], case[2])
    if load_bytes(text.encode(), "t.yaml").data is None:
        pytest.skip("the loader refuses it, so fmt leaves it alone (tested below)")
    check_preserving(text)


def test_check_writes_nothing_and_shows_the_diff(run, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(COMMENTED)
    code, out, err = run("fmt", "--check", str(path))
    assert code == 1 and out.startswith(f"--- a/{path}") and f"would reformat {path}" in err
    assert path.read_text() == COMMENTED
    assert run("fmt", str(path))[0] == 0 and path.read_text() == format_text(COMMENTED)
    assert run("fmt", "--check", str(path))[0] == 0


def test_unparseable_files_are_left_alone(run, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("a: [1, 2\n")
    code, _, err = run("fmt", "--format", "text", str(path))
    assert code == 1 and "ES104" in err and path.read_text() == "a: [1, 2\n"


def test_list_items_take_the_field_order_too():
    text = (
        "models:\n  m:\n    source:\n    - format: onnx\n      # its digest\n      sha256: " + "a" * 64 + "\n"
        "      uri: s3://m/m.onnx   # the ONNX export\n    - {format: coreml, uri: s3://m/m.mlpackage}\n"
        "    split_points:\n      - flops_fraction: 0.5\n        name: mid\n        activation_bytes: 10KB\n"
        "    task: image-classification\n"
    )
    out = format_text(text)
    assert format_text(out) == out  # idempotent
    assert yaml.safe_load(out) == yaml.safe_load(text)  # the same data
    lines = out.splitlines()
    first = lines.index("    source:")
    # a block item's keys in Source's order (uri, format, sha256), its comments kept; a flow item as written
    assert lines[first + 1 : first + 3] == ["      - uri: s3://m/m.onnx # the ONNX export", "        format: onnx"]
    assert "# its digest" in lines[first + 3] and lines[first + 4].strip().startswith("sha256:")
    assert lines[first + 5] == "      - {format: coreml, uri: s3://m/m.mlpackage}"
    at = lines.index("    split_points:")
    assert [line.strip() for line in lines[at + 1 : at + 4]] == [
        "- name: mid",
        "flops_fraction: 0.5",
        "activation_bytes: 10KB",
    ]
