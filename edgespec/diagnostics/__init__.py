"""One diagnostic type for every problem, from YAML syntax to planner infeasibility."""

from edgespec.diagnostics.diagnostic import Diagnostic, Severity, has_errors, sort_key

__all__ = ["Diagnostic", "Severity", "has_errors", "sort_key"]
