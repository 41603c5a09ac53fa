"""Checks for configuration values, with one message shape for every error they raise.

Each check returns the value (a ``float``, an ``int`` or an enum member) when it passes, and
otherwise raises :class:`~harness.errors.InvalidConfig` with ``field`` and ``value`` set and the
message ``<field>=<value!r> must be <rule>; <how to fix>``::

    positive("open_for", cfg.open_for, "the seconds an open breaker waits before probing, e.g. 30.0")
    within("alpha", alpha, "(0, 0.5)", "0.05 is the usual choice")
    integer("steps", steps, at_least=2, fix="use ConstantArrival for a single plateau")
    one_of("stream", text, Stream)
    instance_of("config", config, RetryConfig, "build one with RetryConfig(...)")

A bool is never a number (``True`` is an ``int`` to Python, never a timeout to a person). NaN
fails every numeric check: each range is tested as ``low <= value <= high``, which is false for
NaN, rather than refused by ``value < low or value > high``, which NaN would pass. Infinity fails
every check except :func:`number` and an interval written with an ``inf`` end closed
(``"[0, inf]"``). Checks that need two fields (``low <= high``) raise :func:`invalid` with the same
shape.

Private to the harness: it is the convention of the harness's own configurations, kept out of the
public surface so its wording can change with them.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar, cast

from harness.errors import InvalidConfig

__all__ = [
    "Interval",
    "finite",
    "instance_of",
    "integer",
    "invalid",
    "member_of",
    "non_negative",
    "number",
    "one_of",
    "positive",
    "probability",
    "within",
]

E = TypeVar("E", bound=Enum)
T = TypeVar("T")

_PARSED: dict[str, Interval] = {}
_INTERVAL = re.compile(r"^\s*([(\[])\s*(\S+?)\s*,\s*(\S+?)\s*([)\]])\s*$")


def invalid(field: str, value: Any, rule: str, fix: str = "") -> InvalidConfig:
    """The error for ``field=value`` breaking ``rule``: ``<field>=<value!r> must be <rule>; <fix>``.

    Returned, not raised, so a bespoke check reads ``raise invalid(...)``.
    """
    message = f"{field}={value!r} must be {rule}"
    return InvalidConfig(f"{message}; {fix}" if fix else message, field=field, value=value)


@dataclass(frozen=True, slots=True)
class Interval:
    """An interval of the real line with open or closed ends, written as in mathematics: ``(0, 1]``."""

    low: float
    high: float
    low_open: bool
    high_open: bool

    @staticmethod
    def parse(text: str) -> Interval:
        """``"(0, 1]"``, ``"[0, inf)"``, ``"(-inf, 0]"``: brackets are closed ends, parentheses open."""
        match = _INTERVAL.match(text)
        if match is None:
            raise invalid("interval", text, "written like '(0, 1]' or '[1, inf)'")
        opening, low, high, closing = match.groups()
        parsed = Interval(float(low), float(high), opening == "(", closing == ")")
        if len(_PARSED) < 256:  # the intervals written in the code; a handful
            _PARSED[text] = parsed
        return parsed

    def __contains__(self, value: float) -> bool:
        above = self.low < value if self.low_open else self.low <= value
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def describe(self) -> str:
        """``in (0, 1]``; a half-line reads as a comparison: ``>= 1``, ``< 0``."""
        if self.high == math.inf and self.high_open and self.low != -math.inf:
            return f"{'>' if self.low_open else '>='} {_plain(self.low)}"
        if self.low == -math.inf and self.low_open and self.high != math.inf:
            return f"{'<' if self.high_open else '<='} {_plain(self.high)}"
        return f"in {self}"

    def __str__(self) -> str:
        opening, closing = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"{opening}{_plain(self.low)}, {_plain(self.high)}{closing}"


def _plain(x: float) -> str:
    return "inf" if x == math.inf else "-inf" if x == -math.inf else f"{x:g}"


def _as_real(value: object) -> float | None:
    """``value`` as a float if it is a real number (not a bool), else None; NaN stays NaN."""
    if type(value) is float:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except OverflowError:  # an int beyond float range
        return math.inf if cast(float, value) > 0 else -math.inf


def _measure(rule: str, unit: str) -> str:
    """``"a finite number >= 0"`` -> ``"a finite number of seconds >= 0"`` when ``unit`` is given."""
    return rule.replace("number", f"number of {unit}", 1) if unit else rule


def number(field: str, value: object, fix: str = "", *, unit: str = "") -> float:
    """A real number (not a bool, not NaN; infinity allowed)."""
    x = _as_real(value)
    if x is None or math.isnan(x):
        raise invalid(field, value, _measure("a number", unit), fix)
    return x


def finite(field: str, value: object, fix: str = "", *, unit: str = "") -> float:
    """A finite real number."""
    x = _as_real(value)
    if x is None or not math.isfinite(x):
        raise invalid(field, value, _measure("a finite number", unit), fix)
    return x


def positive(field: str, value: object, fix: str = "", *, unit: str = "") -> float:
    """A finite real number > 0."""
    x = _as_real(value)
    if x is None or not 0 < x < math.inf:
        raise invalid(field, value, _measure("a positive finite number", unit), fix)
    return x


def non_negative(field: str, value: object, fix: str = "", *, unit: str = "") -> float:
    """A finite real number >= 0."""
    x = _as_real(value)
    if x is None or not 0 <= x < math.inf:
        raise invalid(field, value, _measure("a finite number >= 0", unit), fix)
    return x


def within(
    field: str,
    value: object,
    interval: str | Interval,
    fix: str = "",
    *,
    what: str = "a number",
    unit: str = "",
) -> float:
    """A real number in ``interval`` (``"(0, 1]"``: open at 0, closed at 1).

    ``what`` names the quantity in the message (``a fraction in (0, 1]``); ``""`` leaves the
    bare comparison (``rate=-5 must be > 0``).
    """
    bounds = interval if isinstance(interval, Interval) else _PARSED.get(interval) or Interval.parse(interval)
    x = _as_real(value)
    if x is None or x not in bounds:
        raise invalid(field, value, _measure(f"{what} {bounds.describe()}".strip(), unit), fix)
    return x


def probability(field: str, value: object, fix: str = "") -> float:
    """A probability: a real number in ``[0, 1]``."""
    x = _as_real(value)
    if x is None or not 0.0 <= x <= 1.0:
        raise invalid(field, value, "a probability in [0, 1]", fix)
    return x


def integer(
    field: str, value: object, fix: str = "", *, at_least: int | None = None, at_most: int | None = None
) -> int:
    """An integer (not a bool) in ``[at_least, at_most]``; either bound may be left open."""
    if type(value) is int:
        n = value
    elif isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise invalid(field, value, _integer_rule(at_least, at_most), fix)
    else:
        n = int(value)
    if (at_least is not None and n < at_least) or (at_most is not None and n > at_most):
        raise invalid(field, value, _integer_rule(at_least, at_most), fix)
    return n


def _integer_rule(at_least: int | None, at_most: int | None) -> str:
    if at_least is not None and at_most is not None:
        return f"an integer in [{at_least}, {at_most}]"
    if at_least is not None:
        return f"an integer >= {at_least}"
    if at_most is not None:
        return f"an integer <= {at_most}"
    return "an integer"


def one_of(field: str, value: object, kind: type[E], fix: str = "") -> E:
    """A member of the enum ``kind``, given as the member or its value (text from a file or flag).

    The error lists the valid values: ``stream='up' must be a Stream; valid: upstream, downstream``.
    """
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except ValueError:
        raise _not_member(field, value, kind, fix) from None


def member_of(field: str, value: object, kind: type[E], fix: str = "") -> E:
    """A member of the enum ``kind`` itself (a Python API that takes ``WindowType.TIME``, not ``"time"``)."""
    if not isinstance(value, kind):
        raise _not_member(field, value, kind, fix)
    return value


def _not_member(field: str, value: object, kind: type[Enum], fix: str) -> InvalidConfig:
    valid = ", ".join(str(member.value) for member in kind)
    return invalid(field, value, f"a {kind.__name__}", f"valid: {valid}" + (f"; {fix}" if fix else ""))


def instance_of(field: str, value: object, kind: type[T], fix: str = "") -> T:
    """An instance of ``kind``: ``config=<value> must be a RetryConfig; build one with RetryConfig(...)``."""
    if not isinstance(value, kind):
        raise invalid(field, value, f"a {kind.__name__}", fix)
    return value
