"""An always-valid sequential test: the normal-mixture mSPRT (Johari, Pekelis and Walsh).

Each arm keeps running sums; after any update the mixture likelihood ratio

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 d^2 / (2 V (V + tau^2)))

for the difference ``d`` of the arm means (variance ``V = s_x^2/n_x + s_y^2/n_y``) is an e-value,
so the p-value ``min over time of 1 / Lambda`` may be read after every window without inflating
the false-positive rate above ``alpha``. The matching confidence sequence is ``d +/- half_width``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness._checks import integer, positive, within

__all__ = ["SequentialConfig", "SequentialTest"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SequentialConfig:
    """Level and mixture width of a :class:`SequentialTest`.

    ``tau`` is the standard deviation of the normal mixture on the difference of means, in the
    metric's units; ``None`` fixes it at the first update to ``relative_tau`` times the baseline's
    standard deviation (a width chosen before any difference is seen).
    """

    alpha: float = 0.05
    tau: float | None = None
    relative_tau: float = 0.1
    min_samples: int = 30

    def __post_init__(self) -> None:
        within("alpha", self.alpha, "(0, 1)", "e.g. 0.05")
        if self.tau is not None:
            positive("tau", self.tau, "or None to derive it from the baseline")
        positive("relative_tau", self.relative_tau, "the mixing scale relative to the baseline spread")
        integer("min_samples", self.min_samples, "samples per arm before the test may stop", at_least=2)


class _Arm:
    __slots__ = ("n", "s1", "s2")

    def __init__(self) -> None:
        self.n = 0
        self.s1 = 0.0
        self.s2 = 0.0

    def add(self, n: int, s1: float, s2: float) -> None:
        self.n += n
        self.s1 += s1
        self.s2 += s2

    @property
    def mean(self) -> float:
        return self.s1 / self.n

    @property
    def var(self) -> float:
        return max(self.s2 - self.s1 * self.s1 / self.n, 0.0) / (self.n - 1)


class SequentialTest:
    """Two-sided test that candidate and baseline means are equal, valid at every peek."""

    __slots__ = ("_log_e", "_min_p", "_x", "_y", "config", "tau")

    def __init__(self, config: SequentialConfig | None = None) -> None:
        self.config = config or SequentialConfig()
        self.tau = self.config.tau
        self._x = _Arm()
        self._y = _Arm()
        self._min_p = 1.0
        self._log_e = 0.0

    def update(self, candidate: object, baseline: object) -> float:
        """Add a batch of samples per arm; returns the always-valid p-value."""
        x = np.asarray(candidate, dtype=np.float64).ravel()
        y = np.asarray(baseline, dtype=np.float64).ravel()
        self._x.add(int(x.size), float(x.sum()), float(np.dot(x, x)))
        self._y.add(int(y.size), float(y.sum()), float(np.dot(y, y)))
        return self._refresh()

    def update_counts(self, events_x: int, total_x: int, events_y: int, total_y: int) -> float:
        """Add Bernoulli outcomes as counts (errors of requests); returns the p-value."""
        self._x.add(total_x, float(events_x), float(events_x))
        self._y.add(total_y, float(events_y), float(events_y))
        return self._refresh()

    def _variance(self) -> float:
        return self._x.var / self._x.n + self._y.var / self._y.n

    def _refresh(self) -> float:
        if min(self._x.n, self._y.n) < self.config.min_samples:
            return self._min_p
        if self.tau is None:
            self.tau = self.config.relative_tau * math.sqrt(self._y.var) or self.config.relative_tau
        v = self._variance()
        if v <= 0:
            return self._min_p
        t2 = self.tau * self.tau
        d = self.estimate
        self._log_e = 0.5 * math.log(v / (v + t2)) + t2 * d * d / (2.0 * v * (v + t2))
        self._min_p = min(self._min_p, 1.0, math.exp(-self._log_e))
        return self._min_p

    @property
    def estimate(self) -> float:
        """Candidate mean minus baseline mean (NaN before any data)."""
        if not (self._x.n and self._y.n):
            return math.nan
        return self._x.mean - self._y.mean

    @property
    def e_value(self) -> float:
        """The current mixture likelihood ratio (evidence against equal means)."""
        return math.exp(self._log_e)

    @property
    def p_value(self) -> float:
        """Always-valid p-value: the running minimum of 1 / Lambda."""
        return self._min_p

    @property
    def rejected(self) -> bool:
        """True once the p-value has fallen to alpha or below (and it stays so)."""
        return self._min_p <= self.config.alpha

    @property
    def samples(self) -> tuple[int, int]:
        """Samples seen so far (candidate, baseline)."""
        return self._x.n, self._y.n

    def confidence_interval(self) -> tuple[float, float]:
        """The always-valid (1 - alpha) confidence interval for the difference of means."""
        if self.tau is None or min(self._x.n, self._y.n) < self.config.min_samples:
            return -math.inf, math.inf
        v = self._variance()
        t2 = self.tau * self.tau
        half = math.sqrt(
            2.0 * v * (v + t2) / t2 * (math.log(1.0 / self.config.alpha) + 0.5 * math.log((v + t2) / v))
        )
        return self.estimate - half, self.estimate + half
