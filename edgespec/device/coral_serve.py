"""Serve the Edge TPU models over HTTP on the device.

POST /v1/models/<name>/infer with the raw input tensor (the model's declared dtype and shape, as
the spec gives them: edgetpu.json's input_dtype and input_shape) returns {"outputs": [[...]],
"latency_ms": ...}; GET /healthz answers when every model loaded. The KServe v2 endpoints Triton
also serves (GET /v2/models/<name>, POST /v2/models/<name>/infer with the binary tensor data
extension, binary outputs on request) let the edgespec gateway front this server as it fronts
Triton, for the same metrics.

The converted model is full int8 in the converted layout (NHWC for an ONNX image model): the
server moves the input to that layout, quantizes it with the model's own input scale and zero
point, and dequantizes every output with its own, so clients see the model's real numbers (a
confidence, not an int8 code). One process owns the Edge TPU (this one; the systemd unit starts
it), and inference is serialized: an interpreter is not safe to share between threads.

The Edge TPU delegate is libedgetpu.so.1 (apt: libedgetpu1-std) and the device string comes from
edgetpu.json ("usb" for the USB Accelerator, "pci" for M.2 and the Dev Board). `--cpu` runs the
converted int8 model (build/<name>_int8.tflite, before Edge TPU compilation) on the CPU instead:
the same data path without the accelerator, for tests and for debugging.
"""

import argparse
import json
import pathlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = pathlib.Path(__file__).resolve().parent
KSERVE = {"int8": "INT8", "uint8": "UINT8", "float32": "FP32", "float16": "FP16", "int32": "INT32", "int64": "INT64"}


def interpreter_class():
    try:
        from tflite_runtime.interpreter import Interpreter, load_delegate
    except ImportError:  # LiteRT, TensorFlow Lite's successor on PyPI (CPU only: no Edge TPU delegate)
        from ai_edge_litert.interpreter import Interpreter, load_delegate
    return Interpreter, load_delegate


class Served:
    """One model: its interpreter (behind a lock) and the conversions between the declared tensor
    clients send and the quantized, converted tensor the model takes."""

    def __init__(self, interpreter, model, np):
        self.interpreter, self.np = interpreter, np
        self.lock = threading.Lock()
        self.input = interpreter.get_input_details()[0]
        self.outputs = interpreter.get_output_details()
        self.dtype = np.dtype(model.get("input_dtype", np.dtype(self.input["dtype"]).name))
        self.shape = [int(d) for d in model.get("input_shape", self.input["shape"])]
        converted = [int(d) for d in self.input["shape"]]
        # NCHW declared, NHWC converted (onnx2tf): move the channels last
        self.to_nhwc = (
            len(self.shape) == 4
            and converted != self.shape
            and converted == [self.shape[0], self.shape[2], self.shape[3], self.shape[1]]
        )
        if converted != self.shape and not self.to_nhwc and int(np.prod(converted)) != int(np.prod(self.shape)):
            raise ValueError(f"{model['name']}: the model takes {converted}, the spec declares {self.shape}")

    @property
    def expected_bytes(self):
        return int(self.np.prod(self.shape)) * self.dtype.itemsize

    def infer(self, body):
        np = self.np
        x = np.frombuffer(body, dtype=self.dtype.newbyteorder("<")).reshape(self.shape)
        if self.to_nhwc:
            x = x.transpose(0, 2, 3, 1)
        tensor = self._quantize(x, self.input).reshape(self.input["shape"])
        with self.lock:  # one inference at a time on the accelerator
            self.interpreter.set_tensor(self.input["index"], tensor)
            self.interpreter.invoke()
            raw = [np.array(self.interpreter.get_tensor(d["index"])) for d in self.outputs]
        return [self._dequantize(r, d) for r, d in zip(raw, self.outputs)]

    def _quantize(self, x, detail):
        np = self.np
        target = np.dtype(detail["dtype"])
        scale, zero_point = detail.get("quantization", (0.0, 0))
        if target.kind in "iu" and scale:
            info = np.iinfo(target)
            return np.clip(np.round(x.astype(np.float32) / scale + zero_point), info.min, info.max).astype(target)
        return x.astype(target)

    def _dequantize(self, r, detail):
        scale, zero_point = detail.get("quantization", (0.0, 0))
        if r.dtype.kind in "iu" and scale:
            return ((r.astype(self.np.float32) - zero_point) * scale).astype(self.np.float32)
        return r


