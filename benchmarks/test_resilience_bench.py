"""Per-call costs of the resilience primitives, as a pytest-benchmark suite.

Run: ``.venv/bin/pytest benchmarks/test_resilience_bench.py --benchmark-enable -p no:cacheprovider``
For the side-by-side comparison with pybreaker, circuitbreaker, aiobreaker, purgatory, tenacity and
stamina (interleaved, with ratios against the targets) run ``benchmarks/compare_resilience.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from harness.conditions import parse_condition
from harness.resilience import (
    CircuitBreaker,
    CircuitBreakerConfig,
    CircuitOpenError,
    RateLimiter,
    RateLimiterConfig,
    Retry,
    RetryConfig,
    WindowType,
)


def f() -> int:
    return 1


async def af() -> int:
    return 1


def rejected(fn: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        try:  # noqa: SIM105 - contextlib.suppress would add its own cost to the measurement
            fn()
        except CircuitOpenError:
            pass

    return run


@pytest.mark.benchmark(group="breaker")
def test_bench_bare_call(benchmark: Any) -> None:
    """The unprotected call, for comparison."""
    benchmark(f)


@pytest.mark.benchmark(group="breaker")
@pytest.mark.parametrize("window", [100, 1000])
def test_bench_closed_breaker(benchmark: Any, window: int) -> None:
    """A successful call through a CLOSED breaker with a count window."""
    benchmark(CircuitBreaker(CircuitBreakerConfig(window=window))(f))


@pytest.mark.benchmark(group="breaker")
def test_bench_closed_breaker_time_window(benchmark: Any) -> None:
    """A successful call through a CLOSED breaker with a 60 s time window (locked path)."""
    cfg = CircuitBreakerConfig(window_type=WindowType.TIME, window=60)
    benchmark(CircuitBreaker(cfg)(f))


@pytest.mark.benchmark(group="breaker")
def test_bench_open_rejection(benchmark: Any) -> None:
    """A call rejected by an OPEN breaker, caught."""
    breaker = CircuitBreaker(CircuitBreakerConfig(open_for=3600.0))
    breaker.force_open()
    benchmark(rejected(breaker(f)))


@pytest.mark.benchmark(group="breaker")
def test_bench_async_closed_breaker(benchmark: Any) -> None:
    """1,000 awaited calls through a CLOSED breaker in one loop iteration."""
    guarded = CircuitBreaker()(af)
    loop = asyncio.new_event_loop()

    async def thousand() -> None:
        for _ in range(1000):
            await guarded()

    try:
        benchmark(lambda: loop.run_until_complete(thousand()))
    finally:
        loop.close()


@pytest.mark.benchmark(group="retry")
def test_bench_retry_first_try(benchmark: Any) -> None:
    """A call that succeeds at once through Retry."""
    benchmark(Retry(RetryConfig(max_attempts=3))(f))


@pytest.mark.benchmark(group="ratelimit")
def test_bench_rate_limiter_try_acquire(benchmark: Any) -> None:
    """One local GCRA decision."""
    limiter = RateLimiter(RateLimiterConfig(rate=1e9, burst=1000))
    benchmark(limiter.try_acquire)


@pytest.mark.benchmark(group="conditions")
def test_bench_parse_condition(benchmark: Any) -> None:
    """Parsing a typical rule."""
    benchmark(parse_condition, "circuit_open or retry_failures >= 3 and not (failed_components < 2)")


@pytest.mark.benchmark(group="conditions")
def test_bench_evaluate_condition(benchmark: Any) -> None:
    """Evaluating a parsed rule."""
    cond = parse_condition("circuit_open or retry_failures >= 3 and not (failed_components < 2)")
    ctx = {"circuit_open": False, "retry_failures": 4, "failed_components": 1}
    benchmark(cond.evaluate, ctx)
