"""Clocks: the one seam through which the harness reads time and waits.

``SystemClock`` reads ``time.monotonic`` and sleeps for real. ``VirtualClock`` is a number that
only moves when told to: ``advance(dt)`` moves it and wakes every sleeper whose deadline has
passed, in deadline order and, for equal deadlines, in the order they started sleeping.

Code that calls ``asyncio.sleep``, ``asyncio.timeout`` or ``loop.call_later`` directly runs on
virtual time too, on a :class:`VirtualTimeLoop`: an ordinary selector event loop whose ``time()``
is the clock, and which, whenever it has nothing ready and no I/O arrives, jumps the clock to the
next timer instead of waiting. Hours of virtual sleeping finish in milliseconds::

    clock = VirtualClock()
    clock.run(main())          # or asyncio.Runner(loop_factory=clock.loop_factory)
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import selectors
import threading
import time
from collections.abc import Callable, Coroutine
from contextvars import Context
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

from harness._checks import within

__all__ = ["Clock", "SystemClock", "VirtualClock", "VirtualTimeLoop", "WallClock"]

_T = TypeVar("_T")


@runtime_checkable
class Clock(Protocol):
    """Where time comes from. Every delay and timestamp in the harness goes through one."""

    def now(self) -> float:
        """Monotonic seconds; only differences are meaningful."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on this clock without blocking the event loop."""
        ...

    def sleep_sync(self, seconds: float) -> None:
        """Wait ``seconds`` on this clock from synchronous code."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic`` and real sleeps."""

    __slots__ = ()

    def now(self) -> float:
        """Seconds from ``time.monotonic``."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep`` on the running loop."""
        await asyncio.sleep(max(0.0, seconds))

    def sleep_sync(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""
        if seconds > 0:
            time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class WallClock(SystemClock):
    """Seconds since the Unix epoch (``time.time``) and real sleeps.

    For timestamps that must mean the same in every process and after a restart (a version
    registry's history); durations inside one process should use :class:`SystemClock`, which
    cannot jump when the host's time is set.
    """

    __slots__ = ()

    def now(self) -> float:
        """Seconds since 1970-01-01 UTC."""
        return time.time()

    def __repr__(self) -> str:
        return "WallClock()"


class VirtualClock:
    """A clock that moves only when advanced; deterministic and instant.

    Sleepers registered with :meth:`sleep` wake when :meth:`advance` passes their deadline, in
    (deadline, start order). On a :class:`VirtualTimeLoop` built from this clock, the loop
    advances the clock itself whenever it is idle, so asyncio code needs no manual stepping.
    ``sleep_sync`` advances the clock by the delay: a synchronous caller that waits is the only
    actor in a simulation, so its wait is the passage of time.

    Thread-safe: several threads may read, advance and sleep on one clock.
    """

    __slots__ = ("_lock", "_now", "_seq", "_sleepers")

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []

    def now(self) -> float:
        """The current virtual time in seconds."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` and wake the sleepers that are due."""
        if not seconds >= 0:  # the fast test; the check below words the error (and refuses NaN)
            within("seconds", seconds, "[0, inf]", "virtual time only moves forward; pass a delay >= 0")
        self.advance_to(self._now + seconds)

    def advance_to(self, when: float) -> None:
        """Move time forward to ``when`` (no-op if already past) and wake due sleepers."""
        with self._lock:
            self._now = max(self._now, when)
            due: list[asyncio.Future[None]] = []
            while self._sleepers and self._sleepers[0][0] <= self._now:
                due.append(heapq.heappop(self._sleepers)[2])
        for fut in due:
            _wake(fut)

    def next_deadline(self) -> float | None:
        """The earliest deadline of a pending :meth:`sleep`, or ``None``."""
        with self._lock:
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)
            return self._sleepers[0][0] if self._sleepers else None

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has advanced by ``seconds``.

        On a :class:`VirtualTimeLoop` of this clock this is ``asyncio.sleep``; elsewhere the
        sleeper waits for someone to call :meth:`advance`.
        """
        loop = asyncio.get_running_loop()
        if isinstance(loop, VirtualTimeLoop) and loop.clock is self:
            await asyncio.sleep(max(0.0, seconds))
            return
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = loop.create_future()
        with self._lock:
            heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), fut))
        await fut

    def sleep_sync(self, seconds: float) -> None:
        """Advance the clock by ``seconds`` (the synchronous caller's wait is time passing)."""
        if seconds > 0:
            self.advance(seconds)

    def loop_factory(self) -> VirtualTimeLoop:
        """A new event loop that runs on this clock (for ``asyncio.Runner(loop_factory=...)``)."""
        return VirtualTimeLoop(self)

    def run(self, main: Coroutine[Any, Any, _T]) -> _T:
        """Run ``main`` to completion on a fresh :class:`VirtualTimeLoop` of this clock."""
        with asyncio.Runner(loop_factory=self.loop_factory) as runner:
            return runner.run(main)

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now!r})"


