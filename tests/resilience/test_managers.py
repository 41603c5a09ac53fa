"""FallbackManager and DegradationManager: rules, overrides, persistence, hysteresis, history."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from harness.clock import VirtualClock
from harness.conditions import ConditionError
from harness.errors import InvalidConfig, StorageUnavailable
from harness.resilience import (
    DegradationConfig,
    DegradationLevel,
    DegradationManager,
    FallbackManager,
    FallbackMode,
    FallbackRules,
    FeaturePriority,
    ResourceThresholds,
)
from harness.storage import MemoryStorage, RedisStorage

PRIMARY, HEURISTIC, SAFE = FallbackMode.PRIMARY, FallbackMode.HEURISTIC, FallbackMode.SAFE


def test_default_cascade(virtual_clock: VirtualClock) -> None:
    """Open circuit or many retry failures -> HEURISTIC; two failed components -> SAFE."""
    m = FallbackManager(clock=virtual_clock)
    assert m.update({}) is PRIMARY
    assert m.update({"circuit_open": True}) is HEURISTIC
    assert m.update({"retry_failures": 2}) is PRIMARY
    assert m.update({"retry_failures": 3}) is HEURISTIC
    assert m.update({"failed_components": 2, "circuit_open": False}) is SAFE
    assert m.update({"failed_components": 0}) is PRIMARY


def test_custom_rules_and_bad_rules() -> None:
    """Rules are conditions; a bad rule fails at construction with its position."""
    rules = FallbackRules(heuristic_when="error_rate > 0.1", safe_when="error_rate > 0.5 and qps < 10")
    m = FallbackManager(rules)
    assert m.update({"error_rate": 0.2, "qps": 100}) is HEURISTIC
    assert m.update({"error_rate": 0.6, "qps": 5}) is SAFE
    with pytest.raises(ConditionError) as info:
        FallbackRules(safe_when="failed_components >>= 2")
    assert info.value.position == 19


def test_override_callbacks_and_metrics(virtual_clock: VirtualClock) -> None:
    """A manual override wins over the rules until cleared; callbacks and metrics follow."""
    m = FallbackManager(clock=virtual_clock)
    seen = []
    m.on_mode_change(lambda t: seen.append((t.from_mode, t.to_mode, t.at)))
    virtual_clock.advance(10.0)
    m.override(SAFE, "maintenance")
    assert m.update({}) is SAFE
    virtual_clock.advance(5.0)
    m.update({"circuit_open": True})
    m.clear_override()
    assert m.mode is HEURISTIC
    virtual_clock.advance(1.0)
    metrics = m.metrics()
    assert metrics.transitions == 2
    assert metrics.time_in_mode[PRIMARY] == 10.0
    assert metrics.time_in_mode[SAFE] == 5.0
    assert metrics.time_in_mode[HEURISTIC] == 1.0
    assert seen == [(PRIMARY, SAFE, 10.0), (SAFE, HEURISTIC, 15.0)]
    with pytest.raises(InvalidConfig, match="not a fallback mode; valid: primary, heuristic, safe"):
        FallbackMode.parse("degraded")


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_transitions_are_persisted_and_queryable(backend: str, virtual_clock: VirtualClock) -> None:
    """Each transition lands under fallback:transition:<timestamp>; transitions(limit) reads them back."""

    async def main() -> None:
        storage = MemoryStorage(clock=virtual_clock) if backend == "memory" else RedisStorage.embedded()
        m = FallbackManager(clock=virtual_clock, storage=storage)
        for health in ({"circuit_open": True}, {"failed_components": 3}, {}, {"retry_failures": 9}):
            virtual_clock.advance(1.5)
            await m.aupdate(health)
        keys = await storage.scan("fallback:transition:")
        assert len(keys) == 4
        assert keys[0].startswith("fallback:transition:0000000001.500000")
        newest = await m.transitions(limit=2)
        assert [(t.from_mode, t.to_mode) for t in newest] == [(PRIMARY, HEURISTIC), (SAFE, PRIMARY)]
        fresh = FallbackManager(clock=virtual_clock, storage=storage)
        assert [t.at for t in await fresh.transitions(10)] == [6.0, 4.5, 3.0, 1.5]
        await storage.close()

    virtual_clock.run(main())


class FallbackMachine(RuleBasedStateMachine):
    """The mode always equals the override if set, else the rule decision for the last health."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock()
        self.m = FallbackManager(clock=self.clock)
        self.override: FallbackMode | None = None
        self.rule_mode = PRIMARY
        self.changes = 0
        self.m.on_mode_change(lambda t: self._count(t.from_mode, t.to_mode))

    def _count(self, a: FallbackMode, b: FallbackMode) -> None:
        assert a is not b
        self.changes += 1

    @rule(circuit=st.booleans(), retries=st.integers(0, 6), failed=st.integers(0, 4), dt=st.floats(0, 10))
    def health(self, circuit: bool, retries: int, failed: int, dt: float) -> None:
        self.clock.advance(dt)
        self.m.update({"circuit_open": circuit, "retry_failures": retries, "failed_components": failed})
        self.rule_mode = SAFE if failed >= 2 else HEURISTIC if circuit or retries >= 3 else PRIMARY

    @rule(mode=st.sampled_from(FallbackMode))
    def pin(self, mode: FallbackMode) -> None:
        self.m.override(mode)
        self.override = mode

    @rule()
    def unpin(self) -> None:
        self.m.clear_override()
        self.override = None

    @invariant()
    def mode_is_override_or_rules(self) -> None:
        expected = self.override if self.override is not None else self.rule_mode
        assert self.m.mode is expected

    @invariant()
    def every_change_recorded(self) -> None:
        metrics = self.m.metrics()
        assert metrics.transitions == self.changes
        assert len(self.m.recent_transitions(10_000)) == self.changes
        assert sum(metrics.time_in_mode.values()) == pytest.approx(self.clock.now())


