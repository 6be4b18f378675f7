"""Models describe themselves (issue 18, point 5, in part): `edgespec inspect` counts parameters,
multiply-accumulates and the op mix of ONNX graphs the tests build, against counts worked out by
hand below."""

from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgespec import introspect
from tests.test_coral_convert import tiny_cnn


def _save(path, nodes, inputs, outputs, weights):
    graph = helper.make_graph(nodes, "g", inputs, outputs, weights)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))


def _w(name, shape):
    return numpy_helper.from_array(np.zeros(shape, np.float32), name)


def test_the_tiny_cnn_counted_by_hand(tmp_path):
    """Conv 3x3, 3 -> 8 channels, padded, on 32x32: 8 x 32 x 32 outputs x 27 = 221,184 MACs; MatMul
    [1,8] x [8,4]: 32. Parameters: 216 + 8 + 32 = 256."""
    path = tmp_path / "tiny.onnx"
    tiny_cnn(path)
    counted = introspect.count(path)
    assert counted.params == 256
    assert counted.macs_by_op == {"Conv": 221_184, "MatMul": 32}
    assert counted.macs == 221_216 and counted.gflops == 2 * 221_216 / 1e9
    assert counted.ops == {"Conv": 1, "Relu": 1, "GlobalAveragePool": 1, "Flatten": 1, "MatMul": 1, "Softmax": 1}
    assert counted.npu_unmapped == {} and counted.symbolic_dims == ()


def test_grouped_and_transposed_convolutions_gemm_and_batched_matmul(tmp_path):
    path = tmp_path / "mix.onnx"
    nodes = [
        # depthwise 3x3 on [1,4,8,8], stride 1, pad 1: 4 x 8 x 8 outputs x (1 x 9) = 2,304
        helper.make_node("Conv", ["x", "dw"], ["d"], group=4, pads=[1, 1, 1, 1]),
        # transposed 2x2 stride 2, 4 -> 2 channels: 4 x 8 x 8 inputs x (2 x 4) = 2,048
        helper.make_node("ConvTranspose", ["d", "up"], ["u"], strides=[2, 2]),
        helper.make_node("Flatten", ["u"], ["f"]),  # [1, 2 x 16 x 16 = 512]
        # Gemm with A transposed: A^T [1,512] x B [512,10]: 10 x 512 = 5,120
        helper.make_node("Transpose", ["f"], ["ft"]),
        helper.make_node("Gemm", ["ft", "g"], ["y"], transA=1),
        # batched attention-style MatMul: [N,3,5,6] x [N,3,6,7] -> [N,3,5,7]: 105 x 6 = 630 (N counts as 1)
        helper.make_node("MatMul", ["q", "k"], ["s"]),
        helper.make_node("NonZero", ["s"], ["nz"]),  # not an NPU op
    ]
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8]),
        helper.make_tensor_value_info("q", TensorProto.FLOAT, ["N", 3, 5, 6]),
        helper.make_tensor_value_info("k", TensorProto.FLOAT, ["N", 3, 6, 7]),
    ]
    outputs = [
        helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10]),
        helper.make_tensor_value_info("nz", TensorProto.INT64, [4, "nonzero"]),
    ]
    _save(path, nodes, inputs, outputs, [_w("dw", (4, 1, 3, 3)), _w("up", (4, 2, 2, 2)), _w("g", (512, 10))])
    counted = introspect.count(path)
    assert counted.macs_by_op == {"Conv": 2_304, "ConvTranspose": 2_048, "Gemm": 5_120, "MatMul": 630}
    assert counted.params == 36 + 32 + 5_120
    assert counted.symbolic_dims == ("N", "nonzero")  # counted as 1, and said
    assert counted.npu_unmapped == {"NonZero": 1} and counted.npu_unmapped_share == 1 / 7


def test_inspect_on_the_command_line(run, tmp_path):
    path = tmp_path / "tiny.onnx"
    tiny_cnn(path)
    code, out, _ = run("inspect", str(path), "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert (report["params"], report["macs"], report["gflops"]) == (256, 221_216, 0.000442)
    code, out, _ = run("inspect", str(path))
    assert code == 0 and "params: 256" in out and "Conv: 221,184 (100.0%)" in out


def test_a_file_that_is_not_a_model_is_refused_without_a_traceback(run, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model\n")
    code, _, err = run("inspect", str(bad))
    assert code == 1 and "not a readable ONNX model" in err and "Traceback" not in err


def test_the_op_class_follows_the_ops(tmp_path):
    """The estimator's op class from the graph: the tiny CNN is dense; two depthwise convolutions
    make a depthwise model; a MatMul of two activations is attention (a transformer, or a hybrid
    where convolutions do most of the work); NonMaxSuppression is a detector."""
    tiny = tmp_path / "tiny.onnx"
    tiny_cnn(tiny)
    assert introspect.count(tiny).op_class == "dense"

    dw = tmp_path / "dw.onnx"
    _save(
        dw,
        [
            helper.make_node("Conv", ["x", "w1"], ["a"], group=4, pads=[1, 1, 1, 1]),
            helper.make_node("Conv", ["a", "w2"], ["b"], group=4, pads=[1, 1, 1, 1]),
        ],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 4, 8, 8])],
        [_w("w1", (4, 1, 3, 3)), _w("w2", (4, 1, 3, 3))],
    )
    counted = introspect.count(dw)
    assert (counted.depthwise_nodes, counted.attention_macs, counted.op_class) == (2, 0, "depthwise")

    attention = tmp_path / "attn.onnx"
    _save(
        attention,
        [
            helper.make_node("MatMul", ["x", "wq"], ["q"]),  # a projection: weights, not attention
            helper.make_node("Transpose", ["q"], ["qt"], perm=[0, 2, 1]),
            helper.make_node("MatMul", ["q", "qt"], ["s"]),  # [1,6,8] x [1,8,6]: 36 x 8 = 288
        ],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 8])],
        [helper.make_tensor_value_info("s", TensorProto.FLOAT, [1, 6, 6])],
        [_w("wq", (8, 8))],
    )
    counted = introspect.count(attention)
    assert (counted.attention_macs, counted.op_class) == (288, "transformer")

    detector = tmp_path / "det.onnx"
    _save(
        detector,
        [helper.make_node("NonMaxSuppression", ["boxes", "scores"], ["keep"])],
        [
            helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, 10, 4]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 1, 10]),
        ],
        [helper.make_tensor_value_info("keep", TensorProto.INT64, ["k", 3])],
        [],
    )
    assert introspect.count(detector).op_class == "detector"
