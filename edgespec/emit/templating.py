"""Jinja2 for prose-like artifacts (Dockerfile, shell, README), with an escape filter per format.

Every user-supplied string reaching a template goes through one of these filters; undefined
variables are errors (StrictUndefined). Templates live in the repository's templates/ folder
(edgespec/_data/templates in the wheel).
"""

from __future__ import annotations

import functools
import json
import re
import shlex

import jinja2

from edgespec.resources import templates_dir


def sh(value: object) -> str:
    """One shell word, whatever the value holds (quotes, $(), newlines)."""
    return shlex.quote(str(value))


def json_str(value: object) -> str:
    """A JSON string literal: for Dockerfile exec-form arrays and JSON in any template."""
    return json.dumps(str(value), ensure_ascii=True)


def md(value: object) -> str:
    """Inline Markdown text (mid-line, table cells): no markup, no line breaks, no HTML."""
    text = re.sub(r"[\r\n]+", " ", str(value))
    return re.sub(r"([\\`*_\[\]|<>#])", r"\\\1", text)


def comment(value: object) -> str:
    """Text inside a `#` comment line (shell, Dockerfile, YAML): one line, printable only."""
    return re.sub(r"[^\x20-\x7e]", " ", str(value))


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # escaping is per format, through the filters below
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(sh=sh, json=json_str, md=md, comment=comment)
    return env


def render(template: str, /, **context: object) -> bytes:
    return environment().get_template(template).render(**context).encode("utf-8")
