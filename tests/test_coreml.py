"""Apple targets (issue 17, point 2): a Core ML bundle per Apple target that builds what the plan
chose. The emitted convert_coreml.py runs for real (PyTorch and Core ML Tools 9 in .venv-coreml,
which scripts/test.sh installs from the bundle's own requirements-convert.txt) on a tiny model
this test builds, from TorchScript and from a torch.export program; the saved .mlpackage is read
back and must hold the planned deployment target, input, output, weight precision and metadata.
Core ML runs a model only on macOS: prediction is the one step skipped here, and says so. The
Swift package is parsed with tree-sitter's Swift grammar (no Swift compiler installs on Linux
from the registries this project uses)."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from edgespec import catalog
from edgespec.kinds import apple
from tests.conftest import ROOT

COREML_VENV = Path(os.environ.get("EDGESPEC_COREML_VENV", ROOT / ".venv-coreml"))
PROBE = ROOT / "tests" / "coreml_probe.py"
SPEC = {
    "apiVersion": "edgespec/v1",
    "kind": "EdgeDeployment",
    "metadata": {"name": "leafy", "version": "1.2.0"},
    "models": {
        "tiny": {
            "task": "image-classification",
            "source": {"uri": "s3://m/tiny.pt", "format": "torchscript"},
            "params": "0.01M",
            "gflops": 0.01,
            "input": {"shape": [1, 3, 16, 16], "dtype": "float32"},
            "accuracy": {"metric": "top1", "value": 0.9},
        }
    },
    "targets": {"phone": {"hardware": "apple-a17-pro", "count": 1000, "jurisdiction": "us"}},
    "workloads": {
        "look": {"model": "tiny", "data_source": ["phone"], "latency": {"p95_ms": 100}, "pattern": "on-device"}
    },
}


def spec_with(precision: str | None = None, fmt: str = "torchscript", hardware: str = "apple-a17-pro") -> dict:
    spec = copy.deepcopy(SPEC)
    spec["models"]["tiny"]["source"]["format"] = fmt
    spec["targets"]["phone"]["hardware"] = hardware
    if precision:
        spec["workloads"]["look"]["optimize"] = {"precision": precision, "prune": "none"}
    return spec


def compile_spec(tmp: Path, spec: dict, *args: str) -> subprocess.CompletedProcess:
    (tmp / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return subprocess.run(
        [sys.executable, "-m", "edgespec", "compile", str(tmp / "spec.yaml"), "-o", str(tmp / "out"), *args],
        capture_output=True,
        text=True,
    )


def plan_of(tmp: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "edgespec", "plan", str(tmp / "spec.yaml"), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def swift_errors(source: bytes) -> list[tuple]:
    import tree_sitter
    import tree_sitter_swift

    tree = tree_sitter.Parser(tree_sitter.Language(tree_sitter_swift.language())).parse(source)
    found, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            found.append((node.start_point, node.type))
        stack.extend(node.children)
    return found


# -- the bundle ------------------------------------------------------------------------------------
def test_the_example_app_compiles_a_core_ml_bundle_for_its_phones(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "edgespec", "compile", str(ROOT / "examples" / "crop-doctor.yaml"), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "ES602" not in result.stderr
    config = json.loads((out / "phones" / "coreml.json").read_text())
    plan = json.loads(
        subprocess.run(
            [sys.executable, "-m", "edgespec", "plan", str(ROOT / "examples" / "crop-doctor.yaml"), "--format", "json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    chosen = plan["workloads"]["diagnose"]
    (device,) = [p for p in chosen["placements"] if p["target"] == "phones"]
    (model,) = config["models"]
    # the artifact builds what the plan chose: the distilled variant, its own TorchScript, its precision
    assert (model["model"], model["precision"]) == (device["model"], device["recipe"]["precision"])
    assert model["format"] == "torchscript" and model["uri"].endswith("mobile.pt")
    assert config["minimum_deployment_target"] == "iOS16" and config["compute_units"] == "CPU_AND_NE"
    (workload,) = config["workloads"]
    assert workload["mode"] == "cascade" == chosen["pattern"]
    assert workload["confidence_below"] == 0.7 and workload["remote_target"] == "cloud"
    assert workload["input"]["encoding"] == "jpeg"  # escalation forwards the photo, as the plan's uplink figure counts
    package = (out / "phones" / "EdgespecRuntime" / "Package.swift").read_text()
    assert package.startswith("// swift-tools-version:5.9\n")  # SwiftPM reads the first line
    assert "platforms: [.iOS(.v16)]" in package
    assert (out / "cloud" / "cloudformation.yaml").exists()  # the cascade's remote tier


def test_the_swift_package_parses_and_the_check_can_fail(tmp_path):
    assert compile_spec(tmp_path, spec_with()).returncode == 0
    sources = sorted((tmp_path / "out" / "phone" / "EdgespecRuntime").rglob("*.swift"))
    assert [p.name for p in sources] == [
        "Package.swift",
        "EdgespecBenchmark.swift",
        "EdgespecRuntime.swift",
        "EdgespecTelemetry.swift",
    ]
    for path in sources:
        assert swift_errors(path.read_bytes()) == [], path
    assert swift_errors(b"public final class Broken { func f( { }") != []
    runtime = (sources[2]).read_text()
    # the compute units the plan's figures assume, and the typed call through the converted model
    assert "configuration.computeUnits = computeUnits" in runtime and ".cpuAndNeuralEngine" in runtime
    assert '"input": MLFeatureValue(multiArray: input)' in runtime and 'featureValue(for: "output")' in runtime
    # the benchmark harness times the same models with the same compute units, and writes records
    bench = (sources[1]).read_text()
    assert "configuration.computeUnits = settings.computeUnits" in bench
    assert '"schema": "edgespec-measurement/v1"' in bench and '"hardware": settings.hardware' in bench


def test_hostile_strings_stay_data(tmp_path):
    """Names are DNS labels (ES207); a URI is the free text that reaches this bundle: it stays data in
    coreml.json, escaped Markdown in the README, and nowhere in the code."""
    spec = spec_with()
    hostile = 'https://m.example.com/x.pt?q=");exit(1);//`id`|'
    spec["models"]["tiny"]["source"]["uri"] = hostile
    assert compile_spec(tmp_path, spec).returncode == 0
    bundle = tmp_path / "out" / "phone"
    assert json.loads((bundle / "coreml.json").read_text())["models"][0]["uri"] == hostile
    assert "exit(1);//\\`id\\`\\|" in (bundle / "README.md").read_text()
    code = [bundle / "convert_coreml.py", *(bundle / "EdgespecRuntime").rglob("*.swift")]
    for path in code:
        assert "exit(1)" not in path.read_text(), path
    assert all(swift_errors(p.read_bytes()) == [] for p in code[1:])


def test_onnx_on_apple_is_refused_at_the_workload_with_the_fix(tmp_path):
    result = compile_spec(tmp_path, spec_with(fmt="onnx"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "error[ES501]" in result.stderr and "spec.yaml:" in result.stderr
    assert "cannot load onnx models" in result.stderr and "torch.jit.trace" in result.stderr
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_a_split_on_apple_is_reported_not_emitted(tmp_path):
    spec = spec_with()
    spec["targets"]["cloud"] = {
        "hardware": "aws-ec2",
        "region": "us-east-1",
        "instance_type": "g4dn.xlarge",
        "scaling": {"max": 2},
    }
    spec["models"]["tiny"]["split_points"] = [{"name": "conv", "activation_bytes": 4096, "flops_fraction": 0.5}]
    # the phone's head from TorchScript (Core ML), the pool's tail from ONNX (TensorRT)
    spec["models"]["tiny"]["source"] = [
        spec["models"]["tiny"]["source"],
        {"uri": "s3://m/tiny.onnx", "format": "onnx"},
    ]
    spec["workloads"]["look"] |= {"pattern": "split", "privacy": {"raw_data": "device", "features": "anywhere"}}
    result = compile_spec(tmp_path, spec)
    assert "ES605" in result.stderr, result.stderr
    assert not (tmp_path / "out" / "phone" / "coreml.json").exists()


@pytest.mark.parametrize("hardware", sorted(h for h, e in catalog.hardware().items() if e["kind"] == "apple"))
def test_every_apple_chip_has_a_sourced_deployment_target(hardware):
    figure = catalog.hardware()[hardware]["coreml_target"]
    assert figure["value"] in apple.SPEC_VERSION and figure["source"].startswith("https://")


# -- the conversion, run for real --------------------------------------------------------------------
def coreml_python() -> Path:
    python = COREML_VENV / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: scripts/test.sh installs tools/requirements-coreml.txt there")
    return python


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    subprocess.run([str(coreml_python()), str(PROBE), "build", str(folder)], check=True, capture_output=True)
    return folder


def convert(tmp: Path, spec: dict, tiny: Path) -> tuple[Path, dict, subprocess.CompletedProcess]:
    assert compile_spec(tmp, spec).returncode == 0
    bundle = tmp / "out" / "phone"
    config = json.loads((bundle / "coreml.json").read_text())
    (bundle / "models").mkdir()
    for model in config["models"]:
        suffix = ".pt" if model["format"] == "torchscript" else ".pt2"
        (bundle / "models" / model["file"]).write_bytes((tiny / f"tiny{suffix}").read_bytes())
    result = subprocess.run(
        [str(coreml_python()), "convert_coreml.py"], cwd=bundle, capture_output=True, text=True, timeout=600
    )
    return bundle, config, result


def inspect(package: Path) -> dict:
    result = subprocess.run(
        [str(coreml_python()), str(PROBE), "inspect", str(package)], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def data_digest(package: Path) -> str:
    """The model and weights (Data/), not Manifest.json, whose item ids Core ML makes random."""
    digest = hashlib.sha256()
    for path in sorted((package / "Data").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


WEIGHT_OPS = {"fp16": set(), "int8": {"constexpr_affine_dequantize"}, "int4": {"constexpr_lut_to_dense"}}


@pytest.mark.slow
@pytest.mark.parametrize(
    "precision,fmt,hardware",
    [("fp16", "torchscript", "apple-a17-pro"), ("int8", "pt2", "apple-a14"), ("int4", "torchscript", "apple-m4")],
)
def test_the_conversion_builds_what_the_plan_chose(tmp_path, tiny_models, precision, fmt, hardware):
    bundle, config, result = convert(tmp_path, spec_with(precision, fmt, hardware), tiny_models)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    plan = plan_of(tmp_path)
    (placement,) = plan["workloads"]["look"]["placements"]
    (model,) = config["models"]
    got = inspect(bundle / "build" / f"{model['name']}.mlpackage")
    os_target = catalog.hardware()[hardware]["coreml_target"]["value"]
    assert got["specification_version"] == apple.SPEC_VERSION[os_target]
    assert got["inputs"] == {"input": [1, 3, 16, 16]} and got["outputs"] == ["output"]
    assert placement["recipe"]["precision"] == precision
    weight_ops = {op for op in got["op_types"] if op.startswith("constexpr_")}
    assert weight_ops == WEIGHT_OPS[precision], got["op_types"]
    meta = got["metadata"]
    assert meta["edgespec.model"] == placement["model"] == "tiny"
    assert meta["edgespec.precision"] == precision and meta["edgespec.hardware"] == hardware
    assert meta["edgespec.compute_units"] == "CPU_AND_NE" and meta["edgespec.deployment"] == "leafy"
    assert got["version"] == "1.2.0" and got["author"] == "edgespec"
    assert "com.github.apple.coremltools.conversion_date" not in meta  # same source, same bytes


@pytest.mark.slow
def test_converting_twice_writes_the_same_model_and_weights(tmp_path, tiny_models):
    bundle, config, result = convert(tmp_path, spec_with("int8"), tiny_models)
    assert result.returncode == 0, result.stderr[-3000:]
    package = bundle / "build" / f"{config['models'][0]['name']}.mlpackage"
    first = data_digest(package)
    again = subprocess.run([str(coreml_python()), "convert_coreml.py"], cwd=bundle, capture_output=True, text=True)
    assert again.returncode == 0 and data_digest(package) == first


@pytest.mark.slow
def test_a_model_file_that_is_not_the_declared_one_is_refused(tmp_path, tiny_models):
    spec = spec_with()
    spec["models"]["tiny"]["source"]["sha256"] = "0" * 64
    bundle, config, result = convert(tmp_path, spec, tiny_models)
    assert result.returncode == 1 and "does not match the spec's sha256" in result.stderr
    assert not (bundle / "build").exists()


def test_prediction_needs_macos():
    """Core ML's runtime (and coremltools' predict) exists only on macOS; on Linux only this is skipped."""
    if platform.system() != "Darwin":
        pytest.skip("Core ML runs models only on macOS; conversion and the saved package are tested above")
    pytest.fail("on macOS, run the converted model with coremltools' predict here")  # not reached on CI


def test_the_requirements_the_bundle_names_are_the_ones_tested(tmp_path):
    assert compile_spec(tmp_path, spec_with()).returncode == 0
    assert (tmp_path / "out" / "phone" / "requirements-convert.txt").read_bytes() == (
        ROOT / "tools" / "requirements-coreml.txt"
    ).read_bytes()
