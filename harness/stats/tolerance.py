"""Testing a tolerance on the quantity named: is the candidate worse than the user allowed?

A tolerance says which change is harmful (:class:`Direction`) and how much of it is allowed: a p95
allowed up to 1.05 times the baseline's, an error rate up to 1.25 times. The null hypothesis is
that the candidate is inside the tolerance (``effect <= allowed_increase``, or ``>=
allowed_decrease`` for decreases); a metric is flagged only when a one-sided confidence bound of
that very effect lies beyond the allowance. A candidate 3% slower with 5% allowed is therefore
flagged at most ``alpha`` of the time, and a p95 regression is caught even when the median is
unchanged. ``Direction.EITHER`` gives each side half of ``alpha``.

The bounds come from the effect's own pivot:

* mean ratio: Fieller's interval on Welch standard errors (:mod:`harness.stats.ratios`);
* median / p90 / p95 / p99 ratio: Fieller's interval on distribution-free order-statistic standard
  errors (:mod:`harness.stats.ratios`);
* CLES, ``P(candidate > baseline)``: Brunner-Munzel (:mod:`harness.stats.dominance`);
* error-rate ratio: the exact conditional test (:mod:`harness.stats.proportions`).

Every :class:`ToleranceResult` says in words what was estimated, the bound, the allowance, the
level and the method, so a reviewer can check the decision by hand.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from harness.stats.dominance import dominance_pivot
from harness.stats.effects import EffectSize
from harness.stats.ratios import mean_ratio_pivot, quantile_ratio_pivot

__all__ = [
    "QUANTILES",
    "Direction",
    "EffectTest",
    "ToleranceResult",
    "effect_test",
    "judge_tolerance",
    "side_alpha",
]

FloatArray = npt.NDArray[np.float64]

QUANTILES = {
    EffectSize.MEDIAN_RATIO: 0.5,
    EffectSize.P90_RATIO: 0.9,
    EffectSize.P95_RATIO: 0.95,
    EffectSize.P99_RATIO: 0.99,
}
"""The quantile each quantile-ratio effect compares."""


class Direction(enum.Enum):
    """Which change of a metric is harmful."""

    INCREASE = "increase"
    DECREASE = "decrease"
    EITHER = "either"

    @property
    def increase_harmful(self) -> bool:
        """True when an increase beyond the allowance is harmful."""
        return self is not Direction.DECREASE

    @property
    def decrease_harmful(self) -> bool:
        """True when a decrease beyond the allowance is harmful."""
        return self is not Direction.INCREASE


class EffectTest(Protocol):
    """An effect estimate with one-sided tests and bounds at any value (ratio pivots, CLES, rate ratio)."""

    @property
    def estimate(self) -> float:
        """The point estimate of the effect."""
        ...

    @property
    def method(self) -> str:
        """How the bounds are computed, with the method's name."""
        ...

    def p_above(self, r: float) -> float:
        """One-sided p-value of ``H0: effect <= r``."""
        ...

    def p_below(self, r: float) -> float:
        """One-sided p-value of ``H0: effect >= r``."""
        ...

    def lower(self, alpha: float, *, at: float | None = None) -> float:
        """One-sided ``1 - alpha`` lower bound (degrees of freedom taken at ``at`` where they vary)."""
        ...

    def upper(self, alpha: float, *, at: float | None = None) -> float:
        """One-sided ``1 - alpha`` upper bound."""
        ...


def effect_test(kind: EffectSize, candidate_sorted: FloatArray, baseline_sorted: FloatArray) -> EffectTest:
    """The test of effect ``kind`` for two sorted samples of at least two values each."""
    if kind is EffectSize.MEAN_RATIO:
        return mean_ratio_pivot(candidate_sorted, baseline_sorted)
    if kind is EffectSize.CLES:
        return dominance_pivot(candidate_sorted, baseline_sorted)
    return quantile_ratio_pivot(candidate_sorted, baseline_sorted, QUANTILES[kind])


