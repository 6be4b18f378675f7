"""LLMs on a Jetson run in llama.cpp's server, as planned: the planner prices the GGUF type llama.cpp
stores (Q4_K_M is 4.84 bits per weight, not 4) and its KV cache; the bundle serves that file at that
type (checked against the file's own header), with the planned context, behind the router in LLM
mode. The GGUF files are written here with llama.cpp's own `gguf` package; llama-server is stood
in for by an OpenAI-compatible server (tests/test_llm_pool.py's), as no CUDA build runs here."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from edgespec import catalog
from edgespec.emit.jetson import engine_name
from tests.tools import executable, load_module

SHA = "5d41402abc4b2a76b9719d911017c592ae5f1e6d8c0b1e4f3a2b1c0d9e8f7a6b"
Q4_K_M_BITS = 4.84  # llama.cpp tools/quantize/README.md, Llama 2 7B


def llm_doc(hardware="jetson-agx-orin-64gb", params="3.2B", fmt="gguf", pattern="on-device") -> dict:
    return {
        "apiVersion": "edgespec/v1",
        "kind": "EdgeDeployment",
        "metadata": {"name": "kiosk", "version": "1.0.0"},
        "models": {
            "chat": {
                "task": "text-generation",
                "source": {"uri": "s3://m/llama-q4_k_m.gguf", "format": fmt, "sha256": SHA},
                "params": params,
                "gflops": 6.4,
                "input": {"shape": [1, 512], "dtype": "int64"},
                "accuracy": {"metric": "mmlu", "value": 0.63},
            }
        },
        "targets": {"agx": {"hardware": hardware, "jurisdiction": "us"}},
        "workloads": {
            "assist": {
                "model": "chat",
                "data_source": ["agx"],
                "latency": {"p95_ms": "20s"},
                "generation": {"prompt_tokens": 300, "output_tokens": 120},
                "privacy": {"raw_data": "device"},
                "pattern": pattern,
            }
        },
    }


def compile_and_plan(run, tmp_path: Path, doc: dict) -> tuple[Path, dict]:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, _, err = run("compile", str(path), "-o", str(tmp_path / "out"))
    assert code == 0, err
    code, text, err = run("plan", str(path), "--format", "json")
    assert code == 0, err
    return tmp_path / "out", json.loads(text)["workloads"]


def test_the_planner_prices_what_llama_cpp_holds(run, tmp_path):
    """Weights at Q4_K_M's 4.84 bits per weight (the plan's model size), and a model that fits at a
    nominal 4 bits but not at llama.cpp's storage plus its KV cache is refused for memory."""
    _, plans = compile_and_plan(run, tmp_path, llm_doc())
    chosen = plans["assist"]
    assert chosen["placements"][0]["recipe"]["precision"] == "int4"
    assert chosen["estimates"]["model_size_mb"] == pytest.approx(3.2e9 * Q4_K_M_BITS / 8 / 1e6)
    # 8B on an 8 GB Orin Nano (5.6 GB usable): 4.0 GB x 1.2 fits at 4 bits, 4.84 GB x 1.2 + KV does not
    doc = llm_doc("jetson-orin-nano-8gb", "8B")
    path = tmp_path / "nano.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, text, _ = run("plan", str(path), "--format", "json")
    workload = json.loads(text)["workloads"]["assist"]
    (int4,) = [r for r in workload["rejected"] if r["recipe"]["precision"] == "int4"]
    # 8e9 x 4.84 / 8 x 1.2 + 131 KB of KV per token x 420 tokens = 5.86 GB
    assert int4["reasons"] == ["memory: needs 5.86 GB, agx (jetson-orin-nano-8gb) has 5.60 GB usable"]


def test_a_checkpoint_llama_cpp_cannot_load_is_refused_with_the_fix(run, tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(llm_doc(fmt="safetensors"), sort_keys=False))
    code, text, _ = run("plan", str(path), "--format", "json")
    reasons = [x for r in json.loads(text)["workloads"]["assist"]["rejected"] for x in r["reasons"]]
    assert any(
        "runs LLMs in llama.cpp, which loads gguf files, not safetensors" in x and "convert_hf_to_gguf" in x
        for x in reasons
    ), reasons
    from edgespec.planner import constraints
    from edgespec.planner.device import resolve
    from edgespec.planner.types import Recipe
    from edgespec.spec.models import Target

    pool = resolve("gpu", Target.model_validate({"hardware": "aws-ec2", "region": "us-east-1"}))
    (reason,) = constraints.capability("text-generation", ("gguf",), Recipe("int4"), pool)
    assert "runs LLMs in vLLM, which loads safetensors files, not gguf" in reason and "config.json" in reason


@pytest.fixture
def bundle(run, tmp_path):
    return compile_and_plan(run, tmp_path, llm_doc())


