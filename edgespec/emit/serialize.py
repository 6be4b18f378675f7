"""Serializers for emitted structured files: deterministic, LF endings, sorted keys."""

from __future__ import annotations

import yaml

from edgespec import jsontext


class _Dumper(yaml.SafeDumper):
    """Block style, no aliases (each manifest stands alone), strings quoted only when needed."""

    def ignore_aliases(self, data):  # noqa: ARG002 - PyYAML's signature
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """Multi-line text (scripts, JSON files in a ConfigMap) as a literal block, readable in review.
    PyYAML itself falls back to a quoted scalar when a literal block could not round-trip."""
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_str(value)


_Dumper.add_representer(str, _str)


def yaml_documents(docs: list[dict]) -> bytes:
    text = yaml.dump_all(
        docs,
        Dumper=_Dumper,
        sort_keys=True,
        default_flow_style=False,
        explicit_start=True,
        allow_unicode=True,
        width=120,
    )
    return text.encode("utf-8")


def json_bytes(doc: dict) -> bytes:
    return (jsontext.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8")
