"""Gate statistics: compaction, Hodges-Lehmann intervals, the paired and summary rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from harness.gate import MAX_SAMPLES, compact, hodges_lehmann, median_interval_from_summary
from harness.gate.stats import paired_hodges_lehmann


def test_compact_keeps_small_samples_in_order() -> None:
    """Up to MAX_SAMPLES values are kept as they are, in order (pairs stay paired)."""
    values = [3.0, 1.0, 2.0]
    assert compact(values) == values


def test_compact_reduces_to_quantiles() -> None:
    """A large sample becomes MAX_SAMPLES quantiles with the same median."""
    data = np.random.default_rng(1).lognormal(0, 0.3, 100_000)
    small = compact(data.tolist())
    assert len(small) == MAX_SAMPLES
    assert small == sorted(small)
    assert np.median(small) == pytest.approx(np.median(data), rel=0.01)


def test_hodges_lehmann_matches_pairwise_median() -> None:
    """The estimate is the median of all pairwise differences."""
    x, y = [1.0, 2.0, 3.0, 4.0], [2.5, 3.5, 5.0]
    expected = float(np.median([b - a for a in x for b in y]))
    assert hodges_lehmann(x, y).estimate == expected


def test_hodges_lehmann_interval_agrees_with_mann_whitney() -> None:
    """Shifting y by the interval's ends puts the Mann-Whitney p-value near alpha."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(0, 1, 60), rng.normal(0.5, 1, 60)
    shift = hodges_lehmann(x, y, alpha=0.05)
    assert shift.low < 0.5 < shift.high
    inside = sps.mannwhitneyu(y - (shift.low + shift.high) / 2, x).pvalue
    assert inside > 0.5
    outside = sps.mannwhitneyu(y - (shift.low - 0.05), x, method="asymptotic").pvalue
    assert outside < 0.05


def test_tiny_samples_give_an_unbounded_interval() -> None:
    """Two samples against two cannot be significant at 99%."""
    shift = hodges_lehmann([1.0, 1.1], [5.0, 5.2], alpha=0.01)
    assert shift.low == float("-inf")
    assert shift.high == float("inf")


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=8, max_value=40), st.floats(min_value=-5, max_value=5))
def test_paired_interval_covers_a_constant_shift(n: int, delta: float) -> None:
    """Differences that all equal delta give exactly delta."""
    shift = paired_hodges_lehmann([delta] * n)
    assert shift.estimate == pytest.approx(delta)
    assert shift.low == pytest.approx(delta)
    assert shift.high == pytest.approx(delta)


def test_paired_interval_needs_eight_pairs_at_99_percent() -> None:
    """Seven pairs cannot reach 99% with a signed-rank test; eight can."""
    assert paired_hodges_lehmann([1.0] * 7).low == float("-inf")
    assert paired_hodges_lehmann([1.0] * 8).low == 1.0


def test_paired_interval_agrees_with_wilcoxon() -> None:
    """Zero is outside the interval exactly when scipy's Wilcoxon test rejects."""
    rng = np.random.default_rng(11)
    for _ in range(30):
        d = rng.normal(rng.uniform(-1, 1), 1, 15)
        shift = paired_hodges_lehmann(d, alpha=0.05)
        rejects = sps.wilcoxon(d, method="exact").pvalue < 0.05
        assert rejects == (shift.low > 0 or shift.high < 0)


def test_summary_rule_is_unbounded_for_one_round() -> None:
    """A single round says nothing about spread."""
    shift = median_interval_from_summary(
        base_median=1, base_iqr=0.1, base_rounds=1, cur_median=2, cur_iqr=0.1, cur_rounds=5
    )
    assert shift.low == float("-inf")


def test_summary_rule_widens_with_spread() -> None:
    """More spread, wider interval; more rounds, narrower."""

    def width(iqr: float, rounds: int) -> float:
        s = median_interval_from_summary(
            base_median=1, base_iqr=iqr, base_rounds=rounds, cur_median=1.1, cur_iqr=iqr, cur_rounds=rounds
        )
        return s.high - s.low

    assert width(0.2, 20) > width(0.1, 20) > width(0.1, 80)
