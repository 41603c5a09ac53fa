"""Location shifts with intervals: Hodges-Lehmann (two samples, paired) and the summary rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from harness.errors import InvalidConfig
from harness.stats import (
    RankMethod,
    hodges_lehmann,
    mann_whitney,
    median_interval_from_summary,
    paired_hodges_lehmann,
)


def test_hodges_lehmann_is_the_median_pairwise_difference_of_candidate_over_baseline() -> None:
    """Candidate first: the estimate is the median of candidate_i - baseline_j, positive when larger."""
    baseline, candidate = [1.0, 2.0, 3.0, 4.0], [2.5, 3.5, 5.0]
    expected = float(np.median([c - b for b in baseline for c in candidate]))
    shift = hodges_lehmann(candidate, baseline)
    assert shift.estimate == expected
    assert shift.estimate > 0
    assert hodges_lehmann(baseline, candidate).estimate == -expected


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("size", [12, 80])
def test_hodges_lehmann_interval_is_the_one_mann_whitney_reports(seed: int, size: int) -> None:
    """One method, one home: the shift and interval equal mann_whitney's (exact and asymptotic)."""
    rng = np.random.default_rng(seed)
    candidate, baseline = rng.normal(0.4, 1, size), rng.normal(0, 1, size + 3)
    shift = hodges_lehmann(candidate, baseline, confidence=0.9)
    full = mann_whitney(candidate, baseline, confidence=0.9)
    assert (shift.estimate, shift.low, shift.high) == (full.shift, full.ci_low, full.ci_high)


def test_hodges_lehmann_interval_agrees_with_mann_whitney_p_values() -> None:
    """Shifting the candidate by the interval's ends puts scipy's Mann-Whitney p-value near alpha."""
    rng = np.random.default_rng(5)
    baseline, candidate = rng.normal(0, 1, 60), rng.normal(0.5, 1, 60)
    shift = hodges_lehmann(candidate, baseline, confidence=0.95)
    assert shift.low < 0.5 < shift.high
    inside = sps.mannwhitneyu(candidate - (shift.low + shift.high) / 2, baseline).pvalue
    assert inside > 0.5
    outside = sps.mannwhitneyu(candidate - (shift.low - 0.05), baseline, method="asymptotic").pvalue
    assert outside < 0.05


def test_hodges_lehmann_interval_covers_the_true_shift_at_its_nominal_rate() -> None:
    """Over 400 seeded pairs of samples (exact and normal-approximation paths) the 90% interval
    covers the true shift between 85% and 95% of the time (binomial 99.9% range around 90%)."""
    rng = np.random.default_rng(2024)
    for size in (15, 70):
        covered = 0
        for _ in range(400):
            candidate, baseline = rng.exponential(1, size) + 0.3, rng.exponential(1, size + 5)
            shift = hodges_lehmann(candidate, baseline, confidence=0.9)
            covered += shift.low <= 0.3 <= shift.high
        assert 340 <= covered <= 380, (size, covered)


def test_unreachable_confidence_gives_an_unbounded_interval() -> None:
    """Two samples against two cannot be significant at 99%; R would return [min, max] with a warning."""
    shift = hodges_lehmann([5.0, 5.2], [1.0, 1.1], confidence=0.99)
    assert (shift.low, shift.high) == (-math.inf, math.inf)
    full = mann_whitney([5.0, 5.2], [1.0, 1.1], confidence=0.99)
    assert (full.ci_low, full.ci_high) == (-math.inf, math.inf)
    tied = hodges_lehmann([5.0, 5.0], [1.0, 1.0], confidence=0.99, method=RankMethod.ASYMPTOTIC)
    assert (tied.low, tied.high) == (-math.inf, math.inf)


def test_bad_options_name_the_valid_values() -> None:
    """A bad method, alternative or confidence is refused with the valid choices."""
    with pytest.raises(InvalidConfig, match="valid: auto, exact, asymptotic"):
        hodges_lehmann([1.0], [2.0], method="bootstrap")
    with pytest.raises(InvalidConfig, match="valid: two-sided, greater, less"):
        hodges_lehmann([1.0], [2.0], alternative="bigger")
    with pytest.raises(InvalidConfig, match="confidence"):
        hodges_lehmann([1.0], [2.0], confidence=95)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=8, max_value=40), st.floats(min_value=-5, max_value=5))
def test_paired_interval_covers_a_constant_shift(n: int, delta: float) -> None:
    """Differences that all equal delta give exactly delta."""
    shift = paired_hodges_lehmann([delta] * n, [0.0] * n, confidence=0.99)
    assert shift.estimate == pytest.approx(delta)
    assert shift.low == pytest.approx(delta)
    assert shift.high == pytest.approx(delta)


def test_paired_interval_needs_eight_pairs_at_99_percent() -> None:
    """Seven pairs cannot reach 99% with a signed-rank test; eight can."""
    assert paired_hodges_lehmann([1.0] * 7, [0.0] * 7, confidence=0.99).low == -math.inf
    assert paired_hodges_lehmann([1.0] * 8, [0.0] * 8, confidence=0.99).low == 1.0


def test_paired_interval_agrees_with_wilcoxon() -> None:
    """Zero is outside the interval exactly when scipy's Wilcoxon test rejects."""
    rng = np.random.default_rng(11)
    for _ in range(30):
        d = rng.normal(rng.uniform(-1, 1), 1, 15)
        shift = paired_hodges_lehmann(d, np.zeros(15), confidence=0.95)
        rejects = sps.wilcoxon(d, method="exact").pvalue < 0.05
        assert rejects == (shift.low > 0 or shift.high < 0)


def test_paired_samples_must_pair_up() -> None:
    """Unequal lengths are refused."""
    with pytest.raises(InvalidConfig, match="same non-zero length"):
        paired_hodges_lehmann([1.0, 2.0], [1.0])


def _summary_width(iqr: float, count: int) -> float:
    s = median_interval_from_summary(
        candidate_median=1.1,
        candidate_iqr=iqr,
        candidate_count=count,
        baseline_median=1.0,
        baseline_iqr=iqr,
        baseline_count=count,
        confidence=0.99,
    )
    return s.high - s.low


def test_summary_rule_is_unbounded_for_one_round() -> None:
    """A single round says nothing about spread."""
    shift = median_interval_from_summary(
        candidate_median=2,
        candidate_iqr=0.1,
        candidate_count=5,
        baseline_median=1,
        baseline_iqr=0.1,
        baseline_count=1,
        confidence=0.99,
    )
    assert shift.estimate == 1
    assert shift.low == -math.inf


def test_summary_rule_widens_with_spread() -> None:
    """More spread, wider interval; more rounds, narrower."""
    assert _summary_width(0.2, 20) > _summary_width(0.1, 20) > _summary_width(0.1, 80)
