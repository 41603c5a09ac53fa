"""Confidence sequences and the always-valid one-sided test of a tolerance."""

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import betabinom, binom

from harness.errors import InvalidConfig
from harness.seeding import Seeds
from harness.stats import Direction, EffectSize, MetricConfig, SequentialConfig, SequentialTest
from harness.stats.confseq import BetaMixture, quantile_bounds, quantile_ranks, rate_bounds

ERRORS = MetricConfig(name="error_rate", allowed_increase=1.0)
P95 = MetricConfig(name="latency", effect=EffectSize.P95_RATIO, allowed_increase=1.0)


def _slack(alpha: float, runs: int) -> float:
    return alpha + 3 * math.sqrt(alpha * (1 - alpha) / runs)


def test_mixture_marginal_is_the_beta_binomial_integral() -> None:
    """log_marginal equals numerical integration of the Beta mixture and scipy's betabinom pmf."""
    prior = BetaMixture.for_rates()
    for s, t in [(0, 300), (10, 2700), (3, 40)]:
        comps = [(c * r, (1 - c) * r) for c in prior.centres for r in prior.concentrations]
        pmf = np.mean([betabinom.pmf(s, t, a, b) for a, b in comps])
        assert prior.log_marginal(s, t) == pytest.approx(math.log(pmf) - math.log(math.comb(t, s)), rel=1e-9)
    a, b = 2.0, 30.0
    single = BetaMixture((a / (a + b),), (a + b,))
    density = lambda p: p**5 * (1 - p) ** 95 * p ** (a - 1) * (1 - p) ** (b - 1)  # noqa: E731
    integral = quad(density, 0, 1, epsabs=0, epsrel=1e-12)[0]
    beta = math.exp(math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    assert single.log_marginal(5, 100) == pytest.approx(math.log(integral / beta), rel=1e-9)


@pytest.mark.parametrize(("s", "t"), [(0, 300), (10, 2700), (100, 10_000), (1, 10), (3, 1_000_000)])
def test_rate_bounds_are_where_the_likelihood_is_alpha_times_the_marginal(s: int, t: int) -> None:
    """At each finite end, binom.pmf / mixture betabinom.pmf = alpha (scipy as the oracle)."""
    prior, alpha = BetaMixture.for_rates(), 0.005
    comps = [(c * r, (1 - c) * r) for c in prior.centres for r in prior.concentrations]
    marginal = float(np.mean([betabinom.pmf(s, t, a, b) for a, b in comps]))
    for end in rate_bounds(s, t, alpha, prior):
        if 0 < end < 1:
            assert binom.pmf(s, t, end) / marginal == pytest.approx(alpha, rel=1e-5)
    low, high = rate_bounds(s, t, alpha, prior)
    assert low <= s / t <= high


def test_rate_sequence_covers_at_every_peek() -> None:
    """Bernoulli(1%) in batches of 300, read after each of 100 batches: missed in at most alpha of runs."""
    rng = Seeds(201).numpy("confseq/rate")
    prior, runs, alpha = BetaMixture.for_rates(), 300, 0.05
    missed = 0
    for _ in range(runs):
        events = np.cumsum(rng.binomial(300, 0.01, 100))
        for k, s in enumerate(events, start=1):
            low, high = rate_bounds(int(s), 300 * k, alpha, prior)
            if not low <= 0.01 <= high:
                missed += 1
                break
    assert missed / runs <= _slack(alpha, runs)


@pytest.mark.parametrize("ties", [False, True])
def test_quantile_sequence_covers_at_every_peek(ties: bool) -> None:
    """The p95 sequence of log-normal (or integer-rounded) values covers the true p95 at all 40 peeks."""
    rng = Seeds(202).numpy(f"confseq/quantile/{ties}")
    prior, runs, alpha = BetaMixture.for_quantile(0.95), 300, 0.05
    truth = math.exp(1.6448536269514722 * 0.5) * 20
    truth = float(np.round(truth)) if ties else truth
    missed = 0
    for _ in range(runs):
        draws = rng.lognormal(math.log(20), 0.5, 40 * 250)
        draws = np.round(draws) if ties else draws
        for k in range(1, 41):
            low, high = quantile_bounds(draws[: 250 * k], 0.95, alpha, prior)
            if not low <= truth <= high:
                missed += 1
                break
    assert missed / runs <= _slack(alpha, runs)


def test_quantile_ranks_need_enough_values_for_each_side() -> None:
    """Thirty values bound a p95 from below only; 1,000 bound it from both sides."""
    prior = BetaMixture.for_quantile(0.95)
    low, high = quantile_ranks(30, 0.95, 0.005, prior)
    assert low is not None
    assert high is None
    low, high = quantile_ranks(1000, 0.95, 0.005, prior)
    assert low is not None
    assert high is not None
    assert low < 950 < high


def test_an_arm_without_errors_is_not_certain() -> None:
    """0/300 vs 10/2,700 errors: no rejection (the plug-in mSPRT gave p = 0.042; Fisher gives 0.61)."""
    test = SequentialTest(ERRORS, SequentialConfig(alpha=0.05), counts=True)
    assert not test.update_counts(0, 300, 10, 2700)
    test = SequentialTest(
        MetricConfig(name="e", direction=Direction.DECREASE, allowed_decrease=1.0), counts=True
    )
    assert not test.update_counts(0, 300, 10, 2700)


@pytest.mark.slow
def test_bernoulli_a_a_with_100_peeks_and_unequal_arms_rejects_at_most_alpha() -> None:
    """p = 1%, 100 vs 900 per peek, 100 peeks, either direction: at most alpha of 300 runs reject."""
    rng = Seeds(203).numpy("sequential/bernoulli")
    metric = MetricConfig(name="e", direction=Direction.EITHER, allowed_increase=1.0, allowed_decrease=1.0)
    runs, rejected = 300, 0
    for _ in range(runs):
        test = SequentialTest(metric, SequentialConfig(alpha=0.05), counts=True)
        for x, y in zip(rng.binomial(100, 0.01, 100), rng.binomial(900, 0.01, 100), strict=True):
            if test.update_counts(int(x), 100, int(y), 900):
                break
        rejected += test.rejected
    assert rejected / runs <= _slack(0.05, runs)


@pytest.mark.slow
def test_heavy_tailed_a_a_with_100_peeks_rejects_at_most_alpha() -> None:
    """Log-normal sigma 1.5, 100 vs 900 per peek, 100 peeks, p95 at no allowance: at most alpha of 200."""
    rng = Seeds(204).numpy("sequential/lognormal")
    runs, rejected = 200, 0
    for _ in range(runs):
        test = SequentialTest(P95, SequentialConfig(alpha=0.05))
        for _ in range(100):
            if test.update(rng.lognormal(0, 1.5, 100), rng.lognormal(0, 1.5, 900)):
                break
        rejected += test.rejected
    assert rejected / runs <= _slack(0.05, runs)


def test_direction_is_recorded_at_the_rejection() -> None:
    """A rejection for a faster candidate stays a DECREASE when later data make it look slower."""
    rng = Seeds(205).numpy("sequential/direction")
    metric = MetricConfig(name="latency", effect=EffectSize.P95_RATIO, direction=Direction.EITHER)
    test = SequentialTest(metric, SequentialConfig(alpha=0.01))
    for _ in range(5):
        test.update(rng.lognormal(0, 0.5, 3000) * 0.6, rng.lognormal(0, 0.5, 3000))
    assert test.direction is Direction.DECREASE
    for _ in range(40):
        test.update(rng.lognormal(0, 0.5, 3000) * 1.6, rng.lognormal(0, 0.5, 3000))
    assert test.estimate > 1.0
    assert test.direction is Direction.DECREASE
    assert "lower than allowed" in test.sentence()


def test_a_real_regression_is_caught_and_bounded() -> None:
    """A p95 30% worse is rejected within ten windows; the always-valid bounds hold the true ratio."""
    rng = Seeds(206).numpy("sequential/power")
    metric = MetricConfig(name="latency", effect=EffectSize.P95_RATIO, allowed_increase=1.05)
    test = SequentialTest(metric, SequentialConfig(alpha=0.01))
    for _ in range(10):
        test.update(rng.lognormal(0, 0.5, 2000) * 1.3, rng.lognormal(0, 0.5, 8000))
    assert test.direction is Direction.INCREASE
    assert test.low < 1.3 < test.high
    assert test.samples == (20_000, 80_000)


def test_means_cannot_be_watched_sequentially() -> None:
    """A mean-ratio metric is refused with the reason and the fix."""
    with pytest.raises(InvalidConfig, match="judge p95_ratio instead"):
        SequentialTest(MetricConfig(name="latency"))
    with pytest.raises(InvalidConfig, match="alpha"):
        SequentialConfig(alpha=0.0)
    with pytest.raises(InvalidConfig, match="update_counts"):
        SequentialTest(ERRORS, counts=True).update([1.0], [1.0])
