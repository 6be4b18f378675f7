"""Jetson bundles: accepted by hadolint, shellcheck, bash -n, the compose-spec schema and Triton's
own model-config protobuf; engine flags follow the recipe; the build script runs for real."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, check_golden, compile_to
from tests.planner_helpers import model, spec, video_analytics
from tests.tools import executable, load_module

FLAGSHIP = str(ROOT / "examples" / "store-vision.yaml")


@pytest.fixture
def flagship(tmp_path) -> Path:
    return compile_to(FLAGSHIP, tmp_path / "out")


def compile_doc(run, tmp_path, doc) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "out"
    code, _, err = run("compile", str(path), "-o", str(out))
    assert code == 0, err
    return out


def test_golden(flagship):
    """Reviewed like code; refresh with EDGESPEC_UPDATE_GOLDEN=1."""
    check_golden(flagship, "store-vision")


def test_dockerfile_passes_hadolint(flagship):
    result = subprocess.run(
        [executable("hadolint"), "--failure-threshold", "error", str(flagship / "store-orin" / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def test_scripts_pass_shellcheck_and_bash_n(flagship):
    scripts = sorted(str(p) for p in flagship.rglob("*.sh"))  # every shell script of the compiled output
    assert {Path(s).relative_to(flagship).as_posix() for s in scripts} == {
        "store-orin/build_engine.sh",
        "store-orin/power-mode.sh",
        "store-orin/router/install.sh",
        "checkout-tpu/setup_host.sh",
        "checkout-tpu/router/install.sh",
        "store-orin/otel/install.sh",
        "checkout-tpu/otel/install.sh",
    }
    result = subprocess.run([executable("shellcheck"), *scripts], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    for script in scripts:
        subprocess.run(["bash", "-n", script], check=True)
        assert os.access(script, os.X_OK)


def test_compose_matches_the_compose_spec(flagship):
    compose = flagship / "store-orin" / "compose.yaml"
    result = subprocess.run(
        [executable("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(compose)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    service = yaml.safe_load(compose.read_text())["services"]["triton"]
    assert service["runtime"] == "nvidia" and service["restart"] == "unless-stopped"
    assert service["labels"]["com.edgespec.power-mode"] == "25W"
    assert "healthcheck" in service
    assert service["pull_policy"] == "build"  # built from the bundle, never pulled from a registry
    assert all(p.startswith("127.0.0.1:") for p in service["ports"])  # Triton is not exposed off the device


def test_config_pbtxt_parses_with_tritons_protobuf(flagship):
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    configs = sorted(flagship.rglob("config.pbtxt"))
    assert configs
    for path in configs:
        config = text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())
        assert config.platform == "tensorrt_plan" and config.name == path.parent.name
        assert config.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_GPU


def _jetson_doc(gflops: float = 8.7, **workload) -> dict:
    return spec(
        {
            "det": model(
                "object-detection",
                "3M",
                gflops,
                0.6,
                input={"shape": [1, 3, 640, 640], "dtype": "float32", "name": "images"},
            )
        },
        {"cam": {"hardware": "jetson-agx-orin-64gb", "count": 10}},
        {"w": {"model": "det", "data_source": ["cam"], "latency": {"p95_ms": 100}, **workload}},
    )


def _trtexec_flags(out: Path) -> list[str]:
    script = (out / "cam" / "build_engine.sh").read_text()
    return [
        line.strip().rstrip(" \\")
        for line in script.split('"$TRTEXEC"', 1)[1].splitlines()[1:]
        if line.strip().startswith("--")
    ]


def test_fp16_on_dla_with_dynamic_batching(run, tmp_path):
    out = compile_doc(
        run,
        tmp_path,
        _jetson_doc(
            gflops=60, throughput={"rps": 45}, objective="energy", optimize={"precision": "fp16", "prune": "none"}
        ),
    )
    flags = _trtexec_flags(out)
    name = next((out / "cam" / "model_repository").iterdir()).name
    assert "--fp16" in flags and "--int8" not in flags
    if name.endswith("-dla"):
        assert {"--useDLACore=0", "--allowGPUFallback"} <= set(flags)
    # 45 rps x 100 ms budget = 4.5 requests per window -> batches of up to 8, shapes 1..8
    assert "--maxShapes=images:8x3x640x640" in flags and "--minShapes=images:1x3x640x640" in flags
    config = (out / "cam" / "model_repository" / name / "config.pbtxt").read_text()
    assert "max_batch_size: 8" in config and "dynamic_batching {" in config
    assert any(f.startswith("--memPoolSize=workspace:") for f in flags)


def test_int8_is_built_from_the_declared_calibration_cache(run, tmp_path):
    """The spec's cache is fetched and verified, then given to trtexec; without one the planner
    does not choose int8 for a TensorRT engine, and says what to declare."""
    doc = _jetson_doc(optimize={"precision": "int8", "prune": "none"})
    doc["models"]["det"]["calibration"] = {"uri": "s3://m/det-500-frames.cache", "sha256": "ab" * 32}
    out = compile_doc(run, tmp_path, doc)
    flags = _trtexec_flags(out)
    assert "--int8" in flags and any(f.startswith("--calib=calibration/det-int8") for f in flags)
    script = (out / "cam" / "build_engine.sh").read_text()
    assert f"fetch s3://m/det-500-frames.cache calibration/det-int8.cache {'ab' * 32}\n" in script
    assert "polygraphy convert" in (out / "cam" / "README.md").read_text()
    del doc["models"]["det"]["calibration"]
    path = tmp_path / "uncalibrated.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, text, _ = run("plan", str(path), "--format", "json")
    workload = json.loads(text)["workloads"]["w"]
    assert workload["chosen"] is None if "chosen" in workload else not workload["placements"]
    reasons = [x for r in workload["rejected"] for x in r["reasons"]]
    assert any(
        "int8 on jetson-agx-orin-64gb is a TensorRT engine built from a calibration cache; declare `calibration:`" in x
        for x in reasons
    ), reasons


def stand_ins(tmp_path: Path, aws: str, trtexec: str, **env: str) -> dict:
    """An environment whose `aws` and trtexec are the given bash bodies (the real ones need AWS and a GPU)."""
    fake = tmp_path / "bin"
    fake.mkdir()
    for name, body in (("aws", aws), ("trtexec", trtexec)):
        (fake / name).write_text(f"#!/usr/bin/env bash\n{body}\n")
        (fake / name).chmod(0o755)
    return {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "TRTEXEC": str(fake / "trtexec"), **env}


def test_build_script_runs_and_passes_hostile_uris_as_one_argument(run, tmp_path):
    doc = _jetson_doc(optimize={"precision": "fp16", "prune": "none"})
    hostile = 's3://bucket/"$(touch${IFS}PWNED)";touch${IFS}PWNED2;`touch${IFS}PWNED3`\'\\n.onnx'
    doc["models"]["det"]["source"]["uri"] = hostile
    out = compile_doc(run, tmp_path, doc)
    env = stand_ins(
        tmp_path,
        aws='printf "%s\\n" "$@" > "$AWS_ARGS"; echo onnx > "${@: -1}"',
        trtexec='printf "%s\\n" "$@" > "$TRT_ARGS"',
        AWS_ARGS=str(tmp_path / "aws.args"),
        TRT_ARGS=str(tmp_path / "trt.args"),
    )
    result = subprocess.run(
        ["bash", str(out / "cam" / "build_engine.sh")], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "aws.args").read_text().splitlines()[3] == hostile  # s3 cp --only-show-errors URI DEST
    assert not list(tmp_path.rglob("PWNED*")) and not list(out.rglob("PWNED*"))
    trt = (tmp_path / "trt.args").read_text().splitlines()
    assert "--fp16" in trt and any(a.startswith("--saveEngine=model_repository/det-fp16") for a in trt)


def test_sha256_is_verified_before_building(run, tmp_path):
    doc = _jetson_doc(optimize={"precision": "fp16", "prune": "none"})
    doc["models"]["det"]["source"]["sha256"] = "0" * 64
    out = compile_doc(run, tmp_path, doc)
    env = stand_ins(
        tmp_path, aws='echo tampered > "${@: -1}"', trtexec='touch "$TRT_RAN"', TRT_RAN=str(tmp_path / "trt.ran")
    )
    result = subprocess.run(
        ["bash", str(out / "cam" / "build_engine.sh")], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr
    assert not (tmp_path / "trt.ran").exists()


def test_split_heads_are_reported_not_emitted(run, tmp_path):
    doc = video_analytics()
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, _, err = run("compile", str(path), "-o", str(tmp_path / "out"), "--format", "text")
    assert "warning[ES605]: analytics: cam runs part of detector (split)" in err


def test_on_device_gateway_fronts_the_local_triton(tmp_path, monkeypatch):
    """An on-device workload on a Jetson gets the router in server mode in front of the device's
    Triton (engine name from the model repository), reporting the rollback signals."""
    import threading

    from tests.kserve_stub import StandInTriton
    from tests.test_router import CONFIDENT, post, scrape, tiny_onnx

    out = compile_to(FLAGSHIP, tmp_path / "out")
    router_dir = out / "store-orin" / "router"
    config = json.loads((router_dir / "shelf-monitoring.json").read_text())
    assert config["mode"] == "server" and config["server_url"] == "http://127.0.0.1:8000"
    assert (out / "store-orin" / "model_repository" / config["server_model"] / "config.pbtxt").is_file()
    tiny_onnx(tmp_path / "tiny.onnx")
    triton = StandInTriton(tmp_path / "tiny.onnx", config["server_model"])
    monkeypatch.setenv("EDGESPEC_SERVER_URL", triton.url)
    module = load_module(router_dir / "router.py", "jetson_gateway")
    router, server = module.serve(router_dir / "shelf-monitoring.json", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        status, body = post(base, CONFIDENT)
        assert status == 200 and body["source"] == "server" and body["confidence"] > 0.99
        metrics = scrape(base)
    finally:
        server.shutdown()
        server.server_close()
        triton.stop()
    package = json.loads((out / "store-orin" / "package.json").read_text())["package"]
    assert metrics.labels == {"workload": {"shelf-monitoring"}, "target": {"store-orin"}, "package": {package}}
    assert metrics("edgespec_package_info", mode="server") == 1
    assert metrics("edgespec_requests_total", outcome="server") == 1


def test_an_llm_gets_no_cnn_engine(run, tmp_path):
    """An int4 Llama on a Jetson is not compiled like a CNN (a trtexec engine and a Triton
    tensorrt_plan cannot generate text): it runs in llama.cpp's server from its GGUF file
    (tests/test_jetson_llm.py); on a GPU pool vLLM runs the checkpoint (tests/test_llm_pool.py)."""
    base = {
        "apiVersion": "edgespec/v1",
        "kind": "EdgeDeployment",
        "metadata": {"name": "llm", "version": "1.0.0"},
        "models": {
            "chat": {
                "task": "text-generation",
                "source": {"uri": "s3://m/llama", "format": "safetensors"},
                "params": "8B",
                "gflops": 16,
                "input": {"shape": [1, 512], "dtype": "int64"},
                "accuracy": {"metric": "mmlu", "value": 0.66},
            }
        },
        "workloads": {
            "assist": {
                "model": "chat",
                "data_source": ["agx"],
                "latency": {"p95_ms": 60000},
                "generation": {"prompt_tokens": 100, "output_tokens": 50},
            }
        },
    }
    device = {
        **base,
        "targets": {"agx": {"hardware": "jetson-agx-orin-64gb", "jurisdiction": "us"}},
        "models": {"chat": {**base["models"]["chat"], "source": {"uri": "s3://m/llama.gguf", "format": "gguf"}}},
    }
    pool = {
        **base,
        "targets": {
            "agx": {
                "hardware": "client",
                "count": 100,
                "jurisdiction": "us",
                "network": {"rtt_ms": 20, "uplink_mbps": 50},
            },
            "gpu": {
                "hardware": "aws-ec2",
                "region": "us-east-1",
                "instance_type": "g6e.xlarge",
                "network": {"rtt_ms": 20},
            },
        },
    }
    for name, doc, expected in (
        (
            "device",
            device,
            [
                "agx/README.md",
                "agx/build_engine.sh",
                "agx/check_gguf.py",
                "agx/compose.yaml",
                "agx/greengrass/README.md",
                "agx/greengrass/create-deployment.json",
                "agx/greengrass/deploy.py",
                "agx/greengrass/greengrass.yaml",
                "agx/greengrass/recipe.json",
                "agx/health.json",
                "agx/health.py",
                "agx/package.json",
                "agx/power-mode.sh",
                "agx/router/assist.json",
                "agx/router/edgespec-router-assist.service",
                "agx/router/install.sh",
                "agx/router/requirements.txt",
                "agx/router/router.py",
                "edgespec.lock.json",
            ],
        ),
        ("pool", pool, ["edgespec.lock.json", "gpu/cloudformation.yaml"]),
    ):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        out = tmp_path / name
        code, _, err = run("compile", str(path), "-o", str(out))
        assert code == 0 and "ES606" not in err and "ES601" not in err, err
        emitted = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
        assert emitted == expected, emitted
        scripts = "".join(p.read_text() for p in out.rglob("*.sh"))
        assert "trtexec" not in scripts.replace("# Generated", "").split("fetch() {")[0]
        assert not list(out.rglob("config.pbtxt"))