def load(model, device, np):
    Interpreter, load_delegate = interpreter_class()
    if device == "cpu":
        interpreter = Interpreter(model_path=str(HERE / "build" / f"{model['name']}_int8.tflite"))
    else:
        path = HERE / "build" / f"{model['name']}_int8_edgetpu.tflite"
        interpreter = Interpreter(
            model_path=str(path), experimental_delegates=[load_delegate("libedgetpu.so.1", {"device": device})]
        )
    interpreter.allocate_tensors()
    return Served(interpreter, model, np)


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
            self._reply(200, {"models": sorted(self.models)})
        elif len(parts) == 3 and parts[:2] == ["v2", "models"] and parts[2] in self.models:
            served = self.models[parts[2]]
            self._reply(
                200,
                {
                    "name": parts[2],
                    "versions": ["1"],
                    "platform": "tflite_edgetpu",
                    "inputs": [
                        {
                            "name": served.input.get("name", "input"),
                            "datatype": KSERVE[served.dtype.name],
                            "shape": served.shape,
                        }
                    ],
                    "outputs": [
                        {
                            "name": d.get("name", f"output_{i}"),
                            "datatype": "FP32",
                            "shape": [int(s) for s in d["shape"]],
                        }
                        for i, d in enumerate(served.outputs)
                    ],
                },
            )
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        parts = self.path.strip("/").split("/")
        if (
            len(parts) != 4
            or parts[0] not in ("v1", "v2")
            or parts[1] != "models"
            or parts[3] != "infer"
            or parts[2] not in self.models
        ):
            return self._reply(404, {"error": "unknown model"})
        served = self.models[parts[2]]
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        binary = False
        if parts[0] == "v2":  # KServe v2, binary tensor data extension: a JSON header, then the tensor
            try:
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
        start = time.perf_counter()
        results = served.infer(body)
        if parts[0] == "v1":
            return self._reply(
                200, {"outputs": [r.tolist() for r in results], "latency_ms": (time.perf_counter() - start) * 1000}
            )
        names = [d.get("name", f"output_{i}") for i, d in enumerate(served.outputs)]
        if not binary:
            return self._reply(
                200,
                {
                    "model_name": parts[2],
                    "model_version": "1",
                    "outputs": [
                        {
                            "name": n,
                            "datatype": KSERVE[r.dtype.name],
                            "shape": list(r.shape),
                            "data": r.reshape(-1).tolist(),
                        }
                        for n, r in zip(names, results)
                    ],
                },
            )
        data = [r.astype(r.dtype.newbyteorder("<")).tobytes() for r in results]
        header = json.dumps(
            {
                "model_name": parts[2],
                "model_version": "1",
                "outputs": [
                    {
                        "name": n,
                        "datatype": KSERVE[r.dtype.name],
                        "shape": list(r.shape),
                        "parameters": {"binary_data_size": len(d)},
                    }
                    for n, r, d in zip(names, results, data)
                ],
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Inference-Header-Content-Length", str(len(header)))
        self.send_header("Content-Length", str(len(header) + sum(len(d) for d in data)))
        self.end_headers()
        self.wfile.write(header)
        for d in data:
            self.wfile.write(d)


def serve(config, device=None, host="127.0.0.1", port=None):
    import numpy as np

    Handler.models = {m["name"]: load(m, device or config["device"], np) for m in config["models"]}
    return ThreadingHTTPServer((host, config["port"] if port is None else port), Handler)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="instead of the port in edgetpu.json")
    parser.add_argument("--cpu", action="store_true", help="run the int8 models on the CPU (no Edge TPU)")
    args = parser.parse_args()
    config = json.loads((HERE / "edgetpu.json").read_text())
    serve(config, "cpu" if args.cpu else None, args.host, args.port).serve_forever()


if __name__ == "__main__":
    main()
