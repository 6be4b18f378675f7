"""The spec language v1 as pydantic models: the typed, validated form of a spec.

Every field carries a description: it feeds the JSON Schema (editor hovers) and docs/spec.md.
Quantities are normalised on validation (see `edgespec.spec.units`): after validation
`params` is a plain count, `gflops` is GFLOPs, durations are seconds, `*_ms` fields are
milliseconds, `*_mbps` fields are Mbit/s and byte sizes are bytes.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from edgespec.spec.types import (
    AwsRegion,
    AwsZone,
    Bounded,
    Bytes,
    Count,
    Duration,
    GFlops,
    HttpUrl,
    InstanceType,
    Int,
    Jurisdiction,
    LocalPath,
    Mbps,
    Milliseconds,
    MillisecondsOrZero,
    Name,
    Prune,
    SemVer,
    Sha256,
    TensorName,
    Uri,
    Watts,
    WorkersAiModelId,
)

API_VERSION = "edgespec/v1"

Task = Literal[
    "image-classification",
    "object-detection",
    "segmentation",
    "text-generation",
    "embedding",
    "speech-recognition",
    "tabular",
    "anomaly-detection",
]
OpClass = Literal["dense", "depthwise", "transformer", "hybrid", "detector", "llm"]
ModelFormat = Literal["onnx", "tflite", "savedmodel", "torchscript", "pt2", "coreml", "gguf", "safetensors"]
DType = Literal["float32", "float16", "bfloat16", "int8", "uint8", "int32", "int64", "bool"]
PrivacyLevel = Literal["device", "site", "region", "anywhere"]
Offline = Literal["required", "preferred", "none"]
Objective = Literal["latency", "cost", "energy", "accuracy"]
Pattern = Literal["auto", "on-device", "split", "cascade", "federated", "mec", "cloud"]
Precision = Literal["auto", "fp32", "fp16", "int8", "int4"]
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "uint8": 1, "int32": 4, "int64": 8, "bool": 1}
Encoding = Literal["raw", "jpeg", "png"]
Layout = Literal["NCHW", "NHWC"]


class _Strict(BaseModel):
    # defer_build: pydantic builds one validator, Spec's (nested models inline), when the first
    # spec is validated, instead of one per class at import: ~0.03 s off every command's start
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


def _at_least_one(model: BaseModel, fields: tuple[str, ...]) -> None:
    if all(getattr(model, f) is None for f in fields):
        raise PydanticCustomError("ES209", f"set at least one of {', '.join(fields)}")


class Metadata(_Strict):
    """Identity of the deployment."""

    name: Name = Field(description="Name of the deployment: a lowercase DNS label.", examples=["store-vision"])
    version: SemVer = Field(description="Semantic version of this spec; it versions the emitted packages.")
    description: str | None = Field(None, max_length=2000, description="Free text for humans; never interpreted.")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Key/value labels for your own tooling, recorded in edgespec.lock.json. They are not applied to "
        "Kubernetes objects or AWS resources, whose label and tag rules (and selectors) they could break.",
    )


class Source(_Strict):
    """Where the model's weights come from, in one format."""

    uri: Uri = Field(description="Location of the model file (s3://, https://, gs://, or a path relative to the spec).")
    format: ModelFormat = Field(description="Serialisation format of the model file.")
    sha256: Sha256 | None = Field(None, description="Expected sha256 of the file; emitted build scripts verify it.")
    accuracy: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Accuracy of this export on the model's metric, when exporting to this format changed it "
        "(a fraction in [0, 1]); left out, the model's (or variant's) accuracy.",
    )


SourceList = Annotated[list[Source], Field(min_length=1, max_length=8)]


def _one_or_list(value: Any) -> str:
    return "union[list]" if isinstance(value, list) else "union[mapping]"


