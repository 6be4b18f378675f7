"""Files shipped with edgespec: the JSON Schema and the templates.

In the repository they live at the top level (schemas/, templates/); the wheel carries copies
under edgespec/_data (see pyproject.toml). Both layouts resolve here.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _first(*candidates: Path) -> Path:
    for path in candidates:
        if path.exists():
            return path
    raise FileNotFoundError(f"edgespec is installed without its data files: {candidates[0]}")


def schema_file() -> Path:
    from edgespec.spec.schema import FILE_NAME

    return _first(_PACKAGE / "_data" / "schemas" / FILE_NAME, _PACKAGE.parent / "schemas" / FILE_NAME)


def templates_dir() -> Path:
    return _first(_PACKAGE / "_data" / "templates", _PACKAGE.parent / "templates")
