"""Fieller bounds for ratios of means and of quantiles, and the order-statistic standard error."""

import math

import numpy as np
import pytest
from scipy.stats import binom, norm, ttest_ind

from harness.seeding import Seeds
from harness.stats.ratios import (
    RatioPivot,
    mean_ratio_pivot,
    quantile_ratio_pivot,
    quantile_standard_error,
    type7,
)


@pytest.mark.parametrize("r", [0.8, 1.0, 1.05, 1.3])
def test_mean_ratio_test_is_welch_t_against_the_scaled_baseline(r: float) -> None:
    """At ratio r the test is scipy's Welch t-test of candidate against r * baseline."""
    rng = Seeds(5).numpy("ratios/welch")
    x, y = rng.lognormal(0.1, 0.6, 80), rng.lognormal(0.0, 0.4, 150)
    pivot = mean_ratio_pivot(x, y)
    assert pivot.p_above(r) == pytest.approx(
        ttest_ind(x, r * y, equal_var=False, alternative="greater").pvalue, rel=1e-9
    )
    assert pivot.p_below(r) == pytest.approx(
        ttest_ind(x, r * y, equal_var=False, alternative="less").pvalue, rel=1e-9
    )


def test_fieller_bounds_are_where_welch_stops_rejecting() -> None:
    """The lower/upper bound is the ratio where scipy's Welch test crosses alpha (brute-force scan)."""
    rng = Seeds(6).numpy("ratios/fieller")
    x, y = rng.lognormal(0.2, 0.5, 60), rng.lognormal(0.0, 0.5, 90)
    pivot = mean_ratio_pivot(x, y)
    grid = np.linspace(0.5, 2.5, 200_001)

    def welch(r: float, side: str) -> float:
        return float(ttest_ind(x, r * y, equal_var=False, alternative=side).pvalue)

    greater = np.array([welch(r, "greater") for r in grid[::500]])
    coarse = grid[::500][np.argmax(greater >= 0.05)]
    fine = grid[(grid > coarse - 0.01) & (grid <= coarse)]
    p = np.array([welch(r, "greater") for r in fine])
    brute = fine[np.argmax(p >= 0.05)]
    lower = pivot.lower(0.05, at=brute)
    assert lower == pytest.approx(brute, abs=2e-5)
    assert pivot.p_above(lower * (1 - 1e-6)) < 0.05 < pivot.p_above(lower * (1 + 1e-6))
    upper = pivot.upper(0.05, at=pivot.estimate * 1.2)
    assert pivot.estimate < upper
    assert welch(upper, "less") == pytest.approx(0.05, abs=2e-3)


def test_fieller_edge_cases() -> None:
    """An imprecise baseline leaves the upper bound infinite; an undefined error rejects nothing."""
    vague = RatioPivot(candidate=2.0, baseline=1.0, candidate_se=0.1, baseline_se=0.9)
    assert vague.upper(0.05) == math.inf
    assert vague.lower(0.05) > 0
    undefined = RatioPivot(candidate=9.0, baseline=1.0, candidate_se=math.nan, baseline_se=0.1)
    assert undefined.p_above(1.0) == 1.0
    assert undefined.lower(0.05) == 0.0
    assert undefined.upper(0.05) == math.inf
    exact = RatioPivot(candidate=2.0, baseline=1.0, candidate_se=0.0, baseline_se=0.0)
    assert exact.p_above(1.5) == 0.0
    assert exact.p_above(2.0) == 0.5
    assert exact.p_below(2.5) == 0.0


def test_type7_is_numpys_default_quantile() -> None:
    """type7 interpolates order statistics as numpy.quantile does."""
    rng = Seeds(7).numpy("ratios/type7")
    for n in (2, 3, 17, 1000):
        x = np.sort(rng.exponential(1.0, n))
        for q in (0.0, 0.5, 0.9, 0.95, 0.99, 1.0):
            assert type7(x, q) == pytest.approx(float(np.quantile(x, q)), rel=1e-12)


def test_order_statistic_standard_error_matches_a_bootstrap() -> None:
    """The distribution-free standard error of a p95 is within 15% of a 2,000-resample bootstrap."""
    rng = Seeds(8).numpy("ratios/bootstrap")
    for draw in (lambda n: rng.lognormal(0, 0.5, n), lambda n: rng.pareto(2.5, n) + 1.0):
        x = np.sort(draw(4000))
        se, dof = quantile_standard_error(x, 0.95)
        boot = np.quantile(rng.choice(x, size=(2000, x.size)), 0.95, axis=1)
        assert se == pytest.approx(float(np.std(boot, ddof=1)), rel=0.15)
        assert dof > 20


def test_order_statistic_ranks_carry_their_exact_binomial_miss_rates() -> None:
    """The bracketing order statistics miss the quantile with the binomial tail probabilities used."""
    n, q = 200, 0.95
    x = np.arange(1.0, n + 1)  # x_(i) = i, so the span is the rank distance
    se, dof = quantile_standard_error(x, q)
    centre, half = n * q + 0.5, 1.96 * math.sqrt(n * q * (1 - q))
    lo, hi = math.floor(centre - half), math.ceil(centre + half)
    expected = (hi - lo) / (norm.isf(binom.cdf(lo - 1, n, q)) + norm.isf(binom.sf(hi - 1, n, q)))
    assert se == pytest.approx(expected, rel=1e-12)
    assert dof == (hi - lo) / 2


def test_too_few_values_cannot_bound_a_p95() -> None:
    """Ten values cannot bound a p95 from above: the error is undefined and nothing is rejected."""
    x = np.sort(np.arange(1.0, 11.0))
    assert math.isnan(quantile_standard_error(x, 0.95)[0])
    pivot = quantile_ratio_pivot(x * 3, x, 0.95)
    assert not pivot.defined
    assert pivot.p_above(1.05) == 1.0


@pytest.mark.parametrize(
    "draw",
    [
        pytest.param(lambda rng, n: rng.lognormal(0.0, 0.5, n), id="lognormal"),
        pytest.param(lambda rng, n: rng.pareto(2.5, n) + 1.0, id="pareto"),
        pytest.param(lambda rng, n: np.round(rng.lognormal(math.log(50), 0.5, n)), id="integer-ms"),
    ],
)
def test_p95_ratio_bound_holds_its_level_at_the_boundary(draw: object) -> None:
    """Equal p95s: the 95% lower bound exceeds the true ratio 1 in at most 5% of 1,000 samples."""
    rng = Seeds(9).numpy("ratios/coverage")
    runs, n, alpha = 1000, 2000, 0.05
    over = 0
    for _ in range(runs):
        x, y = np.sort(draw(rng, n)), np.sort(draw(rng, n))  # type: ignore[operator]
        over += quantile_ratio_pivot(x, y, 0.95).lower(alpha) > 1.0
    assert over / runs <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / runs)
