"""`edgespec init`: a starter spec that validates for every pattern and device, with a working modeline."""

from __future__ import annotations

import os
import re

import pytest

from edgespec import catalog

PATTERNS = ["auto", "on-device", "split", "cascade", "federated", "mec", "cloud"]
# the devices a starter spec can run on (a `client` fleet computes nothing: init refuses it)
DEVICES = sorted(k for k, v in catalog.hardware().items() if v["role"] == "device" and v["kind"] != "client")


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("hardware", DEVICES)
def test_starter_validates(run, tmp_path, hardware, pattern):
    path = tmp_path / "site.edgespec.yaml"
    code, _, err = run("init", str(path), "--hardware", hardware, "--pattern", pattern)
    assert code == 0, err
    code, out, _ = run("validate", "--format", "text", str(path))
    assert code == 0, out
    assert f"hardware: {hardware}" in path.read_text() and f"pattern: {pattern}" in path.read_text()


def test_modeline_points_at_the_repositorys_schema_else_the_published_one(run, tmp_path):
    import json

    from edgespec.resources import schema_file

    repo = tmp_path / "repo"
    (repo / "schemas").mkdir(parents=True)
    (repo / ".git").mkdir()
    (repo / "schemas" / "edgespec-v1.schema.json").write_text(schema_file().read_text())
    path = repo / "deploy" / "a.yaml"
    path.parent.mkdir()
    assert run("init", str(path))[0] == 0
    schema = re.match(r"# yaml-language-server: \$schema=(\S+)", path.read_text()).group(1)
    assert schema == "../schemas/edgespec-v1.schema.json" and os.path.isfile(path.parent / schema)
    # no copy in the repository: the published URL, never a path into an environment
    bare = tmp_path / "bare"
    (bare / ".git").mkdir(parents=True)
    assert run("init", str(bare / "a.yaml"))[0] == 0
    schema = re.match(r"# yaml-language-server: \$schema=(\S+)", (bare / "a.yaml").read_text()).group(1)
    assert schema == json.loads(schema_file().read_text())["$id"] and "site-packages" not in schema


def test_starter_plans(run, tmp_path):
    path = tmp_path / "s.yaml"
    assert run("init", str(path), "--pattern", "cascade")[0] == 0
    code, out, _ = run("plan", str(path))
    assert code == 0 and "cascade" in out


def test_refuses_to_overwrite_without_force(run, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("mine\n")
    code, _, err = run("init", str(path))
    assert code == 2 and "--force" in err and path.read_text() == "mine\n"
    assert run("init", str(path), "--force")[0] == 0 and path.read_text().startswith("# yaml-language-server")


def test_rejects_a_client_fleet(run, tmp_path):
    code, _, err = run("init", str(tmp_path / "s.yaml"), "--hardware", "client")
    assert code == 2 and "'client' is not a device id" in err


def test_rejects_remote_hardware(run, tmp_path):
    code, _, err = run("init", str(tmp_path / "s.yaml"), "--hardware", "aws-ec2")
    assert code == 2 and "not a device id" in err
