"""The command line: exit codes, output formats, and no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from edgespec.cli import cli
from tests.conftest import ROOT

BAD = b"apiVersion: edgespec/v1\nkind: EdgeDeployment\nmetadata: {name: x, version: 1.0.0}\nmodels: {}\ntargets: {}\nworkloads: {}\nextra: 1\n"


def test_examples_validate(run):
    examples = sorted(str(p) for p in (ROOT / "examples").glob("*.yaml"))
    assert len(examples) >= 4
    code, out, err = run("validate", *examples)
    assert code == 0, out
    assert f"{len(examples)} specs valid" in err


def test_errors_exit_1_with_text(run, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_bytes(BAD)
    code, out, _ = run("validate", "--format", "text", str(spec))
    assert code == 1
    assert f"{spec}:7:1: error[ES201]: unknown key 'extra'" in out
    assert "7 | extra: 1" in out and "^^^^^" in out
    assert out.rstrip().endswith("4 errors, 0 warnings")


def test_errors_from_several_files_are_all_reported(run, tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_bytes(BAD)
    b.write_bytes(b"a: [\n")
    code, out, _ = run("validate", "--format", "json", str(a), str(b))
    doc = json.loads(out)
    assert code == 1
    assert {d["file"] for d in doc["diagnostics"]} == {str(a), str(b)}


def test_json_format_is_versioned(run, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_bytes(BAD)
    code, out, _ = run("validate", "--format", "json", str(spec))
    doc = json.loads(out)
    assert code == 1 and doc["version"] == 1
    first = doc["diagnostics"][0]
    assert set(first) == {
        "code",
        "severity",
        "message",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "pointer",
        "hint",
    }
    assert doc["summary"]["errors"] == len(doc["diagnostics"])
    assert [d["line"] for d in doc["diagnostics"]] == sorted(d["line"] for d in doc["diagnostics"])


def test_github_format_escapes(run, tmp_path):
    spec = tmp_path / "bad,name.yaml"
    spec.write_bytes(BAD)
    code, out, _ = run("validate", "--format", "github", str(spec))
    assert code == 1
    line = out.splitlines()[-1]
    assert line.startswith("::error file=") and "bad%2Cname.yaml" in line and ",line=7,col=1," in line
    assert "title=ES201::unknown key 'extra'%0Ahint: " in line


def test_auto_format_under_github_actions(run, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_bytes(BAD)
    _, out, _ = run("validate", str(spec), env={"GITHUB_ACTIONS": "true"})
    assert out.startswith("::error ")
    _, out, _ = run("validate", str(spec), env={"GITHUB_ACTIONS": ""})
    assert out.startswith(str(spec))


def test_sarif_format(run, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_bytes(BAD)
    code, out, _ = run("validate", "--format", "sarif", str(spec))
    doc = json.loads(out)
    assert code == 1 and doc["version"] == "2.1.0"
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    results = doc["runs"][0]["results"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    region = results[-1]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (7, 1)


def test_stdin(run):
    code, out, _ = run("validate", "--format", "json", "-", input=BAD)
    assert code == 1 and json.loads(out)["diagnostics"][0]["file"] == "<stdin>"


def test_max_bytes(run, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_bytes(BAD)
    code, out, _ = run("validate", "--max-bytes", "10", "--format", "json", str(spec))
    assert code == 1 and json.loads(out)["diagnostics"][0]["code"] == "ES102"


def test_usage_errors_exit_2(run):
    assert run("validate")[0] == 2
    assert run("nonsense")[0] == 2
    assert run("validate", "--format", "xml", "x.yaml")[0] == 2
    assert run("explain", "ES999")[0] == 2


def test_explain(run):
    code, out, _ = run("explain", "es201")
    assert code == 0 and out.startswith("ES201 (error): unknown key") and "How to fix:" in out


def test_version(run):
    from edgespec import __version__

    assert run("--version")[1].strip() == f"edgespec, version {__version__}"


def test_catalog_lists_every_id(run):
    out = run("catalog")[1]
    for hw in (
        "jetson-orin-nano-8gb",
        "coral-usb",
        "apple-a17-pro",
        "qcs6490",
        "aws-wavelength",
        "cloudflare-workers-ai",
    ):
        assert hw in out


def test_schema_command(run, tmp_path):
    from edgespec.spec.schema import render

    assert run("schema")[1] == render()
    target = tmp_path / "s.json"
    assert run("schema", "--write", "--path", str(target))[0] == 0
    assert target.read_text() == render()
    assert run("schema", "--check", "--path", str(target))[0] == 0
    target.write_text("{}")
    assert run("schema", "--check", "--path", str(target))[0] == 1


def test_internal_error_is_one_line_and_exit_2(run, monkeypatch, tmp_path):
    import edgespec.pipeline

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(edgespec.pipeline, "check_files", boom)
    code, out, err = run("validate", str(tmp_path / "x.yaml"))
    assert code == 2 and "Traceback" not in out + err
    assert "internal error: RuntimeError: kaboom" in err
    with pytest.raises(RuntimeError):
        run("--traceback", "validate", str(tmp_path / "x.yaml"))


def test_help_does_not_import_heavy_modules():
    probe = (
        "import sys\nfrom edgespec.cli import cli\n"
        "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('pydantic', 'jinja2', 'jsonschema', 'yaml') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert "HEAVY []" in out


def test_python_dash_m(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "edgespec", "validate", str(ROOT / "examples" / "pos-fraud.yaml")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "args, code",
    [
        (["plan", "{big}", "--format", "json"], 1),  # infeasible workloads: exit 1, 1 MB+ of JSON
        (["validate", str(ROOT / "examples" / "pos-fraud.yaml")], 0),
        (["bogus"], 2),
    ],
)
def test_console_script_flushes_everything_and_keeps_exit_codes(tmp_path, args, code):
    """main() leaves with os._exit (no interpreter teardown): nothing written may be lost, and the
    exit code must be the one sys.exit would give. Compared with the in-process CliRunner. (click.echo
    flushes each write, so the final flush in main() is a second line of defence.)"""
    big = tmp_path / "big.yaml"
    sys.path.insert(0, str(ROOT / "bench"))
    import gen

    big.write_text(gen.spec(300, 20, seed=5))
    args = [a.format(big=big) for a in args]
    result = subprocess.run([sys.executable, "-m", "edgespec", *args], capture_output=True, cwd=ROOT)
    reference = CliRunner().invoke(cli, args, prog_name="edgespec")
    assert result.returncode == reference.exit_code == code
    assert result.stdout.decode() == reference.stdout
    assert result.stderr.decode() == reference.stderr
