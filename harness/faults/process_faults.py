"""Process faults: kill, pause and resume a child process, by hand or on a schedule on the clock.

``SIGKILL`` is a crash, ``SIGSTOP`` a process that stops answering without closing its sockets
(a GC pause, a frozen VM), ``SIGCONT`` the recovery. :class:`ProcessFaults` is a context
manager: a process it paused is resumed when the block ends, however it ends. Each action is
recorded as an event.

A paused process is never left stopped when this process dies first. Every stopped process id
is kept in one process-wide set (signals and exit hooks are process-wide by nature) and resumed:

- at interpreter exit (``atexit``: a normal exit, ``sys.exit``, an uncaught exception);
- on ``SIGTERM`` and ``SIGHUP``, by handlers installed on the first pause in the main thread and
  chained to the handlers they replace (a Python handler is called next; the default action is
  restored and the signal delivered again, so the process still dies by it);
- by a watchdog subprocess (:mod:`harness.faults.process_watchdog`, in its own session) that
  learns the ids through a pipe before each ``SIGSTOP`` and continues them when the pipe closes:
  the only rescue after ``os._exit`` or ``SIGKILL``, when no Python code runs.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any

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


_WATCHDOG = Path(__file__).with_name("process_watchdog.py")
_RESCUE_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_Handler = Callable[[int, FrameType | None], Any] | int | None


class _StoppedProcesses:
    """The processes this process stopped and has not continued, continued on every exit path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pids: set[int] = set()
        self._pipe: IO[bytes] | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._previous: dict[int, _Handler] = {}
        self._hooked = False

    @property
    def pids(self) -> frozenset[int]:
        """The process ids stopped now."""
        return frozenset(self._pids)

    def add(self, pid: int) -> None:
        """Record ``pid`` before it is stopped (the watchdog hears of it first)."""
        with self._lock:
            self._hook()
            self._tell(f"+{pid}")
            self._pids.add(pid)

    def discard(self, pid: int) -> None:
        """``pid`` was continued, killed or never stopped."""
        with self._lock:
            if pid in self._pids:
                self._pids.discard(pid)
                self._tell(f"-{pid}")

    def continue_all(self) -> None:
        """SIGCONT every stopped process (takes no lock: it runs inside signal handlers)."""
        for pid in tuple(self._pids):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGCONT)
        self._pids.clear()

    def _hook(self) -> None:
        if self._watchdog is None:
            self._watchdog = subprocess.Popen(  # noqa: S603 - our own script, by absolute path
                [sys.executable, "-I", "-S", str(_WATCHDOG), str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            self._pipe = self._watchdog.stdin
        if self._hooked:
            return
        self._hooked = True
        atexit.register(self._at_exit)
        if threading.current_thread() is threading.main_thread():
            for signum in _RESCUE_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._on_signal)

    def _tell(self, line: str) -> None:
        pipe = self._pipe
        if pipe is None:
            return
        with contextlib.suppress(OSError, ValueError):
            pipe.write(f"{line}\n".encode())
            pipe.flush()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.continue_all()
        previous = self._previous.get(signum, signal.SIG_DFL)
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    def _at_exit(self) -> None:
        self.continue_all()
        self._close_watchdog()

    def _close_watchdog(self) -> None:
        pipe, watchdog = self._pipe, self._watchdog
        self._pipe = self._watchdog = None
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
        if watchdog is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                watchdog.wait(timeout=5)

    def after_fork_in_child(self) -> None:
        """A forked child stopped nothing: forget the parent's processes and its watchdog pipe."""
        self._lock = threading.Lock()
        self._pids = set()
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                self._pipe.close()
        self._pipe = self._watchdog = None


_STOPPED = _StoppedProcesses()
os.register_at_fork(after_in_child=_STOPPED.after_fork_in_child)


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
        if action is ProcessAction.PAUSE:
            _STOPPED.add(self.pid)
        delivered = True
        try:
            os.kill(self.pid, _SIGNALS[action])
        except ProcessLookupError:
            delivered = False
        self.paused = action is ProcessAction.PAUSE and delivered
        if not self.paused:
            _STOPPED.discard(self.pid)
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
