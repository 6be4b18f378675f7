"""The registry of diagnostic codes: the single source for `explain`, SARIF rules and the docs.

Codes are stable: a code is never reused for another meaning. Ranges: ES1xx load, ES2xx
schema, ES3xx semantics, ES4xx catalog, ES5xx plan, ES6xx emit/write, ES7xx measurements.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgespec.diagnostics.diagnostic import Severity


@dataclass(frozen=True)
class Code:
    code: str
    title: str
    severity: Severity
    explanation: str
    fix: str


E, W = Severity.ERROR, Severity.WARNING

_ALL = [
    # -- ES1xx: reading the file -------------------------------------------------------------
    Code(
        "ES101",
        "file cannot be read",
        E,
        "The spec path does not exist, is a directory, or cannot be opened.",
        "Check the path; pass `-` to read the spec from standard input.",
    ),
    Code(
        "ES102",
        "file too large",
        E,
        "The spec is larger than the loader's size limit (10 MB by default). Limits keep a "
        "malicious or generated file from exhausting memory in CI.",
        "Split the deployment into several specs, or raise the limit with `--max-bytes`.",
    ),
    Code(
        "ES103",
        "not UTF-8",
        E,
        "Specs are UTF-8 text. The file contains a byte sequence that is not valid UTF-8.",
        "Re-save the file as UTF-8 (most editors: 'Save with encoding').",
    ),
    Code(
        "ES104",
        "YAML syntax error",
        E,
        "The YAML parser could not read the file at the position shown.",
        "Look at the code frame: common causes are an unclosed quote or bracket, a missing "
        "space after `:`, or inconsistent indentation.",
    ),
    Code(
        "ES105",
        "tab in indentation",
        E,
        "YAML forbids tab characters for indentation.",
        "Indent with spaces (two per level is conventional); `edgespec fmt` rewrites the file.",
    ),
    Code(
        "ES106",
        "duplicate key",
        E,
        "A mapping names the same key twice. YAML parsers disagree about which value wins, so "
        "edgespec refuses the file rather than guess.",
        "Remove or rename one of the two keys; the hint shows where the first one is.",
    ),
    Code(
        "ES107",
        "more than one document",
        E,
        "A spec file holds exactly one YAML document; this one has a `---` separator followed by a second document.",
        "Put each deployment in its own file.",
    ),
    Code(
        "ES108",
        "empty spec",
        E,
        "The file is empty or contains only comments.",
        "Start from `edgespec init`, or from one of the examples.",
    ),
    Code(
        "ES109",
        "top level is not a mapping",
        E,
        "The document must be a mapping with `apiVersion`, `kind`, `metadata`, `models`, `targets` and `workloads`.",
        "Start from `edgespec init`, or from one of the examples.",
    ),
    Code(
        "ES110",
        "nesting too deep",
        E,
        "The document nests collections deeper than the loader's limit (64 levels). No valid "
        "spec comes close; the limit protects the tools that read the file.",
        "Flatten the structure.",
    ),
    Code(
        "ES111",
        "alias expansion too large",
        E,
        "Anchors and aliases (`&a`, `*a`) expand to more nodes than the loader's limit. This is "
        "how a 'billion laughs' file exhausts memory; edgespec refuses it before expanding.",
        "Use fewer nested aliases, or write the values out.",
    ),
    Code(
        "ES112",
        "unsupported YAML tag",
        E,
        "Only the YAML 1.2 core tags (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!map`, "
        "`!!seq`) are accepted; custom tags would make the meaning of a spec depend on the tool "
        "that reads it.",
        "Remove the tag, or quote the value to make it a string.",
    ),
    Code(
        "ES113",
        "mapping key is not a string",
        E,
        "Mapping keys must be plain strings; a sequence, a mapping or null cannot be a key.",
        "Write the key as a plain word.",
    ),
    Code(
        "ES114",
        "undefined alias",
        E,
        "An alias (`*name`) refers to an anchor (`&name`) that is not defined before it.",
        "Define the anchor first, or correct the name.",
    ),
    # -- ES2xx: the shape of the spec ----------------------------------------------------------
    Code(
        "ES201",
        "unknown key",
        E,
        "The key is not part of the spec language at this position. Unknown keys are errors, "
        "not warnings, because a misspelt key (`latancy`) would otherwise be silently ignored.",
        "Use the suggested key, or see docs/spec.md for the keys allowed here.",
    ),
    Code(
        "ES202",
        "missing required field",
        E,
        "A required field is absent.",
        "Add the field; docs/spec.md lists every field with its meaning.",
    ),
    Code(
        "ES203",
        "value not allowed",
        E,
        "The value is not one of the values this field accepts.",
        "Use one of the listed values.",
    ),
    Code(
        "ES204",
        "wrong type",
        E,
        "The value has the wrong type (for example a list where a mapping is expected, or a "
        "string where a number is expected).",
        "Change the value to the expected type; quoting turns a value into a string.",
    ),
    Code(
        "ES205",
        "invalid quantity",
        E,
        "Quantities accept a plain number in the field's unit or a number with a unit suffix "
        "(`3.2M`, `25W`, `500ms`, `2h`, `20Mbps`, `800KiB`).",
        "Use a number, or one of the suffixes listed in the message.",
    ),
    Code(
        "ES206",
        "value out of range",
        E,
        "The number is outside the range this field accepts (for example a negative latency or a fraction above 1).",
        "Use a value inside the range given in the message.",
    ),
    Code(
        "ES207",
        "invalid name",
        E,
        "Names of models, targets and workloads become file names, container names and "
        "CloudFormation logical ids, so they must be lowercase DNS labels: 1-63 characters, "
        "`a-z`, `0-9` and `-`, starting and ending with a letter or digit.",
        "Rename it, e.g. `Shelf_Detector` becomes `shelf-detector`.",
    ),
    Code(
        "ES208",
        "invalid format",
        E,
        "The string does not have the required format (semantic version, sha256 digest, URI, zone id, ...).",
        "Follow the format given in the message.",
    ),
    Code(
        "ES209",
        "collection size",
        E,
        "A list or a mapping has too few or too many entries (for example an empty "
        "`data_source`, or `accuracy` with neither `max_drop` nor `min`).",
        "Add the missing entries, or remove extra ones.",
    ),
    # -- ES3xx: meaning across the spec ----------------------------------------------------------
    Code(
        "ES301",
        "unknown model",
        E,
        "A workload or an escalation names a model that is not declared under `models` (nor as a variant of one).",
        "Declare the model, or use the suggested name.",
    ),
    Code(
        "ES302",
        "unknown target",
        E,
        "A workload's `data_source` or `escalation.to` names a target that is not declared under `targets`.",
        "Declare the target, or use the suggested name.",
    ),
    Code(
        "ES303",
        "variant refers to an unknown model",
        E,
        "`variants.<name>.distilled_from` must name the model the variant belongs to or another declared model.",
        "Correct the name.",
    ),
    Code(
        "ES304",
        "name declared twice",
        E,
        "A variant has the same name as a model or another variant; model and variant names "
        "share one namespace because workloads and escalations refer to both.",
        "Rename one of them.",
    ),
    Code(
        "ES305",
        "latency percentiles out of order",
        E,
        "A latency budget must satisfy p50 <= p95 <= p99: a higher percentile cannot have a tighter budget.",
        "Swap or correct the budgets.",
    ),
    Code(
        "ES306",
        "text generation needs token counts",
        E,
        "A workload on a `text-generation` model must declare `generation.prompt_tokens` and "
        "`generation.output_tokens`: LLM latency depends on them more than on anything else.",
        "Add `generation: {prompt_tokens: 512, output_tokens: 256}` with your typical sizes.",
    ),
    Code(
        "ES307",
        "data source is not a device",
        E,
        "`data_source` lists where the input is produced: a device or an on-site server. Cloud "
        "regions, Wavelength zones and Workers AI receive inputs, they do not produce them.",
        "List the device targets; name remote targets under `escalation.to` or let the planner "
        "place the workload there.",
    ),
    Code(
        "ES308",
        "escalation to itself",
        E,
        "`escalation.to` names a target that is also a data source of the workload; a cascade "
        "escalates to a different, larger tier.",
        "Escalate to a site server, a Wavelength zone or a cloud target.",
    ),
    Code(
        "ES309",
        "pinned pattern lacks what it needs",
        E,
        "A workload pins a pattern whose prerequisites the spec does not declare: `split` needs "
        "`split_points` on the model, `cascade` needs `escalation`, `federated` needs at least "
        "two data sources on one site, `mec` needs an aws-wavelength target, `cloud` needs an "
        "aws-ec2 or Workers AI target.",
        "Declare what the pattern needs, or set `pattern: auto`.",
    ),
    Code(
        "ES310",
        "field does not apply to this hardware",
        E,
        "The target sets a field that has no meaning for its hardware (for example `zone` on a "
        "Jetson, or `host` on an AWS instance), or lacks one it needs (a Wavelength target "
        "needs `zone` and `instance_type`).",
        "Remove the field, or add the missing one, as the message says.",
    ),
    Code(
        "ES311",
        "rollout stages out of order",
        E,
        "Rollout stages must have strictly increasing percentages, and the last must reach 100.",
        "Order the stages, and end with `{percent: 100}`.",
    ),
    Code(
        "ES312",
        "variant is not smaller",
        W,
        "A variant is meant to be a smaller or cheaper model, yet this one declares more "
        "parameters or FLOPs than its parent. The planner will rarely pick it.",
        "Check the figures.",
    ),
    Code(
        "ES313",
        "split points out of order",
        E,
        "Split point names must be unique and their `flops_fraction` strictly increasing, in the order the layers run.",
        "Sort the split points by depth.",
    ),
    Code(
        "ES314",
        "power mode above the power budget",
        W,
        "The target's power mode (the declared one, or the catalog's default) lets the device draw "
        "more than its `power_budget_w` while busy. The planner checks each workload's average draw "
        "against the budget, so light loads may still fit, but a burst can overdraw the supply (a PoE "
        "switch cuts the port; a battery sags). A Jetson power mode is itself a power budget: pick one "
        "within yours.",
        "Set `power_mode` to a mode within the budget (the message lists them), or raise the budget.",
    ),
    Code(
        "ES315",
        "region-level privacy without a jurisdiction",
        W,
        "The workload allows raw data or features to leave the site but stay in its region "
        "(`region`), yet a data source declares no `jurisdiction`, so no remote target can be shown "
        "to be in the same region: the planner treats every remote tier as outside it.",
        "Add `jurisdiction:` (an ISO 3166-1 country code such as us or de, or a bloc such as eu) to the "
        "data-source target the message names.",
    ),
    Code(
        "ES316",
        "pool bounds out of order",
        E,
        "A remote pool is either fixed (`count`) or autoscaled within `scaling: {min, max}`; the two "
        "cannot be combined, and `min` cannot exceed `max`.",
        "Keep `count` for a fixed pool, or `scaling` for an autoscaled one, with min <= max.",
    ),
    Code(
        "ES317",
        "jurisdiction contradicts the region",
        E,
        "An aws-ec2 or aws-wavelength target's jurisdiction is where its region or zone is (from "
        "edgespec's sourced table of regions); the declared `jurisdiction` says otherwise.",
        "Remove `jurisdiction` (it is derived), or pick the region you meant.",
    ),
    Code(
        "ES318",
        "generation on a model that does not generate",
        E,
        "`generation` gives the token counts of a request that decodes tokens: a text-generation "
        "model, or a speech-recognition model whose decoder dominates (then its `gflops` is per "
        "token). On any other model the planner would read `gflops` per token and the estimate would "
        "be wrong by the token count.",
        "Remove `generation`, or set the model's task to what it does.",
    ),
    Code(
        "ES319",
        "input encoding does not fit the input",
        E,
        "`input.encoding` says what clients send. A raw input is the tensor's bytes, so an `encoded_bytes` "
        "smaller than the tensor would price bytes no client sends. An image (`jpeg`, `png`) is decoded, "
        "resized and normalised by the emitted gateways, so the input must be an image tensor: [1, 3, H, W] "
        "(NCHW) or [1, H, W, 3] (NHWC), 1 channel for grey, float32, float16 or uint8, with one `normalize` "
        "value per channel on float inputs.",
        "Declare `encoding: jpeg` (or png) for compressed frames, or fix the shape, layout or normalize values "
        "the message names.",
    ),
    Code(
        "ES320",
        "telemetry over plain HTTP",
        E,
        "`telemetry.endpoint` is where every device sends its metrics and traces, with the backend's "
        "bearer token. Over `http://` to another host they would cross the network unencrypted, so "
        "edgespec requires TLS (`https://`); only a collector on the device itself (localhost) may use "
        "plain HTTP.",
        "Use the endpoint's https:// address (OTLP/HTTP over TLS, usually port 4318 or 443).",
    ),
    Code(
        "ES321",
        "model size unknown",
        E,
        "A model or variant leaves out `params` or `gflops`, so edgespec counts them from its source: "
        "that needs a local ONNX file (a path relative to the spec, `format: onnx`) that exists and "
        "parses, and the `onnx` package (`pip install 'edgespec[onnx]'`). A remote file is not fetched "
        "at plan time, other formats are not counted, and a text-generation model's per-token FLOPs "
        "are declared, not counted.",
        "Declare `params` and `gflops` (`edgespec inspect MODEL.onnx` counts them), or point `source` at "
        "the local ONNX file.",
    ),
    Code(
        "ES322",
        "declared size disagrees with the model file",
        W,
        "The model's source is a local ONNX file, and the `params` or `gflops` the spec declares differ "
        "by more than 10% from what edgespec counts in the file at the declared input shape "
        "(parameters of float initializers; FLOPs = 2 x the multiply-accumulates of Conv, Gemm, MatMul "
        "and attention). The plan uses the declared value.",
        "Correct the declared value (`edgespec inspect` shows the count and its op mix), or leave it out to "
        "use the count.",
    ),
    Code(
        "ES323",
        "two sources of one format",
        E,
        "A model's (or variant's) `source` list declares the same format twice. The list holds one "
        "export of the same model per format, and each device uses the format it loads (or the one its "
        "bundle converts), so two files of one format leave the choice between them undefined.",
        "Keep one source per format; a different model belongs under its own name, or as a variant.",
    ),
    # -- ES4xx: the catalog ------------------------------------------------------------------------
    Code(
        "ES401",
        "unknown hardware",
        E,
        "The hardware id is not in edgespec's catalog. `edgespec catalog` lists the ids.",
        "Use the suggested id.",
    ),
    Code(
        "ES402",
        "unknown power mode",
        E,
        "The power mode is not one of the modes the catalog lists for this hardware.",
        "Use one of the listed modes, or omit `power_mode` for the default.",
    ),
    Code(
        "ES403",
        "unknown instance type",
        E,
        "The instance type is not one the catalog lists for this hardware (for Wavelength, only "
        "some types are offered in carrier zones).",
        "Use one of the listed instance types.",
    ),
    Code(
        "ES404",
        "host is not a host",
        E,
        "`host` names the computer an accelerator is plugged into; it must be a catalog id of "
        "kind `host` (for example raspberry-pi-5).",
        "Use a host id, or omit `host`.",
    ),
    Code(
        "ES405",
        "unknown region or zone",
        E,
        "The AWS region, Availability Zone or Wavelength zone is not in edgespec's catalog of "
        "regions and zones (catalog/cloud.yaml, from AWS's published lists). A misspelt region "
        "would otherwise be priced and placed as if it existed.",
        "Use the suggested id; `edgespec catalog --regions` lists regions and Wavelength zones.",
    ),
    Code(
        "ES406",
        "unknown Workers AI model",
        E,
        "The `workers_ai.model` is not one of the Workers AI models in edgespec's catalog (with "
        "price and rate limit), or it serves another task than the model declares.",
        "Use a listed id (`edgespec catalog --workers-ai`), or leave `workers_ai` out to keep the "
        "model off Workers AI.",
    ),
    Code(
        "ES407",
        "unknown jurisdiction",
        E,
        "A jurisdiction or residency entry is neither a country of edgespec's region table nor a "
        "bloc (eu, eea), or it is a common misspelling (uk for gb).",
        "Use an ISO 3166-1 alpha-2 code (gb for the United Kingdom, ch for Switzerland) or a bloc.",
    ),
]

_ALL += [
    # -- ES5xx: planning ---------------------------------------------------------------------------
    Code(
        "ES501",
        "no feasible plan",
        E,
        "No combination of pattern, placement and recipe meets every constraint of the workload. "
        "The message lists, for each pattern, the candidate that came closest and what it broke.",
        "Relax the constraint named in the nearest miss (latency budget, accuracy, privacy, offline), "
        "add a target that can meet it, or declare a smaller variant; `edgespec plan --explain "
        "WORKLOAD` lists every candidate.",
    ),
    Code(
        "ES502",
        "device over-subscribed",
        W,
        "Retired: several workloads on one device class used to be checked together only after "
        "planning, as a warning. The planner now places workloads jointly, so a device's busy share, "
        "memory and power budget hold across workloads, and when no joint choice exists that is "
        "ES504, an error. The code is kept so that it is never reused.",
        "See ES504.",
    ),
    Code(
        "ES503",
        "estimate rests on a missing figure",
        W,
        "A planned placement depends on a figure the spec does not give (for example a remote "
        "target's `network.rtt_ms`, or a data source's `uplink_mbps`), so the prediction leaves "
        "that term out.",
        "Declare the figure on the target so the estimate includes it.",
    ),
    Code(
        "ES504",
        "no joint placement",
        E,
        "Each workload has feasible placements on its own, but no choice of one per workload keeps "
        "the resources they share within their limits: a device's busy share (70%), its memory for "
        "every model resident at once, its power budget, or a remote pool's count or scaling.max. "
        "The message names the resource and the device; the hint lists the contending workloads with "
        "their lines. (The planner considers each workload's 32 best feasible candidates.)",
        "Give one of the contending workloads another target or a smaller variant, loosen a budget, "
        "or raise the limit (a larger device class, a higher power budget, a larger pool).",
    ),
]

_ALL += [
    # -- ES6xx: emitting and writing ---------------------------------------------------------------
    Code(
        "ES601",
        "model cannot be served there",
        E,
        "The emitter for the planned target cannot serve this model as declared: the serving stack "
        "runs a particular format (Triton on GPU instances: ONNX) and fetches it at start-up from a "
        "location it can reach (s3:// or https://).",
        "Export the model to the format named in the message and host it where the message says.",
    ),
    Code(
        "ES602",
        "no emitter for this target kind yet",
        W,
        "The plan places a workload on a target whose kind edgespec cannot emit artifacts for yet; "
        "that target's folder stays empty. The plan and the other targets' artifacts are unaffected.",
        "Pin the workload to another pattern, or deploy that target by hand until its emitter lands.",
    ),
    Code(
        "ES603",
        "output directory is not edgespec's",
        E,
        "`compile -o OUT` replaces OUT as a whole. OUT exists, is not empty, and holds no "
        "edgespec.lock.json, so it was not written by edgespec; replacing it could delete your files.",
        "Choose an empty or new directory, or one edgespec wrote before.",
    ),
    Code(
        "ES604",
        "compiled output is out of date",
        E,
        "`compile --check` found that the committed output differs from what the spec compiles to "
        "(files added, changed or removed).",
        "Run `edgespec compile SPEC -o OUT` and commit the result.",
    ),
    Code(
        "ES605",
        "part of a model cannot be emitted yet",
        W,
        "The plan runs only part of a model on a target (the head of a split, or a federated cut), "
        "and edgespec cannot cut the model file at the split point yet, so that target gets no "
        "engine for it.",
        "Export the part up to the split point as its own model file and deploy it by hand, or pin another pattern.",
    ),
    Code(
        "ES606",
        "no LLM runtime bundle yet",
        W,
        "The plan serves a text-generation model where edgespec emits no LLM runtime yet: the small "
        "tier of an LLM cascade (it would escalate on a confidence a text generator does not give; an "
        "on-device LLM on a Jetson runs in llama.cpp's server), or a GPU pool's CloudFormation stack "
        "beside other models (its instances run vLLM alone; the Kubernetes manifests run each model in "
        "its own pods). A TensorRT engine built like a CNN's cannot generate text, so nothing is "
        "emitted for that placement rather than an artifact that would not serve the plan.",
        "Pin the workload to `on-device` or to a remote tier, deploy the pool with the Kubernetes "
        "manifests, or place it on Workers AI with a declared `workers_ai` model.",
    ),
    Code(
        "ES607",
        "two models share a file name",
        W,
        "Greengrass downloads a component's S3 artifacts into one folder by file name, so two model "
        "sources of one target with the same file name would overwrite each other. The second is "
        "left to the AWS CLI on the device (which a JetPack image does not have).",
        "Give the model files distinct names in S3, e.g. <model>-<version>.onnx.",
    ),
    Code(
        "ES608",
        "version Greengrass rejects",
        E,
        "A Jetson or Coral fleet ships as a Greengrass component whose version is the spec's "
        "`metadata.version`. Greengrass component versions are major.minor.patch numbers only (the "
        "component recipe reference: https://docs.aws.amazon.com/greengrass/v2/developerguide/"
        "component-recipe-reference.html); a pre-release such as 3.0.0-rc.1 or 3.0.0-1 is refused when "
        "the component is created. Build metadata (+...) is dropped, as Greengrass ignores it too. "
        "Component versions are also immutable: a changed package needs a new version.",
        "Use a plain major.minor.patch version (ship a release candidate as its own patch number).",
    ),
    Code(
        "ES609",
        "much of a model falls back to the CPU",
        W,
        "The model declares a `cpu_fallback_fraction` of at least 25%: that share of its work runs on "
        "the SoC's CPU, not its NPU, with every round trip between the two. The plan counts that CPU "
        "time where the catalog has the CPU's figure (QCS6490) and cannot where it has none (phone "
        "SoCs), so the placement rests on a figure worth checking. The bundle's compile_qnn.py "
        "measures the real share (build/qnn-report.json) and fails if it is larger than declared.",
        "Replace the ops the NPU cannot run (the report's cpu_ops), move the post-processing out of the "
        "model, or measure the placement (AI Hub's profile) before relying on it.",
    ),
]

_ALL += [
    # -- ES7xx: measurements -----------------------------------------------------------------------
    Code(
        "ES701",
        "measurement file cannot be read",
        E,
        "A measurement file named by the spec's `measurements` (relative to the spec) or by "
        "`--measurements` does not exist, cannot be opened, is not UTF-8 or is larger than 16 MB. "
        "A plan that silently fell back to estimates would claim what nobody measured.",
        "Fix the path, or remove it from the spec or the command line.",
    ),
    Code(
        "ES702",
        "not a measurement record",
        E,
        "A line of a measurement file is not a record of the documented format "
        "(docs/measurements.md): not a JSON object, a required field (hardware, model, precision, "
        "p50_ms) missing, a value of the wrong kind, an unknown field, percentiles out of order, or "
        "another schema version. Unknown fields are errors so that a misspelt `p95` is not dropped.",
        "Write one JSON object per line with the documented fields; `edgespec measurements import` "
        "turns the output of trtexec, benchmark_model, onnxruntime_perf_test, MLPerf loadgen and AI Hub "
        "into records.",
    ),
    Code(
        "ES703",
        "measurement applies to nothing",
        W,
        "The record names a model or variant the spec does not have, hardware no target of the "
        "spec is, an instance type, power mode, precision or DLA core none of them runs. It does "
        "not change the plan.",
        "Correct the record's field the message names, or drop the record from this deployment's files.",
    ),
    Code(
        "ES704",
        "measurement of another model file",
        W,
        "The record's model file (its `sha256`, or a `model` given as sha256:<hex>) is not the file "
        "the spec declares as the model's `source.sha256`: it measured another version of the "
        "model, so it is not used.",
        "Measure the file the spec ships (the bundles' benchmark scripts record its digest), or update "
        "the spec's sha256 if the measured file is the one to ship.",
    ),
    Code(
        "ES705",
        "cannot import measurements",
        E,
        "`edgespec measurements import` could not make records: the file is not the named tool's output "
        "(docs/measurements.md says what each importer reads and where that format is defined), a "
        "SingleStream figure is missing, or the command line does not say which hardware, model or "
        "precision was measured. Nothing is written.",
        "Pass the file the tool wrote, and --hardware, --model and --precision.",
    ),
]

CODES: dict[str, Code] = {c.code: c for c in _ALL}


def get(code: str) -> Code:
    return CODES[code]


def diag(
    code: str,
    message: str,
    *,
    file: str,
    line: int = 1,
    column: int = 1,
    end_line: int | None = None,
    end_column: int | None = None,
    pointer: str = "",
    hint: str | None = None,
):
    """A Diagnostic whose severity comes from the registry."""
    from edgespec.diagnostics.diagnostic import Diagnostic

    return Diagnostic(code, CODES[code].severity, message, file, line, column, end_line, end_column, pointer, hint)