# One source, or a list of them: validated as the form it is written in, so a problem is reported
# once, in that form's terms (the tags are dropped from error locations, schema_errors._loc)
Sources = Annotated[
    Annotated[Source, Tag("union[mapping]")] | Annotated[SourceList, Tag("union[list]")],
    Discriminator(_one_or_list),
]


def sources_of(source: Source | list[Source] | None) -> tuple[Source, ...]:
    """A `source:` as the list of its formats (one mapping is a list of one)."""
    if source is None:
        return ()
    return tuple(source) if isinstance(source, list) else (source,)


SOURCE_DESCRIPTION = (
    "Where the model file comes from: one source, or a list of sources, one per format (the same model "
    "exported to each, e.g. ONNX for Jetsons and Snapdragon, Core ML for iPhones, TFLite for Coral). Each "
    "placement uses the format its device loads, else one its bundle converts (the plan says which)."
)


class Calibration(_Strict):
    """A TensorRT INT8 calibration cache for the model (made from ~100-1000 representative inputs,
    e.g. `polygraphy convert model.onnx --int8 --calibration-cache model.cache`). TensorRT builds an
    int8 engine from it on the device or pool; without one the planner does not choose int8 there."""

    uri: Uri = Field(description="Location of the calibration cache (s3://, https://, or a path relative to the spec).")
    sha256: Sha256 | None = Field(None, description="Expected sha256 of the cache; emitted build scripts verify it.")


class Normalize(_Strict):
    """How an image's pixels become a float input: x = (pixel / 255 - mean) / std, per channel in
    RGB order (one value for a grey image)."""

    mean: list[float] = Field(
        min_length=1,
        max_length=4,
        description="Per-channel mean of pixels scaled to [0, 1] (e.g. [0.485, 0.456, 0.406]).",
    )
    std: list[Annotated[float, Field(gt=0)]] = Field(
        min_length=1,
        max_length=4,
        description="Per-channel standard deviation of pixels scaled to [0, 1] (e.g. [0.229, 0.224, 0.225]).",
    )


class Input(_Strict):
    """The tensor the model takes, at the size the FLOPs were counted for, and what clients send."""

    shape: list[Int] = Field(
        min_length=1, max_length=8, description="Input shape, batch first (e.g. [1, 3, 640, 640])."
    )
    dtype: DType = Field(description="Element type of the input tensor.")
    encoding: Encoding = Field(
        "raw",
        description="What clients send: `raw` (the tensor's bytes, little-endian) or an image (`jpeg`, `png`) that the emitted gateways decode, resize to the input's height and width and normalise before inference.",
    )
    layout: Layout | None = Field(
        None,
        description="Where the channels are in an image input's shape; inferred when the shape says (a channel dimension of 1 or 3 in one place only).",
    )
    normalize: Normalize | None = Field(
        None,
        description="Per-channel mean and std applied to an image's pixels scaled to [0, 1]; float inputs only. Without it, pixels are scaled to [0, 1] (float inputs) or passed as they are (uint8).",
    )
    encoded_bytes: Bytes | None = Field(
        None,
        description="Size of one input as sent over the network (e.g. a 60KB JPEG frame); defaults to the raw tensor size. Smaller than the tensor only with an image `encoding`.",
    )
    name: TensorName | None = Field(
        None,
        description="Name of the input tensor in the model file; lets emitted engines take a batch range (dynamic batching).",
    )

    @property
    def tensor_bytes(self) -> int:
        """Size of the raw input tensor."""
        return math.prod(self.shape) * DTYPE_BYTES[self.dtype]

    def image(self) -> tuple[str, int, int, int] | None:
        """(layout, channels, height, width) of an image input: a batch of one, then 1 or 3 channels
        first (NCHW) or last (NHWC), as `layout` says or, without it, as the shape alone says. None
        when the shape is not such an image or its layout is ambiguous."""
        if len(self.shape) != 4 or self.shape[0] != 1:
            return None
        first, last = self.shape[1] in (1, 3), self.shape[3] in (1, 3)
        layout = self.layout or ("NCHW" if first and not last else "NHWC" if last and not first else None)
        if layout == "NCHW" and first:
            return layout, self.shape[1], self.shape[2], self.shape[3]
        if layout == "NHWC" and last:
            return layout, self.shape[3], self.shape[1], self.shape[2]
        return None


