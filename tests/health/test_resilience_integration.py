"""Health reports built from real resilience components: breakers and retries."""

from __future__ import annotations

import pytest

from harness.clock import VirtualClock
from harness.health import BreakerHealthCheck, EventCounter, HealthMonitor, HealthStatus
from harness.resilience import CircuitBreaker, CircuitBreakerConfig, Retry, RetryConfig


def breaker(clock: VirtualClock) -> CircuitBreaker:
    config = CircuitBreakerConfig(window=4, minimum_calls=2, failure_rate_threshold=0.5, open_for=30.0)
    return CircuitBreaker(config, name="payments", clock=clock)


def test_breaker_check_follows_the_breaker_through_its_states(virtual_clock: VirtualClock) -> None:
    """OPEN is UNHEALTHY, HALF_OPEN after open_for is DEGRADED, closed again is HEALTHY."""
    cb = breaker(virtual_clock)
    check = BreakerHealthCheck(cb)
    assert virtual_clock.run(check.check()).status is HealthStatus.HEALTHY
    cb.force_open()
    result = virtual_clock.run(check.check())
    assert result.status is HealthStatus.UNHEALTHY
    assert result.details["state"] == "open"
    assert "30.0s until half-open" in result.message
    virtual_clock.advance(30.0)
    assert virtual_clock.run(check.check()).status is HealthStatus.DEGRADED
    cb.close()
    assert virtual_clock.run(check.check()).status is HealthStatus.HEALTHY


def test_breaker_opened_by_failures_shows_in_the_report(virtual_clock: VirtualClock) -> None:
    """A breaker opened by real failures is an open circuit and a failed component in the context."""
    cb = breaker(virtual_clock)

    def fail() -> None:
        raise ConnectionError("down")

    for _ in range(2):
        with pytest.raises(ConnectionError):
            cb.call(fail)
    monitor = HealthMonitor(clock=virtual_clock)
    monitor.register(BreakerHealthCheck(cb))
    monitor.track_breaker(cb)
    report = virtual_clock.run(monitor.run_round())
    assert report.status is HealthStatus.UNHEALTHY
    assert report.breakers["payments"]["state"] == "open"
    assert report.breakers["payments"]["transitions"] == 1
    assert report.breakers["payments"]["open_remaining"] == 30.0
    ctx = report.context()
    # The breaker's own check and its tracked statistics are one failed component.
    assert (ctx["open_circuits"], ctx["circuit_open"], ctx["failed_components"]) == (1.0, 1.0, 1.0)


def test_retry_statistics_are_counted_from_events(virtual_clock: VirtualClock) -> None:
    """A tracked Retry's retries and give-ups are counted and reach the context as retry_failures."""
    retry = Retry(RetryConfig(max_attempts=3, base_delay=1.0), name="fetch", clock=virtual_clock)
    monitor = HealthMonitor(clock=virtual_clock)
    monitor.track_retry(retry)

    def flaky() -> None:
        raise TimeoutError("slow upstream")

    for _ in range(2):
        with pytest.raises(TimeoutError):
            retry.call(flaky)
    report = virtual_clock.run(monitor.run_round())
    stats = report.retries["fetch"]
    assert (stats["retries"], stats["give_ups"]) == (4, 2)
    assert stats["give_up_reasons"] == {"attempts": 2}
    assert report.context()["retry_failures"] == 2.0


def test_event_counter_counts_any_event_source(virtual_clock: VirtualClock) -> None:
    """EventCounter listens to breakers too: state changes and rejections."""
    cb = breaker(virtual_clock)
    counter = EventCounter("payments").watch(cb)
    cb.force_open()
    assert not cb.allow()
    stats = counter.stats()
    assert stats["state_changes"] == 1
