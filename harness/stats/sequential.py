"""An always-valid, one-sided test of a metric's tolerance, for looking after every window.

:class:`SequentialTest` watches one metric of a :class:`~harness.stats.MetricConfig`: a quantile
ratio (median, p90, p95, p99) of a sample metric, or the ratio of two error rates. Each arm keeps a
confidence sequence (:mod:`harness.stats.confseq`: beta-binomial mixtures, valid at every sample
size at once, exact for Bernoulli data with small or unequal arms). The candidate is shown worse
than allowed when its lower bound exceeds ``allowed_increase`` times the baseline's upper bound:
if both sequences cover their true values at every time, an inside-the-tolerance candidate is
never flagged, so the test rejects a candidate inside the tolerance with probability at most
``alpha`` however often it is read (each arm's sequence at ``alpha / 2``; ``Direction.EITHER``
halves the level per side again). Decreases mirror this.

The direction of a rejection is recorded when it happens and never re-read: later data cannot turn
a rejection for a faster candidate into one for a slower candidate. Means and CLES have no
sequence here: a mean of unbounded latencies admits no time-uniform bound without assumptions the
data do not promise; monitor a quantile instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness._checks import invalid, within
from harness.stats.confseq import BetaMixture, quantile_ranks, rate_bounds
from harness.stats.judge import MetricConfig
from harness.stats.ratios import type7
from harness.stats.tolerance import QUANTILES, Direction, side_alpha

__all__ = ["SequentialConfig", "SequentialTest", "monitorable"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class SequentialConfig:
    """The level of a :class:`SequentialTest`: the chance it ever rejects a candidate inside the tolerance."""

    alpha: float = 0.05

    def __post_init__(self) -> None:
        within("alpha", self.alpha, "(0, 1)", "the always-valid false-rejection rate, e.g. 0.01")


def monitorable(metric: MetricConfig, *, counts: bool) -> bool:
    """Whether a :class:`SequentialTest` can watch ``metric`` (a count metric, or a quantile effect)."""
    return counts or metric.effect in QUANTILES


class _Arm:
    __slots__ = ("events", "sorted", "total")

    def __init__(self) -> None:
        self.sorted: FloatArray = np.empty(0)
        self.events = 0
        self.total = 0

    def add(self, values: FloatArray) -> None:
        batch = np.sort(values)
        self.sorted = np.insert(self.sorted, np.searchsorted(self.sorted, batch), batch)
        self.total += int(batch.size)


class SequentialTest:
    """One-sided always-valid test of ``metric``'s tolerance between a candidate and a baseline.

    Feed samples with :meth:`update` (quantile effects) or counts with :meth:`update_counts` (error
    rates); read :attr:`rejected` and :attr:`direction` after any update.
    """

    __slots__ = ("_base", "_cand", "_direction", "_high", "_low", "_prior", "_quantile", "config", "metric")

    def __init__(self, metric: MetricConfig, config: SequentialConfig | None = None, *, counts: bool = False):
        if not monitorable(metric, counts=counts):
            raise invalid(
                f"{metric.name}.effect",
                metric.effect.value,
                "a quantile ratio (median, p90, p95, p99) to be watched sequentially",
                "a mean of unbounded latencies has no always-valid bound; judge p95_ratio instead",
            )
        self.metric = metric
        self.config = config or SequentialConfig()
        self._quantile = None if counts else QUANTILES[metric.effect]
        self._prior = BetaMixture.for_rates() if counts else BetaMixture.for_quantile(self._quantile or 0.5)
        self._cand, self._base = _Arm(), _Arm()
        self._low, self._high = 0.0, math.inf  # running bounds of the ratio, intersected over time
        self._direction: Direction | None = None

    # -- levels --------------------------------------------------------------------------------
    @property
    def arm_alpha(self) -> float:
        """The level of each arm's one-sided sequence: ``alpha / 2`` per side of the tolerance."""
        return side_alpha(self.metric.direction, self.config.alpha) / 2.0

    # -- updates -------------------------------------------------------------------------------
    def update(self, candidate: object, baseline: object) -> bool:
        """Add a batch of samples per arm (quantile effects); returns :attr:`rejected`."""
        if self._quantile is None:
            raise invalid("update", self.metric.name, "fed counts", "use update_counts for an error rate")
        for arm, values in ((self._cand, candidate), (self._base, baseline)):
            arr = np.asarray(values, dtype=np.float64).ravel()
            arm.add(arr[np.isfinite(arr)])
        return self._refresh()

    def update_counts(self, events_x: int, total_x: int, events_y: int, total_y: int) -> bool:
        """Add error counts of the candidate (x) and baseline (y); returns :attr:`rejected`."""
        if self._quantile is not None:
            raise invalid("update_counts", self.metric.name, "fed samples", "use update for quantiles")
        self._cand.events += events_x
        self._cand.total += total_x
        self._base.events += events_y
        self._base.total += total_y
        return self._refresh()

    def _bounds(self, arm: _Arm, *, low: bool, high: bool) -> tuple[float, float]:
        """The arm's bounds; only the ends a harmful side needs are computed (the others unbounded)."""
        if self._quantile is None:
            lo, hi = rate_bounds(arm.events, arm.total, self.arm_alpha, self._prior, low=low, high=high)
            return (lo if low else 0.0), (hi if high else math.inf)
        low_rank, high_rank = quantile_ranks(
            arm.total, self._quantile, self.arm_alpha, self._prior, low=low, high=high
        )
        return (
            -math.inf if low_rank is None else float(arm.sorted[low_rank]),
            math.inf if high_rank is None else float(arm.sorted[high_rank]),
        )

    def _refresh(self) -> bool:
        if self._direction is not None:
            return True  # decided: the bounds are no longer needed
        up, down = self.metric.direction.increase_harmful, self.metric.direction.decrease_harmful
        c_low, c_high = self._bounds(self._cand, low=up, high=down)
        b_low, b_high = self._bounds(self._base, low=down, high=up)
        low = c_low / b_high if c_low > 0 and math.isfinite(b_high) and b_high > 0 else 0.0
        high = c_high / b_low if b_low > 0 else math.inf
        self._low, self._high = max(self._low, low), min(self._high, high)
        if self._direction is None:
            m = self.metric
            if m.direction.increase_harmful and self._low > m.allowed_increase:
                self._direction = Direction.INCREASE
            elif m.direction.decrease_harmful and self._high < m.allowed_decrease:
                self._direction = Direction.DECREASE
        return self.rejected

    # -- results -------------------------------------------------------------------------------
    @property
    def rejected(self) -> bool:
        """True once the candidate was shown outside the tolerance (it stays so)."""
        return self._direction is not None

    @property
    def direction(self) -> Direction | None:
        """INCREASE or DECREASE as recorded at the rejection; None before any."""
        return self._direction

    @property
    def low(self) -> float:
        """The always-valid lower bound of the candidate/baseline ratio (0 while unbounded)."""
        return self._low

    @property
    def high(self) -> float:
        """The always-valid upper bound of the ratio (``inf`` while unbounded)."""
        return self._high

    @property
    def estimate(self) -> float:
        """The current ratio of the candidate's and baseline's quantiles or rates (NaN before data)."""
        c, b = self._cand, self._base
        if not (c.total and b.total):
            return math.nan
        if self._quantile is None:
            return (c.events / c.total) / (b.events / b.total) if b.events else math.inf
        cq, bq = type7(c.sorted, self._quantile), type7(b.sorted, self._quantile)
        return cq / bq if bq > 0 else math.inf

    @property
    def samples(self) -> tuple[int, int]:
        """Samples (or requests) seen so far: candidate, baseline."""
        return self._cand.total, self._base.total

    def sentence(self) -> str:
        """The state in words: ratio, always-valid bounds, allowances, level and the recorded direction."""
        m = self.metric
        quantity = "error-rate ratio" if self._quantile is None else f"{m.effect.value.replace('_', ' ')}"
        state = {
            Direction.INCREASE: f"rejected: candidate higher than allowed {m.allowed_increase:g}",
            Direction.DECREASE: f"rejected: candidate lower than allowed {m.allowed_decrease:g}",
            None: "not rejected",
        }[self._direction]
        n_x, n_y = self.samples
        return (
            f"sequential {state}; {quantity} {self.estimate:.4g}, always-valid bounds "
            f"[{self._low:.4g}, {self._high:.4g}] (level {self.config.alpha:g}, {n_x}/{n_y} samples) "
            "[beta-binomial confidence sequences]"
        )
