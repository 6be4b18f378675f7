"""Renderers of diagnostics: one module per format, in a registry by explicit import."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from edgespec.diagnostics.diagnostic import Diagnostic
from edgespec.diagnostics.render import github, json_, sarif, text

Renderer = Callable[[Sequence[Diagnostic], dict[str, str]], str]

RENDERERS: dict[str, Renderer] = {
    "text": text.render,
    "json": json_.render,
    "github": github.render,
    "sarif": sarif.render,
}
FORMATS = ("auto", *RENDERERS)


def resolve(fmt: str) -> str:
    """`auto` is github under GitHub Actions, text elsewhere."""
    if fmt == "auto":
        return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    return fmt


def render(fmt: str, diagnostics: Sequence[Diagnostic], sources: dict[str, str]) -> str:
    """Render diagnostics; `sources` maps a file name to its text (for code frames)."""
    return RENDERERS[resolve(fmt)](diagnostics, sources)
