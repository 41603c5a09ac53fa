"""AutoRepair: condition rules, cooldowns, attempt limits, recorded results, monitor wiring."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from harness.clock import VirtualClock
from harness.conditions import ConditionError
from harness.errors import InvalidConfig
from harness.health import (
    AutoRepair,
    CallableCheck,
    HealthMonitor,
    HealthMonitorConfig,
    HealthStatus,
    MemorySink,
    RepairOutcome,
    RepairRule,
)

T = TypeVar("T")
SPECS: dict[str, tuple[float, int]] = {"a": (10.0, 3), "b": (0.0, 1)}  # name -> (cooldown, max_attempts)


def test_rule_runs_when_condition_holds(virtual_clock: VirtualClock) -> None:
    """A rule whose condition holds runs its action once and records success and the return value."""
    calls: list[str] = []
    repair = AutoRepair(
        [
            RepairRule(
                name="restart", when="redis_status == 2", action=lambda: calls.append("x") or "restarted"
            )
        ],
        clock=virtual_clock,
    )
    assert virtual_clock.run(repair.evaluate({"redis_status": 0})) == []
    (result,) = virtual_clock.run(repair.evaluate({"redis_status": 2}))
    assert (result.rule, result.outcome, result.attempt, result.value) == (
        "restart",
        RepairOutcome.SUCCEEDED,
        1,
        "restarted",
    )
    assert calls == ["x"]


def test_cooldown_spaces_attempts(virtual_clock: VirtualClock) -> None:
    """While the condition holds, attempts are at least cooldown seconds apart."""
    repair = AutoRepair(
        [RepairRule(name="r", when="bad == 1", action=lambda: None, cooldown=30.0, max_attempts=10)],
        clock=virtual_clock,
    )
    times = []
    for _ in range(10):
        times += [r.at for r in virtual_clock.run(repair.evaluate({"bad": 1}))]
        virtual_clock.advance(10.0)
    assert times == [0.0, 30.0, 60.0, 90.0]


def test_gives_up_after_max_attempts_until_condition_clears(virtual_clock: VirtualClock) -> None:
    """After max_attempts the rule records GAVE_UP once and waits for the condition to clear."""

    def fail() -> None:
        raise RuntimeError("still broken")

    repair = AutoRepair(
        [RepairRule(name="r", when="bad == 1", action=fail, cooldown=0.0, max_attempts=2)],
        clock=virtual_clock,
    )
    outcomes = [[r.outcome for r in virtual_clock.run(repair.evaluate({"bad": 1}))] for _ in range(4)]
    assert outcomes == [[RepairOutcome.FAILED], [RepairOutcome.FAILED], [RepairOutcome.GAVE_UP], []]
    assert repair.results()[0].error == "RuntimeError: still broken"
    assert repair.state("r").exhausted
    virtual_clock.run(repair.evaluate({"bad": 0}))
    assert [r.attempt for r in virtual_clock.run(repair.evaluate({"bad": 1}))] == [1]


def test_manual_reset_allows_new_attempts(virtual_clock: VirtualClock) -> None:
    """reset() clears the attempt count of an exhausted rule."""
    repair = AutoRepair(
        [RepairRule(name="r", when="bad == 1", action=lambda: None, cooldown=0, max_attempts=1)]
    )
    repair.clock = virtual_clock
    virtual_clock.run(repair.evaluate({"bad": 1}))
    virtual_clock.run(repair.evaluate({"bad": 1}))
    repair.reset("r")
    assert [r.outcome for r in virtual_clock.run(repair.evaluate({"bad": 1}))] == [RepairOutcome.SUCCEEDED]


def test_async_action_times_out_on_virtual_time(virtual_clock: VirtualClock) -> None:
    """An async action that overruns its timeout is recorded TIMED_OUT at the timeout."""

    async def slow() -> None:
        await asyncio.sleep(600)

    repair = AutoRepair(
        [RepairRule(name="r", when="bad == 1", action=slow, timeout=5.0)], clock=virtual_clock
    )
    (result,) = virtual_clock.run(repair.evaluate({"bad": 1}))
    assert result.outcome is RepairOutcome.TIMED_OUT
    assert result.duration == pytest.approx(5.0)


def test_python_predicates_are_accepted(virtual_clock: VirtualClock) -> None:
    """A callable predicate works where condition text does."""
    repair = AutoRepair([RepairRule(name="r", when=lambda ctx: ctx["x"] > 3, action=lambda: None)])
    repair.clock = virtual_clock
    assert virtual_clock.run(repair.evaluate({"x": 1})) == []
    assert len(virtual_clock.run(repair.evaluate({"x": 5}))) == 1


def test_bad_rules_fail_at_construction() -> None:
    """Bad conditions, limits and duplicate names are usage errors raised where the rule is written."""
    with pytest.raises(ConditionError):
        RepairRule(name="r", when="score >> 3", action=lambda: None)
    with pytest.raises(ConditionError):
        RepairRule(name="r", when="__import__('os')", action=lambda: None)
    with pytest.raises(InvalidConfig, match="max_attempts=0"):
        RepairRule(name="r", when="a > 1", action=lambda: None, max_attempts=0)
    with pytest.raises(InvalidConfig, match="cooldown=-1"):
        RepairRule(name="r", when="a > 1", action=lambda: None, cooldown=-1)
    with pytest.raises(InvalidConfig, match="must be callable"):
        RepairRule(name="r", when="a > 1", action="restart")  # type: ignore[arg-type]
    rule = RepairRule(name="r", when="a > 1", action=lambda: None)
    with pytest.raises(InvalidConfig, match="exists"):
        AutoRepair([rule, rule])


def test_attached_to_a_monitor_repairs_and_recovers(virtual_clock: VirtualClock) -> None:
    """Wired to a monitor, a repair that fixes the component stops once the check is healthy."""
    state = {"redis": HealthStatus.UNHEALTHY}

    def restart_redis() -> None:
        state["redis"] = HealthStatus.HEALTHY

    monitor = HealthMonitor(clock=virtual_clock, config=HealthMonitorConfig(interval=10.0))
    monitor.register(CallableCheck("redis", lambda: state["redis"]))
    sink = MemorySink()
    repair = AutoRepair(
        [RepairRule(name="restart-redis", when="redis_status >= 2", action=restart_redis, cooldown=60.0)],
        clock=virtual_clock,
        sink=sink,
    )
    repair.attach(monitor)
    virtual_clock.run(monitor.run(rounds=5))
    assert [(r.rule, r.at) for r in repair.results()] == [("restart-redis", 0.0)]
    assert [r.status for r in monitor.history()] == [HealthStatus.UNHEALTHY] + [HealthStatus.HEALTHY] * 4
    assert sink.value("repair_results", {"rule": "restart-redis", "outcome": "succeeded"}) == 1.0


class RepairMachine(RuleBasedStateMachine):
    """Cooldowns and attempt limits hold for any sequence of conditions, outcomes and clock moves."""

    @initialize()
    def setup(self) -> None:
        self.clock = VirtualClock()
        self.runner = asyncio.Runner(loop_factory=self.clock.loop_factory)
        self.context = {"a_bad": 0, "b_bad": 0}
        self.failing = False
        self.repair = AutoRepair(
            [
                RepairRule(
                    name=name,
                    when=f"{name}_bad == 1",
                    action=self._action,
                    cooldown=cooldown,
                    max_attempts=limit,
                )
                for name, (cooldown, limit) in SPECS.items()
            ],
            clock=self.clock,
        )
        self.episode_attempts = {"a": 0, "b": 0}
        self.gave_up = {"a": 0, "b": 0}

    def teardown(self) -> None:
        if hasattr(self, "runner"):
            self.runner.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def _action(self) -> None:
        if self.failing:
            raise RuntimeError("repair failed")

    @rule(name=st.sampled_from(["a", "b"]), bad=st.booleans())
    def set_condition(self, name: str, bad: bool) -> None:
        self.context[f"{name}_bad"] = int(bad)

    @rule(failing=st.booleans())
    def set_action_outcome(self, failing: bool) -> None:
        self.failing = failing

    @rule(dt=st.sampled_from([0.0, 1.0, 5.0, 10.0, 25.0]))
    def advance(self, dt: float) -> None:
        self.clock.advance(dt)

    @rule()
    def evaluate(self) -> None:
        results = self.run(self.repair.evaluate(dict(self.context)))
        for name in SPECS:
            if not self.context[f"{name}_bad"]:
                assert all(r.rule != name for r in results), "a rule ran while its condition was false"
                self.episode_attempts[name] = 0
                self.gave_up[name] = 0
        for result in results:
            if result.outcome is RepairOutcome.GAVE_UP:
                self.gave_up[result.rule] += 1
            else:
                self.episode_attempts[result.rule] += 1
                expected = RepairOutcome.FAILED if self.failing else RepairOutcome.SUCCEEDED
                assert result.outcome is expected
                assert result.attempt == self.episode_attempts[result.rule]

    @invariant()
    def attempts_stay_within_the_limit(self) -> None:
        if not hasattr(self, "repair"):
            return
        for name, (_, limit) in SPECS.items():
            assert self.episode_attempts[name] <= limit
            assert self.gave_up[name] <= 1
            assert self.repair.state(name).attempts == self.episode_attempts[name]

    @invariant()
    def attempts_respect_the_cooldown(self) -> None:
        if not hasattr(self, "repair"):
            return
        for name, (cooldown, _) in SPECS.items():
            times = [r.at for r in self.repair.results(rule=name) if r.outcome is not RepairOutcome.GAVE_UP]
            assert all(b - a >= cooldown for a, b in itertools.pairwise(times))


TestRepairMachine = RepairMachine.TestCase
TestRepairMachine.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
