"""AlertManager: severities, deduplication, thresholds, silences, handlers, history."""

from __future__ import annotations

import logging

import pytest

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.health import (
    AlertEvent,
    AlertEventKind,
    AlertManager,
    AlertManagerConfig,
    AlertSeverity,
    AlertThreshold,
    CallableCheck,
    Crossing,
    HealthMonitor,
    HealthStatus,
    MemorySink,
)


def collecting(manager: AlertManager) -> list[AlertEvent]:
    received: list[AlertEvent] = []
    manager.add_handler(received.append)
    return received


def test_repeated_alert_is_deduplicated(alert_manager: AlertManager) -> None:
    """Firing the same key and severity again counts it but notifies once."""
    received = collecting(alert_manager)
    for _ in range(3):
        alert_manager.fire("db", AlertSeverity.WARNING, "slow")
    assert [e.kind for e in received] == [AlertEventKind.FIRED]
    (alert,) = alert_manager.active()
    assert alert.count == 3
    assert [e.kind for e in alert_manager.history()] == [
        AlertEventKind.FIRED,
        AlertEventKind.REPEATED,
        AlertEventKind.REPEATED,
    ]


def test_severity_changes_notify_and_resolve_ends(alert_manager: AlertManager) -> None:
    """Escalation, de-escalation and resolution each notify; resolving twice is a no-op."""
    received = collecting(alert_manager)
    alert_manager.fire("db", "warning", "slow")
    alert_manager.fire("db", "critical", "down")
    alert_manager.fire("db", "warning", "slow again")
    assert alert_manager.resolve("db") is not None
    assert alert_manager.resolve("db") is None
    assert [e.kind for e in received] == [
        AlertEventKind.FIRED,
        AlertEventKind.ESCALATED,
        AlertEventKind.DEESCALATED,
        AlertEventKind.RESOLVED,
    ]
    assert alert_manager.active() == []


def test_renotify_after_repeats_an_unchanged_alert(virtual_clock: VirtualClock) -> None:
    """With renotify_after, a still-active alert notifies again once that much time has passed."""
    manager = AlertManager(clock=virtual_clock, config=AlertManagerConfig(renotify_after=60.0))
    received = collecting(manager)
    manager.fire("k", "critical", "m")
    virtual_clock.advance(30.0)
    manager.fire("k", "critical", "m")
    virtual_clock.advance(31.0)
    manager.fire("k", "critical", "m")
    assert [(e.kind, e.at) for e in received] == [
        (AlertEventKind.FIRED, 0.0),
        (AlertEventKind.REPEATED, 61.0),
    ]


def test_silence_suppresses_notifications_until_it_ends(
    alert_manager: AlertManager, virtual_clock: VirtualClock
) -> None:
    """A silenced key is recorded but not notified; after the window it notifies again."""
    received = collecting(alert_manager)
    alert_manager.silence("check:*", 300.0, reason="maintenance")
    alert_manager.fire("check:db", "critical", "down")
    alert_manager.fire("other", "info", "x")
    assert [e.alert.key for e in received] == ["other"]
    assert alert_manager.history(key="check:db")[0].silenced
    virtual_clock.advance(300.0)
    alert_manager.fire("check:db", "warning", "recovering")
    assert [e.alert.key for e in received] == ["other", "check:db"]


def test_unsilence_ends_a_silence_early(alert_manager: AlertManager) -> None:
    """unsilence() lifts a silence before it expires."""
    silence = alert_manager.silence("k", 100.0)
    assert alert_manager.silenced("k")
    assert alert_manager.unsilence(silence)
    assert not alert_manager.silenced("k")
    assert not alert_manager.unsilence(silence)


def test_thresholds_above_fire_warning_then_critical_then_resolve(alert_manager: AlertManager) -> None:
    """Crossing warning fires WARNING, crossing critical escalates, going back resolves."""
    alert_manager.add_threshold(AlertThreshold(metric="error_rate", warning=0.05, critical=0.2))
    received = collecting(alert_manager)
    alert_manager.observe("error_rate", 0.01)
    alert_manager.observe("error_rate", 0.07)
    alert_manager.observe("error_rate", 0.5)
    alert_manager.observe("error_rate", 0.0)
    assert [(e.kind, e.alert.severity) for e in received] == [
        (AlertEventKind.FIRED, AlertSeverity.WARNING),
        (AlertEventKind.ESCALATED, AlertSeverity.CRITICAL),
        (AlertEventKind.RESOLVED, AlertSeverity.CRITICAL),
    ]
    assert received[1].alert.message == "error_rate=0.5 is above critical level 0.2"
    assert received[1].alert.key == "threshold:error_rate"