def _wake(fut: asyncio.Future[None]) -> None:
    """Resolve a sleeper's future on its own loop, from any thread."""
    loop = fut.get_loop()
    if loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        if not fut.done():
            fut.set_result(None)
    else:
        loop.call_soon_threadsafe(_set_if_pending, fut)


def _set_if_pending(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class _OrderedTimerHandle(asyncio.TimerHandle):
    """A timer that breaks deadline ties by scheduling order, so equal timers fire FIFO."""

    __slots__ = ("_seq",)

    def __init__(  # noqa: PLR0917 - mirrors asyncio.TimerHandle's positional signature
        self,
        when: float,
        callback: Callable[..., object],
        args: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop,
        context: Context | None,
        seq: int,
    ) -> None:
        super().__init__(when, callback, args, loop, context)
        self._seq = seq

    def _run(self) -> None:
        # The base loop runs every timer due within its clock resolution in one batch; on virtual
        # time each one first moves the clock to its own deadline, so no callback sees time early.
        clock = cast("VirtualTimeLoop", self._loop).clock  # type: ignore[attr-defined]
        if self._when > clock._now:  # type: ignore[attr-defined]
            clock.advance_to(self._when)  # type: ignore[attr-defined]
        super()._run()

    def __lt__(self, other: asyncio.TimerHandle) -> bool:
        # Called for every heap step of the loop's timers: compare the attributes directly.
        mine, theirs = self._when, other._when  # type: ignore[attr-defined]
        if mine != theirs:
            return bool(mine < theirs)
        return self._seq < getattr(other, "_seq", -1)

    def __hash__(self) -> int:
        return hash((self.when(), self._seq))


class _VirtualSelector(selectors.BaseSelector):
    """Wraps a real selector: polls I/O without waiting and advances virtual time instead."""

    def __init__(
        self, inner: selectors.BaseSelector, loop_ref: Callable[[], VirtualTimeLoop], *, poll_when_busy: bool
    ) -> None:
        self._inner = inner
        self._loop_ref = loop_ref
        self._poll_when_busy = poll_when_busy

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout == 0 and not self._poll_when_busy:
            return []  # callbacks are ready: real I/O is looked at when the loop is next idle
        ready = self._inner.select(0)
        if ready or timeout == 0:
            return ready
        loop = self._loop_ref()
        deadline = loop._next_deadline()
        if deadline is None:
            # Nothing scheduled on virtual time: only real I/O (threads, sockets) can wake us.
            return self._inner.select(timeout)
        loop.clock.advance_to(deadline)
        return []

    def close(self) -> None:
        self._inner.close()

    def get_map(self) -> Any:
        return self._inner.get_map()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose time is a :class:`VirtualClock` and which never idles.

    When no callback is ready and no I/O is pending, the loop advances the clock straight to
    the next timer (or the next :meth:`VirtualClock.sleep` deadline). Timers with the same
    deadline fire in the order they were scheduled. Real I/O still works; while a real
    operation is in flight and nothing is scheduled, the loop waits for it for real.
    ``poll_when_busy=False`` looks at real I/O only when no callback is ready (a loop that expects
    none saves a system call per iteration).
    """

    def __init__(self, clock: VirtualClock | None = None, *, poll_when_busy: bool = True) -> None:
        self.clock = clock if clock is not None else VirtualClock()
        self._timer_seq = itertools.count()
        inner = selectors.DefaultSelector()
        super().__init__(_VirtualSelector(inner, lambda: self, poll_when_busy=poll_when_busy))
        self._clock_resolution = 1e-9

    def time(self) -> float:
        """The clock's virtual time."""
        return self.clock.now()

    def call_at(  # type: ignore[override]
        self,
        when: float,
        callback: Callable[..., object],
        *args: Any,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        """Schedule ``callback`` at virtual time ``when``; ties fire in scheduling order."""
        if when is None:
            raise TypeError("when cannot be None")
        self._check_closed()  # type: ignore[attr-defined]
        timer = _OrderedTimerHandle(when, callback, args, self, context, next(self._timer_seq))
        heapq.heappush(self._scheduled, timer)  # type: ignore[attr-defined]
        timer._scheduled = True  # type: ignore[attr-defined]
        return timer

    def _next_deadline(self) -> float | None:
        # The base loop drops cancelled timers from the head of the heap before it selects.
        scheduled: list[asyncio.TimerHandle] = self._scheduled  # type: ignore[attr-defined]
        timer = scheduled[0].when() if scheduled else None
        sleeper = self.clock.next_deadline()
        if timer is None or (sleeper is not None and sleeper < timer):
            return sleeper
        return timer
