"""The JSON Schema (draft 2020-12) of the spec, generated from the pydantic models.

The checked-in `schemas/edgespec-v1.schema.json` is this function's output; a test fails when
they drift. Post-processing makes the pydantic output say what the validator enforces:
map keys become `propertyNames` patterns with `additionalProperties` (pydantic would emit
`patternProperties`, which lets non-matching keys through), hardware ids become an enum from
the catalog, and property titles go (descriptions are what editors show).
"""

from __future__ import annotations

import functools
import json
from typing import Any

SCHEMA_ID = "https://edgespec.dev/schemas/edgespec-v1.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
FILE_NAME = "edgespec-v1.schema.json"


def _rewrite(node: Any) -> Any:
    if isinstance(node, list):
        return [_rewrite(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _rewrite(v) for k, v in node.items()}
    pattern_props = out.pop("patternProperties", None)
    if pattern_props:
        ((pattern, value),) = pattern_props.items()
        out["propertyNames"] = {"pattern": pattern, "maxLength": 63}
        out["additionalProperties"] = value
    if "properties" in out:
        out["properties"] = {k: {kk: vv for kk, vv in v.items() if kk != "title"} for k, v in out["properties"].items()}
    return out


def _with_catalog(schema: dict) -> dict:
    from edgespec import catalog

    defs = schema["$defs"]
    ids = catalog.hardware_ids()
    hosts = [i for i in ids if catalog.hardware()[i]["kind"] == "host"]
    target = defs["Target"]["properties"]
    target["hardware"]["enum"] = ids
    host = target["host"]
    host["anyOf"] = [{"enum": hosts} if s.get("type") == "string" else s for s in host["anyOf"]]
    # "set at least one of" (null counts as unset): the rule the models' validators enforce
    for name in ("Latency", "AccuracyNeed"):
        defs[name]["anyOf"] = [
            {"required": [f], "properties": {f: {"not": {"type": "null"}}}} for f in defs[name]["properties"]
        ]
    return schema


@functools.cache
def generate() -> dict:
    """The spec's JSON Schema as a dict."""
    from edgespec.spec.models import Spec

    schema = Spec.model_json_schema(mode="validation")
    schema = _with_catalog(_rewrite(schema))
    schema = {"$schema": DRAFT, "$id": SCHEMA_ID, **schema}
    schema["title"] = "edgespec deployment spec v1"
    return schema


def render() -> str:
    """The schema as the exact text that is checked in."""
    return json.dumps(generate(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _branches(schema: dict, node: dict) -> list[dict]:
    node = _resolve(schema, node)
    if "anyOf" in node:
        return [b for n in node["anyOf"] for b in _branches(schema, n)]
    return [node]


def keys_at(loc: tuple) -> list[str]:
    """Property names allowed in the object at `loc` (a path of keys and indexes)."""
    schema = generate()
    nodes = [schema]
    for token in loc:
        nxt: list[dict] = []
        for node in nodes:
            for branch in _branches(schema, node):
                if isinstance(token, int) and "items" in branch:
                    nxt.append(branch["items"])
                elif isinstance(token, str) and token in branch.get("properties", {}):
                    nxt.append(branch["properties"][token])
                elif isinstance(token, str) and isinstance(branch.get("additionalProperties"), dict):
                    nxt.append(branch["additionalProperties"])
        nodes = nxt
    keys: set[str] = set()
    for node in nodes:
        for branch in _branches(schema, node):
            keys.update(branch.get("properties", {}))
    return sorted(keys)
