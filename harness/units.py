"""Durations in text: one rule for every file format, threshold and command-line flag.

**In text a duration carries its unit**: ``250us`` (or ``250µs``), ``300ms``, ``1.5s``, ``2m``,
``1h``, and sums such as ``1m30s``. A bare number is refused, because ``300`` once meant seconds in
scenario files and milliseconds in load thresholds; the error shows the fix (``30 has no unit;
write 30s (or 30000ms)``). Text means scenario YAML, load-profile YAML/JSON, threshold strings
(``p99 < 300ms``), gate rules (``p99:+5ms``) and every flag that takes a duration
(``--duration 30s``).

**In Python a duration is a float of seconds** (``ConstantArrival(rate=100, duration=30.0)``).

**One exception**: the Toxiproxy-compatible proxy API and proxy config files keep Toxiproxy's
documented units (``latency``, ``jitter``, ``timeout``, ``delay`` as integer milliseconds), because
every Toxiproxy client sends them that way.

Rates and fractions are not durations: a fraction is a bare number (``error_rate: 0.02``);
thresholds and gate rules also take a percentage (``error_rate < 2%``, ``+10%``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from types import MappingProxyType

from harness._checks import non_negative
from harness.errors import InvalidConfig

__all__ = [
    "DURATION_PATTERN",
    "DURATION_UNITS",
    "DurationError",
    "duration_seconds",
    "format_duration",
    "in_unit",
    "parse_duration",
    "unit_fix",
]

DURATION_UNITS: Mapping[str, float] = MappingProxyType(
    {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
)
"""Seconds per unit a duration may be written in."""
_PER_SECOND = {"us": 1e6, "µs": 1e6, "ms": 1e3}  # divide by these: 9 / 1e3 is 0.009, 9 * 1e-3 is not

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?"
_UNIT = "us|µs|ms|s|m|h"
DURATION_PATTERN = rf"^\s*(?:{_NUMBER}\s*(?:{_UNIT})\s*)+$"
"""A regular expression (also valid in JSON Schema) for a duration written as text."""
_WHOLE = re.compile(DURATION_PATTERN)
_PART = re.compile(rf"({_NUMBER})\s*({_UNIT})")
_BARE = re.compile(rf"\s*{_NUMBER}\s*")
_EXAMPLES = "write a number and a unit, e.g. 250ms, 1.5s, 2m, 1h (units: us, µs, ms, s, m, h)"


class DurationError(ValueError):
    """A duration written in text could not be read; the message shows the fix.

    A ``ValueError`` so that pydantic validators report it at the field (with file and line);
    :func:`parse_duration` turns it into :class:`~harness.errors.InvalidConfig`.
    """


def _plain(number: float) -> str:
    """``30.0`` -> ``"30"``, ``0.30000000000000004`` -> ``"0.3"``: a number as a person writes it."""
    return format(number, ".12g")


def unit_fix(number: float, unit: str = "s") -> str:
    """``write 30s (or 30000ms)``: how to write a bare ``number`` meant in ``unit``, and in ms (or s)."""
    seconds = _seconds(number, unit)
    other = f"{_plain(seconds)}s" if unit == "ms" else f"{_plain(seconds * 1000)}ms"
    return f"write {_plain(number)}{unit} (or {other})"


def _seconds(number: float, unit: str) -> float:
    divisor = _PER_SECOND.get(unit)
    return number / divisor if divisor is not None else number * DURATION_UNITS[unit]


def in_unit(seconds: float, unit: str) -> float:
    """``seconds`` expressed in ``unit`` (one of :data:`DURATION_UNITS`): ``in_unit(0.003, "ms") == 3.0``."""
    per_second = _PER_SECOND.get(unit)
    return seconds * per_second if per_second is not None else seconds / DURATION_UNITS[unit]


def duration_seconds(value: object, *, bare_unit: str = "s") -> float:
    """Seconds from text with a unit (``"300ms"``, ``"1m30s"``); raises :class:`DurationError`.

    A bare number (``30``, ``"30"``) is refused; the message suggests ``bare_unit`` first (the unit
    the format used to assume), e.g. ``30 has no unit; write 30s (or 30000ms)``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DurationError(f"{value!r} is not a duration; {_EXAMPLES}")
    text = (value if isinstance(value, str) else _plain(float(value))).strip().lower()
    body = text.removeprefix("-")
    if _BARE.fullmatch(body):
        fix = unit_fix(float(body), bare_unit)
        if body != text:
            raise DurationError(f"{text} is negative and has no unit; a duration is >= 0: {fix}")
        raise DurationError(f"{text} has no unit; {fix}")
    if not _WHOLE.fullmatch(body):
        raise DurationError(f"{value!r} is not a duration; {_EXAMPLES}")
    if body != text:
        raise DurationError(f"{value!r} is negative; a duration is >= 0, e.g. {body}")
    seconds = math.fsum(_seconds(float(number), unit) for number, unit in _PART.findall(body))
    if not math.isfinite(seconds):
        raise DurationError(f"{value!r} is too long to be a duration; {_EXAMPLES}")
    return seconds


def parse_duration(value: object, *, field: str = "duration", bare_unit: str = "s") -> float:
    """Seconds from text with a unit; :class:`~harness.errors.InvalidConfig` naming ``field`` if not.

    ``parse_duration("300ms", field="timeout") == 0.3``; ``parse_duration("30", field="at")``
    raises ``at: 30 has no unit; write 30s (or 30000ms)``.
    """
    try:
        return duration_seconds(value, bare_unit=bare_unit)
    except DurationError as exc:
        raise InvalidConfig(f"{field}: {exc}", field=field, value=value) from None


def format_duration(seconds: float) -> str:
    """``seconds`` as text that :func:`parse_duration` reads back exactly: ``30s``, ``0.25s``."""
    non_negative("seconds", seconds, "only such durations can be written as text")
    text = repr(float(seconds))
    return f"{text.removesuffix('.0')}s"
