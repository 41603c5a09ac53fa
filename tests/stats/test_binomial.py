"""Wilson and Clopper-Pearson intervals against scipy's ``binomtest(...).proportion_ci``, and the
exceedance test's false-alarm rate computed exactly from the binomial distribution."""

from __future__ import annotations

import pytest
from scipy.stats import binom, binomtest

from harness.errors import InvalidConfig
from harness.stats import clopper_pearson_interval, exceeds_rate, wilson_interval

CASES = [(0, 10), (1, 10), (5, 10), (10, 10), (2, 100), (21, 1000), (3, 1000), (0, 200), (199, 200)]


@pytest.mark.parametrize(("events", "trials"), CASES)
@pytest.mark.parametrize("confidence", [0.90, 0.95, 0.99])
def test_wilson_interval_matches_scipy(events: int, trials: int, confidence: float) -> None:
    """The Wilson score interval equals scipy's ``method='wilson'`` to 1e-9."""
    ours = wilson_interval(events, trials, confidence=confidence)
    theirs = binomtest(events, trials).proportion_ci(confidence_level=confidence, method="wilson")
    assert ours.low == pytest.approx(theirs.low, abs=1e-9)
    assert ours.high == pytest.approx(theirs.high, abs=1e-9)


@pytest.mark.parametrize(("events", "trials"), CASES)
def test_clopper_pearson_interval_matches_scipy_exact(events: int, trials: int) -> None:
    """The exact interval equals scipy's ``method='exact'`` (Clopper-Pearson) to 1e-9."""
    ours = clopper_pearson_interval(events, trials, confidence=0.95)
    theirs = binomtest(events, trials).proportion_ci(confidence_level=0.95, method="exact")
    assert ours.low == pytest.approx(theirs.low, abs=1e-9)
    assert ours.high == pytest.approx(theirs.high, abs=1e-9)


def test_wilson_interval_of_published_values() -> None:
    """Wilson's interval for 5 of 10 is [0.2366, 0.7634] and for 0 of 10 is [0, 0.2775] (R binom)."""
    half = wilson_interval(5, 10)
    assert (round(half.low, 4), round(half.high, 4)) == (0.2366, 0.7634)
    none = wilson_interval(0, 10)
    assert (none.low, round(none.high, 4)) == (0.0, 0.2775)


def test_interval_without_trials_is_the_whole_range() -> None:
    """No runs say nothing: [0, 1] with a rate of 0."""
    empty = wilson_interval(0, 0)
    assert (empty.low, empty.high, empty.rate) == (0.0, 1.0, 0.0)


@pytest.mark.parametrize(("events", "trials"), [(-1, 10), (11, 10), (1, -1)])
def test_impossible_counts_are_refused(events: int, trials: int) -> None:
    """Negative counts and more events than trials raise InvalidConfig naming the field."""
    with pytest.raises(InvalidConfig):
        wilson_interval(events, trials)


@pytest.mark.parametrize(("trials", "bound"), [(20, 0.05), (200, 0.05), (1000, 0.02), (57, 0.3)])
def test_exceedance_test_alarms_at_most_level_when_rate_is_at_the_bound(trials: int, bound: float) -> None:
    """Summed over every possible count, the chance of an alarm at the bound is at most the level."""
    alarm = sum(binom.pmf(k, trials, bound) for k in range(trials + 1) if exceeds_rate(k, trials, bound))
    assert alarm <= 0.05
    assert alarm > 0.005  # the exact test is not needlessly timid at these sizes


def test_exceedance_test_matches_the_exact_binomial_test() -> None:
    """It rejects exactly when scipy's one-sided binomial test p-value is below the level."""
    for k in range(41):
        p = binomtest(k, 200, 0.1, alternative="greater").pvalue
        assert exceeds_rate(k, 200, 0.1) == (p < 0.05), k


def test_one_failure_is_not_significant_above_a_positive_bound() -> None:
    """1 failure in 10 runs is not evidence against a 5% bound, but is against a bound of 0."""
    assert not exceeds_rate(1, 10, 0.05)
    assert exceeds_rate(1, 10, 0.0)
    assert not exceeds_rate(0, 10, 0.0)
