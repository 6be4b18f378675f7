"""The command line: a thin shell that runs the pipeline's stages and renders the results.

Exit codes: 0 the spec is valid (warnings allowed), 1 the spec has errors, 2 usage error or
internal fault. Heavy modules (pydantic, jinja2) are imported inside the commands so that
`edgespec --help` starts fast.
"""

from __future__ import annotations

import sys

import click

from edgespec import __version__, outputs

FORMATS = ("auto", *outputs.DIAGNOSTICS)
EXIT_OK, EXIT_ERRORS, EXIT_FAULT = 0, 1, 2


class _Group(click.Group):
    """Turns unexpected exceptions into exit 2 with one line, unless --traceback is given."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except BrokenPipeError:  # `edgespec ... | head`: the reader left; not an error of ours
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
            ctx.exit(EXIT_ERRORS)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            if ctx.obj and ctx.obj.get("traceback"):
                raise
            click.echo(f"edgespec: internal error: {type(exc).__name__}: {exc}", err=True)
            click.echo("edgespec: this is a bug; rerun with --traceback and report it", err=True)
            ctx.exit(EXIT_FAULT)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="edgespec")
@click.option("--traceback", is_flag=True, help="Show the Python traceback of an internal error.")
@click.pass_context
def cli(ctx: click.Context, traceback: bool) -> None:
    """edgespec: validate, plan and compile edge-AI deployment specs."""
    ctx.ensure_object(dict)["traceback"] = traceback


def _format_option(f):
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="auto",
        show_default=True,
        help="Diagnostics format; auto is github under GitHub Actions, text elsewhere.",
    )(f)


def _measurements_option(f):
    return click.option(
        "--measurements",
        "measurements",
        multiple=True,
        type=click.Path(dir_okay=False),
        metavar="FILE",
        help="Measured latencies (JSON lines, docs/measurements.md) that replace estimates where they match; "
        "repeatable, after the spec's own `measurements`.",
    )(f)


def _max_bytes_option(f):
    return click.option(
        "--max-bytes",
        type=click.IntRange(min=1),
        default=10 * 1024 * 1024,
        show_default=True,
        help="Refuse spec files larger than this.",
    )(f)


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=True, allow_dash=True))
@_format_option
@_max_bytes_option
def validate(specs: tuple[str, ...], fmt: str, max_bytes: int) -> None:
    """Check SPECS and report every problem with its position."""
    from edgespec.diagnostics import has_errors, sort_key
    from edgespec.diagnostics.render import render
    from edgespec.pipeline import check_files

    results = check_files(specs, max_bytes=max_bytes)
    diagnostics = sorted((d for r in results for d in r.diagnostics), key=sort_key)
    sources = {r.source.file: r.source.text for r in results}
    output = render(fmt, diagnostics, sources)
    if output:
        click.echo(output, nl=False)
    elif fmt in ("auto", "text"):
        click.echo(f"ok: {len(specs)} spec{'s' * (len(specs) != 1)} valid", err=True)
    sys.exit(EXIT_ERRORS if has_errors(diagnostics) else EXIT_OK)


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(outputs.PLAN),
    default="text",
    show_default=True,
    help="text for humans; json is the versioned contract for CI bots (docs/planner.md).",
)
@click.option(
    "--explain",
    "explain_workload",
    metavar="WORKLOAD",
    default=None,
    help="List every candidate of WORKLOAD with its predictions and the constraint that rejected it.",
)
@click.option(
    "--diagnostics-format",
    "diag_fmt",
    type=click.Choice(FORMATS),
    default="auto",
    show_default=True,
    help="Format of diagnostics (printed to stderr).",
)
@_measurements_option
@_max_bytes_option
def plan(
    spec: str, fmt: str, explain_workload: str | None, diag_fmt: str, measurements: tuple[str, ...], max_bytes: int
) -> None:
    """Choose a pattern and recipe for every workload of SPEC, and say why."""
    from edgespec.diagnostics import has_errors
    from edgespec.diagnostics.render import render
    from edgespec.pipeline import plan_file
    from edgespec.planner import render as plan_render

    explaining = explain_workload is not None
    checked, planned, diagnostics = plan_file(
        spec,
        max_bytes=max_bytes,
        keep_all=explaining,
        jobs=None,
        fragment=plan_render.json_fragment if fmt == "json" and not explaining else None,
        measurements=measurements,
    )
    # json and sarif always give a document (empty or not); text prints nothing when all is well
    click.echo(render(diag_fmt, diagnostics, checked.sources), nl=False, err=True)
    if planned is None:
        sys.exit(EXIT_ERRORS)
    if explain_workload is not None:
        if explain_workload not in planned.workloads:
            raise click.BadParameter(
                f"no workload {explain_workload!r} in {spec}; workloads: {', '.join(planned.workloads)}",
                param_hint="--explain",
            )
        click.echo(plan_render.explain(planned.workloads[explain_workload]), nl=False)
    else:
        click.echo(
            plan_render.RENDERERS[fmt](
                planned, p99=any(w.latency.p99_ms is not None for w in checked.spec.workloads.values())
            ),
            nl=False,
        )
    sys.exit(EXIT_ERRORS if has_errors(diagnostics) else EXIT_OK)


@cli.command("compile")
@click.argument("spec", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "-o",
    "--output",
    "out",
    required=True,
    type=click.Path(file_okay=False),
    help="Output directory: replaced as a whole (one folder per target and edgespec.lock.json).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 and list what would change if OUT is stale.")
@click.option("--diff", "show_diff", is_flag=True, help="With --check, also print the unified diff.")
@_format_option
@_measurements_option
@_max_bytes_option
def compile_cmd(
    spec: str, out: str, check: bool, show_diff: bool, fmt: str, measurements: tuple[str, ...], max_bytes: int
) -> None:
    """Compile SPEC into per-target deployment artifacts in OUT."""
    from pathlib import Path

    from edgespec.diagnostics import has_errors
    from edgespec.diagnostics.codes import diag
    from edgespec.diagnostics.render import render, resolve
    from edgespec.pipeline import compile_file
    from edgespec.write import NotOurs, changes, check_ours, unified_diff, write_tree

    checked, files, diagnostics = compile_file(spec, max_bytes=max_bytes, jobs=None, measurements=measurements)
    out_dir = Path(out)
    if files is not None:
        try:
            check_ours(out_dir)
        except NotOurs:
            diagnostics = [
                *diagnostics,
                diag("ES603", f"{out} exists and holds no edgespec.lock.json; refusing to replace it", file=out),
            ]
            files = None
    if files is not None and check:
        stale = changes(out_dir, files)
        if stale:
            diagnostics = [
                *diagnostics,
                diag(
                    "ES604",
                    f"{out} is out of date: " + ", ".join(f"{c.kind} {c.path}" for c in stale),
                    file=out,
                    hint=f"run `edgespec compile {spec} -o {out}`",
                ),
            ]
    click.echo(render(fmt, diagnostics, checked.sources), nl=False, err=True)
    if files is None or has_errors(diagnostics):
        if check and show_diff and files is not None:
            click.echo(unified_diff(out_dir, files), nl=False)
        sys.exit(EXIT_ERRORS)

    def status(line: str) -> None:  # for people; json/github/sarif streams stay machine-readable
        if resolve(fmt) == "text":
            click.echo(line, err=True)

    if check:
        status(f"{out} is up to date")
        return
    if out_dir.is_dir() and not changes(out_dir, files):
        status(f"{out} is up to date; nothing written")
        return
    write_tree(out_dir, files)
    status(f"wrote {len(files)} files to {out}")


@cli.command()
@click.option("--write", is_flag=True, help="Write schemas/edgespec-v1.schema.json instead of printing it.")
@click.option("--check", is_flag=True, help="Exit 1 if the schema file differs from the models.")
@click.option("--path", "path", default=None, help="The schema file (default: schemas/edgespec-v1.schema.json).")
@click.option("--where", is_flag=True, help="Print the path of the schema file installed with edgespec.")
def schema(write: bool, check: bool, path: str | None, where: bool) -> None:
    """Print the spec's JSON Schema (draft 2020-12), generated from the models."""
    import os

    from edgespec.spec import schema as spec_schema

    if where:
        from edgespec.resources import schema_file

        click.echo(str(schema_file()))
        return

    text = spec_schema.render()
    target = path or os.path.join("schemas", spec_schema.FILE_NAME)
    if check:
        try:
            with open(target, encoding="utf-8") as fh:
                current = fh.read()
        except OSError as exc:
            raise click.UsageError(f"cannot read {target}: {exc.strerror}") from None
        if current != text:
            click.echo(f"{target} is out of date; run `edgespec schema --write`", err=True)
            sys.exit(EXIT_ERRORS)
        return
    if write:
        from edgespec.write import write_text_atomic

        write_text_atomic(target, text)
        click.echo(f"wrote {target}", err=True)
        return
    click.echo(text, nl=False)


@cli.command()
@click.argument("code")
def explain(code: str) -> None:
    """Explain a diagnostic code such as ES201."""
    from edgespec.diagnostics.codes import CODES

    entry = CODES.get(code.upper())
    if entry is None:
        raise click.BadParameter(f"unknown code {code!r}; codes are listed in docs/diagnostics.md", param_hint="CODE")
    click.echo(
        f"{entry.code} ({entry.severity.value}): {entry.title}\n\n{entry.explanation}\n\nHow to fix: {entry.fix}"
    )


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--check", is_flag=True, help="Write nothing; exit 1 and print the diff if a spec is not formatted.")
@_format_option
def fmt(specs: tuple[str, ...], check: bool, fmt: str) -> None:  # noqa: A002 - the option is --format
    """Format SPECS canonically: key order, indentation, quoting; comments kept."""
    import difflib

    from edgespec.diagnostics import has_errors
    from edgespec.diagnostics.render import render
    from edgespec.fmt import format_text
    from edgespec.load import load_path
    from edgespec.write import write_text_atomic

    stale = []
    problems = []
    sources = {}
    for path in specs:
        loaded = load_path(path)
        if has_errors(loaded.diagnostics):  # never reformat what does not parse
            problems += loaded.diagnostics
            sources[loaded.source.file] = loaded.source.text
            continue
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        formatted = format_text(text)
        if formatted == text:
            continue
        stale.append(path)
        if check:
            click.echo(
                "".join(
                    difflib.unified_diff(text.splitlines(True), formatted.splitlines(True), f"a/{path}", f"b/{path}")
                ),
                nl=False,
            )
        else:
            write_text_atomic(path, formatted)
    if problems:
        click.echo(render(fmt, problems, sources), nl=False, err=True)
    verb = "would reformat" if check else "reformatted"
    for path in stale:
        click.echo(f"{verb} {path}", err=True)
    sys.exit(EXIT_ERRORS if problems or (check and stale) else EXIT_OK)


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--hardware", default="jetson-orin-nano-8gb", show_default=True, help="Device hardware id (see `edgespec catalog`)."
)
@click.option(
    "--pattern",
    type=click.Choice(["auto", "on-device", "split", "cascade", "federated", "mec", "cloud"]),
    default="auto",
    show_default=True,
    help="Pattern to pin; adds the targets it needs.",
)
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def init(path: str, hardware: str, pattern: str, force: bool) -> None:
    """Write a commented starter spec to PATH."""
    import os
    import re

    from edgespec import catalog
    from edgespec.emit.templating import render
    from edgespec.resources import schema_file
    from edgespec.write import write_text_atomic

    devices = sorted(k for k, v in catalog.hardware().items() if v["role"] == "device" and v["kind"] != "client")
    if hardware not in devices:
        raise click.BadParameter(
            f"{hardware!r} is not a device id; devices: {', '.join(devices)}", param_hint="--hardware"
        )
    if os.path.exists(path) and not force:
        raise click.UsageError(f"{path} exists; pass --force to overwrite it")
    entry = catalog.hardware()[hardware]
    here = os.path.dirname(os.path.abspath(path))
    schema = _schema_reference(here, schema_file())
    stem = os.path.splitext(os.path.basename(path))[0].split(".")[0].lower()
    name = re.sub(r"[^a-z0-9-]+", "-", stem).strip("-")[:63] or "my-deployment"
    text = render(
        "init/spec.yaml.j2",
        schema=schema,
        path_hint=path,
        name=name,
        hardware=hardware,
        pattern=pattern,
        host="raspberry-pi-5" if entry.get("needs_host") else None,
        power_mode=(entry.get("power_modes") or {}).get("default"),
    ).decode("utf-8")
    write_text_atomic(path, text)
    click.echo(f"wrote {path}; next: edgespec plan {path}", err=True)


def _schema_reference(here: str, installed) -> str:
    """What a new spec's modeline points at: the repository's own copy of the schema (a path
    relative to the spec, the nearest `schemas/edgespec-v1.schema.json` above it), else the
    schema's published URL (its `$id`); never the copy inside an environment's site-packages."""
    import json
    import os

    folder = here
    while True:
        local = os.path.join(folder, "schemas", "edgespec-v1.schema.json")
        if os.path.exists(local):
            return os.path.relpath(local, here).replace(os.sep, "/")
        parent = os.path.dirname(folder)
        if parent == folder or os.path.exists(os.path.join(folder, ".git")):
            break
        folder = parent
    return json.loads(installed.read_text(encoding="utf-8"))["$id"]


@cli.command("diff")
@click.argument("old", type=click.Path(dir_okay=False, exists=True))
@click.argument("new", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(outputs.DIFF),
    default="text",
    show_default=True,
    help="text for people, markdown for a pull-request comment, json for bots.",
)
@_measurements_option
def diff_cmd(old: str, new: str, fmt: str, measurements: tuple[str, ...]) -> None:
    """Show what changes from OLD to NEW (specs or edgespec.lock.json files): the input changes, then
    their effects on the plan, the artifacts, the fleets and the rollout.

    Exit codes: 0 no change, 1 changes, 2 the diff could not be made (a side that is not a valid
    spec or lock file; its diagnostics are printed)."""
    from edgespec.diff import CannotDiff, diff, render, snapshot_of

    snapshots = []
    for path in (old, new):
        try:
            snapshots.append(snapshot_of(path, measurements))
        except CannotDiff as exc:
            click.echo(exc.text, nl=False, err=True)
            sys.exit(EXIT_FAULT)
    found = diff(*snapshots)
    click.echo(render(found, fmt), nl=False)
    sys.exit(EXIT_OK if found["unchanged"] else EXIT_ERRORS)


