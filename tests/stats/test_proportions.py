"""Error rates: equality tests, the rate ratio against an allowance, the SLO test, paired differences."""

import math

import numpy as np
import pytest
from scipy.stats import binom, binomtest, fisher_exact, norm

from harness.errors import InvalidConfig
from harness.stats import proportion_test
from harness.stats.proportions import paired_difference_test, rate_exceeds, rate_ratio


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize(("kx", "nx", "ky", "ny"), [(3, 10_000, 0, 10_000), (5, 400, 1, 500), (0, 50, 2, 60)])
def test_exact_path_matches_scipy_fisher(kx: int, nx: int, ky: int, ny: int, alternative: str) -> None:
    """Sparse errors take the exact path, which equals scipy.stats.fisher_exact."""
    res = proportion_test(kx, nx, ky, ny, alternative=alternative)
    ref = fisher_exact([[kx, nx - kx], [ky, ny - ky]], alternative=alternative)
    assert res.exact
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_z_path_matches_the_pooled_formula() -> None:
    """With plenty of errors the pooled two-proportion z-test is used."""
    res = proportion_test(200, 10_000, 100, 10_000)
    pooled = 300 / 20_000
    z = (0.02 - 0.01) / math.sqrt(pooled * (1 - pooled) * 2 / 10_000)
    assert not res.exact
    assert res.p_value == pytest.approx(norm.sf(z), rel=1e-9)
    assert res.ratio == pytest.approx(2.0)
    assert res.ci_low < 0.01 < res.ci_high
    assert res.ci_low > 0


def test_ratio_edge_cases_and_bad_counts() -> None:
    """Zero baseline errors give an infinite ratio; impossible counts are rejected."""
    assert proportion_test(1, 10, 0, 10).ratio == math.inf
    assert proportion_test(0, 10, 0, 10).ratio == 1.0
    with pytest.raises(InvalidConfig, match="errors <= total"):
        proportion_test(11, 10, 0, 10)
    with pytest.raises(InvalidConfig, match="at least one request"):
        proportion_test(0, 0, 0, 10)
    with pytest.raises(InvalidConfig, match="method"):
        proportion_test(1, 10, 1, 10, method="chi2")


RATE_CASES = [
    (30, 1000, 20, 1000),
    (3, 500, 20, 28_500),
    (0, 500, 10, 2700),
    (10, 500, 0, 2700),
    (120, 6000, 240, 24_000),
]


@pytest.mark.parametrize(("kx", "nx", "ky", "ny"), RATE_CASES)
@pytest.mark.parametrize("r", [1.0, 1.25, 2.0])
def test_rate_ratio_test_matches_statsmodels_exact_conditional(
    kx: int, nx: int, ky: int, ny: int, r: float
) -> None:
    """p-values equal statsmodels' test_poisson_2indep(method='exact-cond') on both sides."""
    from statsmodels.stats.rates import test_poisson_2indep

    test = rate_ratio(kx, nx, ky, ny)
    with np.errstate(divide="ignore"):
        above = test_poisson_2indep(kx, nx, ky, ny, value=r, method="exact-cond", alternative="larger")
        below = test_poisson_2indep(kx, nx, ky, ny, value=r, method="exact-cond", alternative="smaller")
    assert test.p_above(r) == pytest.approx(above.pvalue, rel=1e-9, abs=1e-15)
    assert test.p_below(r) == pytest.approx(below.pvalue, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("kx", "nx", "ky", "ny"), RATE_CASES)
def test_rate_ratio_bounds_are_clopper_pearson_on_the_candidate_share(
    kx: int, nx: int, ky: int, ny: int
) -> None:
    """Bounds map scipy's exact binomial interval of the candidate's share of events to the ratio."""
    test = rate_ratio(kx, nx, ky, ny)
    m = kx + ky
    ci = binomtest(kx, m).proportion_ci(confidence_level=0.95, method="exact")

    def ratio(share: float) -> float:
        return math.inf if share >= 1 else share * ny / (nx * (1 - share))

    assert test.lower(0.025) == pytest.approx(ratio(ci.low), rel=1e-9)
    assert test.upper(0.025) == pytest.approx(ratio(ci.high), rel=1e-9)
    if 0 < test.lower(0.025) < math.inf:
        assert test.p_above(test.lower(0.025)) == pytest.approx(0.025, rel=1e-6)


