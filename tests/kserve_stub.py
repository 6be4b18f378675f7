"""A stand-in for Triton's HTTP/REST endpoints that the gateway uses, on 127.0.0.1.

It speaks the KServe v2 protocol as Triton documents it (model metadata; infer with the binary
tensor data extension: a JSON header of `Inference-Header-Content-Length` bytes, then the raw
input) and runs a tiny ONNX model with ONNX Runtime, so the gateway's real code path is exercised
without a GPU. It checks what it is sent and answers 400 otherwise, as Triton does. Asked for
binary outputs (`parameters.binary_data_output`), it answers as Triton does: a JSON header of
`Inference-Header-Content-Length` bytes, each output's `binary_data_size`, then the raw data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.standin import StandIn

KSERVE_TO_NUMPY = {"FP32": np.float32, "FP16": np.float16, "UINT8": np.uint8, "INT8": np.int8, "INT64": np.int64}
ONNX_TO_KSERVE = {
    "tensor(float)": "FP32",
    "tensor(float16)": "FP16",
    "tensor(uint8)": "UINT8",
    "tensor(int8)": "INT8",
    "tensor(int64)": "INT64",
}


class StandInTriton(StandIn):
    def __init__(self, model: Path, name: str):
        import onnxruntime as ort

        self.session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        self.name = name
        self.infer_headers: list[dict] = []
        super().__init__(self._respond)

    @staticmethod
    def _tensor(meta) -> dict:
        return {
            "name": meta.name,
            "datatype": ONNX_TO_KSERVE[meta.type],
            "shape": [d if isinstance(d, int) else -1 for d in meta.shape],
        }

    def _respond(self, method, path, headers, body):
        if method == "GET":
            if path != f"/v2/models/{self.name}":
                return 404, {"error": f"unknown model: {path}"}
            return 200, {
                "name": self.name,
                "versions": ["1"],
                "platform": "onnxruntime_onnx",
                "inputs": [self._tensor(i) for i in self.session.get_inputs()],
                "outputs": [self._tensor(o) for o in self.session.get_outputs()],
            }
        if path != f"/v2/models/{self.name}/infer":
            return 404, {"error": f"unknown model: {path}"}
        size = int(headers.get("Inference-Header-Content-Length", len(body)))
        header, raw = json.loads(body[:size]), body[size:]
        self.infer_headers.append(header)
        feeds = {}
        for tensor in header["inputs"]:
            n = tensor["parameters"]["binary_data_size"]
            dtype = KSERVE_TO_NUMPY[tensor["datatype"]]
            if n != int(np.prod(tensor["shape"])) * np.dtype(dtype).itemsize or n > len(raw):
                return 400, {"error": "binary_data_size does not match shape and datatype"}
            feeds[tensor["name"]] = np.frombuffer(raw[:n], dtype=dtype).reshape(tensor["shape"])
            raw = raw[n:]
        outputs = self.session.run(None, feeds)
        metas = self.session.get_outputs()
        if (header.get("parameters") or {}).get("binary_data_output"):
            raw = [np.ascontiguousarray(v).astype(v.dtype.newbyteorder("<")).tobytes() for v in outputs]
            doc = json.dumps(
                {
                    "model_name": self.name,
                    "model_version": "1",
                    "outputs": [
                        {
                            "name": meta.name,
                            "datatype": ONNX_TO_KSERVE[meta.type],
                            "shape": list(value.shape),
                            "parameters": {"binary_data_size": len(data)},
                        }
                        for meta, value, data in zip(metas, outputs, raw)
                    ],
                }
            ).encode()
            return (
                200,
                doc + b"".join(raw),
                {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(doc))},
            )
        return 200, {
            "model_name": self.name,
            "model_version": "1",
            "outputs": [
                {
                    "name": meta.name,
                    "datatype": ONNX_TO_KSERVE[meta.type],
                    "shape": list(value.shape),
                    "data": value.reshape(-1).tolist(),
                }
                for meta, value in zip(metas, outputs)
            ],
        }