class ModelAccuracy(_Strict):
    """Accuracy of the model as trained, at full precision."""

    metric: str = Field(
        min_length=1,
        max_length=64,
        description="Name of the metric (top1, mAP50, F1, ...).",
        examples=["mAP50", "top1"],
    )
    value: float = Field(
        ge=0,
        le=1,
        description="Value of the metric as a fraction in [0, 1], higher is better "
        "(express error rates such as WER as 1 - WER).",
    )


class VariantAccuracy(_Strict):
    """Accuracy of a variant, on the parent model's metric."""

    metric: str | None = Field(None, min_length=1, max_length=64, description="Metric name; defaults to the parent's.")
    value: float = Field(ge=0, le=1, description="Value of the metric as a fraction in [0, 1], higher is better.")


class WorkersAi(_Strict):
    """The Cloudflare Workers AI catalog model that may serve this model on a Workers AI target.

    Workers AI runs its own catalog models, not your weights: naming one here is your consent to
    that substitution, and `accuracy` is that model's accuracy on your metric (the planner uses it
    instead of your model's)."""

    model: WorkersAiModelId = Field(
        description="Workers AI model id (e.g. @cf/meta/llama-3.1-8b-instruct-fp8); `edgespec catalog --workers-ai` lists the ids edgespec knows."
    )
    accuracy: float = Field(
        ge=0, le=1, description="That model's accuracy on this model's metric, as a fraction in [0, 1]."
    )


class Architecture(_Strict):
    """The attention shape of a text-generation model: it sets the KV cache per token
    (2 x layers x kv_heads x head_dim values), which bounds how many requests a server batches."""

    layers: Int = Field(
        ge=1, le=1000, description="Transformer layers (num_hidden_layers in a Hugging Face config.json)."
    )
    kv_heads: Int = Field(
        ge=1,
        le=1000,
        description="Key/value heads per layer (num_key_value_heads; equal to the attention heads without GQA).",
    )
    head_dim: Int = Field(ge=1, le=4096, description="Dimension of one head (hidden_size / num_attention_heads).")


class Variant(_Strict):
    """A smaller model the planner may use instead of (or in front of) its parent."""

    params: Count | None = Field(
        None,
        description="Number of parameters (e.g. 1.1M); counted from the variant's local ONNX source when left out.",
    )
    gflops: GFlops | None = Field(
        None,
        description="GFLOPs per inference at the parent's input (FLOPs = 2 x MACs); counted from the variant's local "
        "ONNX source when left out.",
    )
    accuracy: VariantAccuracy = Field(description="Measured accuracy of this variant.")
    distilled_from: Name | None = Field(None, description="The model this variant was distilled from.")
    source: Sources | None = Field(
        None,
        description="Where this variant's weights come from: one source, or a list of sources, one per format. "
        "Without one the variant is never placed on a device or pool (its parent's file is not its weights); a "
        "declared `workers_ai` model may still serve it.",
    )

    @property
    def sources(self) -> tuple[Source, ...]:
        return sources_of(self.source)

    calibration: Calibration | None = Field(
        None, description="TensorRT INT8 calibration cache of this variant; int8 on a Jetson or a GPU pool needs it."
    )
    workers_ai: WorkersAi | None = Field(
        None, description="The Workers AI catalog model that may serve this variant, with its accuracy."
    )
    description: str | None = Field(None, max_length=2000, description="Free text for humans; never interpreted.")


