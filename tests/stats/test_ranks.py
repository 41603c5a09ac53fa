"""Mann-Whitney U, Hodges-Lehmann shift and its interval against scipy, R and brute force."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu

from harness.errors import InvalidConfig
from harness.stats import Alternative, hodges_lehmann, mann_whitney, u_test
from harness.stats.ranks import kth_pairwise_difference, wilcox_cdf, wilcox_quantile

# The example from R's ?wilcox.test (Hollander & Wolfe, permeability constants).
R_X = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
R_Y = [1.15, 0.88, 0.90, 0.74, 1.21]


def _brute_u_distribution(n: int, m: int) -> np.ndarray:
    counts = np.zeros(n * m + 1)
    for xs in itertools.combinations(range(n + m), n):
        x_set = set(xs)
        u = sum(1 for i in xs for j in range(n + m) if j not in x_set and i > j)
        counts[u] += 1
    return counts / counts.sum()


@pytest.mark.parametrize(("n", "m"), [(1, 1), (2, 3), (4, 4), (5, 3)])
def test_exact_null_distribution_matches_enumeration(n: int, m: int) -> None:
    """pwilcox is the cumulative count of all arrangements."""
    probs = np.cumsum(_brute_u_distribution(n, m))
    for q in range(n * m + 1):
        assert wilcox_cdf(q, n, m) == pytest.approx(probs[q])
    assert wilcox_cdf(-1, n, m) == 0.0


def test_wilcox_quantile_matches_r_values() -> None:
    """qwilcox(0.025, 10, 5) is 9 and qwilcox(0.05, 10, 5) is 12 in R."""
    assert wilcox_quantile(0.025, 10, 5) == 9
    assert wilcox_quantile(0.05, 10, 5) == 12


def test_r_example_greater() -> None:
    """R: wilcox.test(x, y, alternative='g') gives W = 35, p-value = 0.1272."""
    res = mann_whitney(R_X, R_Y, alternative="greater")
    assert res.u == 35
    assert res.p_value == pytest.approx(0.1272, abs=5e-5)
    assert res.exact


def test_r_example_interval_is_order_statistics_of_differences() -> None:
    """The exact interval is [D(qu), D(nm - qu + 1)] with qu = qwilcox(alpha/2), as R computes it."""
    res = mann_whitney(R_X, R_Y, confidence=0.95)
    diffs = np.sort(np.subtract.outer(R_X, R_Y).ravel())
    qu = wilcox_quantile(0.025, 10, 5)
    assert res.ci_low == pytest.approx(diffs[qu - 1])
    assert res.ci_high == pytest.approx(diffs[50 - qu])
    assert res.shift == pytest.approx(float(np.median(diffs)))
    assert res.shift == pytest.approx(0.305)
    assert (res.ci_low, res.ci_high) == pytest.approx((-0.15, 0.76))


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_p_values_match_scipy(alternative: str, seed: int) -> None:
    """Exact and asymptotic p-values equal scipy's, with and without ties."""
    rng = np.random.default_rng(seed)
    x, y = rng.lognormal(0.2, 1, 12), rng.lognormal(0, 1, 9)
    for method in ("exact", "asymptotic"):
        ours = mann_whitney(x, y, alternative=alternative, method=method)
        ref = mannwhitneyu(x, y, alternative=alternative, method=method)
        assert ours.u == ref.statistic
        assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    tx, ty = np.round(rng.normal(size=300), 1), np.round(rng.normal(0.1, 1, size=200), 1)
    ref = mannwhitneyu(tx, ty, alternative=alternative, method="asymptotic")
    assert u_test(tx, ty).p_value(Alternative(alternative)) == pytest.approx(ref.pvalue, rel=1e-9)


def test_auto_uses_exact_only_without_ties_and_small_samples() -> None:
    """Like R: exact below 50 per sample without ties, normal approximation otherwise."""
    assert mann_whitney([1, 2, 3], [4, 5, 6]).exact
    assert not mann_whitney([1, 2, 2], [2, 5, 6]).exact
    assert not mann_whitney(np.arange(60.0), np.arange(60.0) + 0.5).exact


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=40),
    st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=40),
    st.data(),
)
def test_kth_pairwise_difference_matches_sorting(
    xs: list[float], ys: list[float], data: st.DataObject
) -> None:
    """Selection over the implicit difference matrix equals sorting every difference."""
    x, y = np.sort(np.array(xs)), np.sort(np.array(ys))
    diffs = np.sort(np.subtract.outer(x, y).ravel())
    k = data.draw(st.integers(1, diffs.size))
    assert kth_pairwise_difference(x, y, k) == [diffs[k - 1]]


