"""The editor story, proven in the real yaml-language-server over LSP stdio: the modeline
points it at the generated schema, and it reports, completes and explains spec fields."""

from __future__ import annotations

import shutil

import pytest

from tests.lsp_client import LspClient
from tests.tools import ROOT, npm_tool

SETTINGS = {
    "yaml": {
        "validate": True,
        "hover": True,
        "completion": True,
        "format": {"enable": False},
        "schemaStore": {"enable": False},
    }
}
BASE = (ROOT / "tests" / "specs" / "base.yaml").read_text()
MODELINE = "# yaml-language-server: $schema=../schemas/edgespec-v1.schema.json\n"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("ws")
    (root / "schemas").mkdir()
    shutil.copy(ROOT / "schemas" / "edgespec-v1.schema.json", root / "schemas")
    (root / "specs").mkdir()
    return root


@pytest.fixture(scope="module")
def server(workspace):
    client = LspClient(npm_tool("yaml-language-server", "bin/yaml-language-server") + ["--stdio"], settings=SETTINGS)
    client.initialize(workspace)
    yield client
    client.close()


def _open(server, workspace, name: str, text: str) -> str:
    path = workspace / "specs" / name
    path.write_text(text)
    return server.open(path, text)


def _lines(diagnostics):
    return sorted((d["range"]["start"]["line"] + 1, d["message"]) for d in diagnostics)


def test_valid_spec_has_no_diagnostics(server, workspace):
    uri = _open(server, workspace, "valid.yaml", MODELINE + BASE)
    assert server.diagnostics(uri, want=lambda d: True) == []


def test_errors_are_reported_at_the_right_lines(server, workspace):
    text = MODELINE + BASE.replace("    objective: cost", "    objectiv: cost").replace(
        "offline: required", "offline: always"
    ).replace("    model: det\n", "")
    uri = _open(server, workspace, "bad.yaml", text)
    found = _lines(server.diagnostics(uri, want=lambda d: len(d) >= 3))
    lines = text.splitlines()
    unknown = lines.index("    objectiv: cost") + 1
    enum = lines.index("    offline: always") + 1
    workload = lines.index("  watch:") + 1
    assert any(line == unknown and "objectiv" in msg for line, msg in found), found
    assert any(line == enum and "required" in msg for line, msg in found), found
    assert any(line == workload and "model" in msg for line, msg in found), found


def test_completion_inside_privacy(server, workspace):
    text = MODELINE + BASE.replace("    privacy: {raw_data: site, features: region}", "    privacy:\n      ")
    uri = _open(server, workspace, "complete.yaml", text)
    line = text.splitlines().index("    privacy:") + 1
    result = server.request(
        "textDocument/completion", {"textDocument": {"uri": uri}, "position": {"line": line, "character": 6}}
    )
    items = result["items"] if isinstance(result, dict) else result
    labels = {item["label"] for item in items}
    assert {"raw_data", "features", "residency"} <= labels, labels


def test_hover_shows_the_field_description(server, workspace):
    text = MODELINE + BASE
    uri = _open(server, workspace, "hover.yaml", text)
    line = text.splitlines().index("    offline: required")
    hover = server.request(
        "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": line, "character": 6}}
    )
    contents = hover["contents"]
    value = contents["value"] if isinstance(contents, dict) else str(contents)
    assert "must keep answering without uplink" in value, value
