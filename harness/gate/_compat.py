"""The gate's statistics under their old signatures, for one release (they moved to ``harness.stats``).

The old ``hodges_lehmann`` took ``(baseline, current, alpha)``; ``harness.stats.hodges_lehmann``
takes ``(candidate, baseline, *, confidence)``. An alias would silently flip the sign of every old
call, so these adapters keep the old meaning while the package warns on access.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.stats.ranks import hodges_lehmann as _hodges_lehmann
from harness.stats.shifts import Shift
from harness.stats.shifts import median_interval_from_summary as _median_interval_from_summary

__all__ = ["hodges_lehmann", "median_interval_from_summary"]


def hodges_lehmann(baseline: Sequence[float], current: Sequence[float], alpha: float = 0.01) -> Shift:
    """``harness.stats.hodges_lehmann(current, baseline, confidence=1 - alpha)``."""
    return _hodges_lehmann(current, baseline, confidence=1.0 - alpha)


def median_interval_from_summary(
    *,
    base_median: float,
    base_iqr: float,
    base_rounds: int,
    cur_median: float,
    cur_iqr: float,
    cur_rounds: int,
    alpha: float = 0.01,
) -> Shift:
    """``harness.stats.median_interval_from_summary`` with the old keyword names and ``alpha``."""
    return _median_interval_from_summary(
        candidate_median=cur_median,
        candidate_iqr=cur_iqr,
        candidate_count=cur_rounds,
        baseline_median=base_median,
        baseline_iqr=base_iqr,
        baseline_count=base_rounds,
        confidence=1.0 - alpha,
    )
