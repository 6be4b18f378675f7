"""A tiny full-int8 TFLite model, written as a flatbuffer with the `tflite` package's generated
schema code (no TensorFlow): input int8 [1, 4] -> RESHAPE -> output int8 [1, 4], both quantized
with `scale` and `zero_point`, so a server that forgets to quantize inputs or dequantize outputs
gives visibly wrong numbers. LiteRT's CPU interpreter runs it; the Edge TPU would run the same
graph compiled."""

from __future__ import annotations

import flatbuffers
import numpy as np
import tflite

RESHAPE = 22
INT8, INT32 = 9, 2


def _vector(builder, start, values, prepend):
    start(builder, len(values))
    for v in reversed(values):
        prepend(v)
    return builder.EndVector()


def _ints(builder, start, values):
    return _vector(builder, start, values, builder.PrependInt32)


def _tensor(builder, name, shape, dtype, buffer, quantization=None):
    name_offset = builder.CreateString(name)
    shape_offset = _ints(builder, tflite.TensorStartShapeVector, shape)
    q = None
    if quantization is not None:
        scale, zero_point = quantization
        scales = _vector(builder, tflite.QuantizationParametersStartScaleVector, [scale], builder.PrependFloat32)
        zeros = _vector(builder, tflite.QuantizationParametersStartZeroPointVector, [zero_point], builder.PrependInt64)
        tflite.QuantizationParametersStart(builder)
        tflite.QuantizationParametersAddScale(builder, scales)
        tflite.QuantizationParametersAddZeroPoint(builder, zeros)
        q = tflite.QuantizationParametersEnd(builder)
    tflite.TensorStart(builder)
    tflite.TensorAddShape(builder, shape_offset)
    tflite.TensorAddType(builder, dtype)
    tflite.TensorAddBuffer(builder, buffer)
    tflite.TensorAddName(builder, name_offset)
    if q is not None:
        tflite.TensorAddQuantization(builder, q)
    return tflite.TensorEnd(builder)


def _buffer(builder, data: bytes | None):
    offset = None
    if data:
        offset = _vector(builder, tflite.BufferStartDataVector, list(data), builder.PrependUint8)
    tflite.BufferStart(builder)
    if offset is not None:
        tflite.BufferAddData(builder, offset)
    return tflite.BufferEnd(builder)


def int8_reshape(scale: float = 0.05, zero_point: int = -10) -> bytes:
    b = flatbuffers.Builder(1024)
    tensors = [
        _tensor(b, "input", [1, 4], INT8, 1, (scale, zero_point)),
        _tensor(b, "scores", [1, 4], INT8, 2, (scale, zero_point)),
        _tensor(b, "shape", [2], INT32, 3),
    ]
    tensors_vec = _vector(b, tflite.SubGraphStartTensorsVector, tensors, b.PrependUOffsetTRelative)
    op_inputs = _ints(b, tflite.OperatorStartInputsVector, [0, 2])
    op_outputs = _ints(b, tflite.OperatorStartOutputsVector, [1])
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, 0)
    tflite.OperatorAddInputs(b, op_inputs)
    tflite.OperatorAddOutputs(b, op_outputs)
    op = tflite.OperatorEnd(b)
    ops = _vector(b, tflite.SubGraphStartOperatorsVector, [op], b.PrependUOffsetTRelative)
    inputs = _ints(b, tflite.SubGraphStartInputsVector, [0])
    outputs = _ints(b, tflite.SubGraphStartOutputsVector, [1])
    name = b.CreateString("main")
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors_vec)
    tflite.SubGraphAddInputs(b, inputs)
    tflite.SubGraphAddOutputs(b, outputs)
    tflite.SubGraphAddOperators(b, ops)
    tflite.SubGraphAddName(b, name)
    subgraph = tflite.SubGraphEnd(b)
    subgraphs = _vector(b, tflite.ModelStartSubgraphsVector, [subgraph], b.PrependUOffsetTRelative)
    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, RESHAPE)
    tflite.OperatorCodeAddBuiltinCode(b, RESHAPE)
    tflite.OperatorCodeAddVersion(b, 1)
    code = tflite.OperatorCodeEnd(b)
    codes = _vector(b, tflite.ModelStartOperatorCodesVector, [code], b.PrependUOffsetTRelative)
    buffers = [
        _buffer(b, None),
        _buffer(b, None),
        _buffer(b, None),
        _buffer(b, np.array([1, 4], dtype="<i4").tobytes()),
    ]
    buffers_vec = _vector(b, tflite.ModelStartBuffersVector, buffers, b.PrependUOffsetTRelative)
    description = b.CreateString("edgespec test: int8 reshape")
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, codes)
    tflite.ModelAddSubgraphs(b, subgraphs)
    tflite.ModelAddDescription(b, description)
    tflite.ModelAddBuffers(b, buffers_vec)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())
