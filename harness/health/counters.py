"""Counters of resilience components' events (retries, give-ups, rejections), for health reports.

A :class:`~harness.resilience.Retry` announces each retry and each give-up as an event but
keeps no counts; :class:`EventCounter` listens and counts, so a ``HealthMonitor`` can put
retry statistics into its reports (``HealthMonitor.track_retry`` attaches one for you).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

__all__ = ["EventCounter"]


class EventCounter:
    """Counts a component's events by kind (and give-ups by reason); a resilience ``Listener``.

    ``stats()`` returns ``retries``, ``give_ups`` (also as ``failures``: calls that failed
    after retrying), ``rejections``, ``timeouts``, ``fallbacks``, ``state_changes`` and
    ``give_up_reasons``. Thread-safe.
    """

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._kinds: Counter[str] = Counter()
        self._reasons: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        """Count one event (a ``ResilienceEvent`` or anything with ``kind`` and ``data``)."""
        kind = getattr(event.kind, "value", str(event.kind))
        with self._lock:
            self._kinds[kind] += 1
            if kind == "give_up":
                self._reasons[str(event.data.get("reason", "unknown"))] += 1

    def watch(self, component: Any) -> EventCounter:
        """Listen to ``component`` (anything with ``add_listener``); returns self."""
        component.add_listener(self)
        return self

    def stats(self) -> dict[str, Any]:
        """The counts so far."""
        with self._lock:
            kinds = dict(self._kinds)
            reasons = dict(sorted(self._reasons.items()))
        give_ups = kinds.get("give_up", 0)
        return {
            "retries": kinds.get("retry", 0),
            "give_ups": give_ups,
            "failures": give_ups,
            "rejections": kinds.get("reject", 0),
            "timeouts": kinds.get("timeout", 0),
            "fallbacks": kinds.get("fallback", 0),
            "state_changes": kinds.get("state_change", 0),
            "give_up_reasons": reasons,
        }

    def __repr__(self) -> str:
        return f"EventCounter(name={self.name!r}, events={sum(self._kinds.values())})"
