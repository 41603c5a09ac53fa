"""Compaction: a metric keeps at most MAX_SAMPLES numbers with the shape of its sample."""

from __future__ import annotations

import numpy as np
import pytest

from harness.gate.samples import MAX_SAMPLES, compact


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
