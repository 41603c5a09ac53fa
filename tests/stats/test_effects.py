"""Effect sizes."""

import numpy as np
import pytest

from harness.errors import InvalidConfig
from harness.stats import EffectSize, effect_size
from harness.stats.effects import cles, cliffs_delta, mean_ratio, quantile_ratio


def test_effect_sizes_on_hand_computed_samples() -> None:
    """Mean ratio, quantile ratio, CLES and Cliff's delta on small exact cases."""
    x, y = np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0])
    assert mean_ratio(x, y) == pytest.approx(2.0)
    assert quantile_ratio(x, y, 0.5) == pytest.approx(2.0)
    # pairs x>y: 2>1; 4>1,2,3; 6>1,2,3 = 7, ties: 2=2 -> (7 + 0.5) / 9
    assert cles(x, y) == pytest.approx(7.5 / 9)
    assert cliffs_delta(x, y) == pytest.approx(2 * 7.5 / 9 - 1)
    assert effect_size(EffectSize.P95_RATIO, x, y) == pytest.approx(
        np.quantile(x, 0.95) / np.quantile(y, 0.95)
    )
    assert effect_size(EffectSize.CLES, x, y) == pytest.approx(7.5 / 9)
    assert effect_size(EffectSize.MEAN_RATIO, np.zeros(2), np.zeros(2)) == 1.0
    assert effect_size(EffectSize.MEAN_RATIO, np.ones(2), np.zeros(2)) == float("inf")
    with pytest.raises(InvalidConfig, match=r"0\.95 for p95"):
        quantile_ratio(x, y, 95)
