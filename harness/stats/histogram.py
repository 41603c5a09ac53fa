"""A mergeable streaming latency histogram with bounded relative error (HDR / DDSketch style).

Values fall into logarithmic buckets ``[g^i, g^(i+1))`` with ``g = (1 + e) / (1 - e)``; a
percentile is reported as the point ``2 g^(i+1) / (1 + g)`` of its bucket, which lies within ``e``
(default 1%) of every value in the bucket and so of the true order statistic. Counts live in one
dense numpy array, so recording a window of tens of thousands of latencies is one vectorised
``bincount`` and merging two histograms is an addition. Values below ``lowest`` are counted in the
lowest bucket and values above ``highest`` in the highest; exact min, max, count and sum are kept alongside.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.errors import InvalidConfig

__all__ = ["HistogramConfig", "LatencyHistogram"]


@dataclass(frozen=True, slots=True, kw_only=True)
class HistogramConfig:
    """Range and precision of a :class:`LatencyHistogram` (seconds)."""

    lowest: float = 1e-6
    highest: float = 3600.0
    relative_error: float = 0.01

    def __post_init__(self) -> None:
        if not 0.0 < self.relative_error < 0.5:
            raise InvalidConfig(
                f"relative_error={self.relative_error!r} must be in (0, 0.5); 0.01 means percentiles "
                "within 1%.",
                field="relative_error",
                value=self.relative_error,
            )
        if not 0.0 < self.lowest < self.highest or not math.isfinite(self.highest):
            raise InvalidConfig(
                f"lowest={self.lowest!r}, highest={self.highest!r}: need 0 < lowest < highest < inf.",
                field="lowest",
                value=self.lowest,
            )

    @property
    def gamma(self) -> float:
        """Bucket growth factor."""
        return (1.0 + self.relative_error) / (1.0 - self.relative_error)

    @property
    def buckets(self) -> int:
        """Number of buckets covering [lowest, highest]."""
        return math.ceil(math.log(self.highest / self.lowest) / math.log(self.gamma)) + 1


class LatencyHistogram:
    """Counts of values in log buckets; percentiles within ``relative_error``; mergeable."""

    __slots__ = ("_counts", "_log_gamma", "config", "count", "max", "min", "total")

    def __init__(self, config: HistogramConfig | None = None) -> None:
        self.config = config or HistogramConfig()
        self._log_gamma = math.log(self.config.gamma)
        self._counts = np.zeros(self.config.buckets, dtype=np.int64)
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

    def _index(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        clipped = np.clip(values, self.config.lowest, self.config.highest)
        idx = np.floor(np.log(clipped / self.config.lowest) / self._log_gamma).astype(np.int64)
        return np.clip(idx, 0, self._counts.size - 1)

    def record(self, value: float) -> None:
        """Add one value (seconds, >= 0)."""
        self.record_many(np.asarray([value], dtype=np.float64))

    def record_many(self, values: object) -> None:
        """Add an array of values in one vectorised step; NaN or negative values are rejected."""
        arr = np.asarray(values, dtype=np.float64).ravel()
        if arr.size == 0:
            return
        if not np.all(arr >= 0):
            raise InvalidConfig(
                "latencies must be finite and >= 0; drop NaN/negative values first.", field="values"
            )
        self._counts += np.bincount(self._index(arr), minlength=self._counts.size)
        self.count += int(arr.size)
        self.total += float(arr.sum())
        self.min = min(self.min, float(arr.min()))
        self.max = max(self.max, float(arr.max()))

    def merge(self, other: LatencyHistogram) -> LatencyHistogram:
        """Add ``other``'s counts into this histogram (same configuration) and return self."""
        if other.config != self.config:
            raise InvalidConfig(
                f"cannot merge histograms with different configurations ({self.config} vs {other.config}); "
                "create both from the same HistogramConfig.",
                field="config",
            )
        self._counts += other._counts
        self.count += other.count
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        return self

    def __add__(self, other: LatencyHistogram) -> LatencyHistogram:
        return self.copy().merge(other)

    def copy(self) -> LatencyHistogram:
        """An independent copy."""
        new = LatencyHistogram(self.config)
        return new.merge(self)

    @property
    def mean(self) -> float:
        """Exact arithmetic mean (NaN when empty)."""
        return self.total / self.count if self.count else math.nan

    def _value_of(self, index: int) -> float:
        g = self.config.gamma
        # 2 g^i / (1 + g) * lowest * g: the point within relative_error of every value in bucket i.
        return self.config.lowest * (g**index) * 2.0 * g / (1.0 + g)

    def percentile(self, q: float) -> float:
        """The q-th percentile (0..100) within ``relative_error`` (nearest-rank definition)."""
        if not 0.0 <= q <= 100.0:
            raise InvalidConfig(f"q={q!r} must be a percentile in [0, 100], e.g. 99.", field="q", value=q)
        if self.count == 0:
            return math.nan
        rank = max(1, math.ceil(q / 100.0 * self.count))
        idx = int(np.searchsorted(np.cumsum(self._counts), rank, side="left"))
        return min(max(self._value_of(idx), self.min), self.max)

    def percentiles(self, qs: tuple[float, ...]) -> dict[float, float]:
        """Several percentiles at once."""
        return {q: self.percentile(q) for q in qs}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot (sparse bucket counts)."""
        nz = np.flatnonzero(self._counts)
        return {
            "lowest": self.config.lowest,
            "highest": self.config.highest,
            "relative_error": self.config.relative_error,
            "buckets": {str(int(i)): int(self._counts[i]) for i in nz},
            "count": self.count,
            "total": self.total,
            "min": self.min if self.count else None,
            "max": self.max if self.count else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LatencyHistogram:
        """Inverse of :meth:`to_dict`."""
        hist = cls(
            HistogramConfig(
                lowest=data["lowest"], highest=data["highest"], relative_error=data["relative_error"]
            )
        )
        for k, v in data["buckets"].items():
            hist._counts[int(k)] = int(v)
        hist.count = int(data["count"])
        hist.total = float(data["total"])
        hist.min = math.inf if data["min"] is None else float(data["min"])
        hist.max = -math.inf if data["max"] is None else float(data["max"])
        return hist

    def __repr__(self) -> str:
        p50, p99 = self.percentile(50), self.percentile(99)
        return f"LatencyHistogram(count={self.count}, p50={p50:.6g}, p99={p99:.6g})"
