"""The live engine's control loop: close windows and switch fault windows on the engine's clock.

It waits only on the injected :class:`~harness.clock.Clock` and touches the world only through
what it is given (the tally the request path fills, and a coroutine that switches a fault at a
version), so the same loop runs in real time against real services and on a
:class:`~harness.clock.VirtualTimeLoop` in tests. Each window's end takes the shared control step
(:func:`~harness.scenario.control.close_window`): record, let the flow decide, steer the router.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from harness.clock import Clock
from harness.rollout.router import Router
from harness.scenario.control import Progress, close_window, window_bounds
from harness.scenario.faults import fault_timeline
from harness.scenario.flows import FlowDriver
from harness.scenario.live_traffic import Tally
from harness.scenario.record import RunRecord

__all__ = ["FaultSwitch", "LiveControl", "sleep_until"]

FaultSwitch = Callable[[int, bool], Awaitable[None]]
"""Turns scenario fault ``index`` on (True) or off (False) where it acts."""


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
        tally: Tally,
        switch_fault: FaultSwitch,
    ) -> None:
        self.clock = clock
        self.record = record
        self.driver = driver
        self.router = router
        self.tally = tally
        self.switch_fault = switch_fault

    async def windows(self, origin: float, progress: Progress | None = None) -> None:
        """Close each window when the clock reaches its end."""
        sc = self.record.scenario
        for start, end in window_bounds(sc.duration, sc.window):
            await sleep_until(self.clock, origin + end)
            self.close(start, end)
            if progress is not None:
                progress(end, sc.duration)

    def close(self, start: float, end: float) -> None:
        """Cut the tally into the window ``[start, end)`` and take the control step."""
        served, user = self.tally.cut()
        window = (start, end)
        close_window(self.record, self.driver, self.router, window, served=served, user=[user])

    async def faults(self, origin: float) -> None:
        """Switch every fault window on and off at its time."""
        sc = self.record.scenario
        for event in fault_timeline(sc.faults, sc.duration):
            await sleep_until(self.clock, origin + event.t)
            await self.switch_fault(int(event.data["index"]), event.kind == "fault.on")
