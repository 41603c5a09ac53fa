"""The live engine's control loop: close windows and switch fault windows on the engine's clock.

It waits only on the injected :class:`~harness.clock.Clock` and touches the world only through
what it is given (the request path, and a coroutine that switches a fault where it acts), so the
same loop runs in real time against real services and on a
:class:`~harness.clock.VirtualTimeLoop` in tests. Each window's end takes the shared control step
(:func:`~harness.scenario.control.close_window`): record, let the flow decide, steer the router;
then it lets the requests of the next window route. When the flow aborts, every fault is removed
at once and the ones due later are skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from harness.clock import Clock
from harness.rollout.contract import Action
from harness.rollout.router import Router
from harness.scenario.control import Progress, close_window, window_bounds
from harness.scenario.faults import fault_timeline
from harness.scenario.flows import FlowDriver
from harness.scenario.live_traffic import LiveTraffic
from harness.scenario.record import RunRecord

__all__ = ["Abort", "FaultSwitch", "LiveControl", "sleep_until"]

FaultSwitch = Callable[[int, bool, float], Awaitable[None]]
"""Turns scenario fault ``index`` on (True) or off (False) where it acts, at scheduled time ``t``."""
Abort = Callable[[float], Awaitable[None]]
"""Removes every fault at run time ``t`` (the flow aborted)."""


async def sleep_until(clock: Clock, when: float) -> None:
    """Wait on ``clock`` until it reads ``when`` (at once if that has passed)."""
    await clock.sleep(max(0.0, when - clock.now()))


class LiveControl:
    """Windows and fault windows of one live run, timed from ``origin`` on ``clock``."""

    def __init__(
        self,
        *,
        clock: Clock,
        record: RunRecord,
        driver: FlowDriver,
        router: Router,
        traffic: LiveTraffic,
        switch_fault: FaultSwitch,
        abort: Abort,
    ) -> None:
        self.clock = clock
        self.record = record
        self.driver = driver
        self.router = router
        self.traffic = traffic
        self.switch_fault = switch_fault
        self.abort = abort

    async def windows(self, origin: float, progress: Progress | None = None) -> None:
        """Close each window when the clock reaches its end."""
        sc = self.record.scenario
        for index, (start, end) in enumerate(window_bounds(sc.duration, sc.window)):
            await sleep_until(self.clock, origin + end)
            await self.close(index, start, end)
            if progress is not None:
                progress(end, sc.duration)

    async def close(self, index: int, start: float, end: float) -> None:
        """Cut the tally into the window ``[start, end)``, take the control step, let the next one route."""
        traffic = self.traffic
        served, user = traffic.tally.cut()
        exchanges = traffic.take_exchanges() if traffic.secondary is not None else None
        decision = close_window(
            self.record,
            self.driver,
            self.router,
            (start, end),
            served=served,
            user=[user],
            exchanges=exchanges,
            secondary=traffic.secondary,
        )
        if decision is not None and decision.action is Action.ABORT:
            await self.abort(end)
        traffic.window_closed(index)

    async def faults(self, origin: float) -> None:
        """Switch every fault window on and off at its time."""
        sc = self.record.scenario
        for event in fault_timeline(sc.faults, sc.duration):
            await sleep_until(self.clock, origin + event.t)
            await self.switch_fault(int(event.data["index"]), event.kind == "fault.on", event.t)
