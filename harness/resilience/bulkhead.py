"""Bulkhead: at most ``max_concurrent`` calls at once, a bounded queue, a bounded wait.

One slot count is shared by threads and asyncio tasks. A freed slot is handed to the oldest
waiter directly (FIFO, no barging), whichever world it waits in. Threads wait on a
``threading.Event`` (real time); tasks wait on a future under ``asyncio.timeout`` (loop time,
so virtual on a ``VirtualTimeLoop``). A waiter that times out at the same moment it is handed a
slot keeps the slot, so no slot is ever lost; a waiter interrupted by an exception (a signal
handler's, Ctrl-C, a cancelled task) leaves the queue, or hands on the slot it was just given.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from harness._checks import integer, invalid, within
from harness.clock import Clock, SystemClock
from harness.resilience._decorate import Decorating
from harness.resilience.errors import BulkheadFull
from harness.resilience.events import EventKind, EventSource, Listener

__all__ = ["Bulkhead", "BulkheadConfig"]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkheadConfig:
    """How many calls run at once and how many may queue, for how long."""

    max_concurrent: int = 10
    max_waiting: int = 0
    """Callers allowed to queue for a slot; 0 rejects at once when full."""
    wait_timeout: float = 0.0
    """Seconds a queued caller waits before giving up."""

    def __post_init__(self) -> None:
        integer("max_concurrent", self.max_concurrent, "for example 10.", at_least=1)
        integer("max_waiting", self.max_waiting, "0 disables waiting", at_least=0)
        within("wait_timeout", self.wait_timeout, "[0, inf]", "0 disables waiting", unit="seconds")
        if self.max_waiting > 0 and self.wait_timeout <= 0:
            raise invalid(
                "wait_timeout",
                self.wait_timeout,
                f"> 0 when max_waiting={self.max_waiting!r}",
                "max_waiting needs a wait_timeout: set how long a queued call may wait",
            )


class _Waiter:
    __slots__ = ("event", "future", "granted")

    def __init__(self, event: threading.Event | None, future: asyncio.Future[None] | None) -> None:
        self.event = event
        self.future = future
        self.granted = False

    def wake(self) -> None:
        if self.event is not None:
            self.event.set()
            return
        fut = self.future
        assert fut is not None
        loop = fut.get_loop()
        if loop.is_closed():
            return
        try:
            same = asyncio.get_running_loop() is loop
        except RuntimeError:
            same = False
        if same:
            _resolve(fut)
        else:
            loop.call_soon_threadsafe(_resolve, fut)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class Bulkhead(Decorating, EventSource):
    """Limits concurrency for sync and async callers; rejects with :class:`BulkheadFull`."""

    __slots__ = ("_active", "_cfg", "_listeners", "_lock", "_waiters", "clock", "name", "rejected")

    def __init__(
        self, config: BulkheadConfig | None = None, *, name: str = "bulkhead", clock: Clock | None = None
    ) -> None:
        self._cfg = config if config is not None else BulkheadConfig()
        if not isinstance(self._cfg, BulkheadConfig):
            raise invalid("config", config, "a BulkheadConfig", "build one with BulkheadConfig(...)")
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.name = name
        self._lock = threading.Lock()
        self._active = 0
        self._waiters: deque[_Waiter] = deque()
        self._listeners: list[Listener] = []
        self.rejected = 0

    @property
    def config(self) -> BulkheadConfig:
        """The configuration."""
        return self._cfg

    @property
    def active(self) -> int:
        """Calls running now."""
        return self._active

    @property
    def waiting(self) -> int:
        """Callers queued now."""
        return len(self._waiters)

    def __repr__(self) -> str:
        return f"Bulkhead(name={self.name!r}, active={self._active}, waiting={len(self._waiters)})"

    def _try_enter(self, waiter: _Waiter | None) -> _Waiter | bool:
        """Under the lock: True if a slot was taken, the queued waiter, or False if rejected."""
        if self._active < self._cfg.max_concurrent and not self._waiters:
            self._active += 1
            return True
        if waiter is None or len(self._waiters) >= self._cfg.max_waiting:
            self.rejected += 1
            return False
        self._waiters.append(waiter)
        return waiter

    def _give_up(self, waiter: _Waiter, waited: float) -> None:
        with self._lock:
            if waiter.granted:
                return
            self._waiters.remove(waiter)
            self.rejected += 1
        self._reject(waited)

    def _abandon(self, waiter: _Waiter) -> None:
        """A waiter interrupted by an exception: out of the queue, or its slot handed on."""
        with self._lock:
            if not waiter.granted:
                self._waiters.remove(waiter)
                return
        self.release()

    def _reject(self, waited: float) -> None:
        data = {"reason": "bulkhead_full", "waited": waited}
        self._emit(EventKind.REJECT, self.name, self.clock.now(), data)
        raise BulkheadFull(self.name, self._cfg.max_concurrent, waited)

    def release(self) -> None:
        """Free a slot, handing it to the oldest waiter if there is one."""
        with self._lock:
            if self._waiters:
                waiter = self._waiters.popleft()
                waiter.granted = True
            else:
                self._active -= 1
                return
        waiter.wake()

    def _enter(self, waiter: _Waiter | None) -> _Waiter | None:
        """Take a free slot (None) or queue ``waiter`` (returned); reject when neither is possible."""
        with self._lock:
            got = self._try_enter(waiter)
        if got is True:
            return None
        if got is False:
            self._reject(0.0)
        assert waiter is not None
        return waiter

    def acquire(self) -> None:
        """Take a slot for a synchronous caller, waiting up to ``wait_timeout`` (real time)."""
        can_wait = self._cfg.max_waiting > 0
        waiter = self._enter(_Waiter(threading.Event(), None) if can_wait else None)
        if waiter is None:
            return
        assert waiter.event is not None
        try:
            waiter.event.wait(self._cfg.wait_timeout)
        except BaseException:
            self._abandon(waiter)
            raise
        self._give_up(waiter, self._cfg.wait_timeout)

    async def aacquire(self) -> None:
        """Take a slot for a task, waiting up to ``wait_timeout`` of loop time."""
        can_wait = self._cfg.max_waiting > 0
        waiter = self._enter(_Waiter(None, asyncio.get_running_loop().create_future()) if can_wait else None)
        if waiter is None:
            return
        assert waiter.future is not None
        try:
            async with asyncio.timeout(self._cfg.wait_timeout):
                await asyncio.shield(waiter.future)
        except TimeoutError:
            pass
        except BaseException:
            self._abandon(waiter)
            raise
        self._give_up(waiter, self._cfg.wait_timeout)

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``fn`` in a slot."""
        self.acquire()
        try:
            return fn(*args, **kwargs)
        finally:
            self.release()

    async def acall(self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Await ``fn`` in a slot."""
        await self.aacquire()
        try:
            return await fn(*args, **kwargs)
        finally:
            self.release()
