"""Serve the compiled QNN models over HTTP on a Snapdragon Linux board (KServe v2).

GET /healthz answers when every model loaded; GET /v2/models/<name> describes one; POST
/v2/models/<name>/infer takes the raw input tensor (the spec's declared dtype and shape, qnn.json's
input_dtype and input_shape) as KServe v2's binary tensor data and answers with the outputs, as JSON
or (`binary_data_output`) binary tensor data. The edgespec router fronts this server as it fronts
Triton and the Edge TPU server, for the same metrics.

Each model is build/<name>_ctx.onnx, the EPContext model compile_qnn.py wrote for this chip, run by
ONNX Runtime with the QNN execution provider on the HTP. The provider's library comes from the
board's QAIRT SDK (EDGESPEC_QNN_EP_LIBRARY, default libonnxruntime_providers_qnn.so on the library
path), as Qualcomm publishes onnxruntime-qnn wheels for x86_64 and Windows only. `--cpu` runs the
graph the context was compiled from (the QDQ model, or the float ONNX for fp16) on ONNX Runtime's
CPU provider instead: the same data path without the accelerator, for tests and for debugging.
"""

import argparse
import json
import os
import pathlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = pathlib.Path(__file__).resolve().parent
KSERVE = {"uint8": "UINT8", "int8": "INT8", "float32": "FP32", "float16": "FP16", "int32": "INT32", "int64": "INT64"}
QNN_EP = "QNNExecutionProvider"


def session(model, cpu):
    import onnxruntime as ort

    if cpu:
        qdq = HERE / "build" / "work" / f"{model['name']}.qdq.onnx"
        path = qdq if qdq.exists() else HERE / "models" / model["file"]
        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    library = os.environ.get("EDGESPEC_QNN_EP_LIBRARY", "libonnxruntime_providers_qnn.so")
    if QNN_EP not in {d.ep_name for d in ort.get_ep_devices()}:
        ort.register_execution_provider_library(QNN_EP, library)
    options = ort.SessionOptions()
    options.add_provider_for_devices([d for d in ort.get_ep_devices() if d.ep_name == QNN_EP], {"backend_type": "htp"})
    return ort.InferenceSession(str(HERE / "build" / f"{model['name']}_ctx.onnx"), sess_options=options)


class Served:
    """One model's session; ONNX Runtime sessions take concurrent runs, the HTP serializes them."""

    def __init__(self, model, cpu, np):
        self.np = np
        self.session = session(model, cpu)
        self.input = self.session.get_inputs()[0].name
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.dtype = np.dtype(model["input_dtype"])
        self.shape = [int(d) for d in model["input_shape"]]
        self.expected_bytes = int(np.prod(self.shape)) * self.dtype.itemsize

    def infer(self, body):
        x = self.np.frombuffer(body, dtype=self.dtype.newbyteorder("<")).reshape(self.shape)
        return [self.np.asarray(r) for r in self.session.run(None, {self.input: x})]


class Handler(BaseHTTPRequestHandler):
    models: dict = {}

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        parts = self.path.strip("/").split("/")
        if self.path == "/healthz":
            return self._reply(200, {"models": sorted(self.models)})
        if len(parts) == 3 and parts[:2] == ["v2", "models"] and parts[2] in self.models:
            served = self.models[parts[2]]
            return self._reply(
                200,
                {
                    "name": parts[2],
                    "versions": ["1"],
                    "platform": "onnxruntime_qnn",
                    "inputs": [{"name": served.input, "datatype": KSERVE[served.dtype.name], "shape": served.shape}],
                    "outputs": [{"name": n} for n in served.outputs],
                },
            )
        return self._reply(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        parts = self.path.strip("/").split("/")
        if len(parts) != 4 or parts[:2] != ["v2", "models"] or parts[3] != "infer" or parts[2] not in self.models:
            return self._reply(404, {"error": "unknown model"})
        served = self.models[parts[2]]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:  # KServe v2, binary tensor data extension: a JSON header, then the tensor
            size = int(self.headers["Inference-Header-Content-Length"])
            header = json.loads(body[:size])
            body = body[size : size + int(header["inputs"][0]["parameters"]["binary_data_size"])]
            binary = bool((header.get("parameters") or {}).get("binary_data_output"))
        except (KeyError, ValueError, TypeError, IndexError):
            return self._reply(400, {"error": "expected a KServe v2 request with binary tensor data"})
        if len(body) != served.expected_bytes:
            return self._reply(
                400, {"error": f"expected {served.expected_bytes} bytes of {served.dtype.name} {served.shape}"}
            )
        results = served.infer(body)
        outputs = [
            {"name": n, "datatype": KSERVE[r.dtype.name], "shape": list(r.shape)}
            for n, r in zip(served.outputs, results)
        ]
        if not binary:
            return self._reply(
                200,
                {
                    "model_name": parts[2],
                    "model_version": "1",
                    "outputs": [{**o, "data": r.reshape(-1).tolist()} for o, r in zip(outputs, results)],
                },
            )
        data = [r.astype(r.dtype.newbyteorder("<")).tobytes() for r in results]
        head = json.dumps(
            {
                "model_name": parts[2],
                "model_version": "1",
                "outputs": [{**o, "parameters": {"binary_data_size": len(d)}} for o, d in zip(outputs, data)],
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Inference-Header-Content-Length", str(len(head)))
        self.send_header("Content-Length", str(len(head) + sum(len(d) for d in data)))
        self.end_headers()
        self.wfile.write(head)
        for d in data:
            self.wfile.write(d)


def serve(config, cpu=False, host="127.0.0.1", port=None):
    import numpy as np

    Handler.models = {m["name"]: Served(m, cpu, np) for m in config["models"]}
    return ThreadingHTTPServer((host, config["port"] if port is None else port), Handler)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="instead of the port in qnn.json")
    parser.add_argument("--cpu", action="store_true", help="run the models on the CPU (no HTP)")
    args = parser.parse_args()
    config = json.loads((HERE / "qnn.json").read_text(encoding="utf-8"))
    serve(config, args.cpu, args.host, args.port).serve_forever()


if __name__ == "__main__":
    main()
