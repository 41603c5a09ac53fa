"""The always-valid sequential test (normal-mixture mSPRT)."""

import math

import pytest

from harness.errors import InvalidConfig
from harness.seeding import Seeds
from harness.stats import SequentialConfig, SequentialTest


def _binomial_upper(alpha: float, runs: int) -> float:
    return alpha + 3 * math.sqrt(alpha * (1 - alpha) / runs)


def test_peeking_after_every_window_keeps_false_positives_below_alpha() -> None:
    """A/A data, peeked at after each of 30 windows, rejects in at most alpha of runs."""
    rng = Seeds(20261122).numpy("stats/sequential/aa")
    runs, rejected = 400, 0
    for _ in range(runs):
        test = SequentialTest(SequentialConfig(alpha=0.05))
        ever = False
        for _ in range(30):
            test.update(rng.lognormal(-3, 0.5, 200), rng.lognormal(-3, 0.5, 200))
            ever = ever or test.p_value <= 0.05
        rejected += ever
        assert ever == test.rejected  # the p-value never increases
    assert rejected / runs <= _binomial_upper(0.05, runs)


def test_detects_a_real_difference_and_its_interval_covers_it() -> None:
    """A 10% mean increase is detected; the always-valid interval covers the true difference."""
    rng = Seeds(7).numpy("stats/sequential/power")
    test = SequentialTest()
    for _ in range(30):
        test.update(rng.normal(1.1, 0.3, 500), rng.normal(1.0, 0.3, 500))
    assert test.rejected
    low, high = test.confidence_interval()
    assert low < 0.1 < high
    assert test.estimate == pytest.approx(0.1, abs=0.02)
    assert test.e_value > 20
    assert test.samples == (15_000, 15_000)


def test_counts_and_the_warm_up_period() -> None:
    """Before min_samples the p-value is 1 and the interval unbounded; counts feed Bernoulli data."""
    test = SequentialTest(SequentialConfig(min_samples=50, tau=0.01))
    assert test.update([1.0] * 10, [1.0] * 10) == 1.0
    assert test.confidence_interval() == (-math.inf, math.inf)
    assert math.isnan(SequentialTest().estimate)
    for _ in range(20):
        test.update_counts(40, 1000, 10, 1000)
    assert test.rejected


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"tau": -1.0}, "tau"),
        ({"relative_tau": 0.0}, "relative_tau"),
        ({"min_samples": 1}, "min_samples"),
    ],
)
def test_config_validation(kwargs: dict[str, float], field: str) -> None:
    """Bad settings name the field."""
    with pytest.raises(InvalidConfig, match=field) as info:
        SequentialConfig(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
