"""Checks across the spec that a JSON Schema cannot express (ES3xx), and catalog checks (ES4xx).

Each check reports at the referring position. These are the rules `docs/spec.md` lists under
"Checked by edgespec only"; the JSON Schema cannot see across keys, except where the catalog
is turned into an enum (hardware ids, host ids).
"""

from __future__ import annotations

from edgespec import catalog
from edgespec.diagnostics import Diagnostic
from edgespec.diagnostics.codes import diag
from edgespec.load.sourcemap import SourceMap
from edgespec.spec.models import Spec
from edgespec.spec.targets import device_count
from edgespec.validate.schema_errors import suggest

# Checks that the JSON Schema cannot express, by code (listed in docs/spec.md; used by the
# schema/pydantic agreement test).
NOT_IN_SCHEMA = {
    "ES106",
    "ES301",
    "ES302",
    "ES303",
    "ES304",
    "ES305",
    "ES306",
    "ES307",
    "ES308",
    "ES309",
    "ES310",
    "ES311",
    "ES313",
    "ES315",
    "ES316",
    "ES317",
    "ES318",
    "ES319",
    "ES320",
    "ES321",  # a size left out that edgespec cannot count (edgespec.describe reads files)
    "ES402",
    "ES403",
    "ES405",
    "ES406",
    "ES407",
}


class _Reporter:
    def __init__(self, source: SourceMap):
        self.source = source
        self.found: list[Diagnostic] = []

    def __call__(self, code: str, message: str, pointer: str, *, hint: str | None = None, key: bool = False) -> None:
        self.found.append(diag(code, message, **self.source.at(pointer, key=key, ends=True), hint=hint))


def _did_you_mean(name: str, choices: list[str]) -> str | None:
    close = suggest(name, choices)
    if close:
        return f"did you mean {close!r}?"
    return f"declared: {', '.join(sorted(choices))}" if choices else None


def check(spec: Spec, source: SourceMap) -> list[Diagnostic]:
    """All semantic and catalog diagnostics of a schema-valid spec."""
    report = _Reporter(source)
    _models(spec, report)
    _targets(spec, report)
    _workloads(spec, report)
    _rollout(spec, report)
    _telemetry(spec, report)
    return report.found


LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")


def _telemetry(spec: Spec, report: _Reporter) -> None:
    """Telemetry leaves the device: over TLS, unless it goes to the device itself (a local collector)."""
    if spec.telemetry is None:
        return
    from urllib.parse import urlsplit

    parts = urlsplit(spec.telemetry.endpoint)
    if parts.scheme == "http" and (parts.hostname or "") not in LOOPBACK:
        report(
            "ES320",
            f"telemetry goes to {parts.hostname} over plain HTTP: device metrics and traces (and the "
            "backend's token) would cross the network unencrypted",
            "/telemetry/endpoint",
            hint=f"use https://{parts.netloc}{parts.path} (OTLP/HTTP over TLS)",
        )


def _models(spec: Spec, report: _Reporter) -> None:
    seen: dict[str, str] = {name: f"/models/{name}" for name in spec.models}
    for parent, model in spec.models.items():
        for name, variant in model.variants.items():
            here = f"/models/{parent}/variants/{name}"
            if name in seen:
                report("ES304", f"variant {name!r} has the same name as {seen[name]}", here, key=True)
            seen.setdefault(name, here)
            if (
                variant.distilled_from is not None
                and variant.distilled_from not in seen
                and variant.distilled_from not in spec.models
            ):
                report(
                    "ES303",
                    f"distilled_from names {variant.distilled_from!r}, which is not a declared model",
                    f"{here}/distilled_from",
                    hint=_did_you_mean(variant.distilled_from, list(spec.models)),
                )
            sizes = (variant.params, model.params, variant.gflops, model.gflops)
            if None not in sizes and (variant.params > model.params or variant.gflops > model.gflops):  # type: ignore[operator]
                report("ES312", f"variant {name!r} is larger than {parent!r} (params or gflops)", here, key=True)
        for where, runnable in (
            (f"/models/{parent}", model),
            *((f"/models/{parent}/variants/{n}", v) for n, v in model.variants.items()),
        ):
            _sources(runnable.source, f"{where}/source", report)
            if runnable.workers_ai is not None:
                _workers_ai(runnable.workers_ai.model, model.task, f"{where}/workers_ai/model", report)
        _input(model.input, f"/models/{parent}/input", report)
        names: set[str] = set()
        previous = 0.0
        for i, point in enumerate(model.split_points):
            here = f"/models/{parent}/split_points/{i}"
            if point.name in names:
                report("ES313", f"split point {point.name!r} is declared twice", f"{here}/name")
            if point.flops_fraction <= previous:
                report(
                    "ES313",
                    f"flops_fraction {point.flops_fraction:g} is not greater than the previous "
                    f"split point's ({previous:g})",
                    f"{here}/flops_fraction",
                )
            names.add(point.name)
            previous = max(previous, point.flops_fraction)


