from __future__ import annotations

import pathlib

import pytest
from click.testing import CliRunner

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def run():
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    from edgespec.cli import cli

    def _run(*args: str, input: bytes | None = None, env: dict | None = None):
        runner = CliRunner()
        result = runner.invoke(cli, list(args), input=input, env=env, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return _run
