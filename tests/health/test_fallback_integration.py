"""A FallbackManager driven by health reports: the report context is the state it cascades on."""

from __future__ import annotations

from harness.clock import VirtualClock
from harness.health import (
    AutoRepair,
    BreakerHealthCheck,
    CallableCheck,
    HealthMonitor,
    HealthStatus,
    RepairRule,
)
from harness.resilience import CircuitBreaker, CircuitBreakerConfig, FallbackManager, FallbackMode


def breaker(clock: VirtualClock) -> CircuitBreaker:
    config = CircuitBreakerConfig(window=4, minimum_calls=2, failure_rate_threshold=0.5, open_for=30.0)
    return CircuitBreaker(config, name="payments", clock=clock)


def test_fallback_manager_cascades_on_monitor_reports(virtual_clock: VirtualClock) -> None:
    """Reports drive a FallbackManager: an open circuit is HEURISTIC, two failures SAFE, recovery PRIMARY."""
    state = {"db": HealthStatus.HEALTHY}
    cb = breaker(virtual_clock)
    monitor = HealthMonitor(clock=virtual_clock)
    monitor.register(CallableCheck("db", lambda: state["db"]))
    monitor.register(BreakerHealthCheck(cb))
    monitor.track_breaker(cb)
    manager = FallbackManager(clock=virtual_clock)
    monitor.subscribe(lambda report: manager.update(report.context()) and None)

    def mode_after_round() -> FallbackMode:
        virtual_clock.run(monitor.run_round())
        return manager.mode

    assert mode_after_round() is FallbackMode.PRIMARY
    cb.force_open()
    assert mode_after_round() is FallbackMode.HEURISTIC
    state["db"] = HealthStatus.UNHEALTHY
    assert mode_after_round() is FallbackMode.SAFE
    state["db"] = HealthStatus.HEALTHY
    cb.close()
    assert mode_after_round() is FallbackMode.PRIMARY
    assert [t.to_mode for t in reversed(manager.recent_transitions(10))] == [
        FallbackMode.HEURISTIC,
        FallbackMode.SAFE,
        FallbackMode.PRIMARY,
    ]


def test_auto_repair_switches_fallback_mode_and_back(virtual_clock: VirtualClock) -> None:
    """A repair action pins SAFE while the score is low; another clears the pin once it recovers."""
    state = {"db": HealthStatus.UNHEALTHY}
    monitor = HealthMonitor(clock=virtual_clock)
    monitor.register(CallableCheck("db", lambda: state["db"]))
    manager = FallbackManager(clock=virtual_clock)
    repair = AutoRepair(
        [
            RepairRule(
                name="safe-mode", when="score < 50", action=lambda: manager.override(FallbackMode.SAFE)
            ),
            RepairRule(
                name="leave-safe-mode",
                when="score >= 100",
                action=manager.clear_override,
                cooldown=0.0,
                max_attempts=1,
            ),
        ],
        clock=virtual_clock,
    )
    repair.attach(monitor)
    virtual_clock.run(monitor.run_round())
    assert manager.mode is FallbackMode.SAFE
    state["db"] = HealthStatus.HEALTHY
    virtual_clock.run(monitor.run_round())
    assert manager.mode is FallbackMode.PRIMARY
    assert [r.rule for r in repair.results()] == ["safe-mode", "leave-safe-mode"]
