"""t intervals with the run as the unit, checked against scipy and by their coverage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from harness.errors import InvalidConfig
from harness.stats.runs import known_noise_shift, paired_t_shift, pooled_t_shift, welch_t_shift


def _spread(min_size: int) -> st.SearchStrategy[list[float]]:
    """Run values; a side of several runs is never constant (scipy warns on those)."""
    runs = st.lists(st.floats(min_value=-5.0, max_value=5.0), min_size=min_size, max_size=12)
    return runs.filter(lambda v: len(v) == 1 or float(np.ptp(v)) > 1e-3)


values = _spread(2)
levels = st.sampled_from([0.8, 0.95, 0.99])


@settings(max_examples=50, deadline=None)
@given(values, values, levels)
def test_welch_matches_scipy_ttest_ind_unequal_variances(
    c: list[float], b: list[float], level: float
) -> None:
    """Estimate and both ends equal scipy's Welch interval."""
    shift = welch_t_shift(c, b, confidence=level)
    ci = sps.ttest_ind(c, b, equal_var=False).confidence_interval(level)
    assert shift.estimate == pytest.approx(np.mean(c) - np.mean(b), abs=1e-9)
    assert (shift.low, shift.high) == pytest.approx((ci.low, ci.high), rel=1e-7, abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(values, _spread(1), levels)
def test_pooled_matches_scipy_ttest_ind_equal_variances(c: list[float], b: list[float], level: float) -> None:
    """Including one run against several: the prediction interval for a new run."""
    shift = pooled_t_shift(b, c, confidence=level)
    ci = sps.ttest_ind(b, c, equal_var=True).confidence_interval(level)
    assert (shift.low, shift.high) == pytest.approx((ci.low, ci.high), rel=1e-7, abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=2, max_value=12), st.data(), levels)
def test_paired_matches_scipy_ttest_rel(n: int, data: st.DataObject, level: float) -> None:
    """The paired interval is scipy's ttest_rel interval."""
    pair = st.lists(st.floats(min_value=-5.0, max_value=5.0), min_size=n, max_size=n)
    c, b = data.draw(pair), data.draw(pair)
    if np.ptp(np.subtract(c, b)) < 1e-3:
        return
    shift = paired_t_shift(c, b, confidence=level)
    ci = sps.ttest_rel(c, b).confidence_interval(level)
    assert (shift.low, shift.high) == pytest.approx((ci.low, ci.high), rel=1e-7, abs=1e-9)


@pytest.mark.parametrize(("n_c", "n_b"), [(1, 1), (1, 5), (4, 6)])
def test_known_noise_matches_the_normal_interval(n_c: int, n_b: int) -> None:
    """+- z * noise * sqrt(1/n_c + 1/n_b), with z from scipy.stats.norm."""
    rng = np.random.default_rng(1)
    c, b = list(rng.normal(1, 0.1, n_c)), list(rng.normal(0, 0.1, n_b))
    shift = known_noise_shift(c, b, noise=0.05, confidence=0.99)
    low, high = sps.norm.interval(0.99, loc=np.mean(c) - np.mean(b), scale=0.05 * np.sqrt(1 / n_c + 1 / n_b))
    assert (shift.low, shift.high) == pytest.approx((low, high), rel=1e-12)


def test_identical_runs_give_the_exact_point() -> None:
    """A deterministic measurement (every run the same) has no spread to widen the interval."""
    for shift in (
        welch_t_shift([2.0, 2.0], [1.0, 1.0, 1.0]),
        pooled_t_shift([2.0], [1.0, 1.0]),
        paired_t_shift([2.0, 3.0], [1.0, 2.0]),
        known_noise_shift([2.0], [1.0], noise=0.0),
    ):
        assert (shift.low, shift.estimate, shift.high) == (1.0, 1.0, 1.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: welch_t_shift([1.0], [1.0, 2.0]), r"len\(candidate\)=1 must be at least 2"),
        (lambda: pooled_t_shift([1.0], [2.0]), "runs=2 must be at least 3 in all"),
        (lambda: paired_t_shift([1.0, 2.0], [1.0, 2.0, 3.0]), r"len\(baseline\)=3 must be equal"),
        (lambda: welch_t_shift([1.0, float("nan")], [1.0, 2.0]), "candidate=.* must be finite"),
        (lambda: known_noise_shift([1.0], [1.0], noise=-0.1), "noise=-0.1"),
        (lambda: welch_t_shift([1.0, 2.0], [1.0, 2.0], confidence=1.0), "confidence=1.0"),
    ],
)
def test_bad_inputs_name_the_field(call: object, message: str) -> None:
    """Too few runs, unpaired pairs, NaN, a negative noise or a bad level: InvalidConfig."""
    with pytest.raises(InvalidConfig, match=message):
        call()  # type: ignore[operator]


def _coverage(method: str, rng: np.random.Generator, draws: int) -> float:
    """How often the 99% interval holds the true difference 0.2 of normal run values, sd 0.05."""
    hits = 0
    for _ in range(draws):
        offsets = rng.normal(0, 0.05, 10)
        b, c = offsets[:5], 0.2 + offsets[5:]
        if method == "paired":
            drift = rng.normal(0, 0.3, 5)  # shared by both runs of a pair, cancelled by pairing
            b, c = b + drift, c + drift
        shift = {"welch": welch_t_shift, "pooled": pooled_t_shift, "paired": paired_t_shift}[method](
            list(c[:1] if method == "pooled" else c), list(b), confidence=0.99
        )
        hits += shift.low <= 0.2 <= shift.high
    return hits / draws


@pytest.mark.parametrize("method", ["welch", "pooled", "paired"])
def test_99_percent_intervals_cover_99_percent(method: str) -> None:
    """2,000 seeded draws of normal run values: coverage within binomial slack of 99%."""
    coverage = _coverage(method, np.random.default_rng(20260513), 2000)
    assert 0.98 <= coverage <= 0.997
