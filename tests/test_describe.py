"""Models describe themselves (edgespec.describe): a spec may leave out `params` and `gflops` of a
model whose source is a local ONNX file; declared values more than 10% off the file's count warn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from onnx import TensorProto, helper, save

from edgespec.pipeline import check_file
from tests.planner_helpers import model, spec

# the tiny model below: Conv 3 -> 4 channels, 3x3, bias; at [1, 3, H, W] with padding 1
WEIGHTS = 4 * 3 * 3 * 3 + 4  # kernel and bias: 112 parameters


def conv_model(path: Path, dims=(1, 3, 8, 8)) -> None:
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], np.full(108, 0.1, np.float32).tolist())
    b = helper.make_tensor("b", TensorProto.FLOAT, [4], [0.0] * 4)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [dims[0], 4, dims[2], dims[3]])],
        [w, b],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    save(m, str(path))


def macs(h: int, w: int) -> int:
    return 4 * h * w * 3 * 3 * 3  # output elements x (input channels x kernel)


def write(tmp: Path, m: dict, **variants) -> Path:
    if variants:
        m["variants"] = variants
    doc = spec(
        {"m": m},
        {"cam": {"hardware": "jetson-orin-nx-16gb", "count": 1}},
        {"w": {"model": "m", "data_source": ["cam"], "latency": {"p95_ms": 100}}},
    )
    path = tmp / "deploy.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def local(tmp: Path, shape=(1, 3, 8, 8), file_dims=(1, 3, 8, 8), **sizes) -> dict:
    (tmp / "models").mkdir(exist_ok=True)
    conv_model(tmp / "models" / "m.onnx", file_dims)
    m = model(input={"shape": list(shape), "dtype": "float32"}, **sizes)
    m["source"] = {"uri": "models/m.onnx", "format": "onnx"}
    for key in ("params", "gflops"):
        if key not in sizes:
            del m[key]
    return m


def codes(checked) -> list[tuple[str, int]]:
    return [(d.code, d.line) for d in checked.diagnostics]


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_left_out_sizes_are_counted_from_the_local_onnx_file(tmp_path):
    checked = check_file(str(write(tmp_path, local(tmp_path))))
    assert checked.spec is not None, checked.diagnostics
    m = checked.spec.models["m"]
    assert (m.params, m.gflops) == (WEIGHTS, 2 * macs(8, 8) / 1e9)


def test_the_count_is_at_the_declared_input_when_the_file_leaves_dimensions_open(tmp_path):
    checked = check_file(str(write(tmp_path, local(tmp_path, shape=(1, 3, 16, 16), file_dims=("N", 3, "H", "W")))))
    assert checked.spec is not None, checked.diagnostics
    assert checked.spec.models["m"].gflops == 2 * macs(16, 16) / 1e9


def test_a_left_out_size_plans(tmp_path, run):
    code, out, err = run("plan", str(write(tmp_path, local(tmp_path))))
    assert code == 0, err
    assert "w " in out and "on-device" in out


def test_declared_sizes_more_than_ten_percent_off_the_file_warn_at_the_value(tmp_path):
    path = write(tmp_path, local(tmp_path, params=WEIGHTS * 2, gflops=2 * macs(8, 8) / 1e9 * 1.05))
    checked = check_file(str(path))
    assert checked.spec is not None  # a warning: the declared value is used
    assert codes(checked) == [("ES322", line_of(path, "params:"))]
    (d,) = checked.diagnostics
    assert "counts 112 " in d.message and "100% apart" in d.message and "declare params: 112," in (d.hint or "")
    assert checked.spec.models["m"].params == WEIGHTS * 2


def test_declared_sizes_within_ten_percent_say_nothing(tmp_path):
    checked = check_file(str(write(tmp_path, local(tmp_path, params=WEIGHTS * 1.08, gflops=2 * macs(8, 8) / 1e9))))
    assert checked.diagnostics == []


def test_a_size_that_cannot_be_counted_is_an_error_at_the_model(tmp_path):
    remote = model()
    del remote["params"]
    path = write(tmp_path, remote)
    checked = check_file(str(path))
    assert checked.spec is None
    assert codes(checked) == [("ES321", line_of(path, "  m:"))]
    assert "s3://m/model.onnx is not a local file" in checked.diagnostics[0].message


def test_a_missing_local_file_is_named(tmp_path):
    m = local(tmp_path)
    m["source"]["uri"] = "models/absent.onnx"
    checked = check_file(str(write(tmp_path, m)))
    assert [d.code for d in checked.diagnostics] == ["ES321"] and "absent.onnx" in checked.diagnostics[0].message


def test_a_file_that_is_not_onnx_is_named(tmp_path):
    m = local(tmp_path)
    (tmp_path / "models" / "m.onnx").write_bytes(b"not a model")
    checked = check_file(str(write(tmp_path, m)))
    assert [d.code for d in checked.diagnostics] == ["ES321"] and "not a readable ONNX model" in checked.diagnostics[
        0
    ].message


def test_text_generation_sizes_are_declared(tmp_path):
    m = local(tmp_path)
    m["task"] = "text-generation"
    checked = check_file(str(write(tmp_path, m)))
    assert "ES321" in [d.code for d in checked.diagnostics]
    assert any("per-token FLOPs are declared" in d.message for d in checked.diagnostics)


def test_a_variant_without_its_own_source_declares_its_sizes(tmp_path):
    small = {"accuracy": {"value": 0.8}}
    path = write(tmp_path, model(), small=small)
    checked = check_file(str(path))
    assert [d.code for d in checked.diagnostics] == ["ES321"]
    assert "no `source` of its own" in checked.diagnostics[0].message


def test_the_op_class_is_read_from_the_file_else_the_tasks_usual_one(tmp_path):
    checked = check_file(str(write(tmp_path, local(tmp_path))))
    assert checked.spec is not None and checked.spec.models["m"].op_class == "dense"  # one dense Conv
    remote = model(task="object-detection")
    checked = check_file(str(write(tmp_path, remote)))
    assert checked.spec is not None and checked.spec.models["m"].op_class == "detector"  # the task's usual one
    declared = local(tmp_path)
    declared["op_class"] = "hybrid"
    checked = check_file(str(write(tmp_path, declared)))
    assert checked.spec is not None and checked.spec.models["m"].op_class == "hybrid"  # declared wins