def test_the_bundle_serves_the_planned_model(bundle):
    """Read from the artifacts: llama-server on the planned file, named as planned, with the planned
    context and one sequence at a time; the router asks for that name with the planned output as
    max_tokens and waits no less than the predicted p95; no TensorRT engine or Triton."""
    out, plans = bundle
    chosen = plans["assist"]
    p = chosen["placements"][0]
    from edgespec.planner.types import Recipe

    name = engine_name(p["model"], Recipe(p["recipe"]["precision"], p["recipe"]["prune"], p["recipe"]["variant"]))
    target = out / "agx"
    assert not (target / "Dockerfile").exists() and not (target / "model_repository").exists()
    (service,) = yaml.safe_load((target / "compose.yaml").read_text())["services"].values()
    toolchain = yaml.safe_load((Path(catalog.__file__).parent.parent / "emit" / "toolchain.yaml").read_text())
    assert service["image"] == toolchain["llama_cpp_jetson"]["image"] and service["runtime"] == "nvidia"
    command = service["command"]

    def arg(flag):
        return command[command.index(flag) + 1]

    assert command[0] == "llama-server" and arg("--model") == f"/models/{name}.gguf" and arg("--alias") == name
    assert arg("--ctx-size") == str(300 + 120) and arg("--parallel") == "1" and arg("--n-gpu-layers") == "999"
    (port,) = service["ports"]
    host_port = int(port.split(":")[1])
    assert port.startswith("127.0.0.1:") and port.endswith(":8080")
    config = json.loads((target / "router" / "assist.json").read_text())
    assert config["mode"] == "llm" and config["server_model"] == name
    assert config["server_url"] == f"http://127.0.0.1:{host_port}" and config["max_tokens"] == 120
    assert config["server_timeout_ms"] >= chosen["estimates"]["latency_ms"]["local_p95"]
    script = (target / "build_engine.sh").read_text()
    assert f"fetch s3://m/llama-q4_k_m.gguf models/{name}.gguf {SHA}\n" in script
    types = catalog._load("serving.yaml")["llama_cpp"]["accepted_file_types"]["int4"]
    assert f"python3 check_gguf.py models/{name}.gguf int4 {' '.join(map(str, types))}\n" in script
    assert "trtexec" not in script.split("fetch() {")[0]  # no TensorRT needed on an LLM-only target
    assert json.loads((target / "health.json").read_text()) == {"urls": [f"http://127.0.0.1:{host_port}/health"]}
    recipe = json.loads((target / "greengrass" / "recipe.json").read_text())
    assert recipe["ComponentConfiguration"]["DefaultConfiguration"]["HealthUrl"].endswith(f":{host_port}/health")
    assert {"URI": "s3://m/llama-q4_k_m.gguf", "Permission": {"Read": "OWNER"}} in recipe["Manifests"][0]["Artifacts"]


