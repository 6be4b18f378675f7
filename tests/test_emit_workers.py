"""Workers AI projects: wrangler's own dry run and config schema accept them, and the Worker,
executed in workerd through miniflare with a stub AI binding, answers real requests."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.planner_helpers import model, spec
from tests.tools import TOOLS, executable, node, npm_tool


def _doc() -> dict:
    return spec({"chat": model("text-generation", "8B", 16, 0.68, input={"shape": [1, 4096], "dtype": "int64"})},
                {"phones": {"hardware": "apple-a15", "count": 1000, "network": {"rtt_ms": 60, "uplink_mbps": 10}},
                 "workers": {"hardware": "cloudflare-workers-ai"}},
                {"ask": {"model": "chat", "data_source": ["phones"], "latency": {"p95_ms": 400},
                         "throughput": {"rps": 0.01}, "generation": {"prompt_tokens": 50, "output_tokens": 10},
                         "pattern": "cloud"}})


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    from click.testing import CliRunner

    from edgespec.cli import cli

    tmp = tmp_path_factory.mktemp("workers")
    path = tmp / "spec.yaml"
    path.write_text(yaml.safe_dump(_doc(), sort_keys=False))
    result = CliRunner().invoke(cli, ["compile", str(path), "-o", str(tmp / "out")], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return tmp / "out" / "workers"


@pytest.fixture(scope="module")
def bundle(project, tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "WRANGLER_SEND_METRICS": "false", "CI": "true"}
    result = subprocess.run([*npm_tool("wrangler", "bin/wrangler.js"), "deploy", "--dry-run", "-c", "wrangler.jsonc",
                             "--outdir", str(dist)], cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "env.AI" in result.stdout
    return dist / "index.js"


def test_config_matches_wranglers_schema(project):
    result = subprocess.run([executable("check-jsonschema"), "--schemafile", str(TOOLS / "wrangler" / "config-schema.json"),
                             str(project / "wrangler.jsonc")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    config = json.loads((project / "wrangler.jsonc").read_text())
    assert config["ai"] == {"binding": "AI"} and config["compatibility_date"]


def test_model_id_comes_from_the_catalog(project):
    from edgespec import catalog

    ids = {m["id"] for models in catalog.workers_ai()["models"].values() for m in models}
    routes = json.loads((project / "src" / "config.json").read_text())["routes"]
    assert routes["ask"]["model"] in ids and routes["ask"]["model"].startswith("@cf/meta/llama")
    assert routes["ask"]["timeout_ms"] == 1000 and routes["ask"]["max_tokens"] == 10


def test_worker_answers_in_workerd(project, bundle):
    requests = [
        {"path": "/healthz", "method": "GET"},
        {"path": "/v1/ask", "method": "POST", "body": json.dumps({"prompt": "hello"})},
        {"path": "/v1/ask", "method": "POST", "body": json.dumps({"messages": [{"role": "user", "content": "hi"}]})},
        {"path": "/v1/ask", "method": "POST", "body": "not json"},
        {"path": "/v1/ask", "method": "POST", "body": json.dumps({"prompt": 42})},
        {"path": "/v1/ask", "method": "GET"},
        {"path": "/v1/nope", "method": "POST", "body": "{}"},
        {"path": "/v1/ask", "method": "POST", "body": json.dumps({"prompt": "fail"})},
        {"path": "/v1/ask", "method": "POST", "body": json.dumps({"prompt": "slow"})},
    ]
    compat = json.loads((project / "wrangler.jsonc").read_text())["compatibility_date"]
    miniflare = str(TOOLS / "miniflare" / "dist" / "src" / "index.js")
    result = subprocess.run([node(), str(Path(__file__).parent / "workers" / "run_worker.mjs"), miniflare, str(bundle),
                             compat, json.dumps(requests)], cwd=bundle.parent, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    responses = json.loads(result.stdout.strip().splitlines()[-1])
    statuses = [r["status"] for r in responses]
    assert statuses == [200, 200, 200, 400, 400, 405, 404, 502, 504]
    ok = responses[1]["body"]
    assert ok["model"] == "@cf/meta/llama-3.1-8b-instruct-fp8"
    assert ok["result"]["inputs"] == {"prompt": "hello", "max_tokens": 10}  # what env.AI.run received
    assert responses[3]["body"]["error"] == "body is not valid JSON"


def test_golden(run, tmp_path):
    """The assistant example's Workers project, reviewed like code (EDGESPEC_UPDATE_GOLDEN=1 refreshes)."""
    import shutil

    from tests.conftest import ROOT
    from tests.test_compile import tree

    golden = ROOT / "tests" / "golden" / "assistant-llm"
    out = tmp_path / "out"
    code, _, err = run("compile", str(ROOT / "examples" / "assistant-llm.yaml"), "-o", str(out))
    assert code == 0, err
    if os.environ.get("EDGESPEC_UPDATE_GOLDEN") == "1":
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(out, golden)
    assert tree(out) == tree(golden)
