"""When faults are active: windows on the clock, and BUGGIFY-style swarm activation.

A :class:`FaultSchedule` is a list of :class:`FaultWindow` (start, duration, fault, target) in
seconds on the run's clock. It is pure: ``active(now, target)`` answers which faults apply at a
time, and ``timeline()`` lists the on/off transitions as journal events, so the scenario engine
and the reports share one account of what was injected when.

:class:`Swarm` is swarm testing (FoundationDB's BUGGIFY): in each run, every fault kind is
switched on with probability ``p`` (drawn once per run from the seed), and the faults that are on
then fire per call with their own rate. Different seeds explore different fault mixes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from harness._checks import invalid, non_negative, probability, within
from harness.faults.inprocess import Fault
from harness.journal import Event
from harness.seeding import Seeds

__all__ = ["ALL_TARGETS", "FaultSchedule", "FaultWindow", "Swarm"]

ALL_TARGETS = "*"
"""The target of a window that applies to every injection point."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultWindow:
    """``fault`` is active for ``target`` in ``[start, start + duration)`` seconds on the clock."""

    start: float
    duration: float
    fault: Fault
    target: str = ALL_TARGETS

    def __post_init__(self) -> None:
        non_negative("start", self.start, "when the window opens on the clock", unit="seconds")
        within("duration", self.duration, "[0, inf]", "math.inf lasts until the end", unit="seconds")
        if not self.target:
            raise invalid("target", self.target, "a non-empty name", "or '*' for every target")

    @property
    def end(self) -> float:
        """When the window closes (exclusive)."""
        return self.start + self.duration

    def covers(self, now: float, target: str) -> bool:
        """Whether this window applies to ``target`` at time ``now``."""
        return self.start <= now < self.end and self.target in (ALL_TARGETS, target)


@dataclass(frozen=True, slots=True)
class FaultSchedule:
    """An immutable set of fault windows; ask it what is active at a time."""

    windows: tuple[FaultWindow, ...] = field(default_factory=tuple)

    def __init__(self, windows: Iterable[FaultWindow] = ()) -> None:
        items = tuple(windows)
        for w in items:
            if not isinstance(w, FaultWindow):
                raise invalid("windows", w, "a FaultWindow", "FaultSchedule takes FaultWindow values")
        ordered = tuple(sorted(items, key=lambda w: (w.start, w.end)))
        object.__setattr__(self, "windows", ordered)

    def active(self, now: float, target: str = ALL_TARGETS) -> tuple[Fault, ...]:
        """The faults active for ``target`` at ``now``, in window start order."""
        return tuple(w.fault for w in self.windows if w.covers(now, target))

    def next_change(self, now: float) -> float | None:
        """The first window start or end strictly after ``now`` (to wake a driver), or ``None``."""
        edges = [t for w in self.windows for t in (w.start, w.end) if t > now and math.isfinite(t)]
        return min(edges, default=None)

    def timeline(self, source: str = "faults/schedule") -> list[Event]:
        """``fault.on`` / ``fault.off`` events for every window, in time order."""
        events: list[Event] = []
        for index, w in enumerate(self.windows):
            data = {"window": index, "target": w.target, "fault": w.fault.describe()}
            events.append(Event(t=w.start, kind="fault.on", source=source, data=data))
            if math.isfinite(w.end):
                events.append(Event(t=w.end, kind="fault.off", source=source, data=data))
        events.sort(key=lambda e: (e.t, e.kind == "fault.on"))
        return events

    def __len__(self) -> int:
        return len(self.windows)


@dataclass(frozen=True, slots=True, kw_only=True)
class Swarm:
    """Per-run activation of fault kinds: each kind is on with probability ``p`` for the run."""

    seed: int
    p: float = 0.5

    def __post_init__(self) -> None:
        probability("p", self.p, "0.5 explores mixes evenly")
        Seeds(self.seed)  # validates the seed

    def enabled(self, name: str) -> bool:
        """Whether the fault kind or site ``name`` is switched on in this run."""
        return Seeds(self.seed).stream(f"swarm/{name}").random() < self.p

    def select(self, faults: Sequence[Fault]) -> tuple[Fault, ...]:
        """The faults whose kind is switched on in this run."""
        return tuple(f for f in faults if self.enabled(f.kind.value))
