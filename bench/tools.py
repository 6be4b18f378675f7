"""Where the benchmarked commands live (beside this interpreter, the venv, else on PATH), and the
state they are timed in."""

from __future__ import annotations

import compileall
import os
import shutil
import sys
from pathlib import Path


def executable(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} is not installed: run `bash scripts/test.sh` (or pip install it)")
    return found


def as_installed() -> str:
    """Compile edgespec's bytecode, as `pip install` does, and say so.

    An editable install (`bash scripts/test.sh`) run with PYTHONDONTWRITEBYTECODE set (as on the
    development machine) would otherwise compile every module from source on every run: ~0.05 s
    (223 M instructions) that no installed copy pays. Returns a line for the report."""
    import edgespec

    package = Path(edgespec.__file__).parent
    compileall.compile_dir(package, quiet=1)
    bytecode = "PYTHONDONTWRITEBYTECODE set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "bytecode writable"
    return f"edgespec's bytecode compiled beforehand, as pip install does ({bytecode})"
