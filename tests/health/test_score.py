"""Properties of the health score and trend."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.health import HealthStatus, Trend
from harness.health.score import health_score, score_trend

statuses = st.sampled_from(list(HealthStatus))
weights = st.floats(min_value=0.01, max_value=100.0, allow_nan=False)
scores = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)


@given(st.lists(st.tuples(statuses, weights), max_size=50))
def test_score_stays_within_0_and_100(items: list[tuple[HealthStatus, float]]) -> None:
    """Any mix of statuses and weights scores within [0, 100]."""
    assert 0.0 <= health_score(items) <= 100.0 + 1e-9


@given(st.lists(st.tuples(statuses, weights), min_size=1, max_size=20), st.integers(0, 19))
def test_a_worse_status_never_raises_the_score(items: list[tuple[HealthStatus, float]], index: int) -> None:
    """Making one check worse never increases the score."""
    index %= len(items)
    status, weight = items[index]
    worse = HealthStatus.UNHEALTHY if status is not HealthStatus.UNHEALTHY else status
    changed = [*items[:index], (worse, weight), *items[index + 1 :]]
    assert health_score(changed) <= health_score(items) + 1e-9


@given(st.lists(scores, min_size=2, max_size=30), st.floats(min_value=0.5, max_value=50.0))
def test_reversing_the_window_reverses_the_trend(window: list[float], threshold: float) -> None:
    """A window read backwards trends the other way (or stays stable)."""
    forward = score_trend(window, threshold)
    # Summing in the other order may move the fitted change by a rounding error: allow for it.
    slack = 1e-9 if forward is Trend.STABLE else -1e-9
    backward = score_trend(window[::-1], threshold * (1 + slack))
    opposite = {
        Trend.IMPROVING: Trend.DEGRADING,
        Trend.DEGRADING: Trend.IMPROVING,
        Trend.STABLE: Trend.STABLE,
    }
    assert backward is opposite[forward]


@given(st.floats(min_value=0.0, max_value=100.0), st.integers(2, 30))
def test_a_flat_window_is_stable(level: float, n: int) -> None:
    """Constant scores are STABLE at any threshold."""
    assert score_trend([level] * n, 0.5) is Trend.STABLE


def test_single_score_is_stable() -> None:
    """One round cannot have a trend."""
    assert score_trend([10.0], 1.0) is Trend.STABLE