@pytest.mark.parametrize("seed", [3, 4])
def test_large_sample_selection_is_exact(seed: int) -> None:
    """Above the gather limit the sampled selection still returns the exact order statistics."""
    rng = np.random.default_rng(seed)
    x, y = np.sort(rng.lognormal(size=700)), np.sort(np.round(rng.lognormal(size=900), 2))
    diffs = np.sort(np.subtract.outer(x, y).ravel())
    for k in (1, 17, diffs.size // 3, diffs.size // 2, diffs.size):
        assert kth_pairwise_difference(x, y, k, k + (1 if k < diffs.size else 0)) == list(
            diffs[k - 1 : k + (1 if k < diffs.size else 0)]
        )
    assert hodges_lehmann(x, y).estimate == pytest.approx(float(np.median(diffs)))


def test_asymptotic_interval_uses_normal_ranks_and_covers_the_shift() -> None:
    """For large samples the interval brackets the estimate and the true shift."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(0.3, 1, 2000), rng.normal(0.0, 1, 3000)
    res = mann_whitney(x, y)
    assert not res.exact
    assert res.ci_low < res.shift < res.ci_high
    assert res.ci_low < 0.3 < res.ci_high
    one = mann_whitney(x, y, alternative="greater")
    assert one.ci_high == math.inf
    assert res.ci_low < one.ci_low < one.shift


def test_rank_test_rejects_bad_input() -> None:
    """Empty samples, NaN and bad options fail with the field named."""
    with pytest.raises(InvalidConfig, match="empty"):
        mann_whitney([], [1.0])
    with pytest.raises(InvalidConfig, match="NaN"):
        mann_whitney([math.nan], [1.0])
    with pytest.raises(InvalidConfig, match="confidence"):
        mann_whitney([1.0], [2.0], confidence=1.5)
    with pytest.raises(InvalidConfig, match="method"):
        u_test([1.0], [2.0], method="permutation")


def _r_wdiff(x: np.ndarray, y: np.ndarray, d: float, zq: float, alternative: str) -> float:
    """R's wilcox.test wdiff(d, zq), transcribed (correct=TRUE)."""
    from scipy.stats import rankdata

    n, m = x.size, y.size
    dr = rankdata(np.concatenate([x - d, y]))
    _, counts = np.unique(np.concatenate([x - d, y]), return_counts=True)
    dz = dr[:n].sum() - n * (n + 1) / 2 - n * m / 2
    corr = {"two-sided": np.sign(dz) * 0.5, "greater": 0.5, "less": -0.5}[alternative]
    sigma = math.sqrt(n * m / 12 * ((n + m + 1) - (counts**3 - counts).sum() / ((n + m) * (n + m - 1))))
    return (dz - corr) / sigma - zq


def _r_root(x: np.ndarray, y: np.ndarray, zq: float, alternative: str) -> float:
    from scipy.optimize import brentq

    lo, hi = x.min() - y.max(), x.max() - y.min()
    if _r_wdiff(x, y, lo, zq, alternative) <= 0:
        return float(lo)
    if _r_wdiff(x, y, hi, zq, alternative) >= 0:
        return float(hi)
    return float(brentq(lambda d: _r_wdiff(x, y, d, zq, alternative), lo, hi, xtol=1e-9))


@pytest.mark.parametrize(("seed", "ties"), [(0, False), (1, True), (2, False)])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_asymptotic_interval_matches_r_uniroot(seed: int, ties: bool, alternative: str) -> None:
    """The large-sample interval equals the roots R's wilcox.test finds with uniroot."""
    from scipy.stats import norm

    rng = np.random.default_rng(seed)
    x, y = rng.normal(0.2, 1, 60), rng.normal(0, 1, 70)
    if ties:
        x, y = np.round(x, 1), np.round(y, 1)
    res = mann_whitney(x, y, alternative=alternative, method="asymptotic", confidence=0.9)
    z = norm.isf(0.05 if alternative == "two-sided" else 0.1)
    if alternative in ("two-sided", "greater"):
        assert res.ci_low == pytest.approx(_r_root(x, y, z, alternative), abs=1e-6)
    if alternative in ("two-sided", "less"):
        assert res.ci_high == pytest.approx(_r_root(x, y, -z, alternative), abs=1e-6)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(-5, 5).map(lambda v: v / 10), min_size=1, max_size=60),
    st.lists(st.floats(-1, 1, allow_nan=False).map(lambda v: round(v, 1)), min_size=1, max_size=60),
    st.data(),
)
def test_selection_path_is_exact_with_heavy_ties(
    xs: list[float], ys: list[float], data: st.DataObject
) -> None:
    """With the gather limit forced low, sampled selection still matches sorting, ties and all."""
    from unittest import mock

    from harness.stats import ranks

    x, y = np.sort(np.array(xs)), np.sort(np.array(ys))
    diffs = np.sort(np.subtract.outer(x, y).ravel())
    k = data.draw(st.integers(1, diffs.size))
    last = min(k + data.draw(st.integers(0, 2)), diffs.size)
    with mock.patch.object(ranks, "_GATHER_LIMIT", 3):
        assert kth_pairwise_difference(x, y, k, last) == list(diffs[k - 1 : last])


def test_rounded_latencies_do_not_stall_the_selection() -> None:
    """Millisecond-rounded latencies (huge tie blocks, 9,000,000 differences) resolve exactly."""
    rng = np.random.default_rng(9)
    x = np.sort(np.round(rng.lognormal(-3, 0.5, 3000), 3))
    y = np.sort(np.round(rng.lognormal(-3, 0.5, 3000), 3))
    diffs = np.sort(np.subtract.outer(x, y).ravel())
    for k in (1, 4_500_000, 8_999_998):
        assert kth_pairwise_difference(x, y, k, k + 2) == list(diffs[k - 1 : k + 2])
    assert mann_whitney(x, y).shift == pytest.approx(float(np.median(diffs)))
