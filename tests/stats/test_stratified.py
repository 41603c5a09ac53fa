"""The stratified 2x2 e-process behind champion-challenger decisions."""

import math

import numpy as np
import pytest
from scipy.stats import hypergeom

from harness.seeding import Seeds
from harness.stats.stratified import (
    LOG_ODDS_GRID,
    StratifiedOddsTest,
    log_normaliser_bound,
    median_split,
    noncentral_log_normaliser,
)

GRID = np.asarray(LOG_ODDS_GRID)


@pytest.mark.parametrize(("n_x", "n_y", "m"), [(10, 30, 7), (200, 50, 120), (1, 1, 1), (300, 2700, 40)])
def test_normaliser_is_the_central_hypergeometric_mgf(n_x: int, n_y: int, m: int) -> None:
    """``log E_0[psi^K]`` equals the sum over scipy's hypergeometric pmf."""
    k = np.arange(max(0, m - n_y), min(n_x, m) + 1)
    pmf = hypergeom(n_x + n_y, m, n_x).pmf(k)
    expected = np.log([(pmf * math.exp(g) ** k).sum() for g in GRID])
    np.testing.assert_allclose(noncentral_log_normaliser(n_x, n_y, m, GRID), expected, rtol=1e-9)


def test_binomial_bound_is_never_below_the_exact_normaliser() -> None:
    """Sampling with replacement bounds ``E[psi^K]`` from above (Hoeffding 1963, theorem 4)."""
    rng = Seeds(301).numpy("stratified/bound")
    for _ in range(200):
        n_x, n_y = (int(v) for v in rng.integers(1, 3000, 2))
        m = int(rng.integers(1, n_x + n_y))
        exact = noncentral_log_normaliser(n_x, n_y, m, GRID)
        assert (log_normaliser_bound(n_x, n_y, m, GRID) >= exact - 1e-9).all()


def test_equal_arms_under_adaptive_allocation_and_a_trend_reach_one_over_alpha_at_most_alpha() -> None:
    """Arms sized by the data so far and a rate rising 1% -> 10%: rejections at most alpha."""
    rng = Seeds(302).numpy("stratified/a-a")
    alpha, runs, rejected = 0.05, 600, 0
    for _ in range(runs):
        test = StratifiedOddsTest()
        share = 0.5
        for window in range(20):
            rate = 0.01 + 0.09 * window / 19
            n_x = int(rng.binomial(400, share))
            n_y = 400 - n_x
            k_x, k_y = int(rng.binomial(n_x, rate)), int(rng.binomial(n_y, rate))
            test.add(k_x, n_x, k_y, n_y)
            # greedy: more traffic to whichever arm looks better so far
            x_better = test.events_x * max(test.total_y, 1) < test.events_y * max(test.total_x, 1)
            share = 0.8 if x_better else 0.2
        rejected += test.p_value <= alpha
    assert rejected / runs <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / runs)


def test_a_real_difference_in_odds_is_found() -> None:
    """Arm x with 3% events against 2%, 5,000 each over 10 windows: the e-value passes 20."""
    rng = Seeds(303).numpy("stratified/power")
    test = StratifiedOddsTest()
    for _ in range(10):
        test.add(int(rng.binomial(500, 0.03)), 500, int(rng.binomial(500, 0.02)), 500)
    assert test.p_value < 0.05
    assert test.odds_ratio > 1


def test_median_split_counts_the_good_side_of_the_pooled_median() -> None:
    """Values strictly below the pooled median count; ties with it do not."""
    x = np.array([1.0, 2.0, 3.0, 10.0])
    y = np.array([3.0, 4.0, 5.0])
    assert median_split(x, y, below=True) == (2, 4, 0, 3)
    assert median_split(x, y, below=False) == (1, 4, 2, 3)
