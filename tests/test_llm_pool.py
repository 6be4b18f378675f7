"""LLMs on GPU pools: vLLM serving exactly what the plan sized (concurrency, tensor parallelism,
context, precision via the checkpoint it checks), behind the emitted gateway in LLM mode, which
passes OpenAI-API requests through, streams answers and honours the planned timeout. The vLLM
server is stood in for (it needs a GPU) by an OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from edgespec.emit.jetson import engine_name
from edgespec.planner.types import Recipe
from tests.test_emit_aws import instance_script
from tests.tools import executable

SPEC = {
    "apiVersion": "edgespec/v1",
    "kind": "EdgeDeployment",
    "metadata": {"name": "llm", "version": "1.0.0"},
    "models": {
        "chat": {
            "task": "text-generation",
            "source": {"uri": "s3://m/llama-3.1-8b-awq", "format": "safetensors"},
            "params": "8B",
            "gflops": 16,
            "input": {"shape": [1, 512], "dtype": "int64"},
            "accuracy": {"metric": "mmlu", "value": 0.66},
        }
    },
    "targets": {
        "app": {
            "hardware": "client",
            "count": 1000,
            "jurisdiction": "us",
            "network": {"rtt_ms": 20, "uplink_mbps": 50},
        },
        "gpu": {"hardware": "aws-ec2", "region": "us-east-1", "instance_type": "g6e.xlarge", "network": {"rtt_ms": 20}},
    },
    "workloads": {
        "assist": {
            "model": "chat",
            "data_source": ["app"],
            "latency": {"p95_ms": 30000},
            "throughput": {"rps": 0.002},
            "generation": {"prompt_tokens": 500, "output_tokens": 200},
        }
    },
}


def run_cli(*args: str):
    from click.testing import CliRunner

    from edgespec.cli import cli

    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def emitted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("llm")
    spec = tmp / "spec.yaml"
    spec.write_text(yaml.safe_dump(SPEC, sort_keys=False))
    code, _, err = run_cli("compile", str(spec), "-o", str(tmp / "ec2"))  # the default: an EC2 stack
    assert code == 0, err
    pods = tmp / "pods.yaml"  # the same pool on Kubernetes
    pods.write_text(
        yaml.safe_dump(
            {**SPEC, "targets": {**SPEC["targets"], "gpu": {**SPEC["targets"]["gpu"], "orchestrator": "kubernetes"}}},
            sort_keys=False,
        )
    )
    code, _, err = run_cli("compile", str(pods), "-o", str(tmp / "out"))
    assert code == 0, err
    code, text, _ = run_cli("plan", str(spec), "--format", "json")
    plan = json.loads(text)["workloads"]["assist"]
    docs = {d["kind"]: d for d in yaml.safe_load_all((tmp / "out" / "gpu" / "k8s" / "assist.yaml").read_text()) if d}
    code_map = yaml.safe_load((tmp / "out" / "gpu" / "k8s" / "_gateway-code.yaml").read_text())
    return tmp / "out", plan, docs, code_map, err


def test_vllm_serves_what_the_plan_sized(emitted):
    out, plan, docs, _, err = emitted
    (p,) = plan["placements"]
    pool = plan["estimates"]["pool"]
    name = engine_name(p["model"], Recipe(**{k: v for k, v in p["recipe"].items()}))
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    vllm = pod["containers"][0]
    args = vllm["args"]

    def arg(flag):
        return args[args.index(flag) + 1]

    assert pool["batching"] == "continuous"
    assert int(arg("--max-num-seqs")) == pool["batch"]
    assert int(arg("--tensor-parallel-size")) == pool["gpus_per_replica"]
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == pool["gpus_per_replica"]
    assert int(arg("--max-model-len")) == 500 + 200  # the planned prompt and output
    assert arg("--served-model-name") == name
    (check,) = [c for c in pod["initContainers"] if c["name"] == "check-checkpoint"]
    assert check["command"][-1] == p["recipe"]["precision"]  # the checkpoint must be quantized as planned
    gateway = json.loads(docs["ConfigMap"]["data"]["gateway.json"])
    assert gateway["mode"] == "llm" and gateway["server_model"] == name and gateway["max_tokens"] == 200
    assert gateway["server_timeout_ms"] >= pool["serving_p95_ms"]
    assert [port["name"] for port in docs["Service"]["spec"]["ports"]] == ["gateway"]  # only the gateway is exposed
    assert "ES606" not in err and "ES601" not in err, err


def test_the_stack_runs_the_same_vllm(emitted):
    """The CloudFormation stack's instances fetch the checkpoint, check its quantization and run vLLM
    with the same limits; they scale on vLLM's own request counter; cfn-lint and shellcheck accept it."""
    out, plan, docs, _, _ = emitted
    template = out.parent / "ec2" / "gpu" / "cloudformation.yaml"
    result = subprocess.run([executable("cfn-lint"), str(template)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    doc = yaml.load(template.read_text(), Loader=Loader)
    sub = doc["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"]
    script = instance_script(sub)
    (out / "user-data.sh").write_text(script)
    result = subprocess.run([executable("shellcheck"), str(out / "user-data.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    joined = script.replace("\\\n", " ")
    (run,) = [line for line in joined.splitlines() if line.startswith("docker run -d --name vllm")]
    k8s = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
    for flag in ("--max-num-seqs", "--max-model-len", "--tensor-parallel-size", "--served-model-name"):
        assert f"{flag} {k8s[k8s.index(flag) + 1]} " in run + " ", flag
    precision = plan["placements"][0]["recipe"]["precision"]
    assert f"check_checkpoint.py /models/chat-{precision} {precision}" in joined
    assert "/^vllm:request_success_total[{]/" in joined  # scaled on what vLLM answered
    policy = doc["Resources"]["InstanceRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    assert policy["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:s3:::m/llama-3.1-8b-awq/*"}]


def test_the_manifests_are_valid_kubernetes(emitted):
    out = emitted[0]
    result = subprocess.run(
        [executable("kubernetes-validate"), "--strict", str(out / "gpu" / "k8s" / "assist.yaml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "precision, quantization, ok",
    [
        ("fp16", None, True),
        ("fp16", {"quant_method": "awq", "bits": 4}, False),  # a quantized checkpoint where fp16 was planned
        ("int4", {"quant_method": "awq", "bits": 4, "group_size": 128}, True),
        ("int4", {"quant_method": "gptq", "bits": 8}, False),
        ("int4", None, False),
        (
            "int8",
            {
                "quant_method": "compressed-tensors",
                "config_groups": {"group_0": {"weights": {"num_bits": 8, "type": "int"}}},
            },
            True,
        ),
    ],
)
def test_the_checkpoint_check(emitted, tmp_path, precision, quantization, ok):
    code_map = emitted[3]
    script = tmp_path / "check_checkpoint.py"
    script.write_text(code_map["data"]["check_checkpoint.py"])
    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    config = {"architectures": ["LlamaForCausalLM"], **({"quantization_config": quantization} if quantization else {})}
    (checkpoint / "config.json").write_text(json.dumps(config))
    result = subprocess.run([sys.executable, str(script), str(checkpoint), precision], capture_output=True, text=True)
    assert (result.returncode == 0) == ok, result.stderr
    if not ok:
        assert f"the plan serves it at {precision}" in result.stderr


class StandInVllm(ThreadingHTTPServer):
    """vLLM's OpenAI-compatible API on 127.0.0.1: a streamed answer, token by token, or a stall."""

    def __init__(self):
        self.requests: list[dict] = []
        self.stall = 0.0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                try:
                    self._answer()
                except BrokenPipeError:  # the gateway gave up waiting (the timeout test)
                    pass

            def _answer(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                time.sleep(outer.stall)
                if self.path != "/v1/chat/completions":
                    self.send_response(404)
                    self.end_headers()
                    return
                if not body.get("stream"):
                    data = json.dumps({"choices": [{"message": {"content": "hello world"}}]}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for word in ("hello", " world"):
                    chunk = {"choices": [{"delta": {"content": word}}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(0.3)
                self.wfile.write(b"data: [DONE]\n\n")

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


def _gateway(emitted, tmp_path, monkeypatch, server_url, timeout_ms=None):
    """The emitted gateway as the pod runs it (tests/test_emit_argo.py's start_gateway), optionally
    with a shorter timeout than the plan's."""
    from tests.test_emit_argo import start_gateway

    _, _, docs, code_map, _ = emitted
    config = json.loads(docs["ConfigMap"]["data"]["gateway.json"])
    if timeout_ms is not None:
        config["server_timeout_ms"] = timeout_ms
    pod = {**docs, "code": code_map, "ConfigMap": {"data": {"gateway.json": json.dumps(config)}}}
    _, server, base = start_gateway(pod, tmp_path, monkeypatch, server_url)
    return server, base, config


def _auth() -> dict:
    from tests.test_emit_argo import AUTH

    return AUTH


def _ask(base, body, timeout=10):
    from tests.test_emit_argo import AUTH

    request = urllib.request.Request(
        f"{base}/v1/chat/completions",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **AUTH},
    )
    return urllib.request.urlopen(request, timeout=timeout)


def test_the_gateway_streams_the_planned_model(emitted, tmp_path, monkeypatch):
    vllm = StandInVllm()
    server, base, config = _gateway(emitted, tmp_path, monkeypatch, vllm.url)
    try:
        start = time.perf_counter()
        with _ask(base, {"model": "gpt-4", "stream": True, "messages": [{"role": "user", "content": "hi"}]}) as r:
            assert r.headers["Content-Type"] == "text/event-stream"
            first = r.readline()
            first_s = time.perf_counter() - start
            rest = r.read()
        total_s = time.perf_counter() - start
        assert first.startswith(b"data: ") and b"hello" in first
        assert first_s < total_s - 0.2  # the first token arrived before the answer ended: streamed
        assert rest.rstrip().endswith(b"data: [DONE]")
        sent = vllm.requests[-1]
        assert sent["model"] == config["server_model"]  # the planned model, whatever the client asked for
        assert sent["max_tokens"] == 200  # the planned output as the default
        with _ask(base, {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}) as r:
            assert json.load(r)["choices"][0]["message"]["content"] == "hello world"
        assert vllm.requests[-1]["max_tokens"] == 5  # a client's own limit stands
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(
                urllib.request.Request(f"{base}/v1/chat/completions", data=b"not json", method="POST", headers=_auth()),
                timeout=5,
            )
        assert err.value.code == 400
        metrics = urllib.request.urlopen(f"{base}/metrics", timeout=5).read().decode()
        requests = [line for line in metrics.splitlines() if line.startswith("edgespec_requests_total{")]
        assert any('outcome="server"' in line and 'workload="assist"' in line for line in requests), requests
    finally:
        server.shutdown()
        server.server_close()
        vllm.shutdown()


def test_the_gateway_honours_the_planned_timeout(emitted, tmp_path, monkeypatch):
    vllm = StandInVllm()
    vllm.stall = 1.5
    server, base, _ = _gateway(emitted, tmp_path, monkeypatch, vllm.url, timeout_ms=500)
    try:
        start = time.perf_counter()
        with pytest.raises(urllib.error.HTTPError) as err:
            _ask(base, {"messages": [{"role": "user", "content": "hi"}]})
        assert err.value.code == 504 and time.perf_counter() - start < 1.4
    finally:
        server.shutdown()
        server.server_close()
        vllm.shutdown()