def side_alpha(direction: Direction, alpha: float) -> float:
    """The level of each one-sided test: ``alpha``, or half of it for ``Direction.EITHER``."""
    return alpha / 2.0 if direction is Direction.EITHER else alpha


@dataclass(frozen=True, slots=True, kw_only=True)
class ToleranceResult:
    """The effect, its bounds at the per-side level, the allowances, p-values and the verdict.

    ``exceeded`` is INCREASE or DECREASE when a bound lies beyond a harmful allowance, else None.
    ``low`` is the one-sided lower bound and ``high`` the upper bound, each at level ``level``;
    a p-value of a side that is not harmful is NaN.
    """

    quantity: str
    estimate: float
    low: float
    high: float
    level: float
    direction: Direction
    allowed_increase: float
    allowed_decrease: float
    p_increase: float
    p_decrease: float
    exceeded: Direction | None
    method: str

    @property
    def p_value(self) -> float:
        """The p-value of the side that decided, or the smaller side's (doubled for EITHER)."""
        if self.exceeded is Direction.INCREASE:
            return self.p_increase
        if self.exceeded is Direction.DECREASE:
            return self.p_decrease
        sides = [p for p in (self.p_increase, self.p_decrease) if not math.isnan(p)]
        return min(1.0, min(sides) * len(sides))

    @property
    def bound(self) -> float:
        """The bound compared with the allowance that decided (the lower bound when none did)."""
        if self.exceeded is Direction.DECREASE or not self.direction.increase_harmful:
            return self.high
        return self.low

    def sentence(self) -> str:
        """The decision in words: estimate, bound, allowance, level, p-value and method."""
        confidence = f"{100 * (1 - self.level):.4g}%"
        parts = [f"{self.quantity} {self.estimate:.4g}"]
        if self.direction.increase_harmful:
            over = self.exceeded is Direction.INCREASE
            parts.append(
                f"{confidence} lower bound {self.low:.4g} {'>' if over else '<='} allowed "
                f"{self.allowed_increase:g} (p={self.p_increase:.3g}"
                f"{' <' if over else ','} level {self.level:.3g})"
            )
        if self.direction.decrease_harmful:
            under = self.exceeded is Direction.DECREASE
            parts.append(
                f"{confidence} upper bound {self.high:.4g} {'<' if under else '>='} allowed "
                f"{self.allowed_decrease:g} (p={self.p_decrease:.3g}"
                f"{' <' if under else ','} level {self.level:.3g})"
            )
        verdict = {
            Direction.INCREASE: "candidate higher than allowed",
            Direction.DECREASE: "candidate lower than allowed",
            None: "inside the tolerance or not shown outside it",
        }[self.exceeded]
        return f"{verdict}: " + "; ".join(parts) + f" [{self.method}]"


def judge_tolerance(
    test: EffectTest,
    *,
    quantity: str,
    direction: Direction,
    allowed_increase: float,
    allowed_decrease: float,
    alpha: float,
) -> ToleranceResult:
    """Test ``effect <= allowed_increase`` and/or ``effect >= allowed_decrease`` at ``alpha`` in all."""
    level = side_alpha(direction, alpha)
    p_up = test.p_above(allowed_increase) if direction.increase_harmful else math.nan
    p_down = test.p_below(allowed_decrease) if direction.decrease_harmful else math.nan
    exceeded = None
    if p_up < level:
        exceeded = Direction.INCREASE
    elif p_down < level:
        exceeded = Direction.DECREASE
    return ToleranceResult(
        quantity=quantity,
        estimate=test.estimate,
        low=test.lower(level, at=allowed_increase),
        high=test.upper(level, at=allowed_decrease),
        level=level,
        direction=direction,
        allowed_increase=allowed_increase,
        allowed_decrease=allowed_decrease,
        p_increase=p_up,
        p_decrease=p_down,
        exceeded=exceeded,
        method=test.method,
    )
