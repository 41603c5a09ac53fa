"""Tests and confidence bounds for the ratio of two independent estimates (Fieller's theorem).

The candidate's estimate ``a`` and the baseline's ``b`` (means, or quantiles) are independent and
approximately normal with standard errors ``s_a`` and ``s_b``. For a ratio ``r`` the pivot

    T(r) = (a - r b) / sqrt(s_a^2 + r^2 s_b^2)

is approximately standard normal when the true ratio is ``r`` (Student t with Welch-Satterthwaite
degrees of freedom for means). ``H0: ratio <= r`` is rejected when ``T(r)`` is above the upper
``alpha`` quantile; the one-sided lower confidence bound is the smallest ``r`` that test does not
reject, the root of a quadratic (Fieller 1954, "Some problems in interval estimation", JRSS B
16:175-185; Cox & Hinkley, *Theoretical Statistics*, 1974, section 7.2). Test and bound come from
the same pivot, so "the bound is above the allowance" and "the test rejects" always agree.

Standard errors:

* a mean: ``sd / sqrt(n)`` with ``n - 1`` degrees of freedom; at ``r`` the test is Welch's t-test
  of ``candidate`` against ``r * baseline`` (``scipy.stats.ttest_ind(equal_var=False)``);
* a quantile: distribution-free, from the order statistics around it (Price & Bonett 2002,
  "Distribution-free confidence intervals for difference and ratio of medians", J. Statist. Comput.
  Simul. 72:119-124, generalised from the median to any quantile; McKean & Schrader 1984): the
  span between the order statistics ``x_(l)`` and ``x_(u)`` that bracket the quantile with exact
  binomial tail probabilities ``a_l``, ``a_u`` is divided by ``z(a_l) + z(a_u)``. It needs no
  density estimate and no distributional assumption beyond a continuous distribution near the
  quantile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import bdtr, bdtrc, ndtr, ndtri, stdtr, stdtrit

__all__ = ["RatioPivot", "mean_ratio_pivot", "quantile_ratio_pivot", "quantile_standard_error", "type7"]

FloatArray = npt.NDArray[np.float64]

RANK_WINDOW = 1.96
"""Half-width, in binomial standard deviations of the rank, of the order statistics whose span
estimates a quantile's standard error (Price & Bonett's 95% window)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RatioPivot:
    """Candidate and baseline estimates with standard errors, and Fieller's pivot for their ratio.

    ``candidate_dof`` / ``baseline_dof`` are each estimate's degrees of freedom (``inf``: normal).
    """

    candidate: float
    baseline: float
    candidate_se: float
    baseline_se: float
    candidate_dof: float = math.inf
    baseline_dof: float = math.inf
    method: str = ""

    @property
    def defined(self) -> bool:
        """False when a standard error could not be estimated (too few values): nothing is rejected."""
        return math.isfinite(self.candidate_se) and math.isfinite(self.baseline_se)

    @property
    def estimate(self) -> float:
        """``candidate / baseline``."""
        if self.baseline == 0:
            return 1.0 if self.candidate == 0 else math.inf
        return self.candidate / self.baseline

    def statistic(self, r: float) -> float:
        """``T(r)``; 0 when both standard errors are 0 and ``a == r b``."""
        num = self.candidate - r * self.baseline
        var = self.candidate_se**2 + r * r * self.baseline_se**2
        if var == 0:
            return 0.0 if num == 0 else math.copysign(math.inf, num)
        return num / math.sqrt(var)

    def dof(self, r: float) -> float:
        """Welch-Satterthwaite degrees of freedom of ``T(r)`` (``inf`` for normal estimates)."""
        va, vb = self.candidate_se**2, (r * self.baseline_se) ** 2
        if math.isinf(self.candidate_dof) and math.isinf(self.baseline_dof):
            return math.inf
        den = va * va / self.candidate_dof + vb * vb / self.baseline_dof
        return (va + vb) ** 2 / den if den > 0 else math.inf

    def _at(self, at: float | None) -> float:
        r = self.estimate if at is None else at
        return r if math.isfinite(r) else 1.0

    def _sf(self, t: float, df: float) -> float:
        return float(ndtr(-t)) if math.isinf(df) else float(stdtr(df, -t))

    def _crit(self, alpha: float, df: float) -> float:
        return float(-ndtri(alpha)) if math.isinf(df) else float(-stdtrit(df, alpha))

    def p_above(self, r: float) -> float:
        """One-sided p-value of ``H0: ratio <= r`` (evidence the candidate is more than ``r`` times)."""
        if not self.defined:
            return 1.0
        return self._sf(self.statistic(r), self.dof(r))

    def p_below(self, r: float) -> float:
        """One-sided p-value of ``H0: ratio >= r`` (evidence the candidate is less than ``r`` times)."""
        if not self.defined:
            return 1.0
        return self._sf(-self.statistic(r), self.dof(r))

    def lower(self, alpha: float, *, at: float | None = None) -> float:
        """Fieller's one-sided ``1 - alpha`` lower bound of the ratio (0 when nothing positive is excluded).

        Degrees of freedom are taken at ``at`` (the allowance a decision compares the bound with),
        so ``lower(alpha, at=r) > r`` exactly when ``p_above(r) < alpha``.
        """
        a, b, sa, sb = self.candidate, self.baseline, self.candidate_se, self.baseline_se
        c = self._crit(alpha, self.dof(self._at(at)))
        if not self.defined or a <= c * sa or b <= 0:
            return 0.0
        disc = a * a * sb * sb + sa * sa * (b * b - c * c * sb * sb)
        return (a * a - c * c * sa * sa) / (a * b + c * math.sqrt(max(disc, 0.0)))

    def upper(self, alpha: float, *, at: float | None = None) -> float:
        """Fieller's one-sided ``1 - alpha`` upper bound of the ratio (``inf`` when unbounded)."""
        a, b, sa, sb = self.candidate, self.baseline, self.candidate_se, self.baseline_se
        c = self._crit(alpha, self.dof(self._at(at)))
        denom = b * b - c * c * sb * sb
        if not self.defined or denom <= 0 or b <= 0:
            return math.inf
        disc = a * a * sb * sb + sa * sa * denom
        return (a * b + c * math.sqrt(max(disc, 0.0))) / denom