def _sources(source, here: str, report: _Reporter) -> None:
    """ES323: a list of sources holds one per format."""
    if not isinstance(source, list):
        return
    first: dict[str, int] = {}
    for i, s in enumerate(source):
        if s.format in first:
            report(
                "ES323",
                f"source {i} is a second {s.format} file (source {first[s.format]} is the first)",
                f"{here}/{i}/format",
                hint=f"keep one {s.format} source: {source[first[s.format]].uri} or {s.uri}",
            )
        first.setdefault(s.format, i)


def _size(n: float) -> str:
    return next(
        f"{n / scale:.3g} {unit}"
        for scale, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "KB"), (1, "B"))
        if n >= scale or scale == 1
    )


IMAGE_DTYPES = ("float32", "float16", "uint8")  # what a decoded image becomes: scaled floats or pixels


def _input(given, here: str, report: _Reporter) -> None:
    """What clients send must be what the gateways can turn into the input: a declared encoded size
    smaller than the tensor needs an image encoding (else the plan prices bytes no client sends), and
    an image needs an image-shaped input."""
    raw = given.tensor_bytes
    if given.encoding == "raw":
        if given.encoded_bytes is not None and given.encoded_bytes < raw:
            report(
                "ES319",
                f"encoded_bytes ({_size(given.encoded_bytes)}) is smaller than the raw "
                f"tensor ({_size(raw)}), but the encoding is raw: clients would send the tensor",
                f"{here}/encoded_bytes",
                hint="declare `encoding: jpeg` (or png) so the gateways decode the image, or remove encoded_bytes",
            )
        for field in ("layout", "normalize"):
            if getattr(given, field) is not None:
                report(
                    "ES319",
                    f"`{field}` describes an image input; this input's encoding is raw",
                    f"{here}/{field}",
                    key=True,
                    hint="set `encoding: jpeg` (or png), or remove it",
                )
        return
    image = given.image()
    if image is None:
        report(
            "ES319",
            f"a {given.encoding} image cannot become an input of shape {list(given.shape)}"
            f"{'' if given.layout is None else ' in ' + given.layout}",
            f"{here}/shape",
            hint="an image input is [1, 3, H, W] (NCHW) or [1, H, W, 3] (NHWC), 1 channel for grey; "
            "set `layout` when the shape alone does not say",
        )
    if given.dtype not in IMAGE_DTYPES:
        report(
            "ES319",
            f"a decoded image becomes float32, float16 or uint8, not {given.dtype}",
            f"{here}/dtype",
            hint="use float32 (scaled pixels) or uint8 (raw pixels), or send raw tensors (`encoding: raw`)",
        )
    norm = given.normalize
    if norm is not None:
        if given.dtype == "uint8":
            report(
                "ES319",
                "`normalize` applies to float inputs; a uint8 input takes the pixels as they are",
                f"{here}/normalize",
                key=True,
                hint="remove `normalize`, or declare a float input",
            )
        channels = image[1] if image is not None else None
        for field in ("mean", "std"):
            values = getattr(norm, field)
            if channels is not None and len(values) != channels:
                report(
                    "ES319",
                    f"`normalize.{field}` has {len(values)} value{'s' * (len(values) != 1)} for {channels} "
                    f"channel{'s' * (channels != 1)}",
                    f"{here}/normalize/{field}",
                    hint="give one value per channel, in RGB order",
                )


def _workers_ai(model_id: str, task: str, pointer: str, report: _Reporter) -> None:
    served = catalog.workers_ai()["models"]
    ids = {m["id"]: t for t, models in served.items() for m in models}
    if model_id not in ids:
        close = suggest(model_id, list(ids))
        report(
            "ES406",
            f"unknown Workers AI model {model_id!r}",
            pointer,
            hint=f"did you mean {close!r}?"
            if close
            else f"for {task}: {', '.join(m['id'] for m in served.get(task, [])) or 'none in the catalog'}",
        )
    elif ids[model_id] != task:
        report(
            "ES406",
            f"{model_id} serves {ids[model_id]}, not {task}",
            pointer,
            hint=f"for {task}: {', '.join(m['id'] for m in served.get(task, [])) or 'none in the catalog'}",
        )


