"""edgespec.jsontext writes exactly what json.dumps(indent=2, sort_keys=True) writes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgespec import jsontext

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(documents, st.booleans())
def test_same_text_as_json_dumps(doc, ascii_only):
    assert jsontext.dumps(doc, ensure_ascii=ascii_only) == json.dumps(
        doc, indent=2, sort_keys=True, ensure_ascii=ascii_only
    )


@pytest.mark.parametrize(
    "doc",
    [
        {1: "a", 2: "b"},  # non-string keys: json converts them
        {"a": {True: None}},
        [float("nan"), float("inf"), -float("inf"), -0.0, 1e300, 5e-324],
        {"é": '\u2028 \x00 "quoted" \U0001f600'},
        [[], {}, [[]], {"": {}}],
    ],
)
def test_edge_cases(doc):
    for ascii_only in (True, False):
        assert jsontext.dumps(doc, ensure_ascii=ascii_only) == json.dumps(
            doc, indent=2, sort_keys=True, ensure_ascii=ascii_only
        )


def test_refuses_what_json_refuses():
    with pytest.raises(TypeError):
        jsontext.dumps({"a": object()})
    circular: list = []
    circular.append(circular)
    with pytest.raises(ValueError, match="Circular"):
        jsontext.dumps(circular)
