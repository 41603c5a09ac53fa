"""Compact samples: a metric keeps at most :data:`MAX_SAMPLES` numbers that still carry its shape.

A baseline of 100,000 timings becomes 256 evenly spaced quantiles. Rank tests on the compact
sample see fewer points than were measured, so their intervals get wider, never narrower:
compaction can hide a regression but cannot invent one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["MAX_SAMPLES", "compact", "sorted_quantiles"]

MAX_SAMPLES = 256
"""Samples kept per metric in a baseline or a comparison."""


def sorted_quantiles(ordered: np.ndarray, probs: Sequence[float] | np.ndarray) -> np.ndarray:
    """Quantiles of already sorted values, numpy's default ``linear`` method (Hyndman & Fan type 7).

    The same numbers as ``np.quantile`` (to the last bit or two) without sorting again or its
    per-call overhead, which dominates on the small samples a gate sees.
    """
    h = (ordered.size - 1) * np.asarray(probs, dtype=float)
    low = np.floor(h).astype(np.intp)
    high = np.minimum(low + 1, ordered.size - 1)
    return np.asarray(ordered[low] + (h - low) * (ordered[high] - ordered[low]), dtype=float)


def compact(values: Sequence[float], max_points: int = MAX_SAMPLES) -> list[float]:
    """At most ``max_points`` values: the sample itself (order kept, so pairs stay paired), or
    its mid-rank quantiles when it is larger."""
    data = np.asarray(values, dtype=float)
    if data.size <= max_points:
        return [float(v) for v in data]
    probs = (np.arange(max_points) + 0.5) / max_points
    return [float(v) for v in sorted_quantiles(np.sort(data), probs)]
