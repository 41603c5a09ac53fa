"""Location shifts with confidence intervals: the shape every shift estimate here returns.

* :class:`Shift` is an estimate of ``candidate - baseline`` with its interval;
  :func:`~harness.stats.ranks.hodges_lehmann` returns one for two independent samples.
* :func:`paired_hodges_lehmann` is the one-sample Hodges-Lehmann estimate of paired differences
  with the Wilcoxon signed-rank interval (Hollander & Wolfe, *Nonparametric Statistical Methods*;
  R's ``wilcox.test(candidate, baseline, paired=TRUE, conf.int=TRUE)``).
* :func:`median_interval_from_summary` is a conservative interval for a difference of medians
  known only by median, inter-quartile range and count (all pytest-benchmark keeps by default).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from harness._checks import invalid, within

__all__ = [
    "SUMMARY_SE_INFLATION",
    "Shift",
    "check_confidence",
    "median_interval_from_summary",
    "paired_hodges_lehmann",
]

SUMMARY_SE_INFLATION = 2.0
"""Summary-only data: the median's standard error is doubled, because rounds of a benchmark are
not independent (warm caches, CPU frequency, neighbours) and nothing in a summary shows how much."""

_SIGNED_RANK_EXACT_LIMIT = 60


@dataclass(frozen=True, slots=True, kw_only=True)
class Shift:
    """A location shift ``candidate - baseline`` with its confidence interval, in the samples' unit.

    An end the requested confidence cannot reach is infinite; ``method`` names how it was found.
    """

    estimate: float
    low: float
    high: float
    method: str


def check_confidence(confidence: float) -> float:
    """``confidence`` when it is in ``(0, 1)``, else ``InvalidConfig`` (the level of every interval here)."""
    return within("confidence", confidence, "(0, 1)", "0.95 is the usual choice")


def _z(confidence: float) -> float:
    """The two-sided standard normal quantile for ``confidence``."""
    return float(ndtri(1.0 - (1.0 - confidence) / 2.0))


def _signed_rank_cut(n: int, alpha: float) -> int:
    """How many Walsh averages to cut from each end for a ``1 - alpha`` interval (R's ``qsignrank``).

    Exact null distribution of the signed-rank statistic for up to 60 pairs, normal approximation
    above.
    """
    if n > _SIGNED_RANK_EXACT_LIMIT:
        total = n * (n + 1) / 2
        spread = float(ndtri(1.0 - alpha / 2.0)) * math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
        return max(0, math.floor(total / 2 - spread))
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for rank in range(1, n + 1):
        counts[rank:] = counts[rank:] + counts[: counts.size - rank].copy()
    cdf = np.cumsum(counts) / 2.0**n
    return int(np.searchsorted(cdf, alpha / 2.0, side="right"))


def paired_hodges_lehmann(
    candidate: Sequence[float], baseline: Sequence[float], *, confidence: float = 0.95
) -> Shift:
    """Shift of ``candidate`` over ``baseline`` from pairs ``(candidate[i], baseline[i])``.

    The estimate is the median of the Walsh averages of the differences; the interval is the
    Wilcoxon signed-rank ``confidence`` interval (exact null distribution for up to 60 pairs).
    Alternating A/B rounds are pairs: each difference cancels the drift both rounds shared.
    Checked against ``scipy.stats.wilcoxon``: zero is outside the interval exactly when it rejects.
    """
    check_confidence(confidence)
    if len(candidate) != len(baseline) or len(candidate) == 0:
        fix = f"pair every candidate value with one baseline value (got {len(candidate)})"
        raise invalid("len(baseline)", len(baseline), "the same non-zero length as the candidate", fix)
    d = np.asarray(candidate, dtype=float) - np.asarray(baseline, dtype=float)
    n = d.size
    walsh = np.sort(((d[:, None] + d[None, :]) / 2.0)[np.triu_indices(n)])
    estimate = float(np.median(walsh))
    cut = _signed_rank_cut(n, 1.0 - confidence)
    if cut == 0:
        return Shift(estimate=estimate, low=-math.inf, high=math.inf, method="paired hodges-lehmann")
    low, high = float(walsh[cut - 1]), float(walsh[walsh.size - cut])
    return Shift(estimate=estimate, low=low, high=high, method="paired hodges-lehmann")


def median_interval_from_summary(
    *,
    candidate_median: float,
    candidate_iqr: float,
    candidate_count: int,
    baseline_median: float,
    baseline_iqr: float,
    baseline_count: int,
    confidence: float = 0.95,
) -> Shift:
    """A conservative interval for ``candidate_median - baseline_median`` known only by summaries.

    Each median's standard error is ``1.2533 * sigma / sqrt(count)`` (``sqrt(pi / 2)``: the
    asymptotic standard error of a normal sample's median), ``sigma = IQR / 1.349`` (robust to
    outliers), inflated by :data:`SUMMARY_SE_INFLATION`. With
    fewer than two values on either side nothing can be claimed and the interval is unbounded.
    """
    check_confidence(confidence)
    estimate = candidate_median - baseline_median
    if baseline_count < 2 or candidate_count < 2:
        return Shift(estimate=estimate, low=-math.inf, high=math.inf, method="summary")

    def se(iqr: float, count: int) -> float:
        return SUMMARY_SE_INFLATION * 1.2533 * (iqr / 1.349) / math.sqrt(count)

    half = _z(confidence) * math.hypot(se(baseline_iqr, baseline_count), se(candidate_iqr, candidate_count))
    return Shift(estimate=estimate, low=estimate - half, high=estimate + half, method="summary")