TestFallbackMachine = FallbackMachine.TestCase
TestFallbackMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)


# -- Degradation ---------------------------------------------------------------------------------

CPU = ResourceThresholds(resource="cpu", partial=0.5, minimal=0.6, emergency=0.7, offline=0.8)


def features() -> dict[str, FeaturePriority]:
    return {
        "checkout": FeaturePriority.CRITICAL,
        "search": FeaturePriority.HIGH,
        "reviews": FeaturePriority.MEDIUM,
        "recommendations": FeaturePriority.LOW,
        "confetti": FeaturePriority.OPTIONAL,
    }


def test_degradation_config_validation() -> None:
    """Non-increasing thresholds, duplicates and negative periods are refused."""
    with pytest.raises(InvalidConfig, match="must strictly increase"):
        ResourceThresholds(resource="cpu", partial=0.9, minimal=0.8, emergency=0.95, offline=0.99)
    with pytest.raises(InvalidConfig, match="twice"):
        DegradationConfig(thresholds=(CPU, CPU))
    with pytest.raises(InvalidConfig, match="recovery_period=-1"):
        DegradationConfig(recovery_period=-1)


def test_degrades_at_once_and_switches_features_by_priority(virtual_clock: VirtualClock) -> None:
    """Readings jump straight to the worst level; lower-priority features go first."""
    d = DegradationManager(DegradationConfig(thresholds=(CPU,)), features=features(), clock=virtual_clock)
    assert d.enabled_features() == sorted(features())
    assert d.update({"cpu": 0.55}) is DegradationLevel.PARTIAL
    assert not d.is_enabled("confetti")
    assert d.is_enabled("recommendations")
    assert d.update({"cpu": 0.75}) is DegradationLevel.EMERGENCY
    assert d.enabled_features() == ["checkout", "search"]
    assert d.update({"cpu": 0.99}) is DegradationLevel.OFFLINE
    assert d.enabled_features() == ["checkout"]
    with pytest.raises(InvalidConfig, match="unknown feature 'chat'"):
        d.is_enabled("chat")


