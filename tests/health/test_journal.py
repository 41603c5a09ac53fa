"""Health, alert and repair events in a run's journal: recorded on the clock, reproducible."""

from __future__ import annotations

from harness.clock import VirtualClock
from harness.health import (
    AlertManager,
    AutoRepair,
    CallableCheck,
    HealthMonitor,
    HealthMonitorConfig,
    HealthStatus,
    RepairRule,
)
from harness.journal import Journal


def scenario() -> Journal:
    """A component fails at round 3, an alert fires, a repair fixes it."""
    clock = VirtualClock()
    journal = Journal(meta={"scenario": "health"})
    state = {"round": 0}

    def db() -> HealthStatus:
        state["round"] += 1
        return HealthStatus.UNHEALTHY if state["round"] == 3 else HealthStatus.HEALTHY

    monitor = HealthMonitor(clock=clock, config=HealthMonitorConfig(interval=10.0), journal=journal)
    monitor.register(CallableCheck("db", db))
    monitor.subscribe(AlertManager(clock=clock, journal=journal).observe_report)
    AutoRepair(
        [RepairRule(name="restart-db", when="db_status == 2", action=lambda: None)],
        clock=clock,
        journal=journal,
    ).attach(monitor)
    clock.run(monitor.run(rounds=5))
    return journal


def test_changes_are_journaled_in_order() -> None:
    """Only changes are recorded: the first status, the failure, the alert, the repair, the recovery."""
    events = [(e.t, e.kind, e.source, e.data.get("status") or e.data.get("outcome")) for e in scenario()]
    assert events == [
        (0.0, "health.check", "db", "healthy"),
        (0.0, "health.status", "monitor", "healthy"),
        (20.0, "health.check", "db", "unhealthy"),
        (20.0, "health.status", "monitor", "unhealthy"),
        (20.0, "alert.fired", "check:db", None),
        (20.0, "repair", "restart-db", "succeeded"),
        (30.0, "health.check", "db", "healthy"),
        (30.0, "health.status", "monitor", "healthy"),
        (30.0, "alert.resolved", "check:db", None),
    ]


def test_same_run_same_digest() -> None:
    """Two runs of the same virtual scenario produce journals with the same digest."""
    assert scenario().digest() == scenario().digest()
