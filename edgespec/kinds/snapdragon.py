"""Qualcomm Snapdragon targets (Hexagon NPU): ONNX models compiled for the chip's HTP, by ONNX
Runtime's QNN execution provider on the build machine (a context binary per chip) or by Qualcomm
AI Hub, which also profiles them on hosted devices. Linux boards (QCS6490) serve them on the
device with ONNX Runtime QNN behind the router, a Greengrass component per package; phone SoCs
(Android) get the compiled models, not a fleet agent (see kinds/base.Kind.fleet_for)."""

from edgespec.kinds.base import FleetRuntime, Kind, systemd_lifecycle

PORT = 8080  # the QNN model server's KServe v2 port on a board

KIND = Kind(
    name="snapdragon",
    emitters=("edgespec.emit.qualcomm",),
    fleet=FleetRuntime(
        server_port=PORT,
        platform={"os": "linux", "architecture": "aarch64"},
        lifecycle=systemd_lifecycle,  # one process owns the accelerator: the bundle's unit
        health_url=f"http://127.0.0.1:{PORT}/healthz",
    ),
    format_fix="ONNX Runtime's QNN execution provider and Qualcomm AI Hub both take ONNX: export with "
    "torch.onnx.export (format onnx)",
)
