from __future__ import annotations

import os
import pathlib
import shutil

import pytest
from click.testing import CliRunner

ROOT = pathlib.Path(__file__).resolve().parents[1]


def compile_to(spec: str | pathlib.Path, out: pathlib.Path) -> pathlib.Path:
    """`edgespec compile SPEC -o OUT` in-process (module-scoped fixtures have no `run`); OUT."""
    from edgespec.cli import cli

    result = CliRunner().invoke(cli, ["compile", str(spec), "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return out


def tree(path: pathlib.Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def check_golden(out: pathlib.Path, name: str) -> None:
    """OUT equals tests/golden/NAME, file for file (EDGESPEC_UPDATE_GOLDEN=1 refreshes it first)."""
    golden = ROOT / "tests" / "golden" / name
    if os.environ.get("EDGESPEC_UPDATE_GOLDEN") == "1":
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(out, golden)
    assert tree(out) == tree(golden)


@pytest.fixture
def run():
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    from edgespec.cli import cli

    def _run(*args: str, input: bytes | None = None, env: dict | None = None):
        runner = CliRunner()
        result = runner.invoke(cli, list(args), input=input, env=env, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return _run
