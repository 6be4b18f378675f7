"""Google Coral Edge TPU fleets: full-int8 TFLite compiled for the Edge TPU, served by the
bundle's systemd unit (one process owns the TPU), a Greengrass component per package."""

from edgespec.kinds.base import FleetRuntime, Kind, systemd_lifecycle

PORT = 8080  # the Edge TPU server's KServe v2 port on the device

KIND = Kind(
    name="coral",
    emitters=("edgespec.emit.coral", "edgespec.emit.router"),
    fleet=FleetRuntime(
        server_port=PORT,
        platform={"os": "linux", "architecture": "aarch64"},
        lifecycle=systemd_lifecycle,  # one process owns the accelerator: the bundle's unit
        health_url=f"http://127.0.0.1:{PORT}/healthz",
    ),
)
