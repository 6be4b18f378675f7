"""The loader: plain data, positions, and every hostile or broken file as a diagnostic."""

from __future__ import annotations

import resource
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgespec.load import Limits, load_bytes, load_path
from edgespec.load.loader import _resolve_plain

BILLION_LAUGHS = b"""\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def codes(raw: bytes, limits: Limits = Limits()) -> list[tuple[str, int, int]]:
    loaded = load_bytes(raw, "f.yaml", limits)
    return [(d.code, d.line, d.column) for d in loaded.diagnostics]


@pytest.mark.parametrize(
    "raw,expected",
    [
        (b"", [("ES108", 1, 1)]),
        (b"# only a comment\n", [("ES108", 1, 1)]),
        (b"---\n", [("ES108", 1, 1)]),
        (b"- a\n- b\n", [("ES109", 1, 1)]),
        (b"just a string\n", [("ES109", 1, 1)]),
        (b"a: 1\n---\nb: 2\n", [("ES107", 2, 1)]),
        (b"a: 1\nb: \xff\xfe\n", [("ES103", 2, 4)]),
        (b"a:\n\tb: 1\n", [("ES105", 2, 1)]),
        (b"a: 1\na: 2\n", [("ES106", 2, 1)]),
        (b"a: [1, 2\n", [("ES104", 2, 1)]),
        (b"a: 'unterminated\n", [("ES104", 2, 1)]),
        (b"a: *nope\n", [("ES114", 1, 4)]),
        (b"a: !!set {x}\n", [("ES112", 1, 4)]),
        (b"a: !!int abc\n", [("ES112", 1, 4)]),
        (b"[a]: 1\n", [("ES113", 1, 1)]),
    ],
    ids=[
        "empty",
        "comment-only",
        "empty-document",
        "list",
        "scalar",
        "two-documents",
        "not-utf8",
        "tab",
        "duplicate",
        "unclosed-flow",
        "unclosed-quote",
        "undefined-alias",
        "set-tag",
        "bad-int-tag",
        "complex-key",
    ],
)
def test_bad_files(raw, expected):
    assert codes(raw) == expected


def test_duplicate_key_hint_points_at_first():
    loaded = load_bytes(b"x: 1\ny: 2\nx: 3\n", "f.yaml")
    (d,) = loaded.diagnostics
    assert d.hint == "first defined at line 1, column 1" and loaded.data is None


def test_size_limit():
    assert codes(b"a: 1\n" * 100, Limits(max_bytes=100)) == [("ES102", 1, 1)]


def test_nesting_limit():
    deep = b"a: " + b"[" * 200 + b"]" * 200 + b"\n"
    assert codes(deep) == [("ES110", 1, 67)]  # the top mapping is level 1
    assert codes(b"a: " + b"[" * 10 + b"]" * 10 + b"\n") == []


def test_nesting_limit_block_style():
    text = "".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "v\n"
    ((code, line, _),) = codes(text.encode())
    assert code == "ES110" and line == 65


def test_billion_laughs_is_refused_fast_and_small():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    result = codes(BILLION_LAUGHS)
    elapsed = time.perf_counter() - start
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert [c for c, _, _ in result] == ["ES111"]
    assert elapsed < 0.5, elapsed  # a correctness bound (no expansion happens), not a benchmark
    assert grown_kib < 50_000


def test_aliases_within_limit_are_expanded():
    loaded = load_bytes(b"base: &b {x: 1, y: [1, 2]}\ncopy: *b\nmerged:\n  <<: *b\n  y: [3]\n", "f.yaml")
    assert loaded.diagnostics == []
    assert loaded.data == {"base": {"x": 1, "y": [1, 2]}, "copy": {"x": 1, "y": [1, 2]}, "merged": {"x": 1, "y": [3]}}


def test_anchored_scalars_are_aliased():
    loaded = load_bytes(b"a: &n 5\nb: *n\nc: &s text\nd: [*s, &q 'quoted', *q]\ne: &t !!str 7\nf: *t\n", "f.yaml")
    assert loaded.diagnostics == []
    assert loaded.data == {"a": 5, "b": 5, "c": "text", "d": ["text", "quoted", "quoted"], "e": "7", "f": "7"}


def test_yaml_12_core_schema():
    loaded = load_bytes(
        b"a: yes\nb: on\nc: true\nd: 0o17\ne: 0x1f\nf: 1e3\ng: ~\nh: 2024-01-01\ni: '12'\nj: .inf\non: 1\n1: 2\n",
        "f.yaml",
    )
    assert loaded.data == {
        "a": "yes",
        "b": "on",
        "c": True,
        "d": 15,
        "e": 31,
        "f": 1000.0,
        "g": None,
        "h": "2024-01-01",
        "i": "12",
        "j": float("inf"),
        "on": 1,
        "1": 2,
    }


def test_bom_is_accepted():
    assert load_bytes(b"\xef\xbb\xbfa: 1\n", "f.yaml").data == {"a": 1}


def test_positions_of_keys_and_values():
    loaded = load_bytes(b'top:\n  list: [a, {k: v}]\n  "quoted key": 3\n', "f.yaml")
    src = loaded.source
    assert (src.keys["/top/list"].line, src.keys["/top/list"].column) == (2, 3)
    assert (src.values["/top/list/1/k"].line, src.values["/top/list/1/k"].column) == (2, 17)
    assert (src.values["/top/quoted key"].line, src.values["/top/quoted key"].column) == (3, 17)
    # an unknown pointer falls back to its nearest ancestor
    assert src.locate("/top/list/1/missing")[0] == "/top/list/1"


def test_pointer_escaping():
    loaded = load_bytes(b"a/b: {c~d: 1}\n", "f.yaml")
    assert "/a~1b/c~0d" in loaded.source.values


def test_missing_file_and_directory(tmp_path):
    assert [d.code for d in load_path(str(tmp_path / "nope.yaml")).diagnostics] == ["ES101"]
    assert [d.code for d in load_path(str(tmp_path)).diagnostics] == ["ES101"]


def test_large_file_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" * 1000)
    assert [d.code for d in load_path(str(big), Limits(max_bytes=10)).diagnostics] == ["ES102"]


# The YAML 1.2 core schema's plain-scalar rules as the spec writes them, one regex per type, tried
# in order: the reference for the loader's resolver, which skips them for most strings.
CORE_SCHEMA = [
    (r"~|null|Null|NULL|", lambda v: None),
    (r"true|True|TRUE", lambda v: True),
    (r"false|False|FALSE", lambda v: False),
    (r"[-+]?[0-9]+", int),
    (r"0o[0-7]+", lambda v: int(v[2:], 8)),
    (r"0x[0-9a-fA-F]+", lambda v: int(v[2:], 16)),
    (r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?", float),
    (r"[-+]?\.(?:inf|Inf|INF)", lambda v: float("-inf") if v.startswith("-") else float("inf")),
    (r"\.(?:nan|NaN|NAN)", lambda v: float("nan")),
]


def core_schema(value: str):
    import re

    for pattern, make in CORE_SCHEMA:
        if re.fullmatch(pattern, value):
            return make(value)
    return value


@given(
    st.text(alphabet="~nNulTtrRuUeEfFaAlLsSIiNn+-.0123456789oOxXbcd _/:", max_size=8)
    | st.sampled_from(
        [
            "",
            "~",
            "null",
            "NULL",
            "True",
            "FALSE",
            ".inf",
            "-.Inf",
            ".NaN",
            "0o17",
            "0x1F",
            "1e5",
            "+12",
            "-0",
            "1.",
            ".5",
            "08",
            "0o8",
            "nulL",
            "yes",
            "on",
            "2026-01-01",
        ]
    )
)
def test_plain_scalars_resolve_by_the_core_schema(value):
    got, want = _resolve_plain(value), core_schema(value)
    assert type(got) is type(want)
    assert got == want or (got != got and want != want)  # NaN
