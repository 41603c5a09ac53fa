"""The HDR latency recorder: batched recording keeps HDR precision."""

from __future__ import annotations

import numpy as np
import pytest

from harness.load import LatencyRecorder, LatencySummary


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
