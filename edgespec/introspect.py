"""Models describe themselves: parameters, compute and op mix counted from an ONNX graph.

`edgespec inspect model.onnx` runs ONNX's shape inference, then counts multiply-accumulates where
the compute is: Conv and ConvTranspose (per output or input element, the kernel's volume times its
input channels per group), Gemm and MatMul (batched: every output element times the shared
dimension; attention exported to ONNX is MatMuls). FLOPs are 2 x MACs, as the catalog counts them.
Parameters are the elements of the floating-point initializers (integer ones are shapes and
indices). Dimensions the graph leaves symbolic (a batch `N`) count as 1, and the report says so.

The op mix is every node's op type; `npu_unmapped` lists the op types outside the set of ops
the Edge TPU compiler maps (coral.ai/docs/edgetpu/models-intro/#supported-operations, the most
restrictive NPU edgespec targets): what typical NPUs leave to the CPU, by node count.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# ONNX op types with an Edge TPU equivalent (its supported TensorFlow Lite ops, by ONNX name)
NPU_MAPPED = frozenset(
    {
        "Add",
        "AveragePool",
        "Concat",
        "Conv",
        "ConvTranspose",
        "DepthToSpace",
        "Flatten",
        "Gemm",
        "GlobalAveragePool",
        "HardSigmoid",
        "HardSwish",
        "LeakyRelu",
        "Logistic",
        "MatMul",
        "Max",
        "MaxPool",
        "Mean",
        "Min",
        "Mul",
        "Pad",
        "PRelu",
        "ReduceMax",
        "ReduceMean",
        "Relu",
        "Reshape",
        "Resize",
        "Sigmoid",
        "Slice",
        "Softmax",
        "SpaceToDepth",
        "Split",
        "Squeeze",
        "Sub",
        "Tanh",
        "Transpose",
        "Unsqueeze",
        "QuantizeLinear",
        "DequantizeLinear",
        "Clip",
        "Identity",
    }
)
FLOAT_TYPES = {1, 10, 11, 16}  # TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16


@dataclass(frozen=True)
class Counted:
    params: int
    macs: int
    ops: dict[str, int]  # op type -> nodes
    macs_by_op: dict[str, int]
    symbolic_dims: tuple[str, ...] = field(default=())  # dimensions counted as 1
    depthwise_nodes: int = 0  # Conv nodes with one input channel per group (depthwise)
    attention_macs: int = 0  # MatMuls of two activations (attention scores and their weighting)

    @property
    def op_class(self) -> str:
        """The estimator's op class (catalog/model-families.yaml) the graph's ops point at: box
        decoding with NonMaxSuppression is a detector; attention with convolutions doing most of the
        work is a hybrid, without them a transformer; depthwise convolutions make a depthwise model;
        anything else is dense."""
        if "NonMaxSuppression" in self.ops:
            return "detector"
        conv = self.macs_by_op.get("Conv", 0) + self.macs_by_op.get("ConvTranspose", 0)
        if self.attention_macs:
            return "hybrid" if conv >= 0.3 * self.macs else "transformer"
        return "depthwise" if self.depthwise_nodes >= 2 else "dense"

    @property
    def gflops(self) -> float:
        return 2 * self.macs / 1e9

    @property
    def npu_unmapped(self) -> dict[str, int]:
        return {op: n for op, n in self.ops.items() if op not in NPU_MAPPED}

    @property
    def npu_unmapped_share(self) -> float:
        nodes = sum(self.ops.values())
        return sum(self.npu_unmapped.values()) / nodes if nodes else 0.0

    def as_json(self) -> dict:
        return {
            "params": self.params,
            "macs": self.macs,
            "gflops": round(self.gflops, 6),
            "ops": dict(sorted(self.ops.items())),
            "macs_by_op": dict(sorted(self.macs_by_op.items())),
            "npu_unmapped": dict(sorted(self.npu_unmapped.items())),
            "npu_unmapped_share": round(self.npu_unmapped_share, 4),
            "symbolic_dims": list(self.symbolic_dims),
            "depthwise_nodes": self.depthwise_nodes,
            "attention_macs": self.attention_macs,
            "op_class": self.op_class,
        }


def count(path: str | Path, input_shape: list[int] | None = None) -> Counted:
    """The file's parameters, FLOPs and op mix. `input_shape`: the shape the spec declares its
    input at, which fixes the first input's symbolic dimensions (a batch N, a dynamic H x W) before
    the shapes are inferred, so the FLOPs are those of the declared input."""
    import onnx

    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded)  # protobuf parses almost any bytes: an empty model is not one
    if input_shape:
        _fix_input(loaded.graph, input_shape)
    model = onnx.shape_inference.infer_shapes(loaded)
    graph = model.graph
    symbolic: set[str] = set()
    shapes: dict[str, list[int]] = {}
    for info in [*graph.input, *graph.value_info, *graph.output]:
        dims = []
        for d in info.type.tensor_type.shape.dim:
            if d.HasField("dim_value"):
                dims.append(d.dim_value)
            else:
                symbolic.add(d.dim_param or "?")
                dims.append(1)
        shapes[info.name] = dims
    params = 0
    for init in graph.initializer:
        shapes[init.name] = list(init.dims)
        if init.data_type in FLOAT_TYPES:
            params += math.prod(init.dims)
    macs: Counter[str] = Counter()
    ops: Counter[str] = Counter()
    weights = {init.name for init in graph.initializer}
    constants = {o for node in graph.node if node.op_type == "Constant" for o in node.output}
    depthwise = attention = 0
    for node in graph.node:
        ops[node.op_type] += 1
        n = _macs(node, shapes)
        macs[node.op_type] += n
        if node.op_type == "Conv":
            weight = shapes.get(node.input[1])
            groups = next((a.i for a in node.attribute if a.name == "group"), 1)
            depthwise += bool(weight and groups > 1 and len(weight) > 1 and weight[1] == 1)
        elif node.op_type == "MatMul" and not ({*node.input} & (weights | constants)):
            attention += n
    return Counted(
        params,
        sum(macs.values()),
        dict(ops),
        {op: n for op, n in macs.items() if n},
        tuple(sorted(symbolic)),
        depthwise,
        attention,
    )


def _fix_input(graph, input_shape: list[int]) -> None:
    """Set the first graph input's symbolic dimensions to the declared shape (same rank only)."""
    weights = {init.name for init in graph.initializer}
    first = next((i for i in graph.input if i.name not in weights), None)
    if first is None:
        return
    dims = first.type.tensor_type.shape.dim
    if len(dims) != len(input_shape):
        return
    for d, declared in zip(dims, input_shape):
        if not d.HasField("dim_value"):
            d.dim_value = int(declared)


def _macs(node, shapes: dict[str, list[int]]) -> int:
    def shape(name: str) -> list[int] | None:
        return shapes.get(name)

    attrs = {a.name: a for a in node.attribute}
    if node.op_type == "Conv":
        weight, out = shape(node.input[1]), shape(node.output[0])
        if weight and out:
            return math.prod(out) * math.prod(weight[1:])  # (Cin / group) x kernel, per output element
    elif node.op_type == "ConvTranspose":
        given, weight = shape(node.input[0]), shape(node.input[1])
        if given and weight:
            return math.prod(given) * weight[1] * math.prod(weight[2:])  # (Cout / group) x kernel
    elif node.op_type == "Gemm":
        a, out = shape(node.input[0]), shape(node.output[0])
        if a and out:
            k = a[0] if "transA" in attrs and attrs["transA"].i else a[-1]
            return math.prod(out) * k
    elif node.op_type == "MatMul":
        a, out = shape(node.input[0]), shape(node.output[0])
        if a and out:
            return math.prod(out) * a[-1]
    return 0
