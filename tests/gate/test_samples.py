"""Compaction: a metric keeps at most MAX_SAMPLES numbers with the shape of its sample."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.gate.samples import MAX_SAMPLES, compact, sorted_quantiles


def test_compact_keeps_small_samples_in_order() -> None:
    """Up to MAX_SAMPLES values are kept as they are, in order (pairs stay paired)."""
    values = [3.0, 1.0, 2.0]
    assert compact(values) == values


def test_compact_reduces_to_quantiles() -> None:
    """A large sample becomes MAX_SAMPLES quantiles with the same median."""
    data = np.random.default_rng(1).lognormal(0, 0.3, 100_000)
    small = compact(data.tolist())
    assert len(small) == MAX_SAMPLES
    assert small == sorted(small)
    assert np.median(small) == pytest.approx(np.median(data), rel=0.01)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1, max_size=300),
    st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=10),
)
def test_sorted_quantiles_are_numpys_linear_quantiles(values: list[float], probs: list[float]) -> None:
    """The same numbers as np.quantile's default method, from the sorted values."""
    ordered = np.sort(values)
    expected = np.quantile(ordered, probs)
    assert sorted_quantiles(ordered, probs) == pytest.approx(expected, rel=1e-12, abs=1e-9)
