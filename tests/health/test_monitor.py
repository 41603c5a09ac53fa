"""HealthMonitor: rounds, overall status, score, trend, concurrency, continuous monitoring."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.health import (
    CallableCheck,
    HealthMonitor,
    HealthMonitorConfig,
    HealthReport,
    HealthStatus,
    MemorySink,
    Trend,
)


def fixed(name: str, status: HealthStatus, delay: float = 0.0) -> CallableCheck:
    async def probe() -> HealthStatus:
        if delay:
            await asyncio.sleep(delay)
        return status

    return CallableCheck(name, probe, timeout=60.0)


def test_round_reports_each_check_and_the_worst_status(health_monitor: HealthMonitor) -> None:
    """The overall status is the worst critical check; every result is in the report."""
    health_monitor.register(fixed("a", HealthStatus.HEALTHY))
    health_monitor.register(fixed("b", HealthStatus.DEGRADED))
    report = health_monitor.clock.run(health_monitor.run_round())  # type: ignore[attr-defined]
    assert report.status is HealthStatus.DEGRADED
    assert list(report.checks) == ["a", "b"]
    assert report.degraded == ("b",)
    assert report.score == 75.0
    assert report.round == 1


def test_non_critical_unhealthy_check_only_degrades(virtual_clock: VirtualClock) -> None:
    """An UNHEALTHY non-critical check makes the whole DEGRADED, not UNHEALTHY."""
    monitor = HealthMonitor(clock=virtual_clock)
    monitor.register(fixed("core", HealthStatus.HEALTHY))
    monitor.register(fixed("cache", HealthStatus.UNHEALTHY), critical=False)
    report = virtual_clock.run(monitor.run_round())
    assert report.status is HealthStatus.DEGRADED
    assert report.unhealthy == ("cache",)


def test_score_is_weighted(virtual_clock: VirtualClock) -> None:
    """Weights set each check's share of the 0-100 score."""
    monitor = HealthMonitor(clock=virtual_clock)
    monitor.register(fixed("big", HealthStatus.HEALTHY), weight=3.0)
    monitor.register(fixed("small", HealthStatus.UNHEALTHY), weight=1.0)
    assert virtual_clock.run(monitor.run_round()).score == 75.0


def test_no_checks_is_healthy_with_full_score(virtual_clock: VirtualClock) -> None:
    """Nothing registered: HEALTHY, 100."""
    report = virtual_clock.run(HealthMonitor(clock=virtual_clock).run_round())
    assert (report.status, report.score, report.trend) == (HealthStatus.HEALTHY, 100.0, Trend.STABLE)


def test_checks_run_concurrently_within_the_bound(virtual_clock: VirtualClock) -> None:
    """Ten 1-second checks with a bound of 5 take 2 virtual seconds and never exceed 5 at once."""
    running = 0
    peak = 0

    async def probe() -> bool:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(1.0)
        running -= 1
        return True

    monitor = HealthMonitor(clock=virtual_clock, config=HealthMonitorConfig(max_concurrency=5))
    for i in range(10):
        monitor.register(CallableCheck(f"c{i}", probe))
    report = virtual_clock.run(monitor.run_round())
    assert peak == 5
    assert report.duration == pytest.approx(2.0)
    assert all(r.duration == pytest.approx(1.0) for r in report.checks.values())


def test_check_that_raises_despite_the_protocol_is_unhealthy(virtual_clock: VirtualClock) -> None:
    """A HealthCheck implementation that raises is reported UNHEALTHY; the round completes."""

    class Rude:
        name = "rude"

        async def check(self) -> Any:
            raise RuntimeError("oops")

    monitor = HealthMonitor(clock=virtual_clock)
    monitor.register(Rude())
    report = virtual_clock.run(monitor.run_round())
    assert report.checks["rude"].status is HealthStatus.UNHEALTHY
    assert "RuntimeError: oops" in report.checks["rude"].message


