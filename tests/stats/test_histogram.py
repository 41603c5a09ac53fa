"""The latency histogram: error bound, merging, serialisation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import InvalidConfig
from harness.stats import HistogramConfig, LatencyHistogram

values = st.lists(st.floats(1e-6, 3600.0, allow_nan=False), min_size=1, max_size=300)


@settings(max_examples=150, deadline=None)
@given(values, st.floats(0.0, 100.0))
def test_percentiles_are_within_one_percent(xs: list[float], q: float) -> None:
    """Every percentile is within 1% of the true nearest-rank order statistic."""
    hist = LatencyHistogram()
    hist.record_many(xs)
    ordered = sorted(xs)
    truth = ordered[max(1, math.ceil(q / 100 * len(xs))) - 1]
    assert abs(hist.percentile(q) - truth) <= 0.01 * truth + 1e-15


@settings(max_examples=50, deadline=None)
@given(values, values)
def test_merge_equals_recording_everything(a: list[float], b: list[float]) -> None:
    """Merging two histograms gives the same counts as recording both inputs into one."""
    h1, h2, both = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    h1.record_many(a)
    h2.record_many(b)
    both.record_many(a + b)
    merged = h1 + h2
    assert merged.count == both.count
    assert merged.to_dict()["buckets"] == both.to_dict()["buckets"]
    assert merged.mean == pytest.approx(both.mean)
    assert h1.count == len(a)


def test_tighter_error_bound_and_round_trip() -> None:
    """A 0.1% configuration is that accurate, and to_dict/from_dict round-trips."""
    cfg = HistogramConfig(relative_error=0.001)
    hist = LatencyHistogram(cfg)
    data = np.random.default_rng(0).lognormal(-3, 1, 50_000)
    hist.record_many(data)
    for q in (50, 95, 99, 99.9):
        truth = np.quantile(data, q / 100, method="inverted_cdf")
        assert hist.percentile(q) == pytest.approx(truth, rel=0.001)
    back = LatencyHistogram.from_dict(hist.to_dict())
    assert back.percentile(99) == hist.percentile(99)
    assert back.count == hist.count
    assert "count=50000" in repr(back)


def test_empty_and_invalid_input() -> None:
    """Empty histograms report NaN; bad values and configs are rejected with the fix."""
    hist = LatencyHistogram()
    assert math.isnan(hist.percentile(50))
    assert math.isnan(hist.mean)
    hist.record_many([])
    with pytest.raises(InvalidConfig, match=">= 0"):
        hist.record(-1.0)
    with pytest.raises(InvalidConfig, match="percentile"):
        hist.percentile(101)
    with pytest.raises(InvalidConfig, match="relative_error"):
        HistogramConfig(relative_error=0.0)
    with pytest.raises(InvalidConfig, match="lowest"):
        HistogramConfig(lowest=5.0, highest=1.0)
    with pytest.raises(InvalidConfig, match="different configurations"):
        hist.merge(LatencyHistogram(HistogramConfig(relative_error=0.02)))


def test_out_of_range_values_clamp_to_the_edges() -> None:
    """Values beyond the range count in the edge buckets; min and max stay exact."""
    hist = LatencyHistogram(HistogramConfig(lowest=1e-3, highest=1.0))
    hist.record_many([0.0, 5.0])
    assert hist.min == 0.0
    assert hist.max == 5.0
    assert hist.percentile(100) == 5.0 or hist.percentile(100) <= 5.0
    assert hist.count == 2
