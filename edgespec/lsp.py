"""`edgespec lsp`: a language server with the diagnostics a JSON Schema cannot give.

On every open and change it runs the same stages as `validate` and `plan` on the buffer (with the
spec's measurement files and, for sizes it leaves out, its local ONNX files) and publishes every
diagnostic at its position. Checks are debounced and run off the event loop: a check starts when
typing pauses for DEBOUNCE_S, a newer edit cancels a waiting one, and a result for a version that
has since changed is dropped, so only the latest version is ever published. Diagnostics: schema errors, unknown hardware with
suggestions, privacy conflicts, infeasible budgets. Hovering a workload's name shows its
chosen pattern, placement, predicted p95 and why. Completion offers what the schema cannot list
(catalog hardware ids, the spec's model, variant and target names), and every diagnostic whose hint
names its replacement has a quick fix. Requires the `lsp` extra (pygls).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from edgespec import __version__
from edgespec.diagnostics import Diagnostic, Severity
from edgespec.validate import validate

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.NOTE: types.DiagnosticSeverity.Information,
}


def analyse(text: str, name: str):
    """(diagnostics, source map, plan or None) for a buffer."""
    diagnostics, source, planned, _ = analyse_again(text, name, None)
    return diagnostics, source, planned


def analyse_again(text: str, name: str, previous):
    """analyse(), re-reading only the entry an edit touched since the `previous` check of the same
    document (load.incremental) and re-planning only the workloads it touched
    (planner.plan.plan_again): (diagnostics, source, plan or None, what the next check reuses)."""
    from edgespec.diagnostics import has_errors, sort_key
    from edgespec.load.incremental import reload
    from edgespec.measure import files
    from edgespec.planner.plan import plan_again

    before, previous = previous if previous is not None else (None, None)
    loaded = reload(before, text.encode("utf-8"), name)  # re-reading only the entry an edit touched
    spec, diagnostics = validate(loaded)
    planned = None
    if spec is not None:
        # the spec's own measurement files, as `edgespec plan` reads them; a problem inside one of
        # them is shown in that file by the CLI, here only where this document names it
        measured = files.load(spec, loaded.source)
        diagnostics += [d for d in measured.diagnostics if d.file == loaded.source.file]
        if not has_errors(measured.diagnostics):
            # in this process (a server with threads never forks), keeping only what it shows
            planned, found, previous = plan_again(spec, loaded.source, measured.records, previous)
            diagnostics += [d for d in found if d.file == loaded.source.file]
        diagnostics = sorted(diagnostics, key=sort_key)
    return diagnostics, loaded.source, planned, (loaded, previous)


_REPLACEMENTS = (
    re.compile(r"did you mean '([^']+)'\?"),  # keys, enum values, hardware ids, names
    re.compile(r"write \w+: (\{[^}]*\})"),  # a figure where a mapping belongs: latency: {p95_ms: 50}
    re.compile(r'^write (?:\w+: )?("[^"]*")'),  # a version: "1.0.0"
    re.compile(r"^write (\S+)$"),  # a unit's spelling: 7B
)


def replacement(hint: str | None) -> str | None:
    """The text a diagnostic's hint says to put in its range, when it names one."""
    for pattern in _REPLACEMENTS:
        m = pattern.search(hint or "")
        if m:
            return m.group(1)
    return None


def to_lsp(d: Diagnostic) -> types.Diagnostic:
    start = types.Position(line=d.line - 1, character=d.column - 1)
    end_line = (d.end_line or d.line) - 1
    end_col = (d.end_column or d.column + 1) - 1
    if (end_line, end_col) <= (start.line, start.character):
        end_line, end_col = start.line, start.character + 1
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    fix = replacement(d.hint)
    return types.Diagnostic(
        range=types.Range(start=start, end=types.Position(line=end_line, character=end_col)),
        severity=_SEVERITY[d.severity],
        code=d.code,
        source="edgespec",
        message=message,
        data={"replacement": fix} if fix is not None else None,
    )


def quick_fixes(uri: str, diagnostics: Sequence[types.Diagnostic]) -> list[types.CodeAction]:
    """A quick fix per diagnostic whose hint names its replacement: the range becomes it."""
    actions = []
    for d in diagnostics:
        fix = d.data.get("replacement") if isinstance(d.data, dict) else None
        if fix is None:
            continue
        actions.append(
            types.CodeAction(
                title=f"Replace with {fix}",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[d],
                is_preferred=True,
                edit=types.WorkspaceEdit(changes={uri: [types.TextEdit(range=d.range, new_text=fix)]}),
            )
        )
    return actions


_KEY_AT_CURSOR = re.compile(r"([A-Za-z_]+):\s*\[?(?:[-a-z0-9]+,\s*)*\s*([-a-z0-9]*)$")
# the value keys whose names the schema cannot list: catalog ids and the spec's own names
_NAMES_FOR = {
    "hardware": "hardware",
    "host": "hosts",
    "model": "runnables",
    "distilled_from": "models",
    "data_source": "targets",
    "to": "targets",
}


