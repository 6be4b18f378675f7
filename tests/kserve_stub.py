"""A stand-in for Triton's HTTP/REST endpoints that the gateway uses, on 127.0.0.1.

It speaks the KServe v2 protocol as Triton documents it (model metadata; infer with the binary
tensor data extension: a JSON header of `Inference-Header-Content-Length` bytes, then the raw
input) and runs a tiny ONNX model with ONNX Runtime, so the gateway's real code path is exercised
without a GPU. It checks what it is sent and answers 400 otherwise, as Triton does.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

KSERVE_TO_NUMPY = {"FP32": np.float32, "FP16": np.float16, "UINT8": np.uint8, "INT8": np.int8, "INT64": np.int64}
ONNX_TO_KSERVE = {"tensor(float)": "FP32", "tensor(float16)": "FP16", "tensor(uint8)": "UINT8",
                  "tensor(int8)": "INT8", "tensor(int64)": "INT64"}


class StandInTriton:
    def __init__(self, model: Path, name: str):
        import onnxruntime as ort

        self.session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        self.name = name
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                if self.path != f"/v2/models/{outer.name}":
                    return self._send(404, {"error": f"unknown model: {self.path}"})
                self._send(200, {"name": outer.name, "versions": ["1"], "platform": "onnxruntime_onnx",
                                 "inputs": [outer._tensor(i) for i in outer.session.get_inputs()],
                                 "outputs": [outer._tensor(o) for o in outer.session.get_outputs()]})

            def do_POST(self):  # noqa: N802
                if self.path != f"/v2/models/{outer.name}/infer":
                    return self._send(404, {"error": f"unknown model: {self.path}"})
                body = self.rfile.read(int(self.headers["Content-Length"]))
                size = int(self.headers.get("Inference-Header-Content-Length", len(body)))
                header, raw = json.loads(body[:size]), body[size:]
                outer.requests.append(header)
                feeds = {}
                for tensor in header["inputs"]:
                    n = tensor["parameters"]["binary_data_size"]
                    dtype = KSERVE_TO_NUMPY[tensor["datatype"]]
                    if n != int(np.prod(tensor["shape"])) * np.dtype(dtype).itemsize or n > len(raw):
                        return self._send(400, {"error": "binary_data_size does not match shape and datatype"})
                    feeds[tensor["name"]] = np.frombuffer(raw[:n], dtype=dtype).reshape(tensor["shape"])
                    raw = raw[n:]
                outputs = outer.session.run(None, feeds)
                self._send(200, {"model_name": outer.name, "model_version": "1", "outputs": [
                    {"name": meta.name, "datatype": ONNX_TO_KSERVE[meta.type], "shape": list(value.shape),
                     "data": value.reshape(-1).tolist()}
                    for meta, value in zip(outer.session.get_outputs(), outputs)]})

        self.handler = Handler
        self.start()

    @staticmethod
    def _tensor(meta) -> dict:
        return {"name": meta.name, "datatype": ONNX_TO_KSERVE[meta.type],
                "shape": [d if isinstance(d, int) else -1 for d in meta.shape]}

    def start(self, port: int = 0) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self.handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
