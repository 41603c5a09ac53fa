"""``AlertManager``: alerts with severity, deduplication by key, thresholds, silences, history.

An alert is identified by its key. Firing a key that is already active with the same severity
only counts the repeat (no new notification, unless ``renotify_after`` has passed); a change
of severity notifies again; :meth:`AlertManager.resolve` ends it. Silences (glob patterns on
keys, for a duration on the clock) suppress notifications but the events are still recorded
in the history. Thresholds turn metric observations into alerts: above (or below) ``warning``
fires WARNING, beyond ``critical`` fires CRITICAL, back inside resolves.

Handlers are plain callables receiving an :class:`AlertEvent`; a handler that raises is logged
and counted in :attr:`AlertManager.handler_errors`, and the other handlers still run.
"""

from __future__ import annotations

import enum
import fnmatch
import inspect
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from harness._checks import integer, invalid, within
from harness.clock import Clock, SystemClock
from harness.errors import InvalidConfig
from harness.health.sinks import MetricSink, NoOpSink
from harness.health.status import HealthStatus

if TYPE_CHECKING:
    from harness.journal import Journal

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertEventKind",
    "AlertHandler",
    "AlertManager",
    "AlertManagerConfig",
    "AlertSeverity",
    "AlertThreshold",
    "Crossing",
    "Silence",
]

_log = logging.getLogger("harness.health.alerts")


class AlertSeverity(enum.Enum):
    """How urgent an alert is."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 INFO, 1 WARNING, 2 CRITICAL."""
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str | AlertSeverity) -> AlertSeverity:
        """Parse a severity by name, listing the valid ones on a bad value."""
        if isinstance(text, AlertSeverity):
            return text
        try:
            return cls(str(text).strip().lower())
        except ValueError:
            valid = ", ".join(s.value for s in cls)
            raise InvalidConfig(f"{text!r} is not a severity; valid: {valid}", value=text) from None


_SEVERITY_RANK = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.CRITICAL: 2}


class Crossing(enum.Enum):
    """Whether a threshold is crossed by going above it or below it."""

    ABOVE = "above"
    BELOW = "below"


class AlertEventKind(enum.Enum):
    """What happened to an alert."""

    FIRED = "fired"
    REPEATED = "repeated"
    ESCALATED = "escalated"
    DEESCALATED = "deescalated"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """An active (or just resolved) alert: its key, severity, message and how often it fired."""

    key: str
    severity: AlertSeverity
    message: str
    first_at: float
    last_at: float
    count: int = 1
    value: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertEvent:
    """One entry of the history: what happened, to which alert, when, and who was told."""

    kind: AlertEventKind
    alert: Alert
    at: float
    notified: bool
    silenced: bool = False


AlertHandler = Callable[[AlertEvent], object]
"""Receives each notified event (fired, escalated, de-escalated, resolved, re-notified repeat)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertThreshold:
    """A metric's warning and critical levels; crossing them raises alerts keyed ``key``."""

    metric: str
    warning: float | None = None
    critical: float | None = None
    direction: Crossing = Crossing.ABOVE
    key: str = ""  # defaults to "threshold:<metric>"
    pending_for: float = 0.0  # seconds a breach must last before it fires (Prometheus' "for")

    def __post_init__(self) -> None:
        within("pending_for", self.pending_for, "[0, inf]", "0 fires on the first breach", unit="seconds")
        if not self.metric:
            raise InvalidConfig(
                "AlertThreshold needs a metric name, e.g. metric='error_rate'.",
                field="metric",
                value=self.metric,
            )
        if self.warning is None and self.critical is None:
            raise InvalidConfig(
                f"AlertThreshold on {self.metric!r} has neither warning nor critical; set at least one.",
                field="warning",
            )
        if self.warning is not None and self.critical is not None:
            above = self.direction is Crossing.ABOVE
            if (above and self.critical < self.warning) or (not above and self.critical > self.warning):
                raise InvalidConfig(
                    f"AlertThreshold on {self.metric!r}: critical={self.critical!r} is less severe than "
                    f"warning={self.warning!r} for direction {self.direction.value}; swap them.",
                    field="critical",
                    value=self.critical,
                )
        if not self.key:
            object.__setattr__(self, "key", f"threshold:{self.metric}")

    def _crossed(self, level: float | None, value: float) -> bool:
        if level is None:
            return False
        return value >= level if self.direction is Crossing.ABOVE else value <= level

    def classify(self, value: float) -> AlertSeverity | None:
        """The severity ``value`` warrants, or ``None`` when it is inside both levels."""
        if self._crossed(self.critical, value):
            return AlertSeverity.CRITICAL
        if self._crossed(self.warning, value):
            return AlertSeverity.WARNING
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Silence:
    """Suppresses notifications for keys matching ``pattern`` (a glob) until ``until``."""

    pattern: str
    until: float
    reason: str = ""

    def matches(self, key: str, now: float) -> bool:
        """Whether this silence covers ``key`` at ``now``."""
        return now < self.until and fnmatch.fnmatchcase(key, self.pattern)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertManagerConfig:
    """History size and re-notification of unchanged active alerts."""

    history_limit: int = 1000
    renotify_after: float | None = None  # seconds; None: an unchanged alert notifies once

    def __post_init__(self) -> None:
        integer("history_limit", self.history_limit, "alert events kept", at_least=1)
        if self.renotify_after is not None:
            fix = "or None to notify once per change"
            within("renotify_after", self.renotify_after, "(0, inf]", fix, unit="seconds")


