"""The configuration checks: one message shape, NaN and bools refused, intervals open or closed as written."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness._checks import (
    Interval,
    finite,
    instance_of,
    integer,
    invalid,
    member_of,
    non_negative,
    number,
    one_of,
    positive,
    probability,
    within,
)
from harness.errors import InvalidConfig


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


NUMERIC: list[tuple[str, Callable[[object], float]]] = [
    ("number", lambda v: number("x", v)),
    ("finite", lambda v: finite("x", v)),
    ("positive", lambda v: positive("x", v)),
    ("non_negative", lambda v: non_negative("x", v)),
    ("within", lambda v: within("x", v, "[-inf, inf]")),
    ("probability", lambda v: probability("x", v)),
]


@pytest.mark.parametrize(("name", "check"), NUMERIC, ids=[n for n, _ in NUMERIC])
@pytest.mark.parametrize("value", [math.nan, np.float64("nan"), True, False, "1", None, [1], 1j])
def test_every_numeric_check_refuses_nan_bools_and_non_numbers(
    name: str, check: Callable[[object], float], value: object
) -> None:
    with pytest.raises(InvalidConfig) as info:
        check(value)
    assert (info.value.field, info.value.value is value) == ("x", True)
    assert str(info.value).startswith(f"x={value!r} must be ")


@pytest.mark.parametrize(
    ("check", "inf_ok"),
    [(number, True), (finite, False), (positive, False), (non_negative, False), (probability, False)],
)
def test_infinity_passes_only_where_the_rule_allows_it(check: Callable[..., float], inf_ok: bool) -> None:
    if inf_ok:
        assert check("x", math.inf) == math.inf
    else:
        with pytest.raises(InvalidConfig):
            check("x", math.inf)
    with pytest.raises(InvalidConfig):
        positive("x", 10**400)  # an int beyond float range is infinite, not an OverflowError


def test_the_message_is_field_value_rule_and_fix() -> None:
    with pytest.raises(InvalidConfig) as info:
        positive("open_for", -1, "the seconds an open breaker waits, e.g. 30.0", unit="seconds")
    assert str(info.value) == (
        "open_for=-1 must be a positive finite number of seconds; the seconds an open breaker waits, "
        "e.g. 30.0"
    )
    assert (info.value.field, info.value.value) == ("open_for", -1)
    assert str(invalid("low", 3, "<= high=2")) == "low=3 must be <= high=2"


@pytest.mark.parametrize(
    ("interval", "inside", "outside"),
    [
        ("(0, 1]", [1e-300, 0.5, 1.0], [0.0, 1.0000001, -1.0]),
        ("[0, 1)", [0.0, 0.999], [1.0, -1e-300]),
        ("(0, 0.5)", [0.25], [0.0, 0.5]),
        ("[1, inf)", [1.0, 1e300], [math.inf, 0.5]),
        ("[0, inf]", [0.0, math.inf], [-1.0]),
        ("(-inf, 0]", [-1e300, 0.0], [-math.inf, 1e-9]),
    ],
)
def test_intervals_honour_open_and_closed_ends(
    interval: str, inside: list[float], outside: list[float]
) -> None:
    for value in inside:
        assert within("x", value, interval) == value
    for value in [*outside, math.nan]:
        with pytest.raises(
            InvalidConfig, match=rf"must be a number {re_escape(Interval.parse(interval).describe())}"
        ):
            within("x", value, interval)


def re_escape(text: str) -> str:
    return text.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")


def test_a_malformed_interval_is_refused() -> None:
    with pytest.raises(InvalidConfig, match=r"interval='0\.\.1' must be written like"):
        within("x", 0.5, "0..1")
    assert str(Interval.parse("( 0 ,inf ]")) == "(0, inf]"


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_positive_agrees_with_its_definition(value: float) -> None:
    """A float passes positive() exactly when 0 < value < inf (so never when NaN)."""
    ok = 0 < value < math.inf
    try:
        positive("x", value)
    except InvalidConfig:
        assert not ok
    else:
        assert ok


def test_numpy_and_other_real_numbers_are_numbers() -> None:
    assert positive("x", np.float32(0.5)) == 0.5
    assert probability("x", Fraction(1, 4)) == 0.25
    assert integer("n", np.int64(3), at_least=1) == 3


@pytest.mark.parametrize(
    ("value", "at_least", "at_most", "rule"),
    [
        (0, 1, None, "an integer >= 1"),
        (11, None, 10, "an integer <= 10"),
        (0, 1, 5, "an integer in [1, 5]"),
        (2.0, None, None, "an integer"),
        (True, 0, None, "an integer >= 0"),
        (math.nan, 0, None, "an integer >= 0"),
    ],
)
def test_integer_bounds(value: object, at_least: int | None, at_most: int | None, rule: str) -> None:
    with pytest.raises(InvalidConfig, match=f"must be {re_escape(rule)}; use 3"):
        integer("n", value, "use 3", at_least=at_least, at_most=at_most)
    assert integer("n", 3, at_least=at_least, at_most=max(at_most or 3, 3)) == 3


def test_one_of_takes_the_member_or_its_value_and_lists_the_valid_ones() -> None:
    assert one_of("colour", "red", Colour) is Colour.RED
    assert one_of("colour", Colour.GREEN, Colour) is Colour.GREEN
    with pytest.raises(InvalidConfig, match=r"^colour='blue' must be a Colour; valid: red, green$"):
        one_of("colour", "blue", Colour)
    with pytest.raises(InvalidConfig, match="must be a Colour; valid: red, green; paint it"):
        one_of("colour", ["red"], Colour, "paint it")


def test_member_of_wants_the_member_itself() -> None:
    assert member_of("colour", Colour.RED, Colour) is Colour.RED
    with pytest.raises(InvalidConfig, match=r"^colour='red' must be a Colour; valid: red, green$"):
        member_of("colour", "red", Colour)


def test_instance_of_names_the_expected_type() -> None:
    assert instance_of("colour", Colour.RED, Colour) is Colour.RED
    with pytest.raises(InvalidConfig, match=r"^config=3 must be a Colour; build one with Colour\(\.\.\.\)$"):
        instance_of("config", 3, Colour, "build one with Colour(...)")


@pytest.mark.parametrize(
    ("interval", "described"),
    [
        ("(0, 1]", "in (0, 1]"),
        ("[1, inf)", ">= 1"),
        ("(0, inf)", "> 0"),
        ("(-inf, 0]", "<= 0"),
        ("[0, inf]", "in [0, inf]"),
    ],
)
def test_half_lines_read_as_comparisons(interval: str, described: str) -> None:
    assert Interval.parse(interval).describe() == described
