"""The pre-commit hooks, run by the real pre-commit in a temporary repository."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.tools import executable


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def hooks_repo(tmp_path_factory) -> tuple[Path, str]:
    """This working tree as a git repository pre-commit can install from (committed as is)."""
    import shutil

    repo = tmp_path_factory.mktemp("hooks") / "edgespec"
    shutil.copytree(
        ROOT,
        repo,
        ignore=shutil.ignore_patterns(".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", "*.egg-info"),
    )
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "snapshot")
    return repo, git(repo, "rev-parse", "HEAD").strip()


def run_precommit(project: Path, home: Path):
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(
        [executable("pre-commit"), "run", "--all-files", "--color", "never"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_hooks(hooks_repo, tmp_path):
    repo, rev = hooks_repo
    project = tmp_path / "project"
    (project / "deploy").mkdir(parents=True)
    spec = (
        (ROOT / "examples" / "ar-carrier-edge.yaml")
        .read_text()
        .replace("../schemas/edgespec-v1.schema.json", "schema.json")
    )
    (project / "deploy" / "ar.edgespec.yaml").write_text(spec)
    (project / ".pre-commit-config.yaml").write_text(f"""\
repos:
  - repo: {repo}
    rev: {rev}
    hooks:
      - id: edgespec-validate
      - id: edgespec-fmt
      - id: edgespec-compile-check
        args: [deploy/ar.edgespec.yaml, -o, deploy/out]
""")
    git(project, "init", "-q")
    subprocess.run(
        [executable("edgespec"), "compile", "deploy/ar.edgespec.yaml", "-o", "deploy/out"], cwd=project, check=True
    )
    git(project, "add", "-A")
    home = tmp_path / "pre-commit-home"

    ok = run_precommit(project, home)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("Passed") == 3

    # kind above apiVersion (not canonical) and a changed count (stale output): fmt and
    # compile-check fail, validate still passes
    swapped = spec.replace(
        "apiVersion: edgespec/v1\nkind: EdgeDeployment\n", "kind: EdgeDeployment\napiVersion: edgespec/v1\n"
    )
    assert swapped != spec
    (project / "deploy" / "ar.edgespec.yaml").write_text(swapped.replace("count: 20\n", "count: 30\n", 1))
    git(project, "add", "-A")
    bad = run_precommit(project, home)
    assert bad.returncode == 1
    assert "edgespec validate" in bad.stdout and "would reformat deploy/ar.edgespec.yaml" in bad.stdout
    assert "ES604" in bad.stdout

    # an invalid spec: validate fails with the position
    (project / "deploy" / "ar.edgespec.yaml").write_text(spec.replace("objective: latency", "objectiv: latency"))
    git(project, "add", "-A")
    invalid = run_precommit(project, home)
    assert invalid.returncode == 1 and "error[ES201]: unknown key 'objectiv'" in invalid.stdout