def mean_ratio_pivot(candidate: FloatArray, baseline: FloatArray) -> RatioPivot:
    """The pivot for ``mean(candidate) / mean(baseline)`` (Welch's standard errors; two values each)."""
    nx, ny = candidate.size, baseline.size
    return RatioPivot(
        candidate=float(candidate.mean()),
        baseline=float(baseline.mean()),
        candidate_se=float(candidate.std(ddof=1)) / math.sqrt(nx),
        baseline_se=float(baseline.std(ddof=1)) / math.sqrt(ny),
        candidate_dof=float(nx - 1),
        baseline_dof=float(ny - 1),
        method="Fieller interval on Welch standard errors",
    )


def type7(sorted_x: FloatArray, q: float) -> float:
    """The ``q`` quantile of a sorted sample, interpolated as ``numpy.quantile`` does by default.

    Only the two order statistics around ``(n - 1) q`` are read, so an array partitioned at them
    (``numpy.partition``) will do.
    """
    lo, hi = _type7_ranks(sorted_x.size, q)
    h = (sorted_x.size - 1) * q
    return float(sorted_x[lo] + (h - lo) * (sorted_x[hi] - sorted_x[lo]))


def _type7_ranks(n: int, q: float) -> tuple[int, int]:
    lo = math.floor((n - 1) * q)
    return lo, min(lo + 1, n - 1)


def _rank_window(n: int, q: float) -> tuple[int, int] | None:
    """1-based ranks of the order statistics bracketing the ``q`` quantile (None: cannot bracket)."""
    if n < 2:
        return None
    centre, half = n * q + 0.5, RANK_WINDOW * math.sqrt(n * q * (1.0 - q))
    lo = max(1, math.floor(centre - half))
    hi = min(n, math.ceil(centre + half))
    return lo, hi


def quantile_standard_error(sorted_x: FloatArray, q: float) -> tuple[float, float]:
    """Distribution-free standard error of the sample ``q`` quantile, and its degrees of freedom.

    The order statistics ``x_(l)``, ``x_(u)`` ``RANK_WINDOW`` binomial standard deviations of rank
    either side of ``n q`` miss the true quantile with probabilities ``a_l = P(B < l)`` and
    ``a_u = P(B >= u)``, ``B ~ Binomial(n, q)``; the standard error is their span divided by
    ``z(a_l) + z(a_u)`` (Price & Bonett 2002). The span is a sum of ``u - l`` spacings, so its
    noise is counted as ``(u - l) / 2`` degrees of freedom. NaN when the sample cannot bracket the
    quantile (ten values do not bound a p95 from above). Only ``x_(l)`` and ``x_(u)`` are read: an
    array partitioned at them will do.
    """
    window = _rank_window(sorted_x.size, q)
    if window is None:
        return math.nan, math.nan
    lo, hi = window
    n = sorted_x.size
    miss_low = float(bdtr(lo - 1, n, q))
    miss_high = float(bdtrc(hi - 1, n, q))
    if not (miss_low < 0.5 and miss_high < 0.5):
        return math.nan, math.nan
    z = float(-ndtri(miss_low)) + float(-ndtri(miss_high))
    return float(sorted_x[hi - 1] - sorted_x[lo - 1]) / z, (hi - lo) / 2.0


def _partitioned(x: FloatArray, q: float) -> FloatArray:
    """``x`` partitioned at every order statistic :func:`type7` and the standard error read."""
    ranks = set(_type7_ranks(x.size, q))
    window = _rank_window(x.size, q)
    if window is not None:
        ranks |= {window[0] - 1, window[1] - 1}
    return np.partition(x, sorted(ranks))


def quantile_ratio_pivot(candidate: FloatArray, baseline: FloatArray, q: float) -> RatioPivot:
    """The pivot for the ratio of the ``q`` quantiles of two samples (in any order; nothing is sorted)."""
    x, y = _partitioned(candidate, q), _partitioned(baseline, q)
    se_x, dof_x = quantile_standard_error(x, q)
    se_y, dof_y = quantile_standard_error(y, q)
    return RatioPivot(
        candidate=type7(x, q),
        baseline=type7(y, q),
        candidate_se=se_x,
        baseline_se=se_y,
        candidate_dof=dof_x,
        baseline_dof=dof_y,
        method="Fieller interval on order-statistic standard errors",
    )
