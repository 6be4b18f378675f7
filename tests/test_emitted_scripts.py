"""Every shell script and every Python file that any example compiles to passes shellcheck,
bash -n and py_compile; every Dockerfile passes hadolint at error level."""

from __future__ import annotations

import py_compile
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, compile_to
from tests.tools import executable

EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> list[Path]:
    base = tmp_path_factory.mktemp("examples")
    return [compile_to(ROOT / "examples" / example, base / example.removesuffix(".yaml")) for example in EXAMPLES]


def _all(outputs: list[Path], pattern: str) -> list[str]:
    return sorted(str(p) for out in outputs for p in out.rglob(pattern))


def test_every_shell_script(outputs):
    scripts = _all(outputs, "*.sh")
    assert len(scripts) >= 3
    result = subprocess.run([executable("shellcheck"), *scripts], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    for script in scripts:
        subprocess.run(["bash", "-n", script], check=True)


def test_every_python_file(outputs):
    files = _all(outputs, "*.py")
    assert len(files) >= 3
    for path in files:
        py_compile.compile(path, doraise=True)


def test_every_dockerfile(outputs):
    dockerfiles = _all(outputs, "Dockerfile")
    assert dockerfiles
    result = subprocess.run(
        [executable("hadolint"), "--failure-threshold", "error", *dockerfiles], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout
