"""The output formats of each command, in one light module: the CLI reads it at start-up (the
renderers' modules are too heavy to import for `--help`), each renderer registry is keyed by it,
and tests/test_outputs.py holds the registries and these lists together."""

DIAGNOSTICS = ("text", "json", "github", "sarif")  # edgespec.diagnostics.render.RENDERERS
PLAN = ("text", "json")  # edgespec.planner.render.RENDERERS
DIFF = ("text", "markdown", "json")  # edgespec.diff.render
INSPECT = ("text", "json")  # edgespec.cli.inspect
IMPORTERS = (
    "trtexec",
    "benchmark_model",
    "onnxruntime_perf_test",
    "mlperf-loadgen",
    "qai-hub",
    "edgespec-bench",
)  # edgespec.measure.importers.IMPORTERS