def spec_names(text: str) -> dict[str, list[str]]:
    """The names a buffer declares (models, their variants, targets), read line by line so that a
    half-typed document still offers them: second-level keys under `models:` and `targets:`, and the
    keys under each model's `variants:`."""
    names: dict[str, list[str]] = {"models": [], "variants": [], "targets": []}
    section = None
    in_variants = False
    for line in text.split("\n"):
        top = re.match(r"^([A-Za-z_]+):", line)
        if top:
            section, in_variants = top.group(1), False
            continue
        second = re.match(r"^  ([a-z0-9][-a-z0-9]*):", line)
        if second and section in ("models", "targets"):
            names[section].append(second.group(1))
            in_variants = False
            continue
        if section == "models" and re.match(r"^    variants:", line):
            in_variants = True
            continue
        variant = re.match(r"^      ([a-z0-9][-a-z0-9]*):", line)
        if in_variants and variant:
            names["variants"].append(variant.group(1))
        elif re.match(r"^    \S", line):
            in_variants = False
    return names


def completions(text: str, line: int, character: int) -> list[types.CompletionItem]:
    """Catalog ids and the spec's own names where the cursor is on the value of a key that takes
    them (hardware, host, model, distilled_from, data_source, escalation.to)."""
    from edgespec import catalog

    lines = text.split("\n")
    if line >= len(lines):
        return []
    m = _KEY_AT_CURSOR.search(lines[line][:character])
    if m is None or m.group(1) not in _NAMES_FOR:
        return []
    wanted = _NAMES_FOR[m.group(1)]
    if wanted in ("hardware", "hosts"):
        hardware = catalog.hardware()
        ids = [h for h in sorted(hardware) if wanted == "hardware" or hardware[h]["kind"] == "host"]
        return [
            types.CompletionItem(
                label=h, kind=types.CompletionItemKind.Value, detail=f"{hardware[h]['class']} ({hardware[h]['kind']})"
            )
            for h in ids
        ]
    names = spec_names(text)
    chosen = {
        "runnables": [*names["models"], *names["variants"]],
        "models": names["models"],
        "targets": names["targets"],
    }[wanted]
    kind = types.CompletionItemKind.Reference
    return [types.CompletionItem(label=n, kind=kind, detail=wanted.rstrip("s")) for n in dict.fromkeys(chosen)]


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
            where = ", ".join(p.described() for p in c.placements)
            return (
                f"**{wp.name}**: {c.pattern}, predicted p95 {c.estimates.p95_ms:.1f} ms, "
                f"p50 {c.estimates.p50_ms:.1f} ms, accuracy {c.estimates.accuracy:.3f}\n\n"
                f"placement: {where}\n\nwhy: {wp.why}"
            )
    return None


DEBOUNCE_S = 0.15  # a pause in typing this long starts a check; a keystroke before it ends restarts it


def server() -> LanguageServer:
    ls = LanguageServer("edgespec", __version__)
    state: dict[str, tuple] = {}
    pending: dict[str, asyncio.Task] = {}  # uri -> the check waiting for typing to pause
    previous: dict = {}  # uri -> what its last check left for re-reading and re-planning only what an edit touched

    def publish(uri: str, version: int | None, diagnostics) -> None:
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, version=version, diagnostics=[to_lsp(d) for d in diagnostics])
        )

    async def check(uri: str, delay: float) -> None:
        """Analyse the document as it is after `delay`, off the event loop, and publish the result
        only if no edit came in meanwhile: a stale version is never published."""
        await asyncio.sleep(delay)
        document = ls.workspace.get_text_document(uri)
        version = document.version
        diagnostics, source, planned, reuse = await asyncio.get_running_loop().run_in_executor(
            None, analyse_again, document.source, document.path or uri, previous.get(uri)
        )
        previous[uri] = reuse
        if ls.workspace.get_text_document(uri).version != version:
            return  # edited while it was being checked: the newer check publishes
        state[uri] = (source, planned)
        publish(uri, version, diagnostics)

    def schedule(uri: str, delay: float) -> None:
        waiting = pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()  # the keystroke it was checking is already out of date
        pending[uri] = asyncio.ensure_future(check(uri, delay))

    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        schedule(params.text_document.uri, 0.0)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        schedule(params.text_document.uri, DEBOUNCE_S)

    @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        schedule(params.text_document.uri, 0.0)

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        task = pending.pop(params.text_document.uri, None)
        if task is not None:
            task.cancel()
        state.pop(params.text_document.uri, None)
        previous.pop(params.text_document.uri, None)

    @ls.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    def code_action(params: types.CodeActionParams) -> list[types.CodeAction]:
        return quick_fixes(params.text_document.uri, params.context.diagnostics)

    @ls.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[" ", "[", ","]))
    def completion(params: types.CompletionParams) -> types.CompletionList:
        document = ls.workspace.get_text_document(params.text_document.uri)
        items = completions(document.source, params.position.line, params.position.character)
        return types.CompletionList(is_incomplete=False, items=items)

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
