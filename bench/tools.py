"""Where the benchmarked commands live: beside this interpreter (the venv), else on PATH."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def executable(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} is not installed: run `bash scripts/test.sh` (or pip install it)")
    return found