def test_duplicate_names_and_non_checks_are_rejected(virtual_clock: VirtualClock) -> None:
    """Check names are unique; objects without check() are refused."""
    monitor = HealthMonitor(clock=virtual_clock)
    monitor.register(fixed("a", HealthStatus.HEALTHY))
    with pytest.raises(InvalidConfig, match="already registered"):
        monitor.register(fixed("a", HealthStatus.HEALTHY))
    with pytest.raises(InvalidConfig, match="is not a HealthCheck"):
        monitor.register(object())  # type: ignore[arg-type]
    with pytest.raises(InvalidConfig, match="weight=0"):
        monitor.register(fixed("b", HealthStatus.HEALTHY), weight=0)
    assert monitor.unregister("a")
    assert not monitor.unregister("a")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"interval": 0}, "interval=0"),
        ({"max_concurrency": 0}, "max_concurrency=0"),
        ({"trend_window": 1.5}, "trend_window=1.5"),
        ({"trend_threshold": -1}, "trend_threshold=-1"),
        ({"round_timeout": 0}, "round_timeout=0"),
    ],
)
def test_config_rejects_bad_values(kwargs: dict[str, Any], match: str) -> None:
    """Bad monitor settings fail at construction, quoting the value."""
    with pytest.raises(InvalidConfig, match=match):
        HealthMonitorConfig(**kwargs)


def test_continuous_monitoring_runs_on_the_interval(virtual_clock: VirtualClock) -> None:
    """run(rounds=4) starts a round every interval seconds of virtual time."""
    monitor = HealthMonitor(clock=virtual_clock, config=HealthMonitorConfig(interval=10.0))
    monitor.register(fixed("a", HealthStatus.HEALTHY, delay=1.5))
    virtual_clock.run(monitor.run(rounds=4))
    assert [r.at for r in monitor.history()] == [1.5, 11.5, 21.5, 31.5]


def test_start_and_stop_monitor_in_background(virtual_clock: VirtualClock) -> None:
    """The background task runs rounds until stopped; stop() cancels it cleanly."""
    monitor = HealthMonitor(clock=virtual_clock, config=HealthMonitorConfig(interval=5.0))
    monitor.register(fixed("a", HealthStatus.HEALTHY))

    async def scenario() -> int:
        async with monitor:
            await asyncio.sleep(22.0)
        rounds = len(monitor.history())
        await asyncio.sleep(100.0)
        assert len(monitor.history()) == rounds
        return rounds

    assert virtual_clock.run(scenario()) == 5  # rounds at t = 0, 5, 10, 15, 20


def test_trend_follows_the_score(virtual_clock: VirtualClock) -> None:
    """Falling scores read DEGRADING, rising IMPROVING, flat STABLE."""
    status = {"now": HealthStatus.HEALTHY}
    monitor = HealthMonitor(clock=virtual_clock, config=HealthMonitorConfig(trend_window=4))
    for i in range(4):
        monitor.register(
            CallableCheck(f"c{i}", lambda i=i: HealthStatus.UNHEALTHY if i < status["n"] else True)
        )

    def round_with(n: int) -> HealthReport:
        status["n"] = n  # type: ignore[assignment]
        return virtual_clock.run(monitor.run_round())

    assert [round_with(n).trend for n in (0, 0, 0)] == [Trend.STABLE] * 3
    assert [round_with(n).trend for n in (1, 2, 3)][-1] is Trend.DEGRADING
    assert [round_with(n).trend for n in (2, 1, 0, 0)][-1] is Trend.IMPROVING


