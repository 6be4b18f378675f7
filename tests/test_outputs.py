"""Output format lists come from their registries: the CLI's --format choices (edgespec.outputs,
light enough to import at start-up) are exactly the renderers each command has."""

from __future__ import annotations

from edgespec import outputs


def test_the_cli_offers_exactly_the_registered_renderers():
    from edgespec import cli, diff
    from edgespec.diagnostics import render as diagnostics_render
    from edgespec.planner import render as plan_render

    assert tuple(diagnostics_render.RENDERERS) == outputs.DIAGNOSTICS
    assert cli.FORMATS == diagnostics_render.FORMATS == ("auto", *outputs.DIAGNOSTICS)
    assert tuple(plan_render.RENDERERS) == outputs.PLAN
    assert diff.FORMATS == outputs.DIFF
    choices = {
        name: [p for p in command.params if p.name == "fmt"][0].type.choices
        for name, command in cli.cli.commands.items()
        if any(p.name == "fmt" for p in command.params)
    }
    assert tuple(choices["plan"]) == outputs.PLAN and tuple(choices["diff"]) == outputs.DIFF
    assert tuple(choices["validate"]) == cli.FORMATS


def test_measurements_import_offers_exactly_the_registered_importers():
    from edgespec import cli
    from edgespec.measure.importers import IMPORTERS

    command = cli.cli.commands["measurements"].commands["import"]  # type: ignore[attr-defined]
    tool = next(p for p in command.params if p.name == "tool")
    assert tuple(IMPORTERS) == outputs.IMPORTERS == tuple(tool.type.choices)
    assert all(module.TOOL == name for name, module in IMPORTERS.items())


def test_the_cli_stays_light():
    """Reading the format lists does not import the planner (a 0.4 s import): `--help` stays fast."""
    import subprocess
    import sys

    code = "import sys, edgespec.cli; print('edgespec.planner.render' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_the_diagnostics_reference_lists_the_formats_the_cli_takes():
    """docs/diagnostics.md's format list is generated from edgespec.outputs.DIAGNOSTICS."""
    from edgespec import docs, outputs

    assert set(docs.FORMAT_PROSE) == set(outputs.DIAGNOSTICS)
    text = docs.diagnostics_reference()
    positions = [text.index(f"`{name}`") for name in outputs.DIAGNOSTICS]
    assert positions == sorted(positions)  # in the CLI's order
