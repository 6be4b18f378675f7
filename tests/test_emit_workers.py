"""Workers AI projects: wrangler's own dry run and config schema accept them, and the Worker,
executed in workerd through miniflare with a stub AI binding, answers real requests."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, check_golden, compile_to
from tests.planner_helpers import model, spec
from tests.tools import TOOLS, executable, node, npm_tool


def _doc() -> dict:
    chat = model("text-generation", "8B", 16, 0.68, input={"shape": [1, 4096], "dtype": "int64"})
    chat["workers_ai"] = {"model": "@cf/meta/llama-3.1-8b-instruct-fp8", "accuracy": 0.68}
    return spec(
        {"chat": chat},
        {
            "phones": {"hardware": "apple-a15", "count": 1000, "network": {"rtt_ms": 60, "uplink_mbps": 10}},
            "workers": {"hardware": "cloudflare-workers-ai"},
        },
        {
            "ask": {
                "model": "chat",
                "data_source": ["phones"],
                "latency": {"p95_ms": 400},
                "throughput": {"rps": 0.001},
                "generation": {"prompt_tokens": 50, "output_tokens": 10},
                "pattern": "cloud",
            }
        },
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("workers")
    path = tmp / "spec.yaml"
    path.write_text(yaml.safe_dump(_doc(), sort_keys=False))
    return compile_to(path, tmp / "out") / "workers"


@pytest.fixture(scope="module")
def bundle(project, tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "WRANGLER_SEND_METRICS": "false", "CI": "true"}
    result = subprocess.run(
        [
            *npm_tool("wrangler", "bin/wrangler.js"),
            "deploy",
            "--dry-run",
            "-c",
            "wrangler.jsonc",
            "--outdir",
            str(dist),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "env.AI" in result.stdout
    return dist / "index.js"


def test_config_matches_wranglers_schema(project):
    result = subprocess.run(
        [
            executable("check-jsonschema"),
            "--schemafile",
            str(TOOLS / "wrangler" / "config-schema.json"),
            str(project / "wrangler.jsonc"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    config = json.loads((project / "wrangler.jsonc").read_text())
    assert config["ai"] == {"binding": "AI"} and config["compatibility_date"]


def test_model_id_comes_from_the_catalog(project):
    from edgespec import catalog

    ids = {m["id"] for models in catalog.workers_ai()["models"].values() for m in models}
    routes = json.loads((project / "src" / "config.json").read_text())["routes"]
    assert routes["ask"]["model"] in ids and routes["ask"]["model"].startswith("@cf/meta/llama")
    assert routes["ask"]["timeout_ms"] == 1000 and routes["ask"]["max_tokens"] == 10


def _in_workerd(project, bundle, requests, *token):
    compat = json.loads((project / "wrangler.jsonc").read_text())["compatibility_date"]
    miniflare = str(TOOLS / "miniflare" / "dist" / "src" / "index.js")
    result = subprocess.run(
        [
            node(),
            str(Path(__file__).parent / "workers" / "run_worker.mjs"),
            miniflare,
            str(bundle),
            compat,
            json.dumps(requests),
            *token,
        ],
        cwd=bundle.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_worker_answers_in_workerd(project, bundle):
    auth = {"Authorization": "Bearer s3cret-token"}
    requests = [
        {"path": "/healthz", "method": "GET"},
        {"path": "/v1/ask", "method": "POST", "body": json.dumps({"prompt": "hello"}), "headers": auth},
        {
            "path": "/v1/ask",
            "method": "POST",
            "body": json.dumps({"messages": [{"role": "user", "content": "hi"}]}),
            "headers": auth,
        },
        {"path": "/v1/ask", "method": "POST", "body": "not json", "headers": auth},
        {"path": "/v1/ask", "method": "POST", "body": json.dumps({"prompt": 42}), "headers": auth},
        {"path": "/v1/ask", "method": "GET", "headers": auth},
        {"path": "/v1/nope", "method": "POST", "body": "{}", "headers": auth},
        {"path": "/v1/ask", "method": "POST", "body": json.dumps({"prompt": "fail"}), "headers": auth},
        {"path": "/v1/ask", "method": "POST", "body": json.dumps({"prompt": "slow"}), "headers": auth},
        {"path": "/v1/ask", "method": "POST", "body": json.dumps({"prompt": "hello"})},
        {
            "path": "/v1/ask",
            "method": "POST",
            "body": json.dumps({"prompt": "hello"}),
            "headers": {"Authorization": "Bearer s3cret-tokem"},
        },
    ]
    responses = _in_workerd(project, bundle, requests, "s3cret-token")
    statuses = [r["status"] for r in responses]
    assert statuses == [200, 200, 200, 400, 400, 405, 404, 502, 504, 401, 401]
    # without the secret the Worker serves no one (health stays open)
    unset = _in_workerd(project, bundle, requests[:2])
    assert [r["status"] for r in unset] == [200, 503] and "wrangler secret put" in unset[1]["body"]["error"]
    ok = responses[1]["body"]
    assert ok["model"] == "@cf/meta/llama-3.1-8b-instruct-fp8"
    assert ok["result"]["inputs"] == {"prompt": "hello", "max_tokens": 10}  # what env.AI.run received
    assert responses[3]["body"]["error"] == "body is not valid JSON"


def test_golden(run, tmp_path):
    """The assistant example's Workers project, reviewed like code (EDGESPEC_UPDATE_GOLDEN=1 refreshes)."""
    check_golden(compile_to(ROOT / "examples" / "assistant-llm.yaml", tmp_path / "out"), "assistant-llm")


