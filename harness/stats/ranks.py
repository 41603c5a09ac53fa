"""Mann-Whitney U with the Hodges-Lehmann shift and its confidence interval.

Conventions follow R's ``wilcox.test(x, y, conf.int=TRUE)``: ``x`` is the candidate (experiment),
``y`` the baseline (control), ``U`` counts pairs with ``x > y`` (ties count one half), the shift is
the median of the pairwise differences ``x_i - y_j`` and ``alternative="greater"`` means ``x`` is
shifted to the right. P-values match ``scipy.stats.mannwhitneyu`` (continuity and tie corrected
normal approximation, or the exact null distribution). The exact interval is R's (order statistics
of the pairwise differences at ``qwilcox`` ranks); the asymptotic one is where R's ``uniroot`` on
the continuity- and tie-corrected normal statistic lands, found directly as order statistics (R's
asymptotic point estimate is any point between the two middle differences; ours is their
midpoint). One deliberate difference: where the requested confidence cannot be reached (two
samples of two at 99%), R warns and returns the widest finite interval, whose coverage is lower
than requested; here that end of the interval is infinite. Pairwise differences are never
materialised for large samples: order statistics are found by sampling-narrowed selection over
the implicit sorted difference matrix, exactly.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr, ndtri

from harness._checks import one_of
from harness.errors import InvalidConfig
from harness.stats.shifts import Shift, check_confidence

__all__ = [
    "Alternative",
    "MannWhitneyResult",
    "RankMethod",
    "UTest",
    "hodges_lehmann",
    "hodges_lehmann_estimate",
    "kth_pairwise_difference",
    "mann_whitney",
    "u_test",
    "u_test_sorted",
    "wilcox_cdf",
    "wilcox_quantile",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_EXACT_LIMIT = 50
_GATHER_LIMIT = 40_000
_MATERIALISE_LIMIT = 250_000  # differences: np.partition beats selection up to about 400 x 400 here
_SAMPLE = 4096


class Alternative(enum.Enum):
    """The alternative hypothesis about ``x`` relative to ``y``."""

    TWO_SIDED = "two-sided"
    GREATER = "greater"
    LESS = "less"


class RankMethod(enum.Enum):
    """How the rank test gets its p-value and interval.

    ``EXACT``: the exact null distribution of U (samples without ties); ``ASYMPTOTIC``: the normal
    approximation with continuity and tie corrections; ``AUTO``: exact when both samples are under
    50 and nothing is tied, as R does.
    """

    AUTO = "auto"
    EXACT = "exact"
    ASYMPTOTIC = "asymptotic"


@dataclass(frozen=True, slots=True, kw_only=True)
class MannWhitneyResult:
    """Everything the rank test computed: U, p-value, shift estimate and its interval."""

    u: float
    p_value: float
    shift: float
    ci_low: float
    ci_high: float
    confidence: float
    n_x: int
    n_y: int
    exact: bool
    alternative: Alternative

    @property
    def cles(self) -> float:
        """Common-language effect size P(X > Y) + P(X = Y)/2 (``U / (n_x n_y)``)."""
        return self.u / (self.n_x * self.n_y)


@lru_cache(maxsize=256)
def _wilcox_counts(n: int, m: int) -> tuple[int, ...]:
    """Number of arrangements giving each U in 0..n*m (the Gaussian binomial coefficient)."""
    size = n * m + 1
    c = [0] * size
    c[0] = 1
    for i in range(1, n + 1):
        a, b = m + i, i
        for k in range(size - 1, a - 1, -1):  # multiply by (1 - q^a)
            c[k] -= c[k - a]
        for k in range(b, size):  # divide by (1 - q^b)
            c[k] += c[k - b]
    return tuple(c)


def wilcox_cdf(q: float, n: int, m: int) -> float:
    """P(U <= q) under H0 without ties (R's ``pwilcox(q, n, m)``)."""
    counts = _wilcox_counts(n, m)
    k = math.floor(q)
    if k < 0:
        return 0.0
    total = math.comb(n + m, n)
    return min(1.0, sum(counts[: k + 1]) / total)


def wilcox_quantile(p: float, n: int, m: int) -> int:
    """Smallest q with P(U <= q) >= p (R's ``qwilcox(p, n, m)``)."""
    counts = _wilcox_counts(n, m)
    total = math.comb(n + m, n)
    target = p * total
    acc = 0
    for q, c in enumerate(counts):
        acc += c
        if acc >= target * (1 - 1e-12):
            return q
    return n * m


def _as_sample(name: str, values: object) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        raise InvalidConfig(f"{name} is empty; the rank test needs one value per sample.", field=name)
    if not np.all(np.isfinite(arr)):
        raise InvalidConfig(
            f"{name} holds NaN or infinite values; drop or replace them first (CanaryJudge's nan_strategy).",
            field=name,
        )
    return arr


def _row_counts(xs: FloatArray, ys: FloatArray, d: float, side: str) -> IntArray:
    """Per x_i, how many j have x_i - y_j <= d (``side="left"``) or < d (``side="right"``).

    The binary search compares ``y_j`` with ``x_i - d``, which can disagree by an ulp with the
    computed difference ``x_i - y_j``; the boundary is then nudged until it agrees with the
    computed differences, so counts, gathering and selection all see the same numbers.
    """
    m = ys.size
    counts: IntArray = m - np.searchsorted(ys, xs - d, side=side).astype(np.int64)  # type: ignore[call-overload]
    inclusive = side == "left"
    for _ in range(8):
        nxt = np.flatnonzero(counts < m)  # the first difference not counted must be above d
        diff = xs[nxt] - ys[m - 1 - counts[nxt]]
        grow = nxt[diff <= d] if inclusive else nxt[diff < d]
        last = np.flatnonzero(counts > 0)  # the last difference counted must not be above d
        diff = xs[last] - ys[m - counts[last]]
        shrink = last[diff > d] if inclusive else last[diff >= d]
        if grow.size == 0 and shrink.size == 0:
            break
        # Move by whole tie blocks of y: equal y values give equal differences.
        counts[grow] = m - np.searchsorted(ys, ys[m - 1 - counts[grow]], side="left")
        counts[shrink] = m - np.searchsorted(ys, ys[m - counts[shrink]], side="right")
    return counts


def _gather(xs: FloatArray, ys: FloatArray, lo: IntArray, hi: IntArray) -> FloatArray:
    sizes = hi - lo
    rows = np.repeat(np.arange(xs.size), sizes)
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    pos = np.repeat(lo, sizes) + (np.arange(rows.size) - starts)
    out: FloatArray = xs[rows] - ys[ys.size - 1 - pos]
    return out


def _sample_candidates(
    xs: FloatArray, ys: FloatArray, lo: IntArray, hi: IntArray, rng: np.random.Generator
) -> FloatArray:
    sizes = hi - lo
    ends = np.cumsum(sizes)
    u = rng.integers(0, int(ends[-1]), size=_SAMPLE)
    rows = np.searchsorted(ends, u, side="right")
    pos = lo[rows] + (u - (ends[rows] - sizes[rows]))
    return np.sort(xs[rows] - ys[ys.size - 1 - pos])


def _next_above(xs: FloatArray, ys: FloatArray, le: IntArray) -> float:
    """The smallest difference above the ones counted in ``le`` (per row: the first one not counted)."""
    rows = np.flatnonzero(le < ys.size)
    return float(np.min(xs[rows] - ys[ys.size - 1 - le[rows]]))


def _kth(xs: FloatArray, ys: FloatArray, k: int, rng: np.random.Generator) -> tuple[float, IntArray]:
    """The k-th smallest difference and, per row, how many differences are <= it.

    Candidates per row are the positions ``lo..hi``; every probe ``v`` is a candidate, and either is
    the answer or removes itself (and its ties) from the candidates, so the loop always ends.
    """
    n, m = xs.size, ys.size
    lo = np.zeros(n, dtype=np.int64)
    hi = np.full(n, m, dtype=np.int64)
    while True:
        total, below = int((hi - lo).sum()), int(lo.sum())
        if total <= _GATHER_LIMIT:
            cand = np.sort(_gather(xs, ys, lo, hi))
            v = float(cand[k - below - 1])
            return v, np.clip(_row_counts(xs, ys, v, "left"), lo, hi)
        vals = _sample_candidates(xs, ys, lo, hi, rng)
        f = (k - below) / total
        spread = 3.5 * math.sqrt(f * (1 - f) / _SAMPLE) + 2.0 / _SAMPLE
        for q in (f - spread, f + spread):
            v = float(vals[min(max(int(q * _SAMPLE), 0), _SAMPLE - 1)])
            le = np.clip(_row_counts(xs, ys, v, "left"), lo, hi)
            lt = np.clip(_row_counts(xs, ys, v, "right"), lo, hi)
            if int(le.sum()) < k:
                lo = le
            elif int(lt.sum()) >= k:
                hi = lt
            else:
                return v, le


def kth_pairwise_difference(x: FloatArray, y: FloatArray, k: int, k_last: int | None = None) -> list[float]:
    """The k-th .. k_last-th smallest (1-based) of the differences ``x_i - y_j``, exactly.

    ``x`` and ``y`` must be sorted ascending. Memory stays O(n + m + sample), whatever n * m is,
    and heavy ties (rounded latencies) are handled: a tie block is resolved as one value.
    """
    n, m = x.size, y.size
    k_last = k if k_last is None else k_last
    if not 1 <= k <= k_last <= n * m:
        raise InvalidConfig(f"ranks {k!r}..{k_last!r} must lie in 1..{n * m}.", field="k", value=k)
    rng = np.random.default_rng(0x4C)  # affects speed only, never the result
    v, le = _kth(x, y, k, rng)
    out = [v]
    for rank in range(k + 1, k_last + 1):
        if int(le.sum()) < rank:
            v = _next_above(x, y, le)
            le = _row_counts(x, y, v, "left")
        out.append(v)
    return out


def _pairwise_order_stats(xs: FloatArray, ys: FloatArray, ks: list[int]) -> list[float]:
    """Order statistics at sorted 1-based ranks ``ks``; adjacent ranks share one selection."""
    n, m = xs.size, ys.size
    if n * m <= _MATERIALISE_LIMIT:
        positions = [k - 1 for k in ks]
        diffs = np.partition(np.subtract.outer(xs, ys).ravel(), positions)
        return [float(diffs[p]) for p in positions]
    out: list[float] = []
    i = 0
    while i < len(ks):
        j = i
        while j + 1 < len(ks) and ks[j + 1] - ks[i] <= 2:
            j += 1
        block = kth_pairwise_difference(xs, ys, ks[i], ks[j])
        out.extend(block[r - ks[i]] for r in ks[i : j + 1])
        i = j + 1
    return out


def _tie_term(combined_sorted: FloatArray) -> float:
    if combined_sorted.size < 2:
        return 0.0
    change = np.flatnonzero(np.diff(combined_sorted)) + 1
    bounds = np.concatenate(([0], change, [combined_sorted.size]))
    t = np.diff(bounds).astype(np.float64)
    return float(np.sum(t**3 - t))


def _u_statistic(xs: FloatArray, ys: FloatArray) -> tuple[float, float]:
    """U for x (pairs x > y, ties one half) and the tie term, from one merge of the sorted samples."""
    n = xs.size
    combined = np.concatenate((xs, ys))
    order = np.argsort(combined, kind="stable")  # a linear merge of two sorted runs
    merged = combined[order]
    if not bool(np.any(merged[1:] == merged[:-1])):
        positions = np.flatnonzero(order < n)
        return float(positions.sum() - n * (n - 1) / 2), 0.0
    below = np.searchsorted(ys, xs, side="left")
    at_or_below = np.searchsorted(ys, xs, side="right")
    u = float(below.sum() + 0.5 * (at_or_below - below).sum())
    return u, _tie_term(merged)


def _asymptotic_p(u: float, n: int, m: int, ties: float, alt: Alternative) -> float:
    mu = n * m / 2.0
    big = n + m
    var = n * m / 12.0 * ((big + 1) - ties / (big * (big - 1)))
    if var <= 0:
        return 1.0
    s = math.sqrt(var)
    if alt is Alternative.GREATER:
        return float(ndtr(-(u - mu - 0.5) / s))
    if alt is Alternative.LESS:
        return float(ndtr(-((n * m - u) - mu - 0.5) / s))
    big_u = max(u, n * m - u)
    return min(1.0, 2.0 * float(ndtr(-(big_u - mu - 0.5) / s)))


def _exact_p(u: float, n: int, m: int, alt: Alternative) -> float:
    if alt is Alternative.GREATER:
        return 1.0 - wilcox_cdf(u - 1, n, m)
    if alt is Alternative.LESS:
        return wilcox_cdf(u, n, m)
    big_u = max(u, n * m - u)
    return min(1.0, 2.0 * (1.0 - wilcox_cdf(big_u - 1, n, m)))


def _exact_ranks(n: int, m: int, alpha: float, alt: Alternative) -> tuple[int | None, int | None]:
    """1-based order-statistic ranks of the exact interval (None = infinite end), as in R.

    ``qwilcox(alpha / 2) == 0`` means even the widest interval misses the requested confidence:
    R then uses rank 1 and warns; here both ends stay infinite.
    """
    qu = wilcox_quantile(alpha / 2 if alt is Alternative.TWO_SIDED else alpha, n, m)
    low, high = (qu, n * m - qu + 1) if qu > 0 else (None, None)
    if alt is Alternative.GREATER:
        return low, None
    if alt is Alternative.LESS:
        return None, high
    return low, high


def _normal_ranks(
    n: int, m: int, alpha: float, alt: Alternative, within_ties: float
) -> tuple[int | None, int | None]:
    """The ranks at which R's asymptotic interval lands.

    R solves ``(U(d) - nm/2 -+ 1/2) / sigma = -+z`` for the shift ``d`` with ``uniroot``; ``U(d)``
    steps down by one at each pairwise difference, so the roots are the order statistics
    ``D(floor(nm/2 + 1/2 - z sigma))`` and ``D(floor(nm/2 + 1/2 + z sigma) + 1)``.
    ``within_ties`` is the tie term of ties inside x and inside y (they survive the shift).
    """
    total = n * m
    big = n + m
    z = float(ndtri(1 - (alpha / 2 if alt is Alternative.TWO_SIDED else alpha)))
    sigma = math.sqrt(total / 12.0 * ((big + 1) - within_ties / (big * (big - 1))))
    lowest = math.floor(total / 2.0 + 0.5 - z * sigma)
    highest = math.floor(total / 2.0 + 0.5 + z * sigma) + 1
    # A root beyond every pairwise difference: the confidence cannot be reached (R returns D(1) or D(nm)).
    low = lowest if lowest >= 1 else None
    high = highest if highest <= total else None
    if alt is Alternative.GREATER:
        return low, None
    if alt is Alternative.LESS:
        return None, high
    return low, high


@dataclass(frozen=True, slots=True, kw_only=True)
class UTest:
    """The U statistic of ``x`` and both one-sided p-values, from a single ranking."""

    u: float
    p_greater: float
    p_less: float
    n_x: int
    n_y: int
    exact: bool

    @property
    def cles(self) -> float:
        """P(X > Y) + P(X = Y)/2."""
        return self.u / (self.n_x * self.n_y)

    def p_value(self, alternative: Alternative) -> float:
        """The p-value for ``alternative``."""
        if alternative is Alternative.GREATER:
            return self.p_greater
        if alternative is Alternative.LESS:
            return self.p_less
        return min(1.0, 2.0 * min(self.p_greater, self.p_less))


def _u_test_sorted(xs: FloatArray, ys: FloatArray, method: RankMethod) -> UTest:
    n, m = xs.size, ys.size
    u, ties = _u_statistic(xs, ys)
    exact = _exact_applies(method, n, m, tied=ties > 0)
    if exact:
        pg, pl = _exact_p(u, n, m, Alternative.GREATER), _exact_p(u, n, m, Alternative.LESS)
    else:
        pg = _asymptotic_p(u, n, m, ties, Alternative.GREATER)
        pl = _asymptotic_p(u, n, m, ties, Alternative.LESS)
    pg, pl = min(max(pg, 0.0), 1.0), min(max(pl, 0.0), 1.0)
    return UTest(u=u, p_greater=pg, p_less=pl, n_x=n, n_y=m, exact=exact)


def _exact_applies(method: RankMethod, n: int, m: int, *, tied: bool) -> bool:
    if method is RankMethod.AUTO:
        return not tied and n < _EXACT_LIMIT and m < _EXACT_LIMIT
    return method is RankMethod.EXACT


def u_test_sorted(xs: FloatArray, ys: FloatArray, *, method: RankMethod | str = RankMethod.AUTO) -> UTest:
    """:func:`u_test` for finite samples that are already sorted ascending (skips the checks)."""
    return _u_test_sorted(xs, ys, one_of("method", method, RankMethod))


def u_test(candidate: object, baseline: object, *, method: RankMethod | str = RankMethod.AUTO) -> UTest:
    """Mann-Whitney U of ``candidate`` vs ``baseline`` with both one-sided p-values (no shift estimate)."""
    how = one_of("method", method, RankMethod)
    return _u_test_sorted(
        np.sort(_as_sample("candidate", candidate)), np.sort(_as_sample("baseline", baseline)), how
    )


def _interval_ranks(
    xs: FloatArray, ys: FloatArray, confidence: float, alt: Alternative, *, exact: bool
) -> tuple[int | None, int | None]:
    if exact:
        return _exact_ranks(xs.size, ys.size, 1.0 - confidence, alt)
    within = _tie_term(xs) + _tie_term(ys)
    return _normal_ranks(xs.size, ys.size, 1.0 - confidence, alt, within)


def _shift(
    xs: FloatArray, ys: FloatArray, confidence: float, alt: Alternative, *, exact: bool
) -> tuple[float, float, float]:
    """Hodges-Lehmann estimate and interval ends of sorted samples, from one batch of selections."""
    total = xs.size * ys.size
    middle = {(total + 1) // 2, total // 2 + 1}
    low_rank, high_rank = _interval_ranks(xs, ys, confidence, alt, exact=exact)
    wanted = sorted(middle | {r for r in (low_rank, high_rank) if r is not None})
    stats = dict(zip(wanted, _pairwise_order_stats(xs, ys, wanted), strict=True))
    estimate = (stats[(total + 1) // 2] + stats[total // 2 + 1]) / 2.0
    low = -math.inf if low_rank is None else stats[low_rank]
    high = math.inf if high_rank is None else stats[high_rank]
    return estimate, low, high


def hodges_lehmann_estimate(xs: FloatArray, ys: FloatArray) -> float:
    """The Hodges-Lehmann estimate alone (no interval) for finite samples sorted ascending."""
    total = xs.size * ys.size
    stats = _pairwise_order_stats(xs, ys, sorted({(total + 1) // 2, total // 2 + 1}))
    return (stats[0] + stats[-1]) / 2.0


def _tied(xs: FloatArray, ys: FloatArray) -> bool:
    merged = np.sort(np.concatenate((xs, ys)), kind="stable")
    return bool(np.any(merged[1:] == merged[:-1]))


def hodges_lehmann(
    candidate: object,
    baseline: object,
    *,
    confidence: float = 0.95,
    alternative: Alternative | str = Alternative.TWO_SIDED,
    method: RankMethod | str = RankMethod.AUTO,
) -> Shift:
    """The Hodges-Lehmann shift of ``candidate`` over ``baseline`` with its ``confidence`` interval.

    The estimate is the median of all pairwise differences ``candidate_i - baseline_j``; the
    interval is R's ``wilcox.test(candidate, baseline, conf.int=TRUE)``: order statistics of the
    differences at ``qwilcox`` ranks when exact, else where the continuity- and tie-corrected
    normal approximation puts them (Hollander & Wolfe, *Nonparametric Statistical Methods*).
    An end that the requested confidence cannot reach is infinite. Positive means the candidate
    is larger. Checked against R's algorithm transcribed over scipy and against brute force.
    """
    alt = one_of("alternative", alternative, Alternative)
    how = one_of("method", method, RankMethod)
    check_confidence(confidence)
    xs, ys = np.sort(_as_sample("candidate", candidate)), np.sort(_as_sample("baseline", baseline))
    exact = _exact_applies(how, xs.size, ys.size, tied=_tied(xs, ys))
    estimate, low, high = _shift(xs, ys, confidence, alt, exact=exact)
    return Shift(estimate=estimate, low=low, high=high, method="hodges-lehmann")


def mann_whitney(
    candidate: object,
    baseline: object,
    *,
    alternative: Alternative | str = Alternative.TWO_SIDED,
    confidence: float = 0.95,
    method: RankMethod | str = RankMethod.AUTO,
) -> MannWhitneyResult:
    """Mann-Whitney U test of ``candidate`` against ``baseline`` with the Hodges-Lehmann shift and interval.

    ``method`` (:class:`RankMethod`): exact (no ties), asymptotic, or auto (exact when both
    samples are under 50 and there are no ties, as R does). :func:`u_test` is the test alone and
    :func:`hodges_lehmann` the shift and interval alone. References: R's ``wilcox.test`` and
    ``scipy.stats.mannwhitneyu``, which the tests compare against.
    """
    alt = one_of("alternative", alternative, Alternative)
    how = one_of("method", method, RankMethod)
    check_confidence(confidence)
    xs, ys = np.sort(_as_sample("candidate", candidate)), np.sort(_as_sample("baseline", baseline))
    test = _u_test_sorted(xs, ys, how)
    estimate, low, high = _shift(xs, ys, confidence, alt, exact=test.exact)
    return MannWhitneyResult(
        u=test.u,
        p_value=min(max(test.p_value(alt), 0.0), 1.0),
        shift=estimate,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        n_x=xs.size,
        n_y=ys.size,
        exact=test.exact,
        alternative=alt,
    )
