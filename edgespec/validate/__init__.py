"""Stage 2: plain data → typed Spec, with every problem as a positioned diagnostic."""

from __future__ import annotations

from pydantic import ValidationError

from edgespec import describe
from edgespec.diagnostics import Diagnostic, has_errors, sort_key
from edgespec.load import Loaded
from edgespec.spec.models import Spec
from edgespec.validate import schema_errors, semantics


def validate(loaded: Loaded) -> tuple[Spec | None, list[Diagnostic]]:
    """Validate a loaded spec. The Spec is None when any error was found."""
    diagnostics = list(loaded.diagnostics)
    if loaded.data is None:
        return None, sorted(diagnostics, key=sort_key)
    try:
        spec = Spec.model_validate(loaded.data)
    except ValidationError as exc:
        diagnostics += schema_errors.convert(exc.errors(include_url=False), loaded.source)
        return None, sorted(set(diagnostics), key=sort_key)
    spec, described = describe.fill(spec, loaded.source)  # sizes left out, counted from local ONNX files
    diagnostics += described
    diagnostics += semantics.check(spec, loaded.source)
    return (None if has_errors(diagnostics) else spec), sorted(diagnostics, key=sort_key)
