"""Escape filters: whatever a user string holds, it stays one word, one line, inert text."""

from __future__ import annotations

import json
import shlex
import subprocess

import jinja2
import pytest

from edgespec.emit import templating

HOSTILE = ['"; rm -rf / #', "a\nb", "$(reboot)", "`id`", "it's", "tab\there", "ünïcode", "x\\y", "\r\n--fp16"]


@pytest.mark.parametrize("value", HOSTILE)
def test_sh_is_one_word(value):
    assert shlex.split(templating.sh(value)) == [value]
    out = subprocess.run(["bash", "-c", f"printf %s {templating.sh(value)}"], capture_output=True)
    assert out.stdout.decode("utf-8") == value


@pytest.mark.parametrize("value", HOSTILE)
def test_json_round_trips(value):
    assert json.loads(templating.json_str(value)) == value


@pytest.mark.parametrize("value", HOSTILE)
def test_comment_and_md_stay_on_one_line(value):
    assert "\n" not in templating.comment(value) and "\r" not in templating.comment(value)
    assert "\n" not in templating.md(value)


def test_md_neutralises_markup():
    assert templating.md("<img src=x> | `c` *b*") == "\\<img src=x\\> \\| \\`c\\` \\*b\\*"


def test_undefined_is_an_error():
    env = templating.environment()
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()
