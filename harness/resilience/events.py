"""One event vocabulary for every strategy, so a pipeline has one event stream."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.journal import Journal

__all__ = ["EventKind", "EventSource", "Listener", "ResilienceEvent", "journal_listener"]


class EventKind(enum.Enum):
    """What happened."""

    STATE_CHANGE = "state_change"
    """A breaker changed state; ``data`` has ``from`` and ``to``."""
    REJECT = "reject"
    """A call was rejected without running (breaker open, bulkhead full, rate limited)."""
    RETRY = "retry"
    """A retry is about to sleep; ``data`` has ``attempt`` and ``delay``."""
    GIVE_UP = "give_up"
    """A retry stopped (attempts, deadline or budget); ``data`` has ``reason``."""
    TIMEOUT = "timeout"
    """An operation hit its timeout."""
    FALLBACK = "fallback"
    """A fallback alternative served the call; ``data`` has ``index``."""
    MODE_CHANGE = "mode_change"
    """A fallback manager or degradation manager changed mode or level."""
    STORAGE_DEGRADED = "storage_degraded"
    """Shared state could not be read or written; the component decides on local state.
    ``data`` has ``failure`` (a ``StorageFailure`` value), ``error`` and ``errors`` (the count)."""
    STORAGE_RECOVERED = "storage_recovered"
    """The storage answers again; the component resynchronises its shared state."""


@dataclass(frozen=True, slots=True)
class ResilienceEvent:
    """One event: its ``kind``, the component ``source`` name, the clock time ``at``, details."""

    kind: EventKind
    source: str
    at: float
    data: Mapping[str, Any] = field(default_factory=dict)


Listener = Callable[[ResilienceEvent], None]
"""A callback that receives events; it must not raise (errors are propagated to the caller)."""


class EventSource:
    """Mixin: a list of listeners and a cheap ``_emit``."""

    __slots__ = ()
    _listeners: list[Listener]

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with every event this component emits."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``; a no-op if it was not added."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, kind: EventKind, source: str, at: float, data: Mapping[str, Any]) -> None:
        if self._listeners:
            event = ResilienceEvent(kind, source, at, data)
            for listener in tuple(self._listeners):
                listener(event)


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def journal_listener(journal: Journal, *, prefix: str = "resilience.") -> Listener:
    """A listener that records every event in ``journal`` as ``<prefix><kind>`` at the event's time.

    Only JSON scalars from ``data`` are kept, so journal digests stay canonical.
    """

    def record(event: ResilienceEvent) -> None:
        data = {k: v for k, v in event.data.items() if _plain(v)}
        journal.record(event.at, prefix + event.kind.value, event.source, **data)

    return record
