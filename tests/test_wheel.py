"""A wheel built from the repository works in a fresh virtual environment."""

from __future__ import annotations

import os
import subprocess
import sys
import venv

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_wheel_in_fresh_venv(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)], check=True, capture_output=True
    )
    (wheel,) = dist.glob("edgespec-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)], check=True)
    edgespec = str(bin_dir / "edgespec")
    run = dict(capture_output=True, text=True, cwd=tmp_path)  # not the repo: only the wheel's files
    result = subprocess.run([edgespec, "validate", str(ROOT / "examples" / "store-vision.yaml")], **run)
    assert result.returncode == 0, result.stderr
    where = subprocess.run([edgespec, "schema", "--where"], **run, check=True).stdout.strip()
    assert "site-packages" in where and where.endswith("_data/schemas/edgespec-v1.schema.json")
    shipped = open(where, encoding="utf-8").read()
    assert shipped == (ROOT / "schemas" / "edgespec-v1.schema.json").read_text()
    assert subprocess.run([edgespec, "schema"], **run, check=True).stdout == shipped
    probe = "from edgespec.resources import templates_dir; print(templates_dir())"
    templates = subprocess.run([str(bin_dir / "python"), "-c", probe], **run, check=True).stdout.strip()
    assert "site-packages" in templates and os.path.exists(os.path.join(templates, "README.md"))
