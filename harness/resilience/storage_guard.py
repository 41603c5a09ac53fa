"""Shared state through storage without callers waiting on the storage or failing by it.

A :class:`StorageGuard` stands between a component that shares state
(:class:`~harness.resilience.SharedCircuitBreaker`, :class:`~harness.resilience.SharedRateLimiter`)
and its :class:`~harness.storage.Storage`:

* **One error type.** Every way a storage operation fails (unreachable, no answer, a read-only
  replica, out of memory, any other error reply, a stored value that does not decode) comes out
  as :class:`~harness.errors.StorageUnavailable` with its ``failure``; the component then decides
  on local state.
* **A breaker on the storage.** Operations run through a :class:`CircuitBreaker` of their own.
  While it is not CLOSED, callers do not touch the storage at all; only background work probes it
  (the HALF_OPEN trial), and a probe that succeeds closes it.
* **Bounded waits.** An operation made for a caller waits at most ``call_timeout`` seconds;
  background work at most ``sync_timeout``. While any operation has been in flight for longer than
  ``call_timeout``, callers start no new one: a hung storage is avoided before its first timeout.
* **One background task.** :meth:`StorageGuard.spawn` starts background work unless some is
  already in flight, so a slow storage never piles up resynchronisations.
* **Visible.** ``errors`` counts failed operations; the owner's listeners receive
  ``STORAGE_DEGRADED`` when the storage breaker opens and ``STORAGE_RECOVERED`` when it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any, TypeVar

from harness._checks import positive
from harness.clock import Clock
from harness.errors import InvalidConfig, StorageFailure, StorageUnavailable
from harness.resilience.breaker import CircuitBreaker, CircuitBreakerConfig, CircuitState, StateTransition
from harness.resilience.errors import CircuitOpenError
from harness.resilience.events import EventKind

__all__ = ["StorageGuard", "StoragePolicy"]

T = TypeVar("T")
Emit = Callable[[EventKind, Mapping[str, Any]], None]


async def _awaited(op: Callable[[], Awaitable[T]]) -> T:
    return await op()


class StoragePolicy(StrEnum):
    """What a shared rate limiter decides while its storage cannot be used."""

    LOCAL = "local"
    """Limit in this process alone, with the same configuration (N processes admit up to N times
    the rate until the storage is back)."""
    FAIL_OPEN = "fail_open"
    """Admit every call: availability over the limit."""
    FAIL_CLOSED = "fail_closed"
    """Refuse every call with ``StorageUnavailable``: the limit over availability."""


class StorageGuard:
    """Runs a component's storage operations through a breaker, with deadlines and events.

    ``name`` labels errors and the storage breaker; ``emit(kind, data)`` delivers events to the
    owner's listeners. See the module docstring.
    """

    def __init__(
        self,
        *,
        name: str,
        url: str,
        clock: Clock,
        breaker: CircuitBreakerConfig,
        call_timeout: float,
        sync_timeout: float,
        emit: Emit,
    ) -> None:
        self.call_timeout = positive("storage_timeout", call_timeout, "for example 0.05", unit="seconds")
        self.sync_timeout = positive("sync_timeout", sync_timeout, "for example 5.0", unit="seconds")
        self.name = name
        self.url = url
        self.clock = clock
        self.breaker = CircuitBreaker(breaker, name=f"{name}:storage", clock=clock)
        self.breaker.on_state_change(self._changed)
        self.errors = 0
        """Storage operations that failed (each ran and raised, or timed out)."""
        self.last_error: StorageUnavailable | None = None
        self._emit = emit
        self._inflight: dict[int, float] = {}
        self._ids = itertools.count()
        self._task: asyncio.Task[None] | None = None

    @property
    def degraded(self) -> bool:
        """Whether the storage breaker is not CLOSED (callers decide on local state)."""
        return self.breaker.state is not CircuitState.CLOSED

    def admits_callers(self) -> bool:
        """Whether a caller may wait on the storage now (bounded by ``call_timeout``)."""
        if self.degraded:
            return False
        now = self.clock.now()
        return all(now - started < self.call_timeout for started in self._inflight.values())

    async def call(self, op: Callable[[], Awaitable[T]]) -> T:
        """Run ``op`` for a caller: at most ``call_timeout`` seconds, else ``StorageUnavailable``."""
        return await self._run(op, self.call_timeout)

    async def background(self, op: Callable[[], Awaitable[T]]) -> T:
        """Run ``op`` off the callers' path: at most ``sync_timeout`` seconds."""
        return await self._run(op, self.sync_timeout)

    def spawn(self, work: Callable[[], Awaitable[object]]) -> bool:
        """Start ``work`` as the one background task, unless one runs or the storage breaker is OPEN.

        Returns whether it started. A ``StorageUnavailable`` from ``work`` is already counted.
        """
        loop = asyncio.get_running_loop()
        task = self._task
        if task is not None and not task.done() and task.get_loop() is loop:
            return False
        if not self.breaker.allow():
            return False
        self._task = loop.create_task(self._quietly(work))
        return True

    @property
    def busy(self) -> bool:
        """Whether background work is in flight."""
        return self._task is not None and not self._task.done()

    async def settle(self) -> None:
        """Wait for the background work in flight, if any."""
        task = self._task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            await asyncio.shield(task)

    async def aclose(self) -> None:
        """Cancel the background work in flight."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            if task.get_loop() is asyncio.get_running_loop():
                await asyncio.gather(task, return_exceptions=True)

    async def _quietly(self, work: Callable[[], Awaitable[object]]) -> None:
        with contextlib.suppress(StorageUnavailable):  # counted, and announced by the storage breaker
            await work()

    async def _run(self, op: Callable[[], Awaitable[T]], seconds: float) -> T:
        try:
            return await self.breaker.acall(self._bounded, op, seconds)
        except CircuitOpenError as exc:
            raise self._skipped(exc) from None

    async def _bounded(self, op: Callable[[], Awaitable[T]], seconds: float) -> T:
        """``op()`` in a task of its own, waited for at most ``seconds``.

        On time-out the task is cancelled but not waited for: a client library may take its own
        time to give up (redis-py can hold a cancelled connect until its socket timeout), and the
        caller must not wait for that. The task counts as in flight until it really ends.
        """
        task: asyncio.Task[T] = asyncio.get_running_loop().create_task(_awaited(op))
        key = next(self._ids)
        self._inflight[key] = self.clock.now()
        task.add_done_callback(functools.partial(self._ended, key))
        try:
            done, _ = await asyncio.wait({task}, timeout=seconds)
        except BaseException:
            task.cancel()
            raise
        if not done:
            task.cancel()
            error = self._error(f"did not answer within {seconds:g} s", StorageFailure.TIMEOUT)
            raise self._failed(error)
        try:
            return task.result()
        except StorageUnavailable as exc:
            raise self._failed(exc) from exc
        except (InvalidConfig, ValueError, KeyError, TypeError) as exc:
            error = self._error(
                f"holds data it cannot use ({type(exc).__name__}: {exc})", StorageFailure.CORRUPT
            )
            raise self._failed(error) from exc

    def _ended(self, key: int, task: asyncio.Task[Any]) -> None:
        self._inflight.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved: an abandoned operation's error was already reported

    def _error(self, what: str, failure: StorageFailure) -> StorageUnavailable:
        return StorageUnavailable(
            f"{self.name}: the storage at {self.url} {what}.", url=self.url, failure=failure
        )

    def _failed(self, error: StorageUnavailable) -> StorageUnavailable:
        self.errors += 1
        self.last_error = error
        return error

    def _skipped(self, exc: CircuitOpenError) -> StorageUnavailable:
        last = self.last_error
        failure = last.failure if last is not None else StorageFailure.UNREACHABLE
        return StorageUnavailable(
            f"{self.name}: the storage at {self.url} is not used for {exc.remaining:.3g} s more "
            f"after it failed ({failure.value}); deciding on local state.",
            url=self.url,
            failure=failure,
        )

    def _changed(self, transition: StateTransition) -> None:
        if transition.to_state is CircuitState.OPEN and transition.from_state is CircuitState.CLOSED:
            last = self.last_error
            data = {
                "failure": last.failure.value if last is not None else StorageFailure.UNREACHABLE.value,
                "error": str(last) if last is not None else "",
                "errors": self.errors,
            }
            self._emit(EventKind.STORAGE_DEGRADED, data)
        elif transition.to_state is CircuitState.CLOSED:
            self._emit(EventKind.STORAGE_RECOVERED, {"errors": self.errors})