class SplitPoint(_Strict):
    """A layer boundary where the model may be cut for split inference."""

    name: Name = Field(description="Name of the cut (e.g. the layer name).")
    flops_fraction: float = Field(gt=0, lt=1, description="Share of the model's FLOPs that run before the cut.")
    activation_bytes: Bytes = Field(
        description="Size of the activations crossing the cut, per inference (e.g. 800KiB)."
    )


class Model(_Strict):
    """A model to deploy."""

    task: Task = Field(description="What the model does; selects accuracy priors and serving code.")
    source: Sources = Field(description=SOURCE_DESCRIPTION)

    @property
    def sources(self) -> tuple[Source, ...]:
        return sources_of(self.source)

    calibration: Calibration | None = Field(
        None, description="TensorRT INT8 calibration cache; int8 on a Jetson or a GPU pool needs it."
    )
    params: Count | None = Field(
        None,
        description="Number of parameters: a number or an SI string (3.2M, 7B). Left out, it is counted from a local "
        "ONNX source (edgespec inspect).",
    )
    gflops: GFlops | None = Field(
        None,
        description="GFLOPs per inference at the declared input (FLOPs = 2 x MACs): a number, or a FLOP count with a suffix (8.7G, 870M). For text-generation models, GFLOPs per generated token (about 2 x params: 16 for an 8B model); the workload's `generation` gives the token counts. Left out, it is counted from a local ONNX source at the declared input.",
    )
    input: Input = Field(description="The input tensor at which `gflops` was counted.")
    op_class: OpClass | None = Field(
        None,
        description="The ops that dominate the model, for the estimator's per-op-class efficiency: dense "
        "(convolutions and matrix products), depthwise (depthwise-separable blocks), transformer (attention), "
        "hybrid (convolution and attention stages), detector (detection heads and box decoding), llm. Left out, "
        "it is read from a local ONNX source's ops (edgespec inspect), else the task's usual class.",
    )
    accuracy: ModelAccuracy = Field(description="Accuracy at full precision.")
    workers_ai: WorkersAi | None = Field(
        None,
        description="The Workers AI catalog model that may serve this model on a cloudflare-workers-ai target, with its accuracy. Without it, Workers AI is never planned for the model.",
    )
    architecture: Architecture | None = Field(
        None,
        description="Attention shape of a text-generation model (sets its KV cache per token); defaults to the Llama 3 shape nearest in size, see docs/planner.md.",
    )
    variants: dict[Name, Variant] = Field(
        default_factory=dict,
        description="Smaller models the planner may pick (distilled, pruned, smaller family members).",
    )
    split_points: list[SplitPoint] = Field(
        default_factory=list, description="Where the model may be cut for split inference, shallowest first."
    )
    cpu_fallback_fraction: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Share of the FLOPs in ops an accelerator cannot map and leaves to the host CPU (e.g. what edgetpu_compiler reports as mapped to the CPU, or the share compile_qnn.py reports); used for Coral and Snapdragon targets. Default 0.",
    )
    description: str | None = Field(None, max_length=2000, description="Free text for humans; never interpreted.")


class Network(_Strict):
    """The link of a target. On a remote target, `rtt_ms` is the round trip from the data sources to it."""

    rtt_ms: MillisecondsOrZero | None = Field(None, description="Round-trip time in milliseconds (a number, or 12ms).")
    uplink_mbps: Mbps | None = Field(None, description="Upload bandwidth in Mbit/s (a number, or 20Mbps, 1Gbps).")
    downlink_mbps: Mbps | None = Field(None, description="Download bandwidth in Mbit/s.")


class Scaling(_Strict):
    """Bounds of an autoscaled pool of instances (aws-ec2, aws-wavelength)."""

    min: Int = Field(1, ge=1, le=100_000, description="Fewest instances kept running (default 1).")
    max: Bounded(1, 100_000) | None = Field(
        None, description="Most instances the pool may grow to; the planner rejects placements that need more."
    )