@cli.command()
@click.argument("spec", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False), help="The HTML file to write.")
@_measurements_option
@_max_bytes_option
def report(spec: str, out: str, measurements: tuple[str, ...], max_bytes: int) -> None:
    """Write the plan of SPEC as one self-contained HTML page (no scripts, no network fetches): the
    topology, each workload's latency budget, costs and instances, and the rejected alternatives."""
    from edgespec.diagnostics.render import render
    from edgespec.pipeline import plan_file
    from edgespec.report import render as render_report
    from edgespec.write import write_text_atomic

    checked, planned, diagnostics = plan_file(spec, max_bytes=max_bytes, jobs=None, measurements=measurements)
    click.echo(render("auto", diagnostics, checked.sources), nl=False, err=True)
    if planned is None or checked.spec is None:
        sys.exit(EXIT_ERRORS)
    write_text_atomic(out, render_report(checked.spec, planned))
    click.echo(f"wrote {out}", err=True)


@cli.command()
def lsp() -> None:
    """Run the edgespec language server over stdio (for editors)."""
    try:
        from edgespec.lsp import main as serve
    except ImportError:
        raise click.UsageError("the language server needs pygls: pip install 'edgespec[lsp]'") from None
    serve()


@cli.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(outputs.INSPECT), default="text", show_default=True)
def inspect(model: str, fmt: str) -> None:
    """Count an ONNX model's parameters, FLOPs and op mix (what `params` and `gflops` declare)."""
    import json

    from edgespec import introspect  # imports onnx (an extra) only when counting

    try:
        counted = introspect.count(model)
    except ImportError:
        raise click.UsageError("inspect needs onnx: pip install 'edgespec[onnx]'") from None
    except Exception as err:  # onnx's DecodeError, shape inference's errors: not a readable model
        click.echo(f"edgespec: {model}: not a readable ONNX model ({type(err).__name__}: {str(err)[:200]})", err=True)
        raise SystemExit(1) from None
    if fmt == "json":
        click.echo(json.dumps({"model": model, **counted.as_json()}, indent=2))
        return
    click.echo(f"params: {counted.params:,} ({counted.params / 1e6:.3g}M)")
    click.echo(f"gflops: {counted.gflops:.4g} ({counted.macs:,} multiply-accumulates)")
    for op, macs in sorted(counted.macs_by_op.items(), key=lambda kv: -kv[1]):
        click.echo(f"  {op}: {macs:,} ({macs / counted.macs:.1%})")
    click.echo("ops: " + ", ".join(f"{op} {n}" for op, n in sorted(counted.ops.items())))
    unmapped = counted.npu_unmapped
    click.echo(
        f"NPU-unmapped ops: {', '.join(sorted(unmapped)) or 'none'} "
        f"({counted.npu_unmapped_share:.0%} of the nodes, by the Edge TPU's op set)"
    )
    click.echo(
        f"op class: {counted.op_class} ({counted.depthwise_nodes} depthwise convolutions, "
        f"{counted.attention_macs:,} attention multiply-accumulates): the spec's op_class when left out"
    )
    if counted.symbolic_dims:
        click.echo(f"symbolic dimensions counted as 1: {', '.join(counted.symbolic_dims)}")


