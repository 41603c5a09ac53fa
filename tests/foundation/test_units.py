"""Durations in text carry their unit; a bare number is refused with the fix; text round-trips exactly."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import InvalidConfig
from harness.units import DurationError, duration_seconds, format_duration, in_unit, parse_duration, unit_fix


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250us", 0.00025),
        ("250µs", 0.00025),
        ("9ms", 0.009),
        ("300 ms", 0.3),
        ("1.5s", 1.5),
        (".5s", 0.5),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1m30s", 90.0),
        ("1h 30m", 5400.0),
        ("1e3ms", 1.0),
        ("0s", 0.0),
        ("30S", 30.0),
    ],
)
def test_text_with_a_unit_is_seconds(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (30, "30 has no unit; write 30s (or 30000ms)"),
        ("30", "30 has no unit; write 30s (or 30000ms)"),
        (0.5, "0.5 has no unit; write 0.5s (or 500ms)"),
        ("-30", "-30 is negative and has no unit; a duration is >= 0: write 30s"),
        ("-5s", "'-5s' is negative; a duration is >= 0, e.g. 5s"),
        ("2 fortnights", "'2 fortnights' is not a duration; write a number and a unit"),
        ("30 sec", "is not a duration"),
        ("nan", "is not a duration"),
        (math.nan, "nan is not a duration"),
        (math.inf, "inf is not a duration"),
        ("1e400s", "too long to be a duration"),
        (True, "True is not a duration"),
        (None, "None is not a duration"),
        ("", "is not a duration"),
    ],
)
def test_anything_else_is_refused_with_the_fix(value: object, message: str) -> None:
    with pytest.raises(DurationError) as info:
        duration_seconds(value)
    assert message in str(info.value)


def test_the_fix_leads_with_the_unit_the_format_used_to_assume() -> None:
    """Load thresholds meant milliseconds by a bare number, so their fix suggests ms first."""
    with pytest.raises(DurationError, match=r"300 has no unit; write 300ms \(or 0.3s\)"):
        duration_seconds("300", bare_unit="ms")


def test_parse_duration_names_the_field() -> None:
    with pytest.raises(InvalidConfig) as info:
        parse_duration(30, field="traffic.at")
    assert str(info.value) == "traffic.at: 30 has no unit; write 30s (or 30000ms)"
    assert (info.value.field, info.value.value) == ("traffic.at", 30)


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False) | st.integers(0, 10**9).map(float))
def test_format_duration_reads_back_exactly(seconds: float) -> None:
    text = format_duration(seconds)
    assert text.endswith("s")
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("seconds", [-1.0, math.inf, math.nan])
def test_only_finite_non_negative_seconds_are_written(seconds: float) -> None:
    with pytest.raises(InvalidConfig, match="must be a finite number >= 0"):
        format_duration(seconds)


def test_seconds_convert_to_any_unit_without_rounding_noise() -> None:
    assert [in_unit(0.003, u) for u in ("us", "ms", "s", "m", "h")] == [
        3000.0,
        3.0,
        0.003,
        0.00005,
        0.003 / 3600,
    ]
    assert unit_fix(5, "us") == "write 5us (or 0.005ms)"