class Target(_Strict):
    """A place where computation can run: a device class, an edge zone or a cloud."""

    hardware: str = Field(
        description="Hardware id from the edgespec catalog (`edgespec catalog` lists them).",
        examples=["jetson-orin-nx-16gb"],
    )
    count: Bounded(1, 10_000_000) | None = Field(
        None,
        description="Devices: how many exist (default 1). aws-ec2 and aws-wavelength: a fixed pool of exactly this many instances (without it the pool autoscales; see `scaling`).",
    )
    scaling: Scaling | None = Field(
        None,
        description="aws-ec2 and aws-wavelength: bounds of the autoscaled pool the planner sizes from demand (default: at least 1 instance, no upper bound).",
    )
    host: str | None = Field(
        None,
        description="Catalog id of the computer an accelerator is attached to (e.g. raspberry-pi-5 for coral-usb).",
    )
    site: Name | None = Field(
        None,
        description="Site name: targets naming the same site share a local network; privacy level `site` allows data to move between them.",
    )
    power_mode: str | None = Field(
        None,
        min_length=1,
        description="Power mode from the catalog (Jetson: 15W, 25W, MAXN, MAXN_SUPER, ...).",
        examples=["25W", "MAXN"],
    )
    power_budget_w: Watts | None = Field(
        None,
        description="Most power each of these devices may spend on inference, in W (a number, or 15W): what a PoE class, a battery or a solar panel leaves for it. The planner rejects device-side placements whose average draw (power while busy x share of time busy at `throughput.rps`) exceeds it.",
        examples=[15, "12.95W"],
    )
    rate_limit_per_minute: Bounded(1, 100_000_000) | None = Field(
        None,
        description="cloudflare-workers-ai: the requests per minute your account may send, when Cloudflare raised it above the published per-task limit (the planner checks demand against it).",
    )
    region: AwsRegion | None = Field(
        None,
        description="Cloud region (aws-ec2) or parent region (aws-wavelength); omit it with a `zone`, which implies it.",
    )
    zone: AwsZone | None = Field(None, description="Availability or Wavelength zone id (e.g. us-east-1-wl1-bos-wlz-1).")
    instance_type: InstanceType | None = Field(
        None, description="Instance type for aws-ec2 and aws-wavelength (e.g. g4dn.2xlarge)."
    )
    orchestrator: Literal["ec2", "kubernetes"] | None = Field(
        None,
        description="aws-ec2 and aws-wavelength: how the pool is deployed. `ec2` (default): one CloudFormation stack whose instances run the model server behind the gateway, replaced by rolling updates. `kubernetes`: manifests for your EKS cluster's GPU nodes there, with Argo Rollouts canaries; no EC2 stack.",
    )
    jurisdiction: Jurisdiction | None = Field(
        None,
        description="Where this target's data stays: an ISO 3166-1 alpha-2 country code (us, gb, de) or a bloc (eu, eea). Devices need it for region-level privacy; aws-ec2 and aws-wavelength take it from their region or zone.",
    )
    network: Network | None = Field(None, description="Link characteristics of this target.")
    description: str | None = Field(None, max_length=2000, description="Free text for humans; never interpreted.")


class Latency(_Strict):
    """Latency budget, end to end as the caller sees it. Set at least one percentile."""

    p50_ms: Milliseconds | None = Field(None, description="Median latency budget in ms (a number, or 50ms, 2.5s).")
    p95_ms: Milliseconds | None = Field(None, description="95th percentile latency budget in ms.")
    p99_ms: Milliseconds | None = Field(None, description="99th percentile latency budget in ms.")

    @model_validator(mode="after")
    def _one(self) -> Latency:
        _at_least_one(self, ("p50_ms", "p95_ms", "p99_ms"))
        return self


class Throughput(_Strict):
    """Sustained request rate per data-source device."""

    rps: float = Field(gt=0, description="Requests per second per data-source device.")