def test_recovery_needs_margin_and_stability(virtual_clock: VirtualClock) -> None:
    """Stepping back up needs readings below threshold - hysteresis for recovery_period, per level."""
    cfg = DegradationConfig(thresholds=(CPU,), hysteresis=0.05, recovery_period=10.0)
    d = DegradationManager(cfg, clock=virtual_clock)
    d.update({"cpu": 0.72})
    assert d.level is DegradationLevel.EMERGENCY
    d.update({"cpu": 0.67})  # below 0.7 but within the margin
    virtual_clock.advance(20.0)
    assert d.update({"cpu": 0.67}) is DegradationLevel.EMERGENCY
    d.update({"cpu": 0.3})
    virtual_clock.advance(9.0)
    assert d.update({"cpu": 0.3}) is DegradationLevel.EMERGENCY
    virtual_clock.advance(1.0)
    assert d.update({"cpu": 0.3}) is DegradationLevel.MINIMAL
    virtual_clock.advance(10.0)
    assert d.update({"cpu": 0.3}) is DegradationLevel.PARTIAL
    virtual_clock.advance(5.0)
    d.update({"cpu": 0.52})  # a blip above PARTIAL's threshold - margin resets the timer
    virtual_clock.advance(5.0)
    assert d.update({"cpu": 0.3}) is DegradationLevel.PARTIAL
    virtual_clock.advance(10.0)
    assert d.update({"cpu": 0.3}) is DegradationLevel.NORMAL
    levels = [(c.from_level, c.to_level) for c in reversed(d.history())]
    assert levels == [
        (DegradationLevel.NORMAL, DegradationLevel.EMERGENCY),
        (DegradationLevel.EMERGENCY, DegradationLevel.MINIMAL),
        (DegradationLevel.MINIMAL, DegradationLevel.PARTIAL),
        (DegradationLevel.PARTIAL, DegradationLevel.NORMAL),
    ]


class DegradationMachine(RuleBasedStateMachine):
    """Invariants: never better than readings allow; recovery only after a quiet period, one step."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock()
        self.cfg = DegradationConfig(thresholds=(CPU,), hysteresis=0.05, recovery_period=5.0)
        self.d = DegradationManager(self.cfg, features=features(), clock=self.clock)
        self.last_raise = 0.0
        self.calm_since: float | None = None

    @rule(cpu=st.floats(0.0, 1.0), dt=st.floats(0.0, 8.0))
    def reading(self, cpu: float, dt: float) -> None:
        self.clock.advance(dt)
        before = self.d.level
        after = self.d.update({"cpu": cpu})
        now = self.clock.now()
        assert after >= CPU.level(cpu)
        if after < before:
            assert after == before - 1
            assert CPU.level(cpu + 0.05) < before
            assert self.calm_since is not None
            assert now - self.calm_since >= 5.0
            self.calm_since = now
        elif CPU.level(cpu + 0.05) < after:
            if self.calm_since is None:
                self.calm_since = now
        else:
            self.calm_since = None

    @invariant()
    def features_follow_level(self) -> None:
        level = self.d.level
        for name, priority in features().items():
            assert self.d.is_enabled(name) == (priority <= 4 - level)
        assert self.d.is_enabled("checkout")


TestDegradationMachine = DegradationMachine.TestCase
TestDegradationMachine.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)


def test_storage_outage_does_not_stop_mode_changes(virtual_clock: VirtualClock) -> None:
    """With the store down, aupdate still changes mode; the queued transitions land later."""

    class Flaky(MemoryStorage):
        down = False

        def _check(self, key: str) -> None:
            if self.down:
                raise StorageUnavailable("down", url="memory://flaky")
            super()._check(key)

    async def main() -> None:
        storage = Flaky(clock=virtual_clock)
        m = FallbackManager(clock=virtual_clock, storage=storage)
        storage.down = True
        assert await m.aupdate({"circuit_open": True}) is HEURISTIC
        assert await m.aupdate({"failed_components": 2}) is SAFE
        assert (m.metrics().unsaved, m.storage_errors) == (2, 2)
        storage.down = False
        assert await m.persist() == 2
        assert [t.to_mode for t in await m.transitions(5)] == [SAFE, HEURISTIC]
        assert m.metrics().unsaved == 0

    virtual_clock.run(main())