def _targets(spec: Spec, report: _Reporter) -> None:
    hw = catalog.hardware()
    for name, target in spec.targets.items():
        here = f"/targets/{name}"
        entry = hw.get(target.hardware)
        if entry is None:
            close = suggest(target.hardware, list(hw))
            report(
                "ES401",
                f"unknown hardware {target.hardware!r}",
                f"{here}/hardware",
                hint=f"did you mean {close!r}?" if close else "run `edgespec catalog` for the list of ids",
            )
            continue
        kind = entry["kind"]
        modes = catalog.power_modes(entry)
        if target.power_mode is not None:
            if not modes:
                report("ES310", f"{target.hardware} has no power modes", f"{here}/power_mode")
            elif target.power_mode not in modes:
                report(
                    "ES402",
                    f"{target.hardware} has no power mode {target.power_mode!r}",
                    f"{here}/power_mode",
                    hint=f"modes: {', '.join(modes)}",
                )
        if target.power_budget_w is not None:
            _power_budget(target, entry, here, report)
        types = entry.get("instance_types")
        if target.instance_type is not None:
            if types is None:
                report(
                    "ES310",
                    f"instance_type applies to aws-ec2 and aws-wavelength, not {target.hardware}",
                    f"{here}/instance_type",
                    key=True,
                )
            elif target.instance_type not in catalog.instance_types(entry):
                offered = catalog.instance_types(entry)
                close = suggest(target.instance_type, offered)
                report(
                    "ES403",
                    f"{target.hardware} does not offer {target.instance_type!r} in edgespec's catalog",
                    f"{here}/instance_type",
                    hint=f"did you mean {close!r}?" if close else f"instance types: {', '.join(offered)}",
                )
        aws = kind in ("wavelength", "ec2")
        if target.orchestrator is not None and not aws:
            report(
                "ES310",
                f"orchestrator applies to aws-ec2 and aws-wavelength, not {target.hardware}",
                f"{here}/orchestrator",
                key=True,
            )
        if target.rate_limit_per_minute is not None and kind != "workers-ai":
            report(
                "ES310",
                f"rate_limit_per_minute applies to cloudflare-workers-ai, not {target.hardware}",
                f"{here}/rate_limit_per_minute",
                key=True,
            )
        for field in ("zone", "region"):
            if getattr(target, field) is not None and not aws:
                report(
                    "ES310",
                    f"{field} applies to aws-ec2 and aws-wavelength targets, not {target.hardware}",
                    f"{here}/{field}",
                    key=True,
                    hint="use `site` or `jurisdiction` for devices",
                )
        for field in entry.get("needs", []):
            if getattr(target, field) is None:
                report("ES310", f"{target.hardware} needs `{field}`", here, key=True)
        if aws:
            _aws_location(name, target, kind, report)
        if target.jurisdiction is not None:
            _jurisdiction(target.jurisdiction, f"{here}/jurisdiction", report)
        _pool_bounds(target, entry, here, report)
        if target.host is not None:
            if not entry.get("needs_host"):
                report(
                    "ES310",
                    f"host applies to accelerators attached to a computer, not {target.hardware}",
                    f"{here}/host",
                    key=True,
                )
            elif hw.get(target.host, {}).get("kind") != "host":
                hosts = [i for i, e in hw.items() if e["kind"] == "host"]
                report(
                    "ES404",
                    f"{target.host!r} is not a host in the catalog",
                    f"{here}/host",
                    hint=f"hosts: {', '.join(hosts)}",
                )


