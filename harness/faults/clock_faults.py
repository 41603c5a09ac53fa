"""Clock faults: jumps and skew, as seen by the component that reads a faulty clock.

A :class:`FaultyClock` is a :class:`~harness.clock.Clock` view over a base clock (usually the
run's :class:`~harness.clock.VirtualClock`). It runs ``skew`` times as fast as the base and
applies :class:`ClockJump` steps (forward or backward, like an NTP step or a VM pause) when the
base reaches each jump's time. Give it to the component under test; the rest of the run keeps
the true clock, so a test can assert how, say, a TTL cache or a breaker behaves when its clock
lies. Sleeps on the view wait the *view's* seconds: with skew 2 a 10 s sleep takes 5 base seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness._checks import finite, positive
from harness.clock import Clock
from harness.journal import Event

__all__ = ["ClockJump", "FaultyClock"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockJump:
    """At base time ``at`` the faulty clock steps by ``by`` seconds (negative steps go back)."""

    at: float
    by: float

    def __post_init__(self) -> None:
        for name in ("at", "by"):
            value = getattr(self, name)
            finite(
                name, value, "a ClockJump happens at a time and moves the clock by an amount", unit="seconds"
            )


class FaultyClock:
    """A skewed, jumping view of ``base``; implements the ``Clock`` protocol."""

    def __init__(self, base: Clock, *, skew: float = 1.0, jumps: Iterable[ClockJump] = ()) -> None:
        positive("skew", skew, "1.0 is true time, 1.01 runs 1% fast")
        self.base = base
        self.skew = float(skew)
        self.jumps = tuple(sorted(jumps, key=lambda j: j.at))
        self._origin = base.now()

    def offset(self, base_now: float) -> float:
        """The total of the jumps that have happened by base time ``base_now``."""
        return sum(j.by for j in self.jumps if j.at <= base_now)

    def now(self) -> float:
        """The faulty reading: skewed elapsed time plus the jumps so far."""
        base_now = self.base.now()
        return self._origin + (base_now - self._origin) * self.skew + self.offset(base_now)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's (skewed) time."""
        await self.base.sleep(max(0.0, seconds) / self.skew)

    def sleep_sync(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's (skewed) time from synchronous code."""
        self.base.sleep_sync(max(0.0, seconds) / self.skew)

    def timeline(self, source: str = "faults/clock") -> list[Event]:
        """One ``clock.jump`` event per jump, at base time."""
        return [Event(t=j.at, kind="clock.jump", source=source, data={"by": j.by}) for j in self.jumps]

    def __repr__(self) -> str:
        return f"FaultyClock(skew={self.skew}, jumps={len(self.jumps)})"
