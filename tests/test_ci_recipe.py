"""The sample CI workflow is valid YAML, and every edgespec command it runs exists and parses."""

from __future__ import annotations

import re
import shlex

import yaml

from tests.conftest import ROOT

WORKFLOW = ROOT / "docs" / "ci" / "edgespec.yml"


def test_workflow_is_valid_yaml_with_the_documented_steps():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["edgespec"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    for needed in ("edgespec validate", "edgespec plan", "--check", "edgespec diff", "--format sarif"):
        assert needed in runs
    assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif@") for s in steps)
    assert workflow["permissions"]["security-events"] == "write"


def test_every_edgespec_command_exists_and_its_options_parse(tmp_path, monkeypatch):
    from edgespec.cli import cli

    monkeypatch.chdir(tmp_path)  # arguments that must name existing files get placeholders
    for name in ("spec.yaml", "base.edgespec.yaml"):
        (tmp_path / name).write_text("")
    runs = "\n".join(s.get("run", "") for s in yaml.safe_load(WORKFLOW.read_text())["jobs"]["edgespec"]["steps"])
    calls = re.findall(r"edgespec ([^|>\n&]+)", runs)
    assert [c.split()[0] for c in calls] == ["validate", "validate", "plan", "compile", "diff"]
    for call in calls:
        words = shlex.split(call.replace("$SPEC", "spec.yaml").replace("$OUT", "out").replace('"', ""))
        command = cli.commands[words[0]]  # KeyError: the workflow calls a command that does not exist
        command.make_context(words[0], words[1:], resilient_parsing=False)  # options and arguments parse