def _exact_size(n1: int, n2: int, p2: float, allowed: float, alpha: float) -> float:
    """P(the test rejects ratio <= allowed) when the true ratio is ``allowed``, by summing binomials."""
    p1 = p2 * allowed
    k1 = np.arange(0, int(n1 * p1 + 12 * math.sqrt(n1 * p1 + 1)) + 5)
    k2 = np.arange(0, int(n2 * p2 + 12 * math.sqrt(n2 * p2 + 1)) + 5)
    w1, w2 = binom.pmf(k1, n1, p1), binom.pmf(k2, n2, p2)
    keep = w2 > 1e-13
    k2, w2 = k2[keep], w2[keep]
    total = 0.0
    for a, wa in zip(k1, w1, strict=True):
        if wa > 1e-13:
            p = np.array([rate_ratio(int(a), n1, int(b), n2).p_above(allowed) for b in k2])
            total += wa * float(w2[p < alpha].sum())
    return total


@pytest.mark.parametrize(
    ("n1", "n2", "p2"),
    [(1500, 28_500, 0.001), (30, 570, 0.01), (300, 2700, 0.01), (600, 2400, 0.05), (200, 800, 0.2)],
)
def test_rate_ratio_test_holds_its_level_for_binomial_counts(n1: int, n2: int, p2: float) -> None:
    """Exact enumeration: at the allowed ratio the test rejects at most alpha (rare, unequal, common)."""
    for alpha in (0.0125, 0.05):
        assert _exact_size(n1, n2, p2, 1.25, alpha) <= alpha


def test_rate_exceeds_is_scipys_exact_binomial_test() -> None:
    """The SLO test is scipy's one-sided binomial test of the allowed rate."""
    for k, n, p in [(15, 1000, 0.01), (0, 1000, 0.01), (3, 50, 0.001), (400, 400, 0.99)]:
        expected = binomtest(k, n, p, alternative="greater").pvalue if k else 1.0
        assert rate_exceeds(k, n, p) == pytest.approx(expected, rel=1e-9)


def test_paired_difference_with_no_margin_is_mcnemar() -> None:
    """Margin 0: Tango's statistic is McNemar's (b - c) / sqrt(b + c) (statsmodels, no correction)."""
    from statsmodels.stats.contingency_tables import mcnemar

    b, c, n = 30, 12, 500
    chi2 = mcnemar([[n - b - c - 5, b], [c, 5]], exact=False, correction=False).statistic
    assert paired_difference_test(b, c, n) == pytest.approx(norm.sf(math.sqrt(chi2)), rel=1e-9)


@pytest.mark.parametrize(
    ("b", "c", "n", "margin"), [(40, 10, 1000, 0.01), (25, 5, 300, 0.05), (9, 9, 2000, 0.002)]
)
def test_paired_difference_matches_a_numerically_maximised_null_likelihood(
    b: int, c: int, n: int, margin: float
) -> None:
    """Tango's closed-form null estimate equals a numeric maximum of the multinomial likelihood."""
    from scipy.optimize import minimize_scalar

    def nll(q: float) -> float:
        return -(b * math.log(q + margin) + c * math.log(q) + (n - b - c) * math.log(1 - 2 * q - margin))

    q = minimize_scalar(
        nll, bounds=(1e-12, (1 - margin) / 2 - 1e-12), method="bounded", options={"xatol": 1e-14}
    ).x
    z = (b - c - n * margin) / math.sqrt(n * (2 * q + margin * (1 - margin)))
    assert paired_difference_test(b, c, n, margin=margin) == pytest.approx(norm.sf(z), rel=1e-6)


def test_paired_difference_edge_cases() -> None:
    """No discordant pairs is no evidence; impossible counts are refused."""
    assert paired_difference_test(0, 0, 100) == 1.0
    assert paired_difference_test(0, 0, 100, margin=0.01) > 0.5
    with pytest.raises(InvalidConfig, match="only_x"):
        paired_difference_test(60, 50, 100)
