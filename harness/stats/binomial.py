"""Intervals for one binomial proportion: how often something fails, with the uncertainty of the count.

:func:`wilson_interval` is the score interval of Wilson (1927, "Probable inference, the law of
succession, and statistical inference", JASA 22:209-212): it keeps its coverage near the nominal
level even for rates near 0 and for small samples, where the textbook ``p ± z·se`` interval
collapses to ``[0, 0]`` after zero failures. :func:`clopper_pearson_interval` is the exact interval
of Clopper and Pearson (1934, Biometrika 26:404-413), from beta quantiles; its coverage is at least
the nominal level for every true rate, which makes its one-sided bound the right tool for a gate
that must not alarm more often than it says (:func:`exceeds_rate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

from harness._checks import integer, invalid, within

__all__ = ["RateInterval", "clopper_pearson_interval", "exceeds_rate", "wilson_interval"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RateInterval:
    """``events`` of ``trials`` (rate ``events / trials``) with a confidence interval ``[low, high]``."""

    events: int
    trials: int
    low: float
    high: float
    confidence: float

    @property
    def rate(self) -> float:
        """The observed rate (0 when there were no trials)."""
        return self.events / self.trials if self.trials else 0.0


def _check(events: int, trials: int, confidence: float) -> None:
    integer("trials", trials, at_least=0)
    integer("events", events, at_least=0)
    if events > trials:
        raise invalid("events", events, f"at most trials={trials}", "count each trial once")
    within("confidence", confidence, "(0, 1)", "0.95 is the usual choice")


def wilson_interval(events: int, trials: int, *, confidence: float = 0.95) -> RateInterval:
    """The two-sided Wilson score interval of ``events / trials`` (Wilson 1927).

    With no trials the interval is ``[0, 1]``: nothing is known.
    """
    _check(events, trials, confidence)
    if trials == 0:
        return RateInterval(events=0, trials=0, low=0.0, high=1.0, confidence=confidence)
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p, n = events / trials, trials
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5 / denominator
    low = 0.0 if events == 0 else max(0.0, centre - half)
    high = 1.0 if events == trials else min(1.0, centre + half)
    return RateInterval(events=events, trials=trials, low=low, high=high, confidence=confidence)


def clopper_pearson_interval(events: int, trials: int, *, confidence: float = 0.95) -> RateInterval:
    """The two-sided exact (Clopper-Pearson 1934) interval of ``events / trials``, from beta quantiles."""
    _check(events, trials, confidence)
    if trials == 0:
        return RateInterval(events=0, trials=0, low=0.0, high=1.0, confidence=confidence)
    from scipy.special import betaincinv

    tail = (1 - confidence) / 2
    low = 0.0 if events == 0 else float(betaincinv(events, trials - events + 1, tail))
    high = 1.0 if events == trials else float(betaincinv(events + 1, trials - events, 1 - tail))
    return RateInterval(events=events, trials=trials, low=low, high=high, confidence=confidence)


def exceeds_rate(events: int, trials: int, bound: float, *, level: float = 0.05) -> bool:
    """Whether the true rate is significantly above ``bound``: the exact one-sided test at ``level``.

    True when the one-sided ``1 - level`` Clopper-Pearson lower bound of ``events / trials`` is
    above ``bound``, which is the exact binomial test of ``rate <= bound`` rejecting at ``level``
    (P(X >= events | bound) < level). When the true rate is at most ``bound`` it says True in at
    most ``level`` of samples, for every sample size; one failure in a handful of runs is not
    enough unless ``bound`` is 0 (then any failure is significant: a rate of 0 cannot fail).
    """
    within("bound", bound, "[0, 1)", "the largest failure rate that is acceptable, e.g. 0.05")
    within("level", level, "(0, 0.5)", "0.05 is the usual choice")
    if events == 0:
        return False
    lower = clopper_pearson_interval(events, trials, confidence=1 - 2 * level).low
    return lower > bound