@cli.group("measurements")
def measurements_group() -> None:
    """Measured latencies: turn benchmark tools' output into records (docs/measurements.md)."""


@measurements_group.command("import")
@click.argument("tool", type=click.Choice(outputs.IMPORTERS))
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--hardware", help="Catalog id of the hardware measured (edgespec catalog).")
@click.option("--model", "model", help="The spec's model or variant name that was measured.")
@click.option("--precision", type=click.Choice(("fp32", "fp16", "int8", "int4")), help="Precision measured.")
@click.option("--batch", type=click.IntRange(min=1), help="Batch size measured (default 1, or what the tool says).")
@click.option("--power-mode", help="Jetson power mode measured (as `edgespec catalog --power-modes` names it).")
@click.option("--instance-type", help="EC2 or Wavelength instance type measured.")
@click.option("--accelerator", type=click.Choice(("dla",)), help="dla: measured on a Jetson DLA core.")
@click.option(
    "--model-file",
    type=click.Path(dir_okay=False, exists=True),
    help="The model file measured: its sha256 is recorded.",
)
@click.option("--date", help="When it was measured (ISO 8601); none is recorded unless given.")
@click.option("--notes", help="Free text kept with the record.")
@click.option(
    "--warmup-ms",
    type=click.FloatRange(min=0),
    default=200.0,
    show_default=True,
    help="trtexec: the --warmUp it ran with.",
)
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(dir_okay=False),
    help="Append the records to this file (default: print them).",
)
@_format_option
def measurements_import(tool: str, file: str, out: str | None, fmt: str, **identity) -> None:
    """Turn TOOL's output FILE into measurement records (JSON lines).

    TOOL is trtexec (--exportTimes or --exportProfile JSON), benchmark_model (its log),
    onnxruntime_perf_test (its output or result file), mlperf-loadgen (mlperf_log_summary.txt),
    qai-hub (a profile job's JSON) or edgespec-bench (the bundles' harness records)."""
    from edgespec.diagnostics import has_errors
    from edgespec.diagnostics.render import render
    from edgespec.measure import imported

    text, records, problems = imported.run(tool, file, identity)
    click.echo(render(fmt, problems, {file: text}), nl=False, err=True)
    if has_errors(problems):
        sys.exit(EXIT_ERRORS)
    if out is None:
        click.echo(records, nl=False)
        return
    with open(out, "a", encoding="utf-8") as f:
        f.write(records)
    click.echo(f"appended {records.count(chr(10))} record(s) to {out}", err=True)


