"""Quantity grammar: every accepted form, every refused one, and schema/parser agreement."""

from __future__ import annotations

import re

import pytest

from edgespec.spec import units


@pytest.mark.parametrize(
    "kind,value,expected",
    [
        (units.COUNT, "3.2M", 3.2e6),
        (units.COUNT, "7B", 7e9),
        (units.COUNT, "450k", 450e3),
        (units.COUNT, 12, 12),
        (units.FLOPS, 8.7, 8.7),
        (units.FLOPS, "8.7G", 8.7),
        (units.FLOPS, "870M", 0.87),
        (units.FLOPS, "1.2 TFLOPs", 1200),
        (units.POWER, "25W", 25),
        (units.POWER, "7.5 W", 7.5),
        (units.POWER, "500mW", 0.5),
        (units.BYTES, "800KiB", 819200),
        (units.BYTES, "1.2MB", 1.2e6),
        (units.BYTES, 4096, 4096),
        (units.BITRATE, "20Mbps", 20),
        (units.BITRATE, "1Gbps", 1000),
        (units.BITRATE, "500kbps", 0.5),
        (units.DURATION, "500ms", 0.5),
        (units.DURATION, "2h", 7200),
        (units.DURATION, "1d", 86400),
        (units.DURATION, "5m", 300),
        (units.DURATION, 30, 30),
        (units.DURATION, "1e3s", 1000),
        (units.MILLISECONDS, "2.5s", 2500),
        (units.MILLISECONDS, 50, 50),
        (units.MILLISECONDS, "250us", 0.25),
    ],
)
def test_parse(kind, value, expected):
    assert units.parse(kind, value) == pytest.approx(expected)


@pytest.mark.parametrize(
    "kind,value",
    [
        (units.COUNT, "3.2 million"),
        (units.COUNT, "-3M"),
        (units.COUNT, "M"),
        (units.COUNT, True),
        (units.DURATION, "2 hours"),
        (units.DURATION, "2H"),
        (units.DURATION, [1]),
        (units.BYTES, "1.2mb"),
        (units.BITRATE, "20MB/s"),
        (units.MILLISECONDS, "1.5.2ms"),
        (units.COUNT, float("nan")),
        (units.POWER, "25WW"),
    ],
)
def test_refused(kind, value):
    with pytest.raises(units.QuantityError):
        units.parse(kind, value)


@pytest.mark.parametrize("kind", list(units.KINDS.values()), ids=list(units.KINDS))
def test_pattern_agrees_with_parser(kind):
    pattern = re.compile(kind.pattern)
    for suffix in (s for s in kind.suffixes if s):
        for number in ("1", "2.5", "1e3"):
            text = f"{number}{suffix}"
            assert pattern.match(text)
            units.parse(kind, text)
    for bad in ("", "1", " 1", "1 ", "x", "1x", "--1"):  # a bare number must be a number, not a string
        assert not pattern.match(bad)
        with pytest.raises(units.QuantityError):
            units.parse(kind, bad)
