"""Google Coral Edge TPU fleets: full-int8 TFLite compiled for the Edge TPU, served by the
bundle's systemd unit (one process owns the TPU), a Greengrass component per package."""

from edgespec.kinds.base import FleetRuntime, Kind

PORT = 8080  # the Edge TPU server's KServe v2 port on the device


def lifecycle(target: str, env: str, then: str) -> dict:
    """Only one process may own the Edge TPU: the bundle's systemd unit, which Greengrass installs,
    starts and stops (a Startup step, not a Run step that would start a second server)."""
    home, unit = f"/opt/edgespec/{target}", f"edgespec-{target}.service"
    return {
        "Install": {"Script": f"{env}mkdir -p {home} && cp -a {{artifacts:decompressedPath}}/bundle/. {home}/ && "
                              f"cd {home} && bash setup_host.sh && install -m 0644 {unit} /etc/systemd/system/ "
                              f"&& systemctl daemon-reload{then}",
                    "RequiresPrivilege": True, "Timeout": 3600},
        "Startup": {"Script": f"systemctl restart {unit}", "RequiresPrivilege": True},
        "Shutdown": {"Script": f"systemctl stop {unit}", "RequiresPrivilege": True},
    }


KIND = Kind(
    name="coral",
    emitters=("edgespec.emit.coral", "edgespec.emit.router"),
    fleet=FleetRuntime(
        server_port=PORT,
        platform={"os": "linux", "architecture": "aarch64"},
        lifecycle=lifecycle,
        health_url=f"http://127.0.0.1:{PORT}/healthz"),
    formats=("tflite", "onnx", "savedmodel"),
)
