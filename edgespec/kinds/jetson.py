"""NVIDIA Jetson (Orin) fleets: TensorRT engines built on the device and served by Triton (LLMs by
llama.cpp's server) under Docker Compose, a Greengrass component per package."""

from edgespec.kinds.base import FleetRuntime, Kind

TRITON_HTTP = 8000  # Triton's HTTP/REST port on the device
TRITON_METRICS = 8002


def lifecycle(target: str, env: str, then: str) -> dict:
    """Install builds the engines (S3 models arrive as the component's own artifacts, where
    build_engine.sh looks first) after setting the power mode the plan assumed; Run starts the
    servers under Docker Compose and watches them (a target with routers only, a split head, has
    no servers to start); Shutdown stops them."""
    return {
        "Install": {
            "Script": f"{env}cd {{artifacts:decompressedPath}}/bundle "
            f"&& if [ -f power-mode.sh ]; then bash power-mode.sh; fi && bash build_engine.sh{then}",
            "RequiresPrivilege": True,
            "Timeout": 3600,
        },
        "Run": {
            "Script": "cd {artifacts:decompressedPath}/bundle && "
            "if [ -f compose.yaml ]; then docker compose up -d; fi && "
            "python3 {artifacts:decompressedPath}/bundle/health.py",
            "RequiresPrivilege": True,
        },
        "Shutdown": {
            "Script": "cd {artifacts:decompressedPath}/bundle && if [ -f compose.yaml ]; then docker compose down; fi",
            "RequiresPrivilege": True,
        },
    }


KIND = Kind(
    name="jetson",
    emitters=("edgespec.emit.jetson", "edgespec.emit.router"),
    fleet=FleetRuntime(
        server_port=TRITON_HTTP,
        platform={"os": "linux", "architecture": "aarch64"},
        lifecycle=lifecycle,
        watches_servers=True,
        model_artifacts=True,
        llm_servers=True,
        scrape=(("triton", f"127.0.0.1:{TRITON_METRICS}"),),
    ),
)
