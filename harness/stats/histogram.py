"""Latency recording in HDR histograms (microsecond resolution, three significant digits).

The histogram is ``hdrh`` (HdrHistogram, Gil Tene's design): every value is kept to three
significant digits between 1 µs and one hour, and histograms merge by addition. Recording one value
into ``hdrh`` costs a few microseconds of pure Python, too much per request at tens of thousands
of requests per second. :class:`LatencyRecorder` appends to a buffer and folds it into the
histogram in batches (values rounded finer than the histogram's own buckets and counted with numpy
first), so the histogram is the same and the hot path is one comparison and one ``append``.
A latency must be a finite number of seconds >= 0; anything else is refused where it is recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness._checks import invalid, within
from harness.errors import InvalidConfig

__all__ = ["LatencyRecorder", "LatencySummary"]

_LOWEST_US = 1
_HIGHEST_US = 3_600_000_000  # one hour
_DIGITS = 3
_BATCH = 8192


@dataclass(frozen=True, slots=True, kw_only=True)
class LatencySummary:
    """Percentiles of one latency distribution, in seconds."""

    count: int
    mean: float
    p50: float
    p90: float
    p95: float
    p99: float
    p999: float
    max: float

    @classmethod
    def empty(cls) -> LatencySummary:
        """The summary of no samples (all zero)."""
        return cls(count=0, mean=0.0, p50=0.0, p90=0.0, p95=0.0, p99=0.0, p999=0.0, max=0.0)

    def as_dict(self) -> dict[str, float]:
        """``{"count", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"}`` for reports."""
        return {
            "count": self.count,
            "mean": self.mean,
            "p50": self.p50,
            "p90": self.p90,
            "p95": self.p95,
            "p99": self.p99,
            "p99.9": self.p999,
            "max": self.max,
        }


def _new_histogram() -> Any:
    from hdrh.histogram import HdrHistogram

    return HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)


def _refuse(value: object) -> InvalidConfig:
    fix = "a latency is an end time minus a start time on one monotonic clock; fix the measurement"
    return invalid("seconds", value, "a finite number of seconds >= 0", fix)


class LatencyRecorder:
    """Collects latencies (seconds) into an HDR histogram; cheap to record, exact to HDR precision.

    Values below 1 µs count as 1 µs and values above one hour as one hour; the mean is exact.
    """

    __slots__ = ("_buffer", "_histogram", "_sum")

    def __init__(self) -> None:
        self._histogram: Any = _new_histogram()
        self._buffer: list[float] = []
        self._sum = 0.0  # exact sum of recorded seconds (hdrh's own mean walks every bucket)

    def record(self, seconds: float) -> None:
        """Record one latency in seconds; NaN, infinite or negative values raise ``InvalidConfig``."""
        if not 0.0 <= seconds < math.inf:
            raise _refuse(seconds)
        self._buffer.append(seconds)
        if len(self._buffer) >= _BATCH:
            self.flush()

    def record_many(self, seconds: object) -> None:
        """Record an array of latencies in one vectorised step (all refused if one is invalid)."""
        values = np.asarray(seconds, dtype=np.float64).ravel()
        bad = ~(np.isfinite(values) & (values >= 0.0))
        if bad.any():
            raise _refuse(float(values[np.flatnonzero(bad)[0]]))
        self.flush()
        self._fold(values)

    def flush(self) -> None:
        """Fold buffered values into the histogram."""
        if not self._buffer:
            return
        values = np.asarray(self._buffer, dtype=np.float64)
        self._buffer.clear()
        self._fold(values)

    def _fold(self, seconds: np.ndarray[Any, Any]) -> None:
        if seconds.size == 0:
            return
        self._sum += float(seconds.sum())
        micros = np.clip(np.rint(seconds * 1e6), _LOWEST_US, _HIGHEST_US).astype(np.int64)
        values, counts = np.unique(_quantize(micros), return_counts=True)
        record = self._histogram.record_value
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            record(value, count)

    @property
    def histogram(self) -> Any:
        """The underlying ``hdrh.histogram.HdrHistogram`` (microseconds), flushed."""
        self.flush()
        return self._histogram

    def merge(self, other: LatencyRecorder) -> None:
        """Add ``other``'s samples to this recorder."""
        self.flush()
        self._histogram.add(other.histogram)
        self._sum += other._sum

    @property
    def count(self) -> int:
        """Number of recorded values."""
        return int(self._histogram.get_total_count()) + len(self._buffer)

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (0..1) in seconds; 0 when empty."""
        within("q", q, "[0, 1]", "0.99 is the 99th percentile", what="a quantile")
        hist = self.histogram
        if hist.get_total_count() == 0:
            return 0.0
        return float(hist.get_value_at_percentile(q * 100.0)) / 1e6

    def summary(self) -> LatencySummary:
        """p50, p90, p95, p99, p99.9, max and mean, in seconds."""
        hist = self.histogram
        count = int(hist.get_total_count())
        if count == 0:
            return LatencySummary.empty()
        pct = hist.get_percentile_to_value_dict([50.0, 90.0, 95.0, 99.0, 99.9])
        return LatencySummary(
            count=count,
            mean=self._sum / count,
            p50=pct[50.0] / 1e6,
            p90=pct[90.0] / 1e6,
            p95=pct[95.0] / 1e6,
            p99=pct[99.0] / 1e6,
            p999=pct[99.9] / 1e6,
            max=float(hist.get_max_value()) / 1e6,
        )


def _quantize(micros: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Round down to four significant digits, finer than the histogram's own buckets (1 in 2048).

    A batch then has a few thousand distinct values at most, whatever its size.
    """
    magnitude = np.floor(np.log10(np.maximum(micros, 1))).astype(np.int64)
    scale = np.power(10, np.maximum(magnitude - _DIGITS, 0))
    quantized: np.ndarray[Any, Any] = (micros // scale) * scale
    return quantized
