"""Pipelines: order of composition and one event stream."""

from __future__ import annotations

import asyncio

import pytest

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.resilience import (
    Bulkhead,
    BulkheadConfig,
    CircuitBreaker,
    CircuitBreakerConfig,
    EventKind,
    FallbackChain,
    Jitter,
    Pipeline,
    Retry,
    RetryConfig,
    Timeout,
)


def build(clock: VirtualClock) -> tuple[Pipeline, CircuitBreaker]:
    breaker = CircuitBreaker(
        CircuitBreakerConfig(window=4, minimum_calls=2, open_for=60.0), name="breaker", clock=clock
    )
    pipeline = Pipeline(
        FallbackChain(lambda: "fallback", name="fallback", clock=clock),
        Timeout(10.0, name="timeout"),
        Retry(RetryConfig(max_attempts=3, base_delay=1.0, jitter=Jitter.NONE), name="retry", clock=clock),
        breaker,
        Bulkhead(BulkheadConfig(max_concurrent=2), name="bulkhead", clock=clock),
    )
    return pipeline, breaker


def test_async_pipeline_one_event_stream(virtual_clock: VirtualClock) -> None:
    """Retries, the breaker opening, rejections and the fallback arrive on one stream, in order."""
    pipeline, _ = build(virtual_clock)
    events: list[tuple[str, EventKind]] = []
    pipeline.add_listener(lambda e: events.append((e.source, e.kind)))
    attempts = 0

    async def down() -> str:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.1)
        raise ConnectionError("down")

    assert virtual_clock.run(pipeline.acall(down)) == "fallback"
    assert attempts == 2
    assert events == [
        ("retry", EventKind.RETRY),
        ("breaker", EventKind.STATE_CHANGE),
        ("retry", EventKind.RETRY),
        ("breaker", EventKind.REJECT),
        ("retry", EventKind.GIVE_UP),
        ("fallback", EventKind.FALLBACK),
    ]


def test_timeout_bounds_all_retries(virtual_clock: VirtualClock) -> None:
    """The outer timeout covers every retry: sleeps included, it fires at 10 virtual seconds."""
    pipeline, _ = build(virtual_clock)
    timeouts = []
    pipeline.on(EventKind.TIMEOUT, timeouts.append)

    async def slow() -> str:
        await asyncio.sleep(6.0)
        raise ConnectionError

    async def main() -> tuple[str, float]:
        result = await pipeline.acall(slow)
        return result, asyncio.get_running_loop().time()

    assert virtual_clock.run(main()) == ("fallback", 10.0)
    assert len(timeouts) == 1


def test_sync_pipeline_and_decorator(virtual_clock: VirtualClock) -> None:
    """Without a timeout, a pipeline composes sync calls; the decorator keeps metadata."""
    breaker = CircuitBreaker(CircuitBreakerConfig(window=4, minimum_calls=2), clock=virtual_clock)
    retry = Retry(RetryConfig(max_attempts=3, jitter=Jitter.NONE), clock=virtual_clock)
    calls = []

    @Pipeline(retry, breaker)
    def flaky(x: int) -> int:
        calls.append(x)
        if len(calls) < 2:
            raise ConnectionError
        return x * 2

    assert flaky(21) == 42
    assert calls == [21, 21]
    assert flaky.__name__ == "flaky"


def test_pipeline_rejects_non_strategies() -> None:
    """Only strategies compose; the message lists them."""
    with pytest.raises(InvalidConfig, match="is not a strategy"):
        Pipeline(print)  # type: ignore[arg-type]
    with pytest.raises(InvalidConfig, match="at least one strategy"):
        Pipeline()


def test_events_can_be_journaled(virtual_clock: VirtualClock) -> None:
    """journal_listener records the pipeline's events at their clock times, JSON-safe."""
    from harness.journal import Journal
    from harness.resilience import journal_listener

    pipeline, _ = build(virtual_clock)
    journal = Journal()
    pipeline.add_listener(journal_listener(journal))

    async def down() -> str:
        await asyncio.sleep(0.1)
        raise ConnectionError

    virtual_clock.run(pipeline.acall(down))
    kinds = [(e.kind, e.source) for e in journal.events]
    assert kinds[0] == ("resilience.retry", "retry")
    assert ("resilience.state_change", "breaker") in kinds
    assert kinds[-1] == ("resilience.fallback", "fallback")
    state_change = next(e for e in journal.events if e.kind == "resilience.state_change")
    assert state_change.data == {"from": "closed", "to": "open"}
    assert len(journal.digest()) >= 32