FAKE_NPX = r"""#!/usr/bin/env bash
# Stands in for `npx --no-install wrangler ...` where the real one would call Cloudflare's API:
# records the arguments and answers as wrangler does (deployments status --json, the ND-JSON
# output file of versions upload).
set -eu
[ "$1" = --no-install ] && [ "$2" = wrangler ] || { echo "unexpected npx call: $*" >&2; exit 2; }
shift 2
node -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- "$@" >> "$CALLS"
case "$1 $2" in
  "deployments status") echo '{"id": "d1", "versions": [{"version_id": "stable-1", "percentage": 100}]}' ;;
  "versions upload") echo '{"type": "version-upload", "version": 1, "version_id": "canary-2"}' >> "$WRANGLER_OUTPUT_FILE_PATH" ;;
esac
"""


def _run_rollout(project: Path, tmp_path: Path, gate: str | None) -> tuple[subprocess.CompletedProcess, list, list]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "npx").write_text(FAKE_NPX)
    (bin_dir / "sleep").write_text('#!/usr/bin/env bash\necho "$1" >> "$SLEEPS"\n')  # soaks, recorded not waited
    for f in ("npx", "sleep"):
        (bin_dir / f).chmod(0o755)
    calls, sleeps = tmp_path / "calls.jsonl", tmp_path / "sleeps.txt"
    calls.unlink(missing_ok=True)
    sleeps.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{Path(node()).parent}{os.pathsep}{os.environ['PATH']}",
        "CALLS": str(calls),
        "SLEEPS": str(sleeps),
    }
    env.pop("EDGESPEC_GATE", None)
    if gate is not None:
        env["EDGESPEC_GATE"] = gate
    result = subprocess.run(["bash", str(project / "rollout.sh")], env=env, capture_output=True, text=True, timeout=60)
    recorded = [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
    waited = [int(s) for s in sleeps.read_text().split()] if sleeps.exists() else []
    return result, recorded, waited


@pytest.fixture(scope="module")
def assistant(tmp_path_factory) -> Path:
    out = compile_to(ROOT / "examples" / "assistant-llm.yaml", tmp_path_factory.mktemp("assistant") / "out")
    return out / "workers"


def test_gradual_deployment_follows_the_stages(assistant, tmp_path):
    subprocess.run([executable("shellcheck"), str(assistant / "rollout.sh")], check=True)
    result, calls, waited = _run_rollout(assistant, tmp_path, gate=None)
    assert result.returncode == 0, result.stderr
    package = re.search(r"^PACKAGE=(\S+)$", (assistant / "rollout.sh").read_text(), re.M).group(1)
    assert package in (assistant / "README.md").read_text()
    # stages [5% for 1h, 25% for 6h, 100%]
    assert calls == [
        ["deployments", "status", "--json"],
        ["versions", "upload", "--tag", package, "--message", f"edgespec package {package}"],
        ["versions", "deploy", "canary-2@5%", "stable-1@95%", "--yes", "--message", f"edgespec {package} at 5%"],
        ["versions", "deploy", "canary-2@25%", "stable-1@75%", "--yes", "--message", f"edgespec {package} at 25%"],
        ["versions", "deploy", "canary-2@100%", "--yes", "--message", f"edgespec {package} at 100%"],
    ]
    assert waited == [3600, 21600]


def test_a_failing_gate_rolls_back(assistant, tmp_path):
    result, calls, waited = _run_rollout(assistant, tmp_path, gate='[ "$CANARY_PERCENT" -lt 25 ]')
    assert result.returncode == 1 and "gate failed at 25%" in result.stderr
    assert calls[-1][:4] == ["versions", "deploy", "stable-1@100%", "--yes"]
    assert ["versions", "deploy", "canary-2@100%"] not in [c[:3] for c in calls]
    assert waited == [3600, 21600]


def test_the_pinned_wrangler_knows_every_flag(assistant, tmp_path):
    """Each wrangler call the script makes uses subcommands and flags of the pinned wrangler."""
    _, calls, _ = _run_rollout(assistant, tmp_path, gate=None)
    env = {**os.environ, "WRANGLER_SEND_METRICS": "false", "CI": "true"}
    helps: dict[tuple, str] = {}
    for call in calls:
        command = tuple(call[:2])
        if command not in helps:
            result = subprocess.run(
                [*npm_tool("wrangler", "bin/wrangler.js"), *command, "--help"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 0, result.stderr
            helps[command] = result.stdout
        for flag in (a for a in call[2:] if a.startswith("--")):
            assert re.search(rf"(^|\s){re.escape(flag)}\s", helps[command]), (command, flag)
        if command == ("versions", "deploy"):
            assert "<version-id>@<percentage>" in helps[command]  # the shorthand the script uses