def _aws_location(name: str, target, kind: str, report: _Reporter) -> None:
    """Regions and zones from the catalog's sourced lists; a zone implies its region."""
    here = f"/targets/{name}"
    cloud = catalog.cloud()
    regions = list(cloud["regions"])
    if target.region is not None and target.region not in cloud["regions"]:
        close = suggest(target.region, regions)
        report(
            "ES405",
            f"unknown AWS region {target.region!r}",
            f"{here}/region",
            hint=f"did you mean {close!r}?" if close else "run `edgespec catalog --regions`",
        )
        return
    if target.zone is None:
        return
    zones = list(cloud["wavelength_zones"]) if kind == "wavelength" else []
    parent = catalog.region_of_zone(target.zone)
    if kind == "wavelength" and target.zone not in cloud["wavelength_zones"] or parent is None:
        close = suggest(target.zone, zones or [f"{r}a" for r in regions])
        what = "Wavelength zone" if kind == "wavelength" else "Availability Zone"
        report(
            "ES405",
            f"unknown {what} {target.zone!r}",
            f"{here}/zone",
            hint=f"did you mean {close!r}?" if close else "run `edgespec catalog --regions`",
        )
    elif target.region is not None and parent != target.region:
        report(
            "ES310",
            f"zone {target.zone!r} is in region {parent!r}, not {target.region!r}",
            f"{here}/zone",
            hint="omit `region`: a zone implies its region",
        )
    if target.jurisdiction is not None:
        country = catalog.country_of(target.region, target.zone)
        if country and not catalog.within(country, (target.jurisdiction,)):
            report(
                "ES317",
                f"{name} is in {country.upper()} ({target.zone or target.region}), not in {target.jurisdiction!r}",
                f"{here}/jurisdiction",
                hint="omit `jurisdiction`: it is derived",
            )


_MISSPELT_COUNTRIES = {"uk": "gb", "el": "gr"}  # ISO 3166-1 says GB and GR (the EU's own codes differ)


def _jurisdiction(code: str, pointer: str, report: _Reporter) -> None:
    if code in _MISSPELT_COUNTRIES:
        report(
            "ES407", f"{code!r} is not an ISO 3166-1 country code", pointer, hint=f"use {_MISSPELT_COUNTRIES[code]!r}"
        )
    elif len(code) > 2 and catalog.bloc_members(code) is None:
        report("ES407", f"unknown bloc {code!r}", pointer, hint=f"blocs: {', '.join(catalog.cloud()['blocs'])}")


def _pool_bounds(target, entry: dict, here: str, report: _Reporter) -> None:
    if target.scaling is None:
        return
    if entry["role"] != "remote" or entry["kind"] == "workers-ai":
        report(
            "ES310",
            f"scaling applies to aws-ec2 and aws-wavelength pools, not {target.hardware}",
            f"{here}/scaling",
            key=True,
            hint="a device target's `count` says how many exist",
        )
    elif target.count is not None:
        report(
            "ES316",
            "a pool is fixed (`count`) or autoscaled (`scaling`), not both",
            f"{here}/scaling",
            key=True,
            hint=f"drop `count` to autoscale, or `scaling` to keep {target.count} instances",
        )
    elif target.scaling.max is not None and target.scaling.min > target.scaling.max:
        report(
            "ES316",
            f"scaling.min {target.scaling.min} is above scaling.max {target.scaling.max}",
            f"{here}/scaling/min",
        )


def _power_budget(target, entry: dict, here: str, report: _Reporter) -> None:
    """A budget applies to devices; a power mode that can draw more than it is worth a warning
    (the planner checks each workload's average draw, docs/planner.md)."""
    budget = target.power_budget_w
    if entry["role"] != "device":
        report(
            "ES310",
            f"power_budget_w applies to devices, not {target.hardware}",
            f"{here}/power_budget_w",
            key=True,
            hint="a cloud or carrier-edge target's power is the provider's",
        )
        return
    watts = catalog.power_mode_watts(entry)
    if watts:
        if target.power_mode is not None and target.power_mode not in watts:
            return  # ES402 already
        mode = target.power_mode or entry["power_modes"]["default"]
        if watts[mode] > budget:
            within = [m for m, w in sorted(watts.items(), key=lambda mw: -mw[1]) if w <= budget]
            said = "power mode" if target.power_mode else "default power mode"
            at = f"{here}/power_mode" if target.power_mode else f"{here}/power_budget_w"
            report(
                "ES314",
                f"{said} {mode} lets {target.hardware} draw {watts[mode]:g} W, more than power_budget_w {budget:g} W",
                at,
                hint=f"modes within the budget: {', '.join(within)}"
                if within
                else f"no power mode of {target.hardware} fits: the lowest draws {min(watts.values()):g} W",
            )


GENERATING = ("text-generation", "speech-recognition")  # tasks whose requests decode tokens


