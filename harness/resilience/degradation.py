"""Graceful degradation: switch features off by priority as resources run short.

Levels NORMAL -> PARTIAL -> MINIMAL -> EMERGENCY -> OFFLINE come from resource readings against
per-resource thresholds. Degrading is immediate (to the worst level any reading calls for).
Recovering is deliberate: readings must sit below the thresholds by ``hysteresis`` for
``recovery_period`` seconds, and then the level steps back up one level at a time, each step
needing another quiet period. A feature of priority ``p`` is enabled while
``p <= OFFLINE - level``: OPTIONAL features go first (at PARTIAL), then LOW (MINIMAL), MEDIUM
(EMERGENCY) and HIGH (OFFLINE); CRITICAL features are never switched off.

``decide(readings, now)`` is the sans-IO step; ``update(readings)`` reads the injected clock.
"""

from __future__ import annotations

import enum
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import cast

from harness._checks import finite, integer, invalid, non_negative, number
from harness.clock import Clock, SystemClock
from harness.errors import InvalidConfig
from harness.resilience.events import EventKind, EventSource, Listener

__all__ = [
    "DegradationConfig",
    "DegradationLevel",
    "DegradationManager",
    "FeaturePriority",
    "LevelChange",
    "ResourceThresholds",
]


class DegradationLevel(enum.IntEnum):
    """How degraded the service is; higher is worse."""

    NORMAL = 0
    PARTIAL = 1
    MINIMAL = 2
    EMERGENCY = 3
    OFFLINE = 4


class FeaturePriority(enum.IntEnum):
    """How important a feature is; higher values are switched off first."""

    CRITICAL = 0
    HIGH = 1
    MEDIUM = 2
    LOW = 3
    OPTIONAL = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceThresholds:
    """Readings of ``resource`` at or above which each level applies (strictly increasing)."""

    resource: str
    partial: float
    minimal: float
    emergency: float
    offline: float

    def __post_init__(self) -> None:
        if not self.resource:
            raise invalid("resource", self.resource, "a non-empty name", "for example 'cpu'")
        values = (self.partial, self.minimal, self.emergency, self.offline)
        for level, v in zip(("partial", "minimal", "emergency", "offline"), values, strict=True):
            finite(f"{self.resource}.{level}", v, "a reading of the resource at which the level starts")
        if list(values) != sorted(set(values)):
            raise InvalidConfig(
                f"{self.resource}: thresholds {values!r} must strictly increase from partial to offline; "
                "for example partial=0.7, minimal=0.8, emergency=0.9, offline=0.97.",
                field=self.resource,
                value=values,
            )

    def level(self, reading: float) -> DegradationLevel:
        """The level a reading calls for."""
        for lvl, limit in (
            (DegradationLevel.OFFLINE, self.offline),
            (DegradationLevel.EMERGENCY, self.emergency),
            (DegradationLevel.MINIMAL, self.minimal),
            (DegradationLevel.PARTIAL, self.partial),
        ):
            if reading >= limit:
                return lvl
        return DegradationLevel.NORMAL


