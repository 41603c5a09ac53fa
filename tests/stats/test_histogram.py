"""The HDR latency recorder: batched recording keeps HDR precision; bad latencies are refused."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.errors import InvalidConfig
from harness.stats import LatencyRecorder, LatencySummary


def test_quantiles_match_numpy_within_hdr_precision(seeds) -> None:  # type: ignore[no-untyped-def]
    """p50..p99.9 and max of 50k lognormal latencies agree with numpy to 0.2%."""
    values = seeds.numpy("latencies").lognormal(mean=-5, sigma=1.0, size=50_000)
    rec = LatencyRecorder()
    for v in values.tolist():
        rec.record(v)
    s = rec.summary()
    assert s.count == 50_000
    for q, got in ((0.5, s.p50), (0.9, s.p90), (0.95, s.p95), (0.99, s.p99), (0.999, s.p999)):
        assert got == pytest.approx(float(np.quantile(values, q)), rel=2e-3, abs=2e-6)
    assert s.max == pytest.approx(float(values.max()), rel=2e-3)
    assert s.mean == pytest.approx(float(values.mean()), rel=2e-3)


def test_record_many_equals_recording_one_by_one(seeds) -> None:  # type: ignore[no-untyped-def]
    """The vectorised path fills the same histogram as the per-value path."""
    values = seeds.numpy("latencies").lognormal(mean=-4, sigma=1.5, size=20_000)
    one, many = LatencyRecorder(), LatencyRecorder()
    for v in values.tolist():
        one.record(v)
    many.record_many(values)
    a, b = one.summary(), many.summary()
    assert a.mean == pytest.approx(b.mean, rel=1e-12)
    assert (a.count, a.p50, a.p99, a.p999, a.max) == (b.count, b.p50, b.p99, b.p999, b.max)


def test_empty_recorder_summarises_to_zero() -> None:
    """No samples: every percentile is zero and quantile() does not fail."""
    rec = LatencyRecorder()
    assert rec.summary() == LatencySummary.empty()
    assert rec.quantile(0.99) == 0.0


def test_merge_adds_counts() -> None:
    """Merging two recorders gives the distribution of both."""
    a, b = LatencyRecorder(), LatencyRecorder()
    for _ in range(100):
        a.record(0.001)
        b.record(0.1)
    a.merge(b)
    assert a.count == 200
    assert a.quantile(0.25) == pytest.approx(0.001, rel=1e-3)
    assert a.quantile(0.75) == pytest.approx(0.1, rel=1e-3)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, -0.001])
def test_non_finite_or_negative_latencies_are_refused(bad: float) -> None:
    """inf, NaN and negative values raise with the value named, one at a time or in an array."""
    rec = LatencyRecorder()
    with pytest.raises(InvalidConfig, match="must be a finite number of seconds >= 0"):
        rec.record(bad)
    with pytest.raises(InvalidConfig, match="must be a finite number of seconds >= 0"):
        rec.record_many([0.1, bad, 0.2])
    assert rec.count == 0


def test_out_of_range_latencies_clamp_to_the_histogram_edges() -> None:
    """Below 1 µs counts as 1 µs, above an hour as an hour; the mean stays exact."""
    rec = LatencyRecorder()
    rec.record_many([0.0, 7200.0])
    assert rec.quantile(0.0) == pytest.approx(1e-6, rel=1e-3)
    assert rec.quantile(1.0) == pytest.approx(3600.0, rel=1e-3)
    assert rec.summary().mean == 3600.0
    with pytest.raises(InvalidConfig, match="quantile"):
        rec.quantile(99)
