"""A CPU stand-in for the `tensorrt` Python package (NVIDIA's; it needs a GPU): the surface the
emitted build_engine.py uses. It parses the ONNX model with the real `onnx` package, records what
the builder is asked for (flags, workspace, optimization profiles, calibrator) in BUILT, and
"serializes" a JSON description of it instead of an engine."""

from __future__ import annotations

import json

BUILT: list[dict] = []


class Logger:
    WARNING = 2

    def __init__(self, severity=None):
        self.severity = severity


class BuilderFlag:
    FP16 = "FP16"
    INT8 = "INT8"


class MemoryPoolType:
    WORKSPACE = "WORKSPACE"


class IInt8EntropyCalibrator2:
    pass


class _Tensor:
    def __init__(self, name, shape):
        self.name, self.shape = name, tuple(shape)


class _Network:
    def __init__(self):
        self.inputs: list[_Tensor] = []

    @property
    def num_inputs(self):
        return len(self.inputs)

    def get_input(self, i):
        return self.inputs[i]


class OnnxParser:
    def __init__(self, network, logger):
        self.network, self.errors = network, []

    def parse(self, data: bytes) -> bool:
        import onnx

        try:
            model = onnx.load_from_string(data)
        except Exception as err:  # noqa: BLE001 - what TensorRT reports as a parse error
            self.errors.append(str(err))
            return False
        initializers = {i.name for i in model.graph.initializer}
        for value in model.graph.input:
            if value.name not in initializers:
                dims = [d.dim_value if d.HasField("dim_value") else -1 for d in value.type.tensor_type.shape.dim]
                self.network.inputs.append(_Tensor(value.name, dims))
        return True

    @property
    def num_errors(self):
        return len(self.errors)

    def get_error(self, i):
        return self.errors[i]


class _Profile:
    def __init__(self):
        self.shapes = {}

    def set_shape(self, name, minimum, optimum, maximum):
        self.shapes[name] = [list(minimum), list(optimum), list(maximum)]


class _Config:
    def __init__(self):
        self.flags, self.pools, self.profiles, self.int8_calibrator = [], {}, [], None

    def set_flag(self, flag):
        self.flags.append(flag)

    def set_memory_pool_limit(self, pool, size):
        self.pools[pool] = size

    def add_optimization_profile(self, profile):
        self.profiles.append(profile)


class Builder:
    def __init__(self, logger):
        self.logger = logger

    def create_network(self, flags=0):
        return _Network()

    def create_builder_config(self):
        return _Config()

    def create_optimization_profile(self):
        return _Profile()

    def build_serialized_network(self, network, config):
        calibrator = config.int8_calibrator
        built = {
            "flags": config.flags,
            "workspace": config.pools.get(MemoryPoolType.WORKSPACE),
            "profiles": [p.shapes for p in config.profiles],
            "calibration_cache": calibrator.read_calibration_cache().decode() if calibrator else None,
        }
        BUILT.append(built)
        return json.dumps(built).encode()
