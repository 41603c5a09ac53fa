"""Fault windows on simulated dependencies, and what each dependency counts while it serves.

A :class:`DependencyFault` is one window of trouble on one simulated dependency, on the run's
virtual time. :class:`FaultTimeline` answers which faults are active at an instant; each
simulated dependency draws from its own seeded stream whether a fault with ``rate < 1`` hits a
call, so a run replays call for call.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from harness._checks import invalid, non_negative, probability

__all__ = [
    "HTTP_FAULTS",
    "REDIS_FAULTS",
    "DependencyCounters",
    "DependencyFault",
    "DependencyFaultKind",
    "FaultTimeline",
]


class DependencyFaultKind(enum.StrEnum):
    """What goes wrong with a simulated dependency."""

    OUTAGE = "outage"  # every call fails as if the server were down (connection refused)
    ERRORS = "errors"  # a rate of calls fail (Redis: connection error; HTTP: 503)
    LATENCY = "latency"  # a rate of calls take ``latency`` longer
    BROWNOUT = "brownout"  # every call is slower and a rate fail
    READONLY = "readonly"  # Redis writes fail with READONLY (a failover left us on a replica)
    OOM = "oom"  # Redis commands that may grow memory fail with OOM
    DROP = "drop"  # Redis: the server closes the connection mid-command
    RESET = "reset"  # HTTP: the peer resets the connection before answering
    TIMEOUT = "timeout"  # the call never answers (the client's own timeout decides)


REDIS_FAULTS = frozenset(
    {
        DependencyFaultKind.OUTAGE,
        DependencyFaultKind.ERRORS,
        DependencyFaultKind.LATENCY,
        DependencyFaultKind.BROWNOUT,
        DependencyFaultKind.READONLY,
        DependencyFaultKind.OOM,
        DependencyFaultKind.DROP,
        DependencyFaultKind.TIMEOUT,
    }
)
"""Fault kinds a simulated Redis carries out."""
HTTP_FAULTS = frozenset(
    {
        DependencyFaultKind.OUTAGE,
        DependencyFaultKind.ERRORS,
        DependencyFaultKind.LATENCY,
        DependencyFaultKind.BROWNOUT,
        DependencyFaultKind.RESET,
        DependencyFaultKind.TIMEOUT,
    }
)
"""Fault kinds a simulated HTTP downstream carries out."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DependencyFault:
    """``kind`` from ``start`` to ``end`` (virtual seconds) on a ``rate`` of calls, adding ``latency``."""

    kind: DependencyFaultKind
    start: float
    end: float
    rate: float = 1.0
    latency: float = 0.0

    def __post_init__(self) -> None:
        non_negative("start", self.start, "when the fault begins", unit="seconds")
        if not self.end >= self.start:
            raise invalid("end", self.end, f">= start={self.start!r}", "a window ends after it begins")
        probability("rate", self.rate, "the share of calls the fault hits")
        non_negative("latency", self.latency, "the delay the fault adds", unit="seconds")

    def active(self, t: float) -> bool:
        """Whether the window covers virtual time ``t``."""
        return self.start <= t < self.end


@dataclass(frozen=True, slots=True)
class FaultTimeline:
    """The fault windows of one dependency."""

    faults: tuple[DependencyFault, ...] = ()

    @classmethod
    def of(cls, faults: Iterable[DependencyFault]) -> FaultTimeline:
        """A timeline of ``faults``."""
        return cls(tuple(faults))

    def active(self, t: float) -> tuple[DependencyFault, ...]:
        """The faults active at ``t``, in declaration order."""
        if not self.faults:
            return ()
        return tuple(f for f in self.faults if f.active(t))


@dataclass(slots=True)
class DependencyCounters:
    """Calls a simulated dependency served and faults it carried out, since the last :meth:`take`."""

    calls: int = 0
    faults: Counter[str] = field(default_factory=Counter)

    def take(self) -> dict[str, object]:
        """The counts so far, JSON-ready, and start afresh."""
        out: dict[str, object] = {"calls": self.calls, "faults": dict(sorted(self.faults.items()))}
        self.calls = 0
        self.faults = Counter()
        return out
