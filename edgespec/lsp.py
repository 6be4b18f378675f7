"""`edgespec lsp`: a language server with the diagnostics a JSON Schema cannot give.

On every open and change it runs the same stages as `validate` and `plan` on the buffer (no
file I/O) and publishes every diagnostic at its position: schema errors, unknown hardware with
suggestions, privacy conflicts, infeasible budgets. Hovering a workload's name shows its
chosen pattern, placement, predicted p95 and why. Requires the `lsp` extra (pygls).
"""

from __future__ import annotations

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from edgespec import __version__
from edgespec.diagnostics import Diagnostic, Severity
from edgespec.load import load_bytes
from edgespec.validate import validate

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.NOTE: types.DiagnosticSeverity.Information,
}


def analyse(text: str, name: str):
    """(diagnostics, source map, plan or None) for a buffer."""
    from edgespec.diagnostics import has_errors, sort_key
    from edgespec.measure import files
    from edgespec.planner.plan import plan

    loaded = load_bytes(text.encode("utf-8"), name)
    spec, diagnostics = validate(loaded)
    planned = None
    if spec is not None:
        # the spec's own measurement files, as `edgespec plan` reads them; a problem inside one of
        # them is shown in that file by the CLI, here only where this document names it
        measured = files.load(spec, loaded.source)
        diagnostics += [d for d in measured.diagnostics if d.file == loaded.source.file]
        if not has_errors(measured.diagnostics):
            # in this process (a server with threads never forks)
            planned, found = plan(spec, loaded.source, measurements=measured.records)
            diagnostics += [d for d in found if d.file == loaded.source.file]
        diagnostics = sorted(diagnostics, key=sort_key)
    return diagnostics, loaded.source, planned


def to_lsp(d: Diagnostic) -> types.Diagnostic:
    start = types.Position(line=d.line - 1, character=d.column - 1)
    end_line = (d.end_line or d.line) - 1
    end_col = (d.end_column or d.column + 1) - 1
    if (end_line, end_col) <= (start.line, start.character):
        end_line, end_col = start.line, start.character + 1
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    return types.Diagnostic(
        range=types.Range(start=start, end=types.Position(line=end_line, character=end_col)),
        severity=_SEVERITY[d.severity],
        code=d.code,
        source="edgespec",
        message=message,
    )


def hover_text(source, planned, line: int, character: int) -> str | None:
    """Markdown for the workload whose name is under the cursor (0-based position)."""
    if planned is None:
        return None
    for pointer, span in source.keys.items():
        parts = pointer.split("/")
        if (
            len(parts) == 3
            and parts[1] == "workloads"
            and span.line - 1 == line
            and span.column - 1 <= character <= span.end_column - 1
        ):
            wp = planned.workloads[parts[2]]
            c = wp.chosen
            if c is None:
                return f"**{wp.name}**: no feasible plan\n\n{wp.why}"
            where = ", ".join(f"{p.target} ({p.role}: {p.model}, {p.recipe.label()})" for p in c.placements)
            return (
                f"**{wp.name}**: {c.pattern}, predicted p95 {c.estimates.p95_ms:.1f} ms, "
                f"p50 {c.estimates.p50_ms:.1f} ms, accuracy {c.estimates.accuracy:.3f}\n\n"
                f"placement: {where}\n\nwhy: {wp.why}"
            )
    return None


def server() -> LanguageServer:
    ls = LanguageServer("edgespec", __version__)
    state: dict[str, tuple] = {}

    def refresh(uri: str) -> None:
        document = ls.workspace.get_text_document(uri)
        diagnostics, source, planned = analyse(document.source, document.path or uri)
        state[uri] = (source, planned)
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri, version=document.version, diagnostics=[to_lsp(d) for d in diagnostics]
            )
        )

    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        refresh(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        refresh(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        refresh(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(params: types.HoverParams) -> types.Hover | None:
        source, planned = state.get(params.text_document.uri, (None, None))
        text = hover_text(source, planned, params.position.line, params.position.character) if source else None
        if text is None:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))

    return ls


def main() -> None:
    ls = server()
    ls.start_io()
    # pygls computes the exit code in a callback whose SystemExit the event loop swallows, so the
    # process would end with 0 either way: the LSP specification's code is said here, 0 after a
    # `shutdown` request and 1 for an `exit` without one (or a client that went away)
    raise SystemExit(0 if getattr(ls.protocol, "_shutdown", False) else 1)
