"""Threshold expressions: which change of which metric counts as a regression.

An expression is ``[PATTERN:]THRESHOLD``. ``PATTERN`` is a shell-style glob over metric names
(default ``*``; the last ``:`` separates it, so pytest node ids with ``::`` work). ``THRESHOLD``
is a number, with ``%`` for a relative change, optionally signed:

* ``10%``: a change of more than 10% in the metric's worse direction regresses;
* ``+10%``: an *increase* of more than 10% regresses (lower is better, for times and errors);
* ``-5%``: a *decrease* of more than 5% regresses (higher is better, for throughput);
* ``+0.002``: an absolute increase of more than 0.002 (in the metric's unit) regresses.

Every expression that matches a metric is checked and any one can fail it; several expressions
never silently replace each other.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from harness.errors import InvalidConfig
from harness.gate.metrics import Direction

__all__ = ["DEFAULT_RULES", "Rule"]

_THRESHOLD = re.compile(r"^(?P<sign>[+-]?)(?P<number>(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)(?P<pct>%?)$")
_EXAMPLES = "for example '10%', '+5%', 'throughput*:-10%' or 'error_rate:+0.01'"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One parsed threshold expression."""

    threshold: float
    pattern: str = "*"
    relative: bool = True
    direction: Direction | None = None
    text: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.threshold) and self.threshold >= 0):
            raise InvalidConfig(
                f"threshold {self.threshold!r} must be a finite number >= 0; {_EXAMPLES}.",
                field="threshold",
                value=self.threshold,
            )
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
        number = float(match["number"])
        relative = bool(match["pct"])
        sign = match["sign"]
        direction = {"+": Direction.LOWER, "-": Direction.HIGHER}.get(sign)
        return cls(
            threshold=number / 100.0 if relative else number,
            pattern=pattern.strip() or "*",
            relative=relative,
            direction=direction,
            text=text.strip(),
        )

    def matches(self, name: str) -> bool:
        """Whether this rule applies to the metric ``name``."""
        return fnmatchcase(name, self.pattern)

    def describe(self) -> str:
        """The threshold as a user reads it (``+10%``, ``-5%``, ``±10%``, ``+0.002``)."""
        sign = {Direction.LOWER: "+", Direction.HIGHER: "-", None: "±"}[self.direction]
        amount = f"{self.threshold * 100:g}%" if self.relative else f"{self.threshold:g}"
        return f"{sign}{amount}"


DEFAULT_RULES: tuple[Rule, ...] = (Rule.parse("*:10%"),)
"""Used when no expression matches a metric: a 10% change in its worse direction."""
