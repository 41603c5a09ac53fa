"""Windows too large to hold whole: arrivals drawn in chunks, outcomes kept as a uniform sample.

A window of ``n <= CHUNK`` requests is drawn and served in one go (``n`` sorted uniform arrival
times), so runs whose windows stay under ``CHUNK`` are exactly what they always were. A larger
window is cut into ``k = ceil(n / CHUNK)`` equal sub-intervals: their counts are one
Multinomial(n, (1/k, ..., 1/k)) draw and each sub-interval's arrivals are sorted uniforms within
it. That is the same distribution as sorting ``n`` uniforms over the whole window (given how many
fall in each sub-interval, uniform points are uniform within it), drawn ``CHUNK`` at a time.

Each chunk is routed, served and sent through the shared dependency in arrival order, then folded
into one :class:`OutcomeSample` per version and one of what users saw: exact request and error
counts, and a uniform random sample without replacement of at most ``capacity`` requests
(latency, error flag and per-request metrics), the ones with the smallest of independent uniform
keys (bottom-k sampling: every subset of size k is equally likely, as with Vitter's reservoir
algorithm R; Efraimidis & Spirakis 2006 with equal weights). Memory is then a few arrays of
``CHUNK`` entries and the samples, whatever the number of requests in a window.

What the sample changes, for windows over ``CHUNK`` requests only: judges already received at
most :data:`~harness.scenario.record.LATENCY_SAMPLE` latencies per version and window (evenly
spaced through it); they now receive as many, drawn at random, so their tests keep the same
sample size and power (latencies are independent draws, and a uniform sample of fixed size of
them is distributed as a systematic one). The p50/p95/p99 journaled per version and window are
the sample's: at 20,000 draws the p99's rank has a standard error of sqrt(0.99 * 0.01 / 20000),
0.07 percentile points. Request and error counts stay exact.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from harness.scenario.services import Outcomes

__all__ = ["CHUNK", "OutcomeSample", "chunk_counts"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

CHUNK = 262_144
"""The most requests of one window drawn and served at once (about 2**18)."""


def chunk_counts(n: int, rng: np.random.Generator, *, chunk: int = CHUNK) -> IntArray:
    """How many of a window's ``n`` arrivals fall in each of ``ceil(n / chunk)`` equal sub-intervals."""
    k = max(1, -(-n // chunk))
    if k == 1:
        return np.array([n], dtype=np.int64)
    return rng.multinomial(n, np.full(k, 1.0 / k)).astype(np.int64)


class OutcomeSample:
    """Exact counts and a uniform random sample of at most ``capacity`` requests of one window."""

    def __init__(self, capacity: int, rng: np.random.Generator) -> None:
        self.capacity = capacity
        self._rng = rng
        self.requests = 0
        self.errors = 0
        self._keys: FloatArray = np.empty(0)
        self._arrivals: FloatArray = np.empty(0)
        self._latencies: FloatArray = np.empty(0)
        self._failed: BoolArray = np.zeros(0, dtype=bool)
        self._metrics: dict[str, FloatArray] = {}

    def add(self, arrivals: FloatArray, outcomes: Outcomes) -> None:
        """Fold in the outcomes of requests arriving at ``arrivals`` (one per request)."""
        n = outcomes.requests
        self.requests += n
        self.errors += outcomes.failures
        if n == 0:
            return
        keys = self._rng.random(n)
        self._keys = np.concatenate([self._keys, keys])
        self._arrivals = np.concatenate([self._arrivals, arrivals])
        self._latencies = np.concatenate([self._latencies, outcomes.latencies])
        self._failed = np.concatenate([self._failed, outcomes.errors])
        for name, values in outcomes.metrics.items():
            kept = self._metrics.get(name, np.empty(0))
            self._metrics[name] = np.concatenate([kept, values])
        if self._keys.size > self.capacity:
            self._keep(np.argpartition(self._keys, self.capacity - 1)[: self.capacity])

    def _keep(self, index: npt.NDArray[np.intp]) -> None:
        self._keys = self._keys[index]
        self._arrivals = self._arrivals[index]
        self._latencies = self._latencies[index]
        self._failed = self._failed[index]
        self._metrics = {name: values[index] for name, values in self._metrics.items()}

    def outcomes(self) -> Outcomes:
        """The window's outcomes: the sample in arrival order, with the window's exact totals."""
        order = np.argsort(self._arrivals, kind="stable")
        return Outcomes(
            latencies=self._latencies[order],
            errors=self._failed[order],
            metrics={name: values[order] for name, values in self._metrics.items()},
            totals=(self.requests, self.errors),
        )