_STATUS_SEVERITY = {
    HealthStatus.DEGRADED: AlertSeverity.WARNING,
    HealthStatus.UNHEALTHY: AlertSeverity.CRITICAL,
}


class AlertManager:
    """Raises, deduplicates, silences and records alerts; notifies handlers of changes.

    Every recorded event counts in the sink as ``alert_events{kind, severity}``, and
    ``alerts_active`` gauges the active alerts; with a ``journal`` each event is also recorded
    there as ``alert.<kind>``.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        config: AlertManagerConfig | None = None,
        thresholds: Iterable[AlertThreshold] = (),
        handlers: Iterable[AlertHandler] = (),
        sink: MetricSink | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.config = config if config is not None else AlertManagerConfig()
        self.sink: MetricSink = sink if sink is not None else NoOpSink()
        self.journal = journal
        self._thresholds: dict[str, list[AlertThreshold]] = {}
        for threshold in thresholds:
            self.add_threshold(threshold)
        self._handlers: list[AlertHandler] = [_check_handler(h) for h in handlers]
        self._active: dict[str, Alert] = {}
        self._notified_at: dict[str, float] = {}
        self._silences: list[Silence] = []
        self._breached_since: dict[str, float] = {}
        self._history: deque[AlertEvent] = deque(maxlen=self.config.history_limit)
        self.handler_errors = 0

    def add_threshold(self, threshold: AlertThreshold) -> None:
        """Watch ``threshold.metric`` in :meth:`observe`."""
        self._thresholds.setdefault(threshold.metric, []).append(threshold)

    def add_handler(self, handler: AlertHandler) -> None:
        """Notify ``handler`` of every change that is not silenced (handlers are synchronous)."""
        self._handlers.append(_check_handler(handler))

    def silence(self, pattern: str, duration: float, *, reason: str = "") -> Silence:
        """Suppress notifications for keys matching the glob ``pattern`` for ``duration`` seconds."""
        within("duration", duration, "(0, inf]", "how long the silence lasts", unit="seconds")
        silence = Silence(pattern=pattern, until=self.clock.now() + duration, reason=reason)
        self._silences.append(silence)
        return silence

    def unsilence(self, silence: Silence) -> bool:
        """End ``silence`` early; ``True`` if it was in force."""
        if silence in self._silences:
            self._silences.remove(silence)
            return True
        return False

    def silenced(self, key: str) -> bool:
        """Whether notifications for ``key`` are suppressed now."""
        now = self.clock.now()
        self._silences = [s for s in self._silences if s.until > now]
        return any(s.matches(key, now) for s in self._silences)

    def fire(
        self, key: str, severity: AlertSeverity | str, message: str, *, value: float | None = None
    ) -> AlertEvent:
        """Raise (or repeat) the alert ``key``; returns the recorded event."""
        if not key:
            raise invalid("key", key, "a non-empty string", "e.g. 'check:redis'")
        severity = AlertSeverity.parse(severity)
        now = self.clock.now()
        current = self._active.get(key)
        if current is None:
            alert = Alert(key=key, severity=severity, message=message, first_at=now, last_at=now, value=value)
            kind = AlertEventKind.FIRED
        else:
            alert = replace(
                current, severity=severity, message=message, last_at=now, count=current.count + 1, value=value
            )
            kind = _change_kind(current.severity, severity)
        self._active[key] = alert
        return self._record(kind, alert, now)

    def resolve(self, key: str, message: str = "resolved") -> AlertEvent | None:
        """End the alert ``key``; ``None`` if it was not active."""
        current = self._active.pop(key, None)
        if current is None:
            return None
        now = self.clock.now()
        alert = replace(current, message=message, last_at=now)
        return self._record(AlertEventKind.RESOLVED, alert, now)

    def observe(self, metric: str, value: float) -> list[AlertEvent]:
        """Compare ``value`` with ``metric``'s thresholds; fire, repeat or resolve accordingly."""
        events = []
        now = self.clock.now()
        for threshold in self._thresholds.get(metric, ()):
            severity = threshold.classify(value)
            if severity is None:
                self._breached_since.pop(threshold.key, None)
                event = self.resolve(threshold.key, f"{metric}={value:g} back within thresholds")
            elif now - self._breached_since.setdefault(threshold.key, now) < threshold.pending_for:
                event = None  # pending: the breach has not lasted long enough yet
            else:
                level = threshold.critical if severity is AlertSeverity.CRITICAL else threshold.warning
                message = (
                    f"{metric}={value:g} is {threshold.direction.value} {severity.value} level {level:g}"
                )
                event = self.fire(threshold.key, severity, message, value=value)
            if event is not None:
                events.append(event)
        return events

    def observe_report(self, report: Any) -> list[AlertEvent]:
        """Alert on a health report: each non-healthy check (``check:<name>``) and every metric of
        ``report.context()`` that has thresholds (``score``, ``open_circuits``...).

        Use as a monitor subscriber: ``monitor.subscribe(alerts.observe_report)``.
        """
        events: list[AlertEvent] = []
        for name, result in report.checks.items():
            key = f"check:{name}"
            severity = _STATUS_SEVERITY.get(result.status)
            if severity is None:
                event = self.resolve(key, f"{name} is healthy again")
            else:
                event = self.fire(key, severity, f"{name} is {result.status.value}: {result.message}")
            if event is not None:
                events.append(event)
        for metric, value in report.context().items():
            if metric in self._thresholds:
                events.extend(self.observe(metric, value))
        return events

    def _should_notify(self, kind: AlertEventKind, key: str, now: float) -> bool:
        if kind is not AlertEventKind.REPEATED:
            return True
        after = self.config.renotify_after
        return after is not None and now - self._notified_at.get(key, now) >= after

    def _record(self, kind: AlertEventKind, alert: Alert, now: float) -> AlertEvent:
        silenced = self.silenced(alert.key)
        notify = not silenced and self._should_notify(kind, alert.key, now)
        event = AlertEvent(kind=kind, alert=alert, at=now, notified=notify, silenced=silenced)
        self._history.append(event)
        self.sink.counter("alert_events", 1.0, {"kind": kind.value, "severity": alert.severity.value})
        self.sink.gauge("alerts_active", float(len(self._active)))
        if self.journal is not None:
            self.journal.record(
                now,
                f"alert.{kind.value}",
                alert.key,
                severity=alert.severity.value,
                message=alert.message,
                notified=notify,
                silenced=silenced,
            )
        if notify:
            self._notified_at[alert.key] = now
            self._notify(event)
        if kind is AlertEventKind.RESOLVED:
            self._notified_at.pop(alert.key, None)
        return event

    def _notify(self, event: AlertEvent) -> None:
        for handler in list(self._handlers):
            try:
                handler(event)
            except Exception:  # noqa: BLE001 - one broken handler must not silence the others
                self.handler_errors += 1
                _log.exception("alert handler %r failed for %s", handler, event.alert.key)

    def active(self, *, min_severity: AlertSeverity = AlertSeverity.INFO) -> list[Alert]:
        """Active alerts at or above ``min_severity``, most severe first, then by key."""
        alerts = [a for a in self._active.values() if a.severity.rank >= min_severity.rank]
        return sorted(alerts, key=lambda a: (-a.severity.rank, a.key))

    def history(self, *, key: str | None = None, limit: int | None = None) -> list[AlertEvent]:
        """Recorded events (optionally for one key), oldest first; ``limit`` keeps the newest."""
        events = [e for e in self._history if key is None or e.alert.key == key]
        return events if limit is None else events[-limit:] if limit > 0 else []

    def __repr__(self) -> str:
        return f"AlertManager(active={len(self._active)}, history={len(self._history)})"


def _check_handler(handler: AlertHandler) -> AlertHandler:
    if not callable(handler):
        raise InvalidConfig(f"alert handler {handler!r} is not callable.", field="handler", value=handler)
    if inspect.iscoroutinefunction(handler):
        raise InvalidConfig(
            f"alert handler {handler!r} is a coroutine function; handlers run synchronously. Wrap it: "
            "lambda event: background_tasks.add(asyncio.get_running_loop().create_task(handler(event))).",
            field="handler",
            value=handler,
        )
    return handler


def _change_kind(old: AlertSeverity, new: AlertSeverity) -> AlertEventKind:
    if new.rank > old.rank:
        return AlertEventKind.ESCALATED
    if new.rank < old.rank:
        return AlertEventKind.DEESCALATED
    return AlertEventKind.REPEATED
