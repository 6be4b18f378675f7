"""`edgespec report`: one self-contained page, checked in a real headless Chromium (Debian's
package, driven by playwright-core): it loads with no console errors and no network requests,
its topology has a node for every placement, each workload has its budget bar, and a screenshot
is taken. A hostile copy of the page shows the check can fail."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.tools import TOOLS, node

pytestmark = pytest.mark.browser


def chromium() -> str:
    found = shutil.which("chromium")
    if not found:
        pytest.fail("chromium is missing: scripts/test.sh installs Debian's chromium package")
    return found


def browse(page: Path, shot: Path) -> dict:
    done = subprocess.run(
        [node(), str(ROOT / "tests" / "report_browser.cjs"), str(TOOLS), str(page), str(shot)],
        capture_output=True,
        text=True,
        timeout=180,
        env={"CHROMIUM": chromium(), "PATH": "/usr/bin:/bin", "HOME": str(page.parent)},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("example", ["store-vision.yaml", "hospital-imaging.yaml", "ar-carrier-edge.yaml"])
def test_the_report_loads_clean_with_every_placement_drawn(run, tmp_path, example):
    page = tmp_path / "report.html"
    code, _, err = run("report", str(ROOT / "examples" / example), "-o", str(page))
    assert code == 0, err
    code, out, _ = run("plan", str(ROOT / "examples" / example), "--format", "json")
    planned = json.loads(out)["workloads"]
    seen = browse(page, tmp_path / "report.png")
    assert seen["console"] == [] and seen["requests"] == []  # nothing logged, nothing fetched
    targets = {p["target"] for w in planned.values() for p in w["placements"]}
    assert targets and targets <= set(seen["nodes"])  # a node for every placement
    assert sorted(seen["bars"]) == sorted(n for n, w in planned.items() if w["feasible"])
    shot = (tmp_path / "report.png").read_bytes()
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 10_000


def test_the_check_catches_a_page_that_fetches(run, tmp_path):
    """The same page with an image from the network: the CSP refuses it, and the browser says so."""
    page = tmp_path / "report.html"
    assert run("report", str(ROOT / "examples" / "store-vision.yaml"), "-o", str(page))[0] == 0
    hostile = tmp_path / "hostile.html"
    hostile.write_text(
        page.read_text().replace("<h2>Topology</h2>", '<img src="https://example.com/x.png"><h2>Topology</h2>')
    )
    seen = browse(hostile, tmp_path / "hostile.png")
    assert any("Content Security Policy" in m for m in seen["console"]), seen


def test_spec_strings_are_escaped(run, tmp_path):
    import re

    text = (ROOT / "examples" / "store-vision.yaml").read_text()
    hostile = tmp_path / "hostile.yaml"
    line = re.search(r"^  description: .*$", text, re.M).group(0)
    hostile.write_text(text.replace(line, '  description: "<script>alert(1)</script><img src=x onerror=alert(2)>"'))
    page = tmp_path / "report.html"
    code, _, err = run("report", str(hostile), "-o", str(page))
    assert code == 0, err
    shown = page.read_text()
    assert "<script" not in shown and "<img" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown


def mermaid_parse(sources: list[str]) -> list[dict]:
    done = subprocess.run(
        [node(), str(ROOT / "tests" / "mermaid_parse.cjs"), str(TOOLS)],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        timeout=180,
        env={"CHROMIUM": chromium(), "PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_diffs_mermaid_topology_parses_with_mermaid(run, tmp_path):
    """`diff --format markdown` draws the changed workloads' topology in Mermaid, which GitHub
    renders in a pull-request comment: the real Mermaid parser accepts it, and refuses a broken one."""
    flagship = ROOT / "examples" / "store-vision.yaml"
    text = flagship.read_text()
    objective = "    objective: accuracy              # a wrong product at the till costs more than a few ms"
    assert objective in text
    latency_first = tmp_path / "latency-first.yaml"
    latency_first.write_text(text.replace(objective, "    objective: latency"))
    charts = []
    for old, new in ((latency_first, flagship), (flagship, latency_first)):
        code, out, _ = run("diff", str(old), str(new), "--format", "markdown")
        assert code == 1
        chart = out.split("```mermaid\n", 1)[1].split("\n```", 1)[0]
        charts.append(chart)
    assert "-->" in charts[0] and '"checkout-recognition"' in charts[0]  # the cascade's escalation edge
    assert "checkout-tpu" in charts[1]
    results = mermaid_parse([*charts, "flowchart LR\n  a[broken --> "])
    assert [r["ok"] for r in results] == [True, True, False], results
