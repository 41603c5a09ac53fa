"""Sliding windows of call outcomes with O(1) updates, whatever their size.

An outcome is a small int: bit 0 set for a failure, bit 1 set for a slow call. Both windows keep
running totals or tickets, so reading the failure and slow-call counts costs O(1) amortised.
"""

from __future__ import annotations

import itertools
from collections import deque

__all__ = ["FAILURE", "IGNORE", "RECORD", "SLOW", "SUCCESS", "CountWindow", "TimeWindow"]

FAILURE = 1
SLOW = 2

# How a breaker counts a raised exception (``BreakerCore.classify``) before it becomes an outcome.
RECORD, IGNORE, SUCCESS = 0, 1, 2


class CountWindow:
    """The last ``size`` outcomes, kept as tickets.

    Every recorded outcome takes the next ticket from an ``itertools.count`` (atomic under the
    GIL); failures and slow calls also keep their ticket in a deque. The window at ticket ``t``
    is tickets ``(t - size, t]``: it holds ``min(t, size)`` calls, and its failures are the
    failure tickets above ``t - size``, pruned from the left as the window moves. A success
    therefore costs one ``next()``, whatever the window size.
    """

    __slots__ = ("_fails", "_slows", "size", "tickets")

    def __init__(self, size: int) -> None:
        self.size = size
        self.tickets = itertools.count(1)
        self._fails: deque[int] = deque()
        self._slows: deque[int] = deque()

    def record(self, outcome: int, now: float) -> int:
        """Add one outcome; returns its ticket (``now`` is unused)."""
        t = next(self.tickets)
        if outcome & FAILURE:
            self._fails.append(t)
        if outcome & SLOW:
            self._slows.append(t)
        return t

    def issued(self) -> int:
        """The last ticket handed out (the number of outcomes recorded since the last reset)."""
        return int(repr(self.tickets)[6:-1]) - 1

    def counts(self, t: int | None = None) -> tuple[int, int, int]:
        """``(calls, failures, slow)`` in the window ending at ticket ``t`` (default: the latest)."""
        if t is None:
            t = self.issued()
        low = t - self.size
        return min(t, self.size), _count_between(self._fails, low, t), _count_between(self._slows, low, t)

    def has_bad(self) -> bool:
        """Whether any failure or slow call may still be in the window."""
        return bool(self._fails or self._slows)

    def expire(self, now: float) -> None:
        """Nothing expires from a count window."""

    def reset(self) -> None:
        """Forget every outcome."""
        self.tickets = itertools.count(1)
        self._fails = deque()
        self._slows = deque()


def _count_between(tickets: deque[int], low: int, high: int) -> int:
    """Tickets in ``(low, high]``; drops those at or below ``low`` for good (they never return)."""
    while tickets and tickets[0] <= low:
        tickets.popleft()
    n = len(tickets)
    i = n - 1
    while i >= 0 and tickets[i] > high:
        i -= 1
        n -= 1
    return n


class TimeWindow:
    """Outcomes of the last ``size`` buckets of ``bucket`` seconds each (resilience4j's layout).

    Recording is amortised O(1): a bucket is cleared once when time moves past it, and an idle
    gap longer than the window clears everything in one step.
    """

    __slots__ = ("_calls", "_epoch", "_fails", "_slows", "bucket", "calls", "failures", "size", "slow")

    def __init__(self, size: int, bucket: float = 1.0) -> None:
        self.size = size
        self.bucket = bucket
        self._calls = [0] * size
        self._fails = [0] * size
        self._slows = [0] * size
        self._epoch: int | None = None
        self.calls = self.failures = self.slow = 0

    def expire(self, now: float) -> None:
        """Drop the buckets that fell out of the window at ``now``."""
        epoch = int(now // self.bucket)
        last = self._epoch
        if last is None:
            self._epoch = epoch
            return
        steps = epoch - last
        if steps <= 0:
            return
        self._epoch = epoch
        if steps >= self.size:
            self.reset_buckets()
            return
        for k in range(last + 1, epoch + 1):
            b = k % self.size
            self.calls -= self._calls[b]
            self.failures -= self._fails[b]
            self.slow -= self._slows[b]
            self._calls[b] = self._fails[b] = self._slows[b] = 0

    def record(self, outcome: int, now: float) -> int:
        """Add one outcome at time ``now``; returns the calls now in the window."""
        if self._epoch is None or now >= (self._epoch + 1) * self.bucket:
            self.expire(now)
        assert self._epoch is not None
        b = self._epoch % self.size
        self._calls[b] += 1
        self.calls += 1
        if outcome:
            f = outcome & FAILURE
            s = outcome >> 1
            self._fails[b] += f
            self._slows[b] += s
            self.failures += f
            self.slow += s
        return self.calls

    def has_bad(self) -> bool:
        """Whether the window holds any failure or slow call."""
        return bool(self.failures or self.slow)

    def counts(self, t: int | None = None) -> tuple[int, int, int]:
        """``(calls, failures, slow)`` in the window as of the last ``record``/``expire``."""
        return self.calls, self.failures, self.slow

    def reset_buckets(self) -> None:
        """Zero every bucket and total, keeping the current epoch."""
        self._calls = [0] * self.size
        self._fails = [0] * self.size
        self._slows = [0] * self.size
        self.calls = self.failures = self.slow = 0

    def reset(self) -> None:
        """Forget every outcome."""
        self.reset_buckets()
        self._epoch = None