@cli.command("catalog")
@click.option(
    "--instance-types",
    "what",
    flag_value="instance-types",
    help="EC2 GPU instance types: GPU, GPUs, and the regions priced in the catalog.",
)
@click.option("--regions", "what", flag_value="regions", help="AWS regions (with their country) and Wavelength zones.")
@click.option("--power-modes", "what", flag_value="power-modes", help="Power modes of each device that has them.")
@click.option("--workers-ai", "what", flag_value="workers-ai", help="Workers AI model ids by task, with rate limits.")
def catalog_cmd(what: str | None) -> None:
    """List the hardware ids of the built-in catalog (or, with an option, other ids a spec names)."""
    from edgespec import catalog
    from edgespec.catalog import value

    cloud = catalog.cloud()
    if what == "instance-types":
        for name, (gpu, count) in sorted(cloud["instance_types"].items()):
            priced = ", ".join(f"{r} ${value(p):g}/h" for r, p in sorted(cloud["prices"].get(name, {}).items()))
            click.echo(f"{name:16} {count} x {gpu:18} {priced or 'price unknown in the catalog'}")
        wavelength = catalog.instance_types(catalog.hardware()["aws-wavelength"])
        click.echo(f"\nWavelength zones offer: {', '.join(wavelength)}")
    elif what == "regions":
        for region, (country, where) in sorted(cloud["regions"].items()):
            click.echo(f"{region:16} {country.upper()}  {where}")
        click.echo("")
        for zone, (region, country, city, carrier) in sorted(cloud["wavelength_zones"].items()):
            click.echo(f"{zone:30} {region:16} {country.upper()}  {city} ({carrier})")
    elif what == "power-modes":
        for hw_id in catalog.hardware_ids():
            entry = catalog.hardware()[hw_id]
            watts = catalog.power_mode_watts(entry)
            if watts:
                default = entry["power_modes"]["default"]
                modes = ", ".join(f"{m} ({w:g} W){' default' if m == default else ''}" for m, w in watts.items())
                click.echo(f"{hw_id:24} {modes}")
    elif what == "workers-ai":
        from edgespec.planner import estimate

        for task, models in sorted(catalog.workers_ai()["models"].items()):
            for m in models:
                limit = estimate.workers_ai_rate_limit(estimate.workers_ai_entry(m["id"]), task)
                click.echo(f"{task:22} {m['id']:44} {f'{limit:g}/min' if limit else 'no published limit'}")
    else:
        for hw_id in catalog.hardware_ids():
            entry = catalog.hardware()[hw_id]
            click.echo(f"{hw_id:24} {entry['kind']:11} {entry['role']:7} {entry['name']}")


def main() -> None:
    """The console script. It leaves without tearing the interpreter down: freeing a large plan's
    objects one by one takes ~0.1 s and changes nothing (mypy exits the same way). Output is
    flushed first; exit codes are those sys.exit would give."""
    import os

    try:
        cli(prog_name="edgespec")
        code = EXIT_OK  # pragma: no cover - click always ends with SystemExit in standalone mode
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or EXIT_OK
        else:
            print(exc.code, file=sys.stderr)
            code = EXIT_ERRORS
    try:
        for stream in (sys.stdout, sys.stderr):
            if not stream.closed:  # the language server's transport closes stdout on `exit`
                stream.flush()
    except (BrokenPipeError, OSError):
        code = 120  # what CPython exits with when it cannot flush at shutdown
    os._exit(code)
