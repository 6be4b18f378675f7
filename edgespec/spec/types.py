"""Annotated field types of the spec: names, quantities, formats.

Each type validates in pydantic and describes itself in the JSON Schema with the same rule, so
the editor and `edgespec validate` agree. Errors carry an edgespec code as their error type.
"""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from edgespec.shorten import cut
from edgespec.spec import units

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
_NAME = re.compile(NAME_PATTERN)

# semver.org's recommended expression (numbered groups variant)
SEMVER_PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
SHA256_PATTERN = r"^[0-9a-f]{64}$"
URI_PATTERN = r"^[^\s]+$"
HTTP_URL_PATTERN = r"^https?://[^\s/?#]+[^\s]*$"
AWS_REGION_PATTERN = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$"
AWS_ZONE_PATTERN = r"^[a-z]{2}-[a-z]+-[0-9]+-[a-z0-9-]+$"
INSTANCE_TYPE_PATTERN = r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"
JURISDICTION_PATTERN = r"^([a-z]{2}|eea)$"
WORKERS_AI_MODEL_PATTERN = r"^@(cf|hf)/[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$"


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        suggestion = re.sub(r"[^a-z0-9-]+", "-", value[:200].lower()).strip("-")[:63].strip("-") or "name"
        shown = cut(value, 60)
        raise PydanticCustomError(
            "ES207",
            f"{shown!r} is not a lowercase DNS label (a-z, 0-9 and '-', 1-63 characters, "
            f"starting and ending with a letter or digit); try {suggestion!r}",
        )
    return value


Name = Annotated[
    str,
    AfterValidator(_check_name),
    WithJsonSchema({"type": "string", "pattern": NAME_PATTERN, "maxLength": 63}),
]


def semver_meant(value: str) -> str | None:
    """The semantic version a near miss means (`1.0` -> `1.0.0`, `v2` -> `2.0.0`), else None."""
    m = re.match(r"^[vV]?(\d+)(?:\.(\d+))?(?:\.(\d+))?$", value.strip())
    if m is None:
        return None
    major, minor, patch = (int(g) if g else 0 for g in m.groups())
    return f"{major}.{minor}.{patch}"


def _semver_fix(value: str) -> str:
    meant = semver_meant(value)
    if meant is None:
        return "write major.minor.patch, e.g. 1.4.0 (a pre-release as 1.4.0-rc.1)"
    return f'write "{meant}" (major.minor.patch)'


def formatted(pattern: str, what: str, example: str) -> Any:
    """A string that must match `pattern`; errors say what it should look like."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            shown = cut(value, 60)
            message = f"{shown!r} is not {what} (for example {example!r})"
            hint = _semver_fix(value) if pattern == SEMVER_PATTERN else None
            raise PydanticCustomError("ES208", message, {"hint": hint} if hint else None)
        return value

    return Annotated[
        str, AfterValidator(check), WithJsonSchema({"type": "string", "pattern": pattern, "examples": [example]})
    ]


SemVer = formatted(SEMVER_PATTERN, "a semantic version", "1.4.0")
Sha256 = formatted(
    SHA256_PATTERN,
    "a sha256 digest in lowercase hex",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
)
Uri = formatted(URI_PATTERN, "a URI without spaces", "s3://models/shelf-detector/3/model.onnx")
HttpUrl = formatted(HTTP_URL_PATTERN, "an http(s) URL", "https://otel.example.com:4318")
AwsRegion = formatted(AWS_REGION_PATTERN, "an AWS region id", "us-east-1")
AwsZone = formatted(AWS_ZONE_PATTERN, "an AWS zone id", "us-east-1-wl1-bos-wlz-1")
LocalPath = formatted(r"^(?![A-Za-z][A-Za-z0-9+.-]*://)[^\s]+$", "a local file path", "measurements/orin-nx.jsonl")
InstanceType = formatted(INSTANCE_TYPE_PATTERN, "an instance type", "g4dn.2xlarge")
TensorName = formatted(r"^[A-Za-z_][A-Za-z0-9_.:/-]{0,127}$", "a tensor name", "images")
Jurisdiction = formatted(JURISDICTION_PATTERN, "an ISO 3166-1 alpha-2 country code or a bloc (eu, eea)", "de")
WorkersAiModelId = formatted(WORKERS_AI_MODEL_PATTERN, "a Workers AI model id", "@cf/meta/llama-3.1-8b-instruct-fp8")


def quantity(kind: units.Kind, *, gt: float | None = None, ge: float | None = None) -> Any:
    """A number or a suffixed string of `kind`, normalised to the kind's unit."""

    def parse(value: Any) -> float:
        try:
            number = units.parse(kind, value)
        except units.QuantityError as exc:
            hint = units.spelling_hint(kind, value)
            raise PydanticCustomError("ES205", str(exc), {"hint": hint} if hint else None) from None
        if gt is not None and not number > gt or ge is not None and not number >= ge:
            bounds = f"greater than {gt:g}" if gt is not None else f"at least {ge:g}"
            raise PydanticCustomError("ES206", f"{value!r} must be {bounds} ({kind.unit})")
        return number

    # `maximum` is how JSON Schema says "finite": YAML's `.inf` or `1E310` load as infinity, which
    # the parser rejects (ES205), so the schema must too
    number_schema: dict[str, Any] = {"type": "number", "maximum": sys.float_info.max}
    if gt is not None:
        number_schema["exclusiveMinimum"] = gt
    if ge is not None:
        number_schema["minimum"] = ge
    pattern = kind.pattern
    if gt == 0:  # a zero mantissa is not allowed: require a non-zero digit before the suffix
        pattern = "^(?=[0-9.]*[1-9])" + pattern[1:]
    string_schema = {"type": "string", "pattern": pattern}
    schema = {"anyOf": [number_schema, string_schema], "examples": list(kind.examples)}
    return Annotated[float, BeforeValidator(parse), WithJsonSchema(schema)]


Count = quantity(units.COUNT, gt=0)
GFlops = quantity(units.FLOPS, gt=0)
Bytes = quantity(units.BYTES, gt=0)
Mbps = quantity(units.BITRATE, gt=0)
Milliseconds = quantity(units.MILLISECONDS, gt=0)
Watts = quantity(units.POWER, gt=0)
MillisecondsOrZero = quantity(units.MILLISECONDS, ge=0)
Duration = quantity(units.DURATION, ge=0)
PositiveDuration = quantity(units.DURATION, gt=0)


def _integral(value: Any) -> Any:
    """JSON Schema's integer includes 1.0; so does the validator (10.5 stays an error)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Int = Annotated[int, BeforeValidator(_integral)]


def Bounded(ge: int, le: int) -> Any:  # noqa: N802 (a type, as Int is)
    """An Int within [ge, le] whose bounds reach the JSON Schema also inside `| None` (the
    constraints come before the validator, so pydantic writes them as minimum/maximum)."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_integral)]


def _prune(value: Any) -> Any:
    if value in ("auto", "none"):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 0.9:
        raise PydanticCustomError("ES203", "prune takes 'auto', 'none' or a fraction from 0 to 0.9")
    return float(value)


Prune = Annotated[
    Any,
    BeforeValidator(_prune),
    WithJsonSchema(
        {
            "anyOf": [{"enum": ["auto", "none"]}, {"type": "number", "minimum": 0, "maximum": 0.9}],
            "examples": ["auto", 0.5],
        }
    ),
]
