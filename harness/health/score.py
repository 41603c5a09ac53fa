"""Pure functions for the health score (0-100) and its trend; no clock, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from harness.health.status import HealthStatus, Trend

__all__ = ["health_score", "score_trend"]


def health_score(weighted: Iterable[tuple[HealthStatus, float]]) -> float:
    """Weighted mean of the statuses on the 0-100 scale (HEALTHY 100, DEGRADED 50, UNHEALTHY 0).

    No checks (or zero total weight) scores 100: nothing is known to be wrong.
    """
    total = 0.0
    weight_sum = 0.0
    for status, weight in weighted:
        total += status.score * weight
        weight_sum += weight
    return 100.0 if weight_sum <= 0 else total / weight_sum


def score_trend(scores: Sequence[float], threshold: float) -> Trend:
    """Which way ``scores`` (oldest first) move: the least-squares slope times the span.

    A fitted change of at least ``threshold`` points over the window is IMPROVING, at most
    ``-threshold`` DEGRADING, anything between (or fewer than two scores) STABLE.
    """
    n = len(scores)
    if n < 2:
        return Trend.STABLE
    mean_x = (n - 1) / 2.0
    mean_y = sum(scores) / n
    cov = sum((i - mean_x) * (y - mean_y) for i, y in enumerate(scores))
    var = sum((i - mean_x) ** 2 for i in range(n))
    change = cov / var * (n - 1)
    if change >= threshold:
        return Trend.IMPROVING
    if change <= -threshold:
        return Trend.DEGRADING
    return Trend.STABLE