def _workloads(spec: Spec, report: _Reporter) -> None:
    models = spec.owners
    hw = catalog.hardware()
    kinds = {hw.get(t.hardware, {}).get("kind") for t in spec.targets.values()}

    def role(target: str) -> str | None:
        entry = hw.get(spec.targets[target].hardware)
        return entry["role"] if entry else None

    for name, w in spec.workloads.items():
        here = f"/workloads/{name}"
        if w.model not in models:
            report(
                "ES301",
                f"model {w.model!r} is not declared",
                f"{here}/model",
                hint=_did_you_mean(w.model, list(models)),
            )
        for i, source in enumerate(w.data_source):
            if source not in spec.targets:
                report(
                    "ES302",
                    f"target {source!r} is not declared",
                    f"{here}/data_source/{i}",
                    hint=_did_you_mean(source, list(spec.targets)),
                )
            elif role(source) == "remote":
                report(
                    "ES307",
                    f"{source!r} ({spec.targets[source].hardware}) cannot be a data source",
                    f"{here}/data_source/{i}",
                )
        lat = w.latency
        bounds = [
            (k, v) for k, v in (("p50_ms", lat.p50_ms), ("p95_ms", lat.p95_ms), ("p99_ms", lat.p99_ms)) if v is not None
        ]
        for (k1, v1), (k2, v2) in zip(bounds, bounds[1:], strict=False):
            if v1 > v2:
                report("ES305", f"{k1} {v1:g} ms is larger than {k2} {v2:g} ms", f"{here}/latency/{k2}")
        esc = w.escalation
        if esc is not None:
            if esc.to not in spec.targets:
                report(
                    "ES302",
                    f"target {esc.to!r} is not declared",
                    f"{here}/escalation/to",
                    hint=_did_you_mean(esc.to, list(spec.targets)),
                )
            elif esc.to in w.data_source:
                report("ES308", f"{esc.to!r} is a data source of this workload", f"{here}/escalation/to")
            if esc.model is not None and esc.model not in models:
                report(
                    "ES301",
                    f"model {esc.model!r} is not declared",
                    f"{here}/escalation/model",
                    hint=_did_you_mean(esc.model, list(models)),
                )
        for i, code in enumerate(w.privacy.residency):
            _jurisdiction(code, f"{here}/privacy/residency/{i}", report)
        for what in ("raw_data", "features"):
            if getattr(w.privacy, what) == "region":
                for source in w.data_source:
                    t = spec.targets.get(source)
                    if t is not None and role(source) == "device" and t.jurisdiction is None:
                        report(
                            "ES315",
                            f"{what}: region needs the data source's jurisdiction; {source!r} declares none",
                            f"{here}/privacy/{what}",
                            hint=f"add `jurisdiction:` to {source} (e.g. us, de or eu)",
                        )
                        break
        model = spec.models.get(models.get(w.model, ""))
        if model is not None and model.task == "text-generation" and w.generation is None:
            report("ES306", f"{w.model!r} generates text: declare `generation`", here, key=True)
        elif model is not None and w.generation is not None and model.task not in GENERATING:
            report(
                "ES318",
                f"`generation` applies to text-generation and speech-recognition models; {w.model!r} is {model.task}",
                f"{here}/generation",
                key=True,
                hint="remove `generation`: this model's gflops is per inference",
            )
        if w.pattern != "auto":
            _pinned_pattern(spec, name, report, model, kinds)


def _pinned_pattern(spec: Spec, name: str, report: _Reporter, model, kinds: set) -> None:
    w = spec.workloads[name]
    here = f"/workloads/{name}/pattern"
    sources = [spec.targets[s] for s in w.data_source if s in spec.targets]
    on_sites = [t for t in sources if t.site]
    needs = {
        "split": (model is None or bool(model.split_points), "the model declares no split_points"),
        "cascade": (w.escalation is not None, "the workload declares no escalation"),
        "federated": (sum(device_count(t) for t in on_sites) >= 2, "no two data-source devices share a `site`"),
        "mec": ("wavelength" in kinds, "no aws-wavelength target is declared"),
        "cloud": (bool(kinds & {"ec2", "workers-ai"}), "no aws-ec2 or cloudflare-workers-ai target is declared"),
    }
    if w.pattern in needs and not needs[w.pattern][0]:
        report("ES309", f"pattern {w.pattern} is pinned but {needs[w.pattern][1]}", here)


def _rollout(spec: Spec, report: _Reporter) -> None:
    if spec.rollout is None:
        return
    previous = 0.0
    stages = spec.rollout.stages
    for i, stage in enumerate(stages):
        if stage.percent <= previous:
            report(
                "ES311",
                f"stage {i + 1} ({stage.percent:g}%) does not increase on the previous ({previous:g}%)",
                f"/rollout/stages/{i}/percent",
            )
        previous = max(previous, stage.percent)
    if stages[-1].percent != 100:
        report(
            "ES311",
            f"the last stage reaches {stages[-1].percent:g}%, not 100%",
            f"/rollout/stages/{len(stages) - 1}/percent",
        )