def test_the_bundle_passes_its_linters(bundle):
    out, _ = bundle
    target = out / "agx"
    compose = subprocess.run(
        [executable("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(target / "compose.yaml")],
        capture_output=True,
        text=True,
    )
    assert compose.returncode == 0, compose.stdout
    for script in ("build_engine.sh", "router/install.sh"):
        subprocess.run([executable("shellcheck"), str(target / script)], check=True)
    subprocess.run([sys.executable, "-m", "py_compile", str(target / "check_gguf.py")], check=True)


def write_gguf(path: Path, file_type: int | None) -> None:
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny")
    writer.add_context_length(64)
    writer.add_token_list(["<s>", "</s>", "hi"])  # an array value the reader must skip
    if file_type is not None:
        writer.add_file_type(file_type)
    writer.add_tensor("token_embd.weight", np.zeros((3, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_the_catalogs_file_types_are_llama_cpps():
    """serving.yaml's GGUF file types, against the enum in llama.cpp's own gguf package."""
    import gguf

    table = catalog._load("serving.yaml")["llama_cpp"]
    names = {"F32": "ALL_F32", "F16": "MOSTLY_F16", "Q8_0": "MOSTLY_Q8_0", "Q4_K_M": "MOSTLY_Q4_K_M"}
    for quant in table["quant_types"].values():
        assert gguf.LlamaFileType[names[quant["type"]]].value == quant["file_type"]
    accepted = {
        "fp16": {"MOSTLY_F16", "MOSTLY_BF16"},
        "int8": {"MOSTLY_Q8_0"},
        "int4": {"MOSTLY_Q4_0", "MOSTLY_Q4_1", "MOSTLY_Q4_K_S", "MOSTLY_Q4_K_M", "MOSTLY_IQ4_NL", "MOSTLY_IQ4_XS"},
    }
    for precision, members in accepted.items():
        assert sorted(table["accepted_file_types"][precision]) == sorted(gguf.LlamaFileType[m].value for m in members)


@pytest.mark.parametrize("file_type, ok", [(15, True), (2, True), (7, False), (None, False)])
def test_check_gguf_reads_the_files_own_header(bundle, tmp_path, file_type, ok):
    out, _ = bundle
    model = tmp_path / "model.gguf"
    write_gguf(model, file_type)
    types = [str(t) for t in catalog._load("serving.yaml")["llama_cpp"]["accepted_file_types"]["int4"]]
    result = subprocess.run(
        [sys.executable, str(out / "agx" / "check_gguf.py"), str(model), "int4", *types], capture_output=True, text=True
    )
    assert (result.returncode == 0) == ok, result.stderr
    if not ok:
        assert "the plan serves it at int4" in result.stderr and "llama-quantize" in result.stderr
        assert ("Q8_0" if file_type == 7 else "not recorded") in result.stderr
    (tmp_path / "not.gguf").write_bytes(b"PK\x03\x04 a zip, say")
    result = subprocess.run(
        [sys.executable, str(out / "agx" / "check_gguf.py"), str(tmp_path / "not.gguf"), "int4", *types],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "not a GGUF file" in result.stderr


def start_router(out: Path, tmp_path: Path, monkeypatch, server_url: str, timeout_ms: int | None = None):
    config = json.loads((out / "agx" / "router" / "assist.json").read_text())
    if timeout_ms is not None:
        config["server_timeout_ms"] = timeout_ms
    (tmp_path / "assist.json").write_text(json.dumps(config))
    monkeypatch.setenv("EDGESPEC_SERVER_URL", server_url)  # the stand-in instead of 127.0.0.1:8081
    module = load_module(out / "agx" / "router" / "router.py", "jetson_llm_router")
    router, server = module.serve(tmp_path / "assist.json", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}", config


def test_the_router_streams_from_the_llm_server_within_the_budget(bundle, tmp_path, monkeypatch):
    from tests.test_llm_pool import StandInVllm

    out, _ = bundle
    llama = StandInVllm()  # the same OpenAI-compatible API llama-server answers
    server, base, config = start_router(out, tmp_path, monkeypatch, llama.url)
    try:
        request = urllib.request.Request(
            f"{base}/v1/chat/completions",
            method="POST",
            headers={"Content-Type": "application/json"},
            data=json.dumps({"stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode(),
        )
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=10) as r:
            first = r.readline()
            first_s = time.perf_counter() - start
            rest = r.read()
        assert b"hello" in first and rest.rstrip().endswith(b"data: [DONE]")
        assert first_s < time.perf_counter() - start - 0.2  # streamed, not buffered
        assert llama.requests[-1]["model"] == config["server_model"] and llama.requests[-1]["max_tokens"] == 120
    finally:
        server.shutdown()
        llama.shutdown()
    stalled = StandInVllm()
    stalled.stall = 1.5
    server, base, _ = start_router(out, tmp_path, monkeypatch, stalled.url, timeout_ms=500)
    try:
        request = urllib.request.Request(
            f"{base}/v1/chat/completions",
            method="POST",
            data=json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode(),
        )
        start = time.perf_counter()
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=10)
        assert err.value.code == 504 and time.perf_counter() - start < 1.4
    finally:
        server.shutdown()
        stalled.shutdown()


def test_an_llm_cascade_on_a_jetson_is_reported_not_emitted(run, tmp_path):
    """A cascade escalates on the local answer's confidence, which a text generator does not give:
    ES606 says so, and no llama-server or router is emitted for it."""
    doc = llm_doc(pattern="cascade")
    doc["models"]["chat"]["variants"] = {
        "chat-1b": {
            "params": "1.2B",
            "gflops": 2.5,
            "accuracy": {"value": 0.5},
            "source": {"uri": "s3://m/small.gguf", "format": "gguf"},
        }
    }
    doc["models"]["chat"]["workers_ai"] = {"model": "@cf/meta/llama-3.1-8b-instruct-fp8", "accuracy": 0.68}
    doc["targets"]["cloud"] = {"hardware": "cloudflare-workers-ai", "network": {"rtt_ms": 30}}
    doc["targets"]["agx"]["network"] = {"rtt_ms": 30, "uplink_mbps": 20}
    doc["workloads"]["assist"]["escalation"] = {"to": "cloud", "confidence_below": 0.5}
    doc["workloads"]["assist"]["privacy"] = {"raw_data": "anywhere"}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, _, err = run("compile", str(path), "-o", str(tmp_path / "out"))
    assert code == 0, err
    assert "warning[ES606]: assist: agx would serve" in err and "a cascade of LLMs" in err
    assert not (tmp_path / "out" / "agx" / "compose.yaml").exists()
    assert not (tmp_path / "out" / "agx" / "router").exists()