def test_thresholds_below_work_on_scores(virtual_clock: VirtualClock) -> None:
    """A BELOW threshold on the health score alerts from monitor reports."""
    manager = AlertManager(
        clock=virtual_clock,
        thresholds=[AlertThreshold(metric="score", warning=80, critical=40, direction=Crossing.BELOW)],
    )
    monitor = HealthMonitor(clock=virtual_clock)
    state = {"db": HealthStatus.DEGRADED}
    monitor.register(CallableCheck("db", lambda: state["db"]))
    monitor.register(CallableCheck("api", lambda: True))
    monitor.subscribe(manager.observe_report)
    virtual_clock.run(monitor.run_round())
    keys = {a.key: a.severity for a in manager.active()}
    assert keys == {"check:db": AlertSeverity.WARNING, "threshold:score": AlertSeverity.WARNING}
    state["db"] = HealthStatus.UNHEALTHY
    virtual_clock.run(monitor.run_round())
    keys = {a.key: a.severity for a in manager.active()}
    assert keys == {"check:db": AlertSeverity.CRITICAL, "threshold:score": AlertSeverity.WARNING}
    state["db"] = HealthStatus.HEALTHY
    virtual_clock.run(monitor.run_round())
    assert manager.active() == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "x"}, "neither warning nor critical"),
        ({"metric": "x", "warning": 0.5, "critical": 0.1}, "swap them"),
        ({"metric": "x", "warning": 10, "critical": 50, "direction": Crossing.BELOW}, "swap them"),
        ({"metric": "", "warning": 1}, "needs a metric"),
    ],
)
def test_inconsistent_thresholds_are_rejected(kwargs: dict[str, object], match: str) -> None:
    """Thresholds validate at construction."""
    with pytest.raises(InvalidConfig, match=match):
        AlertThreshold(**kwargs)  # type: ignore[arg-type]


def test_bad_severity_lists_valid_values(alert_manager: AlertManager) -> None:
    """An unknown severity names the valid ones."""
    with pytest.raises(InvalidConfig, match="'urgent' is not a severity; valid: info, warning, critical"):
        alert_manager.fire("k", "urgent", "m")


def test_broken_handler_does_not_stop_the_others(
    alert_manager: AlertManager, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler that raises is logged and counted; later handlers still receive the event."""

    def broken(event: AlertEvent) -> None:
        raise RuntimeError("webhook down")

    alert_manager.add_handler(broken)
    received = collecting(alert_manager)
    with caplog.at_level(logging.ERROR):
        alert_manager.fire("k", "critical", "m")
    assert len(received) == 1
    assert alert_manager.handler_errors == 1
    assert "webhook down" in caplog.text


def test_history_is_bounded_and_filterable(virtual_clock: VirtualClock) -> None:
    """History keeps the newest history_limit events; limit= returns the newest n."""
    manager = AlertManager(clock=virtual_clock, config=AlertManagerConfig(history_limit=5))
    for i in range(8):
        manager.fire(f"k{i % 2}", "info", str(i))
    assert [e.alert.message for e in manager.history()] == ["3", "4", "5", "6", "7"]
    assert [e.alert.message for e in manager.history(key="k0", limit=1)] == ["6"]
    assert manager.history(limit=0) == []


def test_active_sorted_by_severity(alert_manager: AlertManager) -> None:
    """Active alerts come most severe first; min_severity filters."""
    alert_manager.fire("b", "info", "m")
    alert_manager.fire("a", "critical", "m")
    alert_manager.fire("c", "warning", "m")
    assert [a.key for a in alert_manager.active()] == ["a", "c", "b"]
    assert [a.key for a in alert_manager.active(min_severity=AlertSeverity.WARNING)] == ["a", "c"]


def test_async_handlers_are_refused_with_the_fix(alert_manager: AlertManager) -> None:
    """Handlers are synchronous; a coroutine function is refused with how to wrap it."""

    async def handler(event: AlertEvent) -> None:
        return None

    with pytest.raises(InvalidConfig, match="coroutine function; handlers run synchronously"):
        alert_manager.add_handler(handler)
    with pytest.raises(InvalidConfig, match="not callable"):
        AlertManager(handlers=[42])  # type: ignore[list-item]


def test_pending_for_fires_only_after_a_sustained_breach(
    alert_manager: AlertManager, virtual_clock: VirtualClock
) -> None:
    """A breach shorter than pending_for never fires; one that lasts fires once it has lasted."""
    alert_manager.add_threshold(AlertThreshold(metric="lag", warning=10, pending_for=60.0))
    received = collecting(alert_manager)
    alert_manager.observe("lag", 50)
    virtual_clock.advance(30.0)
    alert_manager.observe("lag", 1)  # recovered before 60 s: nothing fired
    virtual_clock.advance(30.0)
    alert_manager.observe("lag", 50)
    virtual_clock.advance(59.0)
    alert_manager.observe("lag", 50)
    assert received == []
    virtual_clock.advance(1.0)
    alert_manager.observe("lag", 50)
    assert [(e.kind, e.at) for e in received] == [(AlertEventKind.FIRED, 120.0)]
    with pytest.raises(InvalidConfig, match="pending_for=-1"):
        AlertThreshold(metric="lag", warning=1, pending_for=-1)


def test_alert_events_are_counted_in_the_sink(virtual_clock: VirtualClock) -> None:
    """Each event counts by kind and severity; the active gauge follows fire and resolve."""
    sink = MemorySink()
    manager = AlertManager(clock=virtual_clock, sink=sink)
    manager.fire("a", "critical", "m")
    manager.fire("a", "critical", "m")
    manager.fire("b", "warning", "m")
    assert sink.value("alert_events", {"kind": "fired", "severity": "critical"}) == 1.0
    assert sink.value("alert_events", {"kind": "repeated", "severity": "critical"}) == 1.0
    assert sink.value("alerts_active") == 2.0
    manager.resolve("a")
    assert sink.value("alerts_active") == 1.0
