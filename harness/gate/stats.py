"""Statistics of the gate: compact samples, Hodges-Lehmann shifts with Mann-Whitney intervals.

Everything here is a pure function of numbers; nothing reads a clock or a file.

* :func:`compact` keeps at most ``max_points`` evenly spaced quantiles of a sample. A baseline of
  100,000 timings becomes 256 numbers that still carry its shape. Rank tests on the compact sample
  see fewer points than were measured, so their intervals get wider, never narrower: compaction
  can hide a regression but cannot invent one.
* :func:`hodges_lehmann` estimates the shift between two samples (the median of all pairwise
  differences) and its distribution-free confidence interval from the Mann-Whitney U statistic
  (normal approximation of the rank, as in Hollander & Wolfe); it is robust to outliers, which a
  mean is not, and far less noisy than a difference of two medians.
* :func:`median_interval_from_summary` is the conservative rule for summary-only data (median,
  inter-quartile range and number of rounds, which is all pytest-benchmark keeps by default).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

__all__ = [
    "MAX_SAMPLES",
    "SUMMARY_SE_INFLATION",
    "Shift",
    "compact",
    "hodges_lehmann",
    "median_interval_from_summary",
    "paired_hodges_lehmann",
    "z_value",
]

MAX_SAMPLES = 256
"""Samples kept per metric in a baseline or a comparison."""

SUMMARY_SE_INFLATION = 2.0
"""Summary-only data: the median's standard error is doubled, because rounds of a benchmark are
not independent (warm caches, CPU frequency, neighbours) and nothing in a summary shows how much."""


@dataclass(frozen=True, slots=True)
class Shift:
    """A location shift ``current - baseline`` with its confidence interval, in the samples' unit."""

    estimate: float
    low: float
    high: float
    method: str


def z_value(alpha: float) -> float:
    """The two-sided standard normal quantile for confidence ``1 - alpha``."""
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


def compact(values: Sequence[float], max_points: int = MAX_SAMPLES) -> list[float]:
    """At most ``max_points`` values: the sample itself (order kept, so pairs stay paired), or
    its mid-rank quantiles when it is larger."""
    data = np.asarray(values, dtype=float)
    if data.size <= max_points:
        return [float(v) for v in data]
    data = np.sort(data)
    probs = (np.arange(max_points) + 0.5) / max_points
    return [float(v) for v in np.quantile(data, probs, method="linear")]


def hodges_lehmann(baseline: Sequence[float], current: Sequence[float], alpha: float = 0.01) -> Shift:
    """The Hodges-Lehmann shift of ``current`` over ``baseline`` with a ``1 - alpha`` interval.

    The interval holds the order statistics ``k`` and ``n*m - k - 1`` of the ``n*m`` pairwise
    differences, with ``k`` from the normal approximation of the Mann-Whitney U distribution.
    """
    x = np.asarray(baseline, dtype=float)
    y = np.asarray(current, dtype=float)
    n, m = x.size, y.size
    diffs = np.sort((y[:, None] - x[None, :]).ravel())
    total = n * m
    estimate = float(np.median(diffs))
    spread = z_value(alpha) * math.sqrt(n * m * (n + m + 1) / 12.0)
    k = math.floor(total / 2.0 - spread)
    if k < 0:
        return Shift(estimate, float("-inf"), float("inf"), "hodges-lehmann")
    return Shift(estimate, float(diffs[k]), float(diffs[total - k - 1]), "hodges-lehmann")


def _signed_rank_lower_count(n: int, alpha: float) -> int:
    """How many Walsh averages to cut from each end for a ``1 - alpha`` interval (exact for n <= 60)."""
    if n > 60:
        total = n * (n + 1) / 2
        return max(0, math.floor(total / 2 - z_value(alpha) * math.sqrt(n * (n + 1) * (2 * n + 1) / 24)))
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for rank in range(1, n + 1):
        counts[rank:] = counts[rank:] + counts[: counts.size - rank].copy()
    cdf = np.cumsum(counts) / 2.0**n
    return int(np.searchsorted(cdf, alpha / 2.0, side="right"))


def paired_hodges_lehmann(differences: Sequence[float], alpha: float = 0.01) -> Shift:
    """The one-sample Hodges-Lehmann estimate of paired differences (median of the Walsh
    averages) with its Wilcoxon signed-rank ``1 - alpha`` interval (exact null distribution for
    up to 60 pairs). Alternating A/B rounds are pairs: each difference cancels the drift both
    rounds shared."""
    d = np.asarray(differences, dtype=float)
    n = d.size
    walsh = np.sort(((d[:, None] + d[None, :]) / 2.0)[np.triu_indices(n)])
    estimate = float(np.median(walsh))
    cut = _signed_rank_lower_count(n, alpha)
    if cut == 0:
        return Shift(estimate, float("-inf"), float("inf"), "paired hodges-lehmann")
    return Shift(estimate, float(walsh[cut - 1]), float(walsh[walsh.size - cut]), "paired hodges-lehmann")


def median_interval_from_summary(
    *,
    base_median: float,
    base_iqr: float,
    base_rounds: int,
    cur_median: float,
    cur_iqr: float,
    cur_rounds: int,
    alpha: float = 0.01,
) -> Shift:
    """A conservative interval for the difference of two medians known only by summaries.

    Each median's standard error is ``1.2533 * sigma / sqrt(rounds)`` (its asymptotic value for
    a normal sample), ``sigma = IQR / 1.349`` (robust to outliers), inflated by
    :data:`SUMMARY_SE_INFLATION`. With fewer than two rounds on either side nothing can be
    claimed and the interval is unbounded.
    """
    estimate = cur_median - base_median
    if base_rounds < 2 or cur_rounds < 2:
        return Shift(estimate, float("-inf"), float("inf"), "summary")

    def se(iqr: float, rounds: int) -> float:
        return SUMMARY_SE_INFLATION * 1.2533 * (iqr / 1.349) / math.sqrt(rounds)

    half = z_value(alpha) * math.hypot(se(base_iqr, base_rounds), se(cur_iqr, cur_rounds))
    return Shift(estimate, estimate - half, estimate + half, "summary")
