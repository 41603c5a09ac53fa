"""Compact samples: a metric keeps at most :data:`MAX_SAMPLES` numbers that still carry its shape.

A baseline of 100,000 timings becomes 256 evenly spaced quantiles. Rank tests on the compact
sample see fewer points than were measured, so their intervals get wider, never narrower:
compaction can hide a regression but cannot invent one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["MAX_SAMPLES", "compact"]

MAX_SAMPLES = 256
"""Samples kept per metric in a baseline or a comparison."""


def compact(values: Sequence[float], max_points: int = MAX_SAMPLES) -> list[float]:
    """At most ``max_points`` values: the sample itself (order kept, so pairs stay paired), or
    its mid-rank quantiles when it is larger."""
    data = np.asarray(values, dtype=float)
    if data.size <= max_points:
        return [float(v) for v in data]
    data = np.sort(data)
    probs = (np.arange(max_points) + 0.5) / max_points
    return [float(v) for v in np.quantile(data, probs, method="linear")]