def test_subscribers_receive_reports_and_a_broken_one_is_logged(
    virtual_clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Every subscriber (sync or async) gets the report; one that raises does not stop the others."""
    seen: list[int] = []

    def broken(report: HealthReport) -> None:
        raise ValueError("subscriber bug")

    async def good(report: HealthReport) -> None:
        seen.append(report.round)

    monitor = HealthMonitor(clock=virtual_clock)
    monitor.subscribe(broken)
    unsubscribe = monitor.subscribe(good)
    with caplog.at_level(logging.ERROR, logger="harness.health"):
        virtual_clock.run(monitor.run_round())
        unsubscribe()
        virtual_clock.run(monitor.run_round())
    assert seen == [1]
    assert "subscriber bug" in caplog.text


def test_metrics_reach_the_sink(virtual_clock: VirtualClock) -> None:
    """Each round reports score, per-check status, durations and failures to the sink."""
    sink = MemorySink()
    monitor = HealthMonitor(clock=virtual_clock, sink=sink)
    monitor.register(fixed("ok", HealthStatus.HEALTHY, delay=0.25))
    monitor.register(fixed("bad", HealthStatus.UNHEALTHY))
    virtual_clock.run(monitor.run(rounds=2))
    assert sink.value("health_score") == 50.0
    assert sink.value("health_check_status", {"check": "bad"}) == 0.0
    assert sink.value("health_check_failures", {"check": "bad"}) == 2.0
    assert sink.value("health_check_failures", {"check": "ok"}) is None
    assert sink.observations("health_check_duration_seconds", {"check": "ok"}) == [0.25, 0.25]
    assert sink.value("health_rounds") == 2.0


class _Breaker:
    def __init__(self, name: str, state: str) -> None:
        self.name, self._state = name, state

    def metrics(self) -> dict[str, Any]:
        return {"state": self._state, "calls": 3}


def test_report_context_counts_failed_components(virtual_clock: VirtualClock) -> None:
    """The context has the variables health rules and fallback cascades read."""
    monitor = HealthMonitor(clock=virtual_clock)
    monitor.register(fixed("redis-main", HealthStatus.UNHEALTHY))
    monitor.register(fixed("api", HealthStatus.DEGRADED))
    monitor.track_breaker(_Breaker("pay", "open"))
    monitor.track_breaker(_Breaker("search", "half_open"))
    monitor.track_retry(lambda: {"failures": 7}, name="fetch")
    report = virtual_clock.run(monitor.run_round())
    ctx = report.context()
    assert ctx["failed_components"] == 2.0
    assert ctx["open_circuits"] == 1.0
    assert ctx["half_open_circuits"] == 1.0
    assert ctx["retry_failures"] == 7.0
    assert ctx["redis_main_status"] == 2.0
    assert ctx["api_status"] == 1.0
    assert ctx["status"] == 2.0
    data = report.as_dict()
    assert data["breakers"]["pay"]["state"] == "open"
    assert data["checks"]["api"]["status"] == "degraded"


def test_monitor_cannot_start_twice(virtual_clock: VirtualClock) -> None:
    """A second start() while running is a usage error."""
    monitor = HealthMonitor(clock=virtual_clock)

    async def scenario() -> None:
        monitor.start()
        try:
            with pytest.raises(InvalidConfig, match="already running"):
                monitor.start()
        finally:
            await monitor.stop()

    virtual_clock.run(scenario())


def test_round_timeout_reports_hung_checks(virtual_clock: VirtualClock) -> None:
    """A check that never returns (and has no timeout of its own) is UNHEALTHY after round_timeout."""

    class Hung:
        name = "hung"

        async def check(self) -> Any:
            await asyncio.Event().wait()

    monitor = HealthMonitor(clock=virtual_clock, config=HealthMonitorConfig(round_timeout=20.0))
    monitor.register(Hung())
    monitor.register(fixed("ok", HealthStatus.HEALTHY, delay=1.0))
    report = virtual_clock.run(monitor.run_round())
    assert report.checks["hung"].status is HealthStatus.UNHEALTHY
    assert report.checks["hung"].message == "no result within the round timeout of 20s"
    assert report.checks["ok"].status is HealthStatus.HEALTHY
    assert report.duration == pytest.approx(20.0)


def test_broken_statistics_source_is_reported_not_fatal(virtual_clock: VirtualClock) -> None:
    """A tracked breaker whose metrics() raises shows the error in the report; the round completes."""

    class Broken:
        name = "broken"

        def metrics(self) -> dict[str, Any]:
            raise RuntimeError("no metrics today")

    monitor = HealthMonitor(clock=virtual_clock)
    monitor.track_breaker(Broken())
    report = virtual_clock.run(monitor.run_round())
    assert report.breakers["broken"] == {"error": "RuntimeError: no metrics today"}


def test_checks_that_answer_at_once_need_no_extra_tasks(virtual_clock: VirtualClock) -> None:
    """Workers beyond the round's own task start only when a check suspends."""
    seen: list[int] = []

    def probe() -> bool:
        seen.append(len(asyncio.all_tasks()))
        return True

    monitor = HealthMonitor(clock=virtual_clock, config=HealthMonitorConfig(max_concurrency=8))
    for i in range(20):
        monitor.register(CallableCheck(f"c{i}", probe))
    virtual_clock.run(monitor.run_round())
    assert seen == [1] * 20