class AccuracyNeed(_Strict):
    """Accuracy requirement. Set at least one of `max_drop` and `min`."""

    max_drop: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Largest acceptable drop from the model's full-precision accuracy (absolute, e.g. 0.02).",
    )
    min: float | None = Field(
        None, ge=0, le=1, description="Lowest acceptable accuracy (absolute, on the model's metric)."
    )

    @model_validator(mode="after")
    def _one(self) -> AccuracyNeed:
        _at_least_one(self, ("max_drop", "min"))
        return self


class Privacy(_Strict):
    """How far data may travel. Levels, narrowest first: device, site, region, anywhere."""

    raw_data: PrivacyLevel = Field("anywhere", description="How far raw inputs may travel.")
    features: PrivacyLevel = Field("anywhere", description="How far derived features or activations may travel.")
    residency: list[Jurisdiction] = Field(
        default_factory=list,
        description="Where data may be processed: ISO 3166-1 alpha-2 country codes (us, gb, ch) and blocs (eu, eea), e.g. [eu, ch]; empty means anywhere.",
    )
    pii: bool = Field(False, description="Inputs contain personal data: telemetry never carries raw inputs or outputs.")


class Measured(_Strict):
    """Cascade behaviour measured on real traffic; used instead of the planner's model."""

    escalation_rate: float = Field(ge=0, le=1, description="Share of requests escalated at the declared threshold.")
    accuracy: float = Field(ge=0, le=1, description="End-to-end accuracy of the cascade at that threshold.")


class Escalation(_Strict):
    """Where low-confidence requests go; permits the cascade pattern."""

    to: Name = Field(description="Target that runs the large model.")
    model: Name | None = Field(
        None, description="Model or variant run on escalation; defaults to the workload's model."
    )
    confidence_below: float = Field(gt=0, lt=1, description="Escalate when the local model's confidence is below this.")
    measured: Measured | None = Field(None, description="Measured escalation rate and accuracy, if known.")


class Optimize(_Strict):
    """Optimization recipe constraints; `auto` lets the planner choose."""

    precision: Precision = Field(
        "auto", description="Numeric precision: auto, fp32, fp16, int8 or int4 (weight-only, LLMs)."
    )
    prune: Prune = Field(
        "none",
        description="Structured pruning, which needs fine-tuning a deploy-time compiler cannot do, so the planner prunes only with your consent: none (default); auto (the planner may choose 25% or 50%, and you will provide the pruned, fine-tuned weights the bundle asks for); or the fraction your pruned weights remove (0-0.9). Pruned weights you already have can also be declared as a variant.",
    )


class Generation(_Strict):
    """Typical token counts of a request that generates tokens: text generation, or a speech
    recognition model whose decoder dominates (an encoder-decoder such as Whisper). The model's
    `gflops` is then per token."""

    prompt_tokens: Int = Field(
        ge=1,
        le=10_000_000,
        description="Prompt length in tokens (drives prefill time); for speech recognition, the encoder's positions per request (Whisper: 1500 per 30 s window).",
    )
    output_tokens: Int = Field(
        ge=1,
        le=10_000_000,
        description="Generated tokens per request (drives decode time); for speech recognition, the transcript's tokens.",
    )


class Workload(_Strict):
    """Something that must run, with its requirements."""

    model: Name = Field(description="The model (or a variant) this workload runs.")
    data_source: list[Name] = Field(min_length=1, description="Targets where the input is produced.")
    latency: Latency = Field(description="End-to-end latency budget.")
    throughput: Throughput | None = Field(None, description="Sustained request rate per data-source device.")
    generation: Generation | None = Field(
        None,
        description="Token counts; required for text-generation models, and optional for speech-recognition models whose decoding dominates (then the model's gflops is per token).",
    )
    accuracy: AccuracyNeed | None = Field(None, description="Accuracy requirement.")
    privacy: Privacy = Field(default_factory=Privacy, description="How far data may travel.")
    offline: Offline = Field(
        "none", description="required: must keep answering without uplink; preferred: degrade gracefully; none."
    )
    escalation: Escalation | None = Field(None, description="Where low-confidence requests go (permits cascade).")
    pattern: Pattern = Field(
        "auto", description="Deployment pattern; auto lets the planner choose, anything else pins it."
    )
    optimize: Optimize = Field(default_factory=Optimize, description="Optimization recipe constraints.")
    objective: Objective = Field("cost", description="What to minimise among feasible plans.")
    description: str | None = Field(None, max_length=2000, description="Free text for humans; never interpreted.")


