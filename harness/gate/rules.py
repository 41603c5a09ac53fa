"""Threshold expressions: which change of which metric counts as a regression.

An expression is ``[PATTERN:]THRESHOLD``. ``PATTERN`` is a shell-style glob over metric names
(default ``*``; the last ``:`` separates it, so pytest node ids with ``::`` work). ``THRESHOLD``
is a number, with ``%`` for a relative change or a time unit for a duration, optionally signed:

* ``10%``: a change of more than 10% in the metric's worse direction regresses;
* ``+10%``: an *increase* of more than 10% regresses (lower is better, for times and errors);
* ``-5%``: a *decrease* of more than 5% regresses (higher is better, for throughput);
* ``+2ms``: an absolute increase of more than 2 ms regresses, on a metric measured in time;
* ``+0.01``: an absolute increase of more than 0.01 regresses, on a metric without a time unit
  (an error rate, a count).

A bare absolute number on a metric measured in time is refused with the fix, as everywhere a
duration is written as text (see :mod:`harness.units`).

Every expression that matches a metric is checked and any one can fail it; several expressions
never silently replace each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from harness._checks import invalid, non_negative
from harness.errors import InvalidConfig
from harness.gate.metrics import Better
from harness.units import DURATION_UNITS, duration_seconds, format_duration, in_unit, unit_fix

__all__ = ["DEFAULT_RULES", "Rule", "parse_noise"]

_THRESHOLD = re.compile(
    r"^(?P<sign>[+-]?)(?P<number>(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)\s*(?P<unit>%|us|µs|ms|s|m|h)?$"
)
_EXAMPLES = "for example '10%', '+5%', 'throughput*:-10%', 'p99:+2ms' or 'error_rate:+0.01'"
_FRACTION = re.compile(r"^\s*(?P<number>\d+(\.\d*)?|\.\d+)\s*(?P<percent>%?)\s*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One parsed threshold expression."""

    threshold: float
    pattern: str = "*"
    relative: bool = True
    direction: Better | None = None
    unit: str = ""
    """``"s"`` when the threshold is a duration (written with a time unit, stored in seconds);
    ``""`` when it is a fraction (relative) or in the metric's own unit (absolute)."""
    text: str = ""

    def __post_init__(self) -> None:
        non_negative("threshold", self.threshold, _EXAMPLES)
        if self.unit not in {"", "s"} or (self.unit and self.relative):
            raise invalid("unit", self.unit, "'s' (an absolute duration) or '' (no unit)", _EXAMPLES)
        if not self.pattern:
            raise InvalidConfig(f"the metric pattern in {self.text!r} is empty; use '*' for every metric.")

    @classmethod
    def parse(cls, text: str) -> Rule:
        """Parse ``[PATTERN:]THRESHOLD``; a bad expression raises ``InvalidConfig`` quoting it."""
        pattern, _, spec = text.strip().rpartition(":")
        match = _THRESHOLD.match(spec.strip())
        if match is None:
            raise InvalidConfig(
                f"threshold expression {text!r} is not [PATTERN:]THRESHOLD; {_EXAMPLES}.", value=text
            )
        number, unit = match["number"], match["unit"] or ""
        relative = unit == "%"
        timed = unit in DURATION_UNITS
        direction = {"+": Better.LOWER, "-": Better.HIGHER}.get(match["sign"])
        return cls(
            threshold=duration_seconds(number + unit)
            if timed
            else float(number) / (100.0 if relative else 1),
            pattern=pattern.strip() or "*",
            relative=relative,
            direction=direction,
            unit="s" if timed else "",
            text=text.strip(),
        )

    def threshold_in(self, metric: str, unit: str) -> float:
        """The threshold in the unit of ``metric`` (measured in ``unit``), for comparing its change.

        A duration converts to the metric's time unit; a bare absolute number on a metric measured
        in time is refused, since ``+0.002`` reads as seconds to one person and ms to another.
        """
        metric_is_time = unit in DURATION_UNITS
        if self.relative or (not self.unit and not metric_is_time):
            return self.threshold
        if self.unit and metric_is_time:
            return in_unit(self.threshold, unit)
        raise self._mismatch(metric, unit)

    def _mismatch(self, metric: str, unit: str) -> InvalidConfig:
        shown = self.text or self.describe()
        if self.unit:
            message = (
                f"rule {shown!r} is a duration but metric {metric!r} is in {unit or 'no unit'}; "
                "give it a percentage or a number in the metric's unit."
            )
        else:
            message = (
                f"rule {shown!r} on metric {metric!r} (measured in {unit}): {self.threshold:g} has no unit; "
                f"{unit_fix(self.threshold, unit)}, or a percentage."
            )
        return InvalidConfig(message, field="rule", value=shown)

    def matches(self, name: str) -> bool:
        """Whether this rule applies to the metric ``name``."""
        return fnmatchcase(name, self.pattern)

    def describe(self) -> str:
        """The threshold as a user reads it (``+10%``, ``-5%``, ``±10%``, ``+0.002s``, ``+0.01``)."""
        sign = {Better.LOWER: "+", Better.HIGHER: "-", None: "±"}[self.direction]
        if self.relative:
            amount = f"{self.threshold * 100:g}%"
        else:
            amount = format_duration(self.threshold) if self.unit else f"{self.threshold:g}"
        return f"{sign}{amount}"


DEFAULT_RULES: tuple[Rule, ...] = (Rule.parse("*:10%"),)
"""Used when no expression matches a metric: a 10% change in its worse direction."""


def parse_noise(text: str, *, field: str = "noise") -> float:
    """A run-to-run noise as written on a command line: ``5%`` or ``0.05`` -> 0.05, below 100%."""
    match = _FRACTION.match(text)
    if match is None:
        raise invalid(field, text, "a percentage (5%) or a fraction (0.05)", "the sd of one run's median")
    value = float(match["number"]) / (100.0 if match["percent"] else 1.0)
    if not value < 1:
        raise invalid(field, text, "below 100% of a run's median", "for example 5% or 0.05")
    return value
