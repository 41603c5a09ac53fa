"""Brunner-Munzel's test of P(candidate > baseline) at any level."""

import numpy as np
import pytest
from scipy.stats import brunnermunzel

from harness.seeding import Seeds
from harness.stats.dominance import dominance_pivot
from harness.stats.effects import cles


@pytest.mark.parametrize("ties", [False, True])
def test_half_is_scipys_brunner_munzel(ties: bool) -> None:
    """At p0 = 1/2 both one-sided p-values equal scipy.stats.brunnermunzel(baseline, candidate)."""
    rng = Seeds(11).numpy("dominance/scipy")
    x, y = rng.lognormal(0.1, 0.5, 70), rng.lognormal(0.0, 0.8, 90)
    if ties:
        x, y = np.round(x * 5), np.round(y * 5)
    pivot = dominance_pivot(np.sort(x), np.sort(y))
    assert pivot.estimate == pytest.approx(cles(x, y), rel=1e-12)
    assert pivot.p_above(0.5) == pytest.approx(brunnermunzel(y, x, alternative="less").pvalue, rel=1e-9)
    assert pivot.p_below(0.5) == pytest.approx(brunnermunzel(y, x, alternative="greater").pvalue, rel=1e-9)


def test_bounds_invert_the_test_at_any_level() -> None:
    """The lower bound is where the one-sided test of p0 stops rejecting."""
    rng = Seeds(12).numpy("dominance/bounds")
    pivot = dominance_pivot(np.sort(rng.normal(0.3, 1, 200)), np.sort(rng.normal(0, 1, 300)))
    low, high = pivot.lower(0.05), pivot.upper(0.05)
    assert low < pivot.estimate < high
    assert pivot.p_above(low) == pytest.approx(0.05, rel=1e-6)
    assert pivot.p_below(high) == pytest.approx(0.05, rel=1e-6)