class Stage(_Strict):
    """A rollout stage: a share of the fleet, then a soak time."""

    percent: float = Field(
        gt=0, le=100, description="Share of the fleet (percent) that runs the new version in this stage."
    )
    soak: Duration | None = Field(None, description="How long to watch before the next stage (500ms, 30s, 2h, 1d).")


class Rollback(_Strict):
    """Automatic rollback criteria, compared between canary and stable."""

    accuracy_drop: float | None = Field(
        None, ge=0, le=1, description="Roll back if labelled accuracy drops by more than this."
    )
    error_rate: float | None = Field(None, ge=0, le=1, description="Roll back if the error rate exceeds this.")
    latency_p95_ms: Milliseconds | None = Field(None, description="Roll back if p95 latency exceeds this (ms).")


class Rollout(_Strict):
    """Staged rollout, compiled for an existing fleet engine."""

    stages: list[Stage] = Field(
        min_length=1, max_length=20, description="Stages in order; the last reaches 100 percent."
    )
    rollback: Rollback | None = Field(None, description="Automatic rollback criteria.")


class Telemetry(_Strict):
    """Where devices send metrics and traces (OpenTelemetry, OTLP/HTTP)."""

    endpoint: HttpUrl = Field(description="OTLP/HTTP endpoint, e.g. https://otel.example.com:4318.")
    sample_rate: float = Field(1.0, ge=0, le=1, description="Share of requests traced.")
    offline_buffer: Duration = Field(
        86400.0, description="How long a device buffers telemetry while offline (default 24h)."
    )


class Spec(_Strict):
    """An edgespec deployment spec (apiVersion edgespec/v1, kind EdgeDeployment)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        json_schema_extra={
            "$comment": "Generated by `edgespec schema --write` from edgespec/spec/models.py; do not edit."
        },
    )

    apiVersion: Literal["edgespec/v1"] = Field(description="Version of the spec language.")
    kind: Literal["EdgeDeployment"] = Field(description="Kind of document.")
    metadata: Metadata = Field(description="Name, version and labels of the deployment.")
    models: dict[Name, Model] = Field(min_length=1, description="Models, keyed by name.")
    targets: dict[Name, Target] = Field(min_length=1, description="Where things can run, keyed by name.")
    workloads: dict[Name, Workload] = Field(min_length=1, description="What must run, keyed by name.")
    rollout: Rollout | None = Field(None, description="Staged rollout and automatic rollback.")
    telemetry: Telemetry | None = Field(None, description="Telemetry export.")
    measurements: list[LocalPath] | None = Field(
        None,
        min_length=1,
        description="Measured latency files (JSON lines, docs/measurements.md), relative to the spec: a matching "
        "record replaces the planner's estimate for its placement.",
    )

    @cached_property
    def owners(self) -> dict[str, str]:
        """Every runnable model name (the models and their variants) -> the model it belongs to (a
        variant declared twice: the first model's; validation reports the duplicate)."""
        names = {name: name for name in self.models}
        for parent, model in self.models.items():
            for variant in model.variants:
                names.setdefault(variant, parent)
        return names


def validate(data: dict[str, Any]) -> Spec:
    """Validate plain data into a Spec (raises pydantic.ValidationError)."""
    return Spec.model_validate(data)
