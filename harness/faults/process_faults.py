"""Process faults: kill, pause and resume a child process, by hand or on a schedule on the clock.

``SIGKILL`` is a crash, ``SIGSTOP`` a process that stops answering without closing its sockets
(a GC pause, a frozen VM), ``SIGCONT`` the recovery. :class:`ProcessFaults` is a context
manager: on every exit path a process it paused is resumed, so no test leaves a stopped process
behind. Each action is recorded as an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType

from harness._checks import invalid, non_negative, one_of
from harness.clock import Clock, SystemClock
from harness.journal import Event, Journal

__all__ = ["ProcessAction", "ProcessFaults", "ProcessStep"]


class ProcessAction(StrEnum):
    """What to do to the process."""

    KILL = "kill"
    PAUSE = "pause"
    RESUME = "resume"


_SIGNALS = {
    ProcessAction.KILL: signal.SIGKILL,
    ProcessAction.PAUSE: signal.SIGSTOP,
    ProcessAction.RESUME: signal.SIGCONT,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessStep:
    """Do ``action`` at ``at`` seconds after the schedule starts."""

    at: float
    action: ProcessAction

    def __post_init__(self) -> None:
        non_negative("at", self.at, "when the step happens on the clock", unit="seconds")
        object.__setattr__(self, "action", one_of("action", self.action, ProcessAction))


class ProcessFaults:
    """Signals for one child process, with guaranteed resume on exit."""

    def __init__(
        self,
        process: subprocess.Popen[bytes] | subprocess.Popen[str] | int,
        *,
        clock: Clock | None = None,
        journal: Journal | None = None,
    ) -> None:
        pid = process if isinstance(process, int) else process.pid
        if isinstance(pid, bool) or pid <= 1:
            raise invalid("process", pid, "a child process id (> 1)", "pass a subprocess.Popen or its pid")
        self.pid = pid
        self._popen = None if isinstance(process, int) else process
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.journal = journal
        self.paused = False
        self.events: list[Event] = []

    def _signal(self, action: ProcessAction) -> bool:
        delivered = True
        try:
            os.kill(self.pid, _SIGNALS[action])
        except ProcessLookupError:
            delivered = False
        self.paused = action is ProcessAction.PAUSE and delivered
        event = Event(
            t=self.clock.now(),
            kind=f"process.{action.value}",
            source="faults/process",
            data={"pid": self.pid, "delivered": delivered},
        )
        self.events.append(event)
        if self.journal is not None:
            self.journal.append(event)
        if action is ProcessAction.KILL and delivered and self._popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout=5)
        return delivered

    def kill(self) -> bool:
        """SIGKILL the process; ``False`` if it had already exited."""
        return self._signal(ProcessAction.KILL)

    def pause(self) -> bool:
        """SIGSTOP the process."""
        return self._signal(ProcessAction.PAUSE)

    def resume(self) -> bool:
        """SIGCONT the process."""
        return self._signal(ProcessAction.RESUME)

    def apply(self, step: ProcessStep) -> bool:
        """Carry out one step now."""
        return self._signal(step.action)

    async def run(self, steps: Iterable[ProcessStep]) -> None:
        """Carry out ``steps`` at their times on the clock (relative to now)."""
        start = self.clock.now()
        for step in sorted(steps, key=lambda s: s.at):
            await self.clock.sleep(max(0.0, start + step.at - self.clock.now()))
            self.apply(step)

    def run_sync(self, steps: Iterable[ProcessStep]) -> None:
        """:meth:`run` for synchronous callers."""
        start = self.clock.now()
        for step in sorted(steps, key=lambda s: s.at):
            self.clock.sleep_sync(max(0.0, start + step.at - self.clock.now()))
            self.apply(step)

    def close(self) -> None:
        """Resume the process if it is paused (idempotent)."""
        if self.paused:
            self.resume()

    def __enter__(self) -> ProcessFaults:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> ProcessFaults:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"ProcessFaults(pid={self.pid}, paused={self.paused})"
