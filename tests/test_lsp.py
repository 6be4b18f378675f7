"""`edgespec lsp`, driven over stdio like an editor: live semantic diagnostics and hovers."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import ROOT
from tests.lsp_client import LspClient

BASE = (ROOT / "tests" / "specs" / "base.yaml").read_text()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    client = LspClient([sys.executable, "-m", "edgespec", "lsp"])
    client.initialize(tmp_path_factory.mktemp("ws"))
    yield client
    client.close()


def _codes(diagnostics):
    return [(d["code"], d["range"]["start"]["line"] + 1, d["range"]["start"]["character"] + 1) for d in diagnostics]


def test_valid_spec_is_clean_then_errors_appear_as_you_type(server, tmp_path):
    uri = server.open(tmp_path / "a.yaml", BASE)
    assert server.diagnostics(uri, want=lambda d: True) == []
    server.change(uri, BASE.replace("    objective: cost", "    objectiv: cost"), version=2)
    found = server.diagnostics(uri)
    assert _codes(found) == [("ES201", 41, 5)] and "did you mean 'objective'?" in found[0]["message"]
    server.change(uri, BASE, version=3)
    assert server.diagnostics(uri, want=lambda d: True) == []


def test_unknown_hardware_with_a_suggestion(server, tmp_path):
    uri = server.open(
        tmp_path / "b.yaml", BASE.replace("hardware: jetson-orin-nx-16gb", "hardware: jetson-orin-nx16gb")
    )
    (d,) = server.diagnostics(uri)
    assert d["code"] == "ES401" and d["range"]["start"]["line"] == 19 and "jetson-orin-nx-16gb" in d["message"]


def test_infeasible_budget_and_privacy_conflict(server, tmp_path):
    text = (
        BASE.replace("latency: {p50_ms: 20, p95_ms: 50}", "latency: {p95_ms: 0.01}")
        .replace("privacy: {raw_data: site, features: region}", "privacy: {raw_data: device, features: device}")
        .replace("    params: 3.2M\n", "    params: 3.2M\n    calibration: {uri: s3://m/det.cache}\n")
        .replace("distilled_from: det}", "distilled_from: det, calibration: {uri: s3://m/tiny.cache}}")
    )
    uri = server.open(tmp_path / "c.yaml", text)
    (d,) = server.diagnostics(uri)
    assert d["code"] == "ES501" and d["range"]["start"]["line"] == 32  # at the workload's name
    assert "latency: p95" in d["message"] and "privacy: raw_data=device" in d["message"], d["message"]


def test_hover_shows_the_plan(server, tmp_path):
    uri = server.open(tmp_path / "d.yaml", BASE)
    server.diagnostics(uri, want=lambda d: True)
    line = BASE.splitlines().index("  watch:")
    hover = server.request(
        "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": line, "character": 3}}
    )
    value = hover["contents"]["value"]
    assert value.startswith("**watch**: ") and "predicted p95" in value and "why:" in value
    assert ", onnx)" in value  # each placement with the format its device takes
    assert (
        server.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 1}})
        is None
    )


@pytest.mark.parametrize(("shutdown_first", "code"), [(True, 0), (False, 1)])
def test_the_server_exits_as_the_protocol_says(tmp_path, shutdown_first, code):
    """`shutdown` then `exit` ends the process with 0, a bare `exit` with 1 (the LSP specification),
    and neither leaves a traceback."""
    client = LspClient([sys.executable, "-m", "edgespec", "lsp"])
    client.initialize(tmp_path)
    if shutdown_first:
        assert client.request("shutdown", None) is None
    client.notify("exit", None)
    assert client.proc.wait(timeout=30) == code
    assert "Traceback" not in client.proc.stderr.read().decode()


def test_keystrokes_in_a_burst_publish_only_the_latest_version(tmp_path):
    """Five edits inside the debounce window: one check, of the last version; no stale set."""
    import queue
    import time

    client = LspClient([sys.executable, "-m", "edgespec", "lsp"])
    try:
        client.initialize(tmp_path)
        uri = client.open(tmp_path / "burst.yaml", BASE, version=1)
        client.diagnostics(uri, want=lambda d: True)  # the open's check
        for version in range(2, 7):  # typing: each edit breaks the spec differently
            client.change(
                uri, BASE.replace("hardware: jetson-orin-nx-16gb", f"hardware: jetson-orin-nx-{version}"), version
            )
        published = []
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            try:
                message = client.notifications.get(timeout=0.2)
            except queue.Empty:
                continue
            if message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri:
                published.append(message["params"])
        assert [p["version"] for p in published] == [6]
        assert any("jetson-orin-nx-6" in d["message"] for d in published[0]["diagnostics"])
    finally:
        client.close()


@pytest.mark.parametrize(
    ("old", "new", "fixed"),
    [
        ("hardware: jetson-orin-nx-16gb", "hardware: jetson-orin-nx-16gbb", "jetson-orin-nx-16gb"),  # a hardware id
        ("    params:", "    parms:", "params"),  # a key
        ("dtype: float32", "dtype: fp32", "float32"),  # an enum value
        ("params: 3.2M", "params: 3.2m", "3.2M"),  # a unit's spelling
    ],
)
def test_a_hint_that_names_its_replacement_is_a_quick_fix(server, tmp_path, old, new, fixed):
    """The quick fix replaces the diagnostic's range with the hint's replacement, and the fixed
    text has no diagnostic left at that place."""
    assert old in BASE
    broken = BASE.replace(old, new, 1)
    uri = server.open(tmp_path / f"fix-{abs(hash(new))}.yaml", broken)
    (d,) = [d for d in server.diagnostics(uri) if d.get("data")]
    actions = server.request(
        "textDocument/codeAction",
        {"textDocument": {"uri": uri}, "range": d["range"], "context": {"diagnostics": [d]}},
    )
    (action,) = actions
    assert action["kind"] == "quickfix" and action["title"] == f"Replace with {fixed}"
    (edit,) = action["edit"]["changes"][uri]
    lines = broken.split("\n")
    r = edit["range"]
    assert r["start"]["line"] == r["end"]["line"]
    line = lines[r["start"]["line"]]
    lines[r["start"]["line"]] = line[: r["start"]["character"]] + edit["newText"] + line[r["end"]["character"] :]
    assert "\n".join(lines) == BASE  # the fix restores the valid spec


def test_completion_offers_the_names_the_schema_cannot_know(server, tmp_path):
    """Catalog hardware ids after `hardware:`, the spec's models and variants after a workload's
    `model:`, its targets inside `data_source: [...]`."""
    from edgespec import catalog

    uri = server.open(tmp_path / "complete.yaml", BASE)
    lines = BASE.split("\n")

    def labels(marker: str, after: str) -> list[str]:
        row = next(i for i, text in enumerate(lines) if marker in text)
        column = lines[row].index(after) + len(after)
        result = server.request(
            "textDocument/completion", {"textDocument": {"uri": uri}, "position": {"line": row, "character": column}}
        )
        return [item["label"] for item in result["items"]]

    assert labels("hardware: jetson-orin-nx-16gb", "hardware: ") == sorted(catalog.hardware())
    assert labels("    model: det", "model: ") == ["det", "det-tiny"]
    assert labels("data_source: [cam]", "data_source: [") == ["cam", "mec"]
    assert labels("apiVersion", "apiVersion: ") == []  # the schema's own values are the yaml server's