_DEFAULT_THRESHOLDS = (
    ResourceThresholds(resource="cpu", partial=0.70, minimal=0.80, emergency=0.90, offline=0.97),
    ResourceThresholds(resource="memory", partial=0.75, minimal=0.85, emergency=0.93, offline=0.98),
    ResourceThresholds(resource="error_rate", partial=0.05, minimal=0.10, emergency=0.25, offline=0.50),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DegradationConfig:
    """Thresholds per resource, the recovery margin and the quiet period before stepping up."""

    thresholds: tuple[ResourceThresholds, ...] = _DEFAULT_THRESHOLDS
    hysteresis: float = 0.05
    """Readings must be this far below a threshold to count as recovered from it."""
    recovery_period: float = 30.0
    """Seconds of recovered readings before each one-level step back up."""
    history: int = 1000
    """Level changes kept."""

    def __post_init__(self) -> None:
        if not self.thresholds:
            raise InvalidConfig("thresholds must name at least one resource.", field="thresholds", value=())
        names = [t.resource for t in self.thresholds]
        if len(set(names)) != len(names):
            msg = f"thresholds name a resource twice: {names!r}; give each resource one entry."
            raise InvalidConfig(msg, field="thresholds", value=names)
        non_negative(
            "hysteresis", self.hysteresis, "how far a reading must fall below a threshold to step up"
        )
        non_negative(
            "recovery_period", self.recovery_period, "0 steps up as soon as readings recover", unit="seconds"
        )
        integer("history", self.history, "for example 1000 level changes.", at_least=1)


@dataclass(frozen=True, slots=True)
class LevelChange:
    """The level moved ``from_level`` -> ``to_level`` at ``at`` on these ``readings``."""

    at: float
    from_level: DegradationLevel
    to_level: DegradationLevel
    readings: Mapping[str, float] = field(default_factory=dict)


class DegradationManager(EventSource):
    """Tracks the degradation level from readings and answers ``is_enabled(feature)``."""

    def __init__(
        self,
        config: DegradationConfig | None = None,
        *,
        features: Mapping[str, FeaturePriority] | None = None,
        name: str = "degradation",
        clock: Clock | None = None,
    ) -> None:
        self._cfg = config if config is not None else DegradationConfig()
        self._by_resource = {t.resource: t for t in self._cfg.thresholds}
        self.name = name
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._features: dict[str, FeaturePriority] = {}
        for feature, priority in (features or {}).items():
            self.register(feature, priority)
        self._level = DegradationLevel.NORMAL
        self._calm_since: float | None = None
        self._history: deque[LevelChange] = deque(maxlen=self._cfg.history)
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[LevelChange], None]] = []
        self._listeners: list[Listener] = []

    @property
    def config(self) -> DegradationConfig:
        """The configuration."""
        return self._cfg

    @property
    def level(self) -> DegradationLevel:
        """The current level."""
        return self._level

    def register(self, feature: str, priority: FeaturePriority) -> None:
        """Declare ``feature`` with its ``priority``."""
        if not isinstance(cast(object, priority), FeaturePriority):
            valid = ", ".join(p.name.lower() for p in FeaturePriority)
            raise InvalidConfig(
                f"priority {priority!r} for {feature!r} is not a FeaturePriority; valid: {valid}",
                field="priority",
                value=priority,
            )
        self._features[feature] = priority

    def is_enabled(self, feature: str) -> bool:
        """Whether ``feature`` is on at the current level."""
        try:
            priority = self._features[feature]
        except KeyError:
            known = ", ".join(sorted(self._features)) or "(none)"
            raise InvalidConfig(
                f"unknown feature {feature!r}; register it first. Registered: {known}",
                field="feature",
                value=feature,
            ) from None
        return priority <= DegradationLevel.OFFLINE - self._level

    def enabled_features(self) -> list[str]:
        """The features on at the current level, sorted."""
        return sorted(f for f in self._features if self.is_enabled(f))

    def on_level_change(self, callback: Callable[[LevelChange], None]) -> None:
        """Call ``callback(change)`` after every level change."""
        self._callbacks.append(callback)

    def history(self, limit: int = 100) -> list[LevelChange]:
        """The newest ``limit`` level changes, newest first."""
        with self._lock:
            return list(self._history)[::-1][:limit]

    def _target(self, readings: Mapping[str, float], margin: float) -> DegradationLevel:
        worst = DegradationLevel.NORMAL
        for resource, value in readings.items():
            limits = self._by_resource.get(resource)
            if limits is None:
                continue
            number(resource, value, "a reading of the resource")
            worst = max(worst, limits.level(value + margin))
        return worst

    def decide(self, readings: Mapping[str, float], now: float) -> DegradationLevel:
        """The sans-IO step: apply ``readings`` taken at ``now``; returns the new level."""
        with self._lock:
            change = self._step(readings, now)
        if change is not None:
            for cb in tuple(self._callbacks):
                cb(change)
            data = {"from": change.from_level.name.lower(), "to": change.to_level.name.lower()}
            self._emit(EventKind.MODE_CHANGE, self.name, now, data)
        return self._level

    def _step(self, readings: Mapping[str, float], now: float) -> LevelChange | None:
        current = self._level
        target = self._target(readings, 0.0)
        if target > current:
            self._calm_since = None
            return self._move(target, now, readings)
        calm = self._target(readings, self._cfg.hysteresis)
        if calm >= current:
            self._calm_since = None
            return None
        if self._calm_since is None:
            self._calm_since = now
        if now - self._calm_since < self._cfg.recovery_period:
            return None
        self._calm_since = now
        return self._move(DegradationLevel(current - 1), now, readings)

    def _move(self, to: DegradationLevel, now: float, readings: Mapping[str, float]) -> LevelChange:
        change = LevelChange(now, self._level, to, dict(readings))
        self._level = to
        self._history.append(change)
        return change

    def update(self, readings: Mapping[str, float]) -> DegradationLevel:
        """Apply ``readings`` at the clock's current time; returns the new level."""
        return self.decide(readings, self.clock.now())
