"""Timeout for async operations, on the running loop's clock, without a task per call.

``asyncio.timeout`` schedules one timer on the loop and cancels the awaiting task itself when it
fires; no wrapper task is created. On a ``VirtualTimeLoop`` the deadline is virtual time.
Synchronous calls cannot be interrupted safely in Python (no thread can be cancelled), so
``Timeout`` refuses them instead of pretending: run blocking work in an executor and await it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from harness._checks import positive
from harness.errors import UsageError
from harness.resilience.errors import OperationTimeout
from harness.resilience.events import EventKind, EventSource, Listener

__all__ = ["Timeout"]

P = ParamSpec("P")
R = TypeVar("R")


class Timeout(EventSource):
    """Fail an awaited operation with :class:`OperationTimeout` after ``seconds``.

    Only the timeout's own expiry becomes ``OperationTimeout``; a ``TimeoutError`` raised by the
    operation itself propagates unchanged.
    """

    __slots__ = ("_listeners", "name", "seconds")

    def __init__(self, seconds: float, *, name: str = "timeout") -> None:
        positive("seconds", seconds, "for example 2.0", unit="seconds")
        self.seconds = float(seconds)
        self.name = name
        self._listeners: list[Listener] = []

    def __repr__(self) -> str:
        return f"Timeout({self.seconds!r}, name={self.name!r})"

    async def acall(self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Await ``fn(*args, **kwargs)`` for at most ``seconds``."""
        scope = asyncio.timeout(self.seconds)
        try:
            async with scope:
                return await fn(*args, **kwargs)
        except TimeoutError:
            if not scope.expired():
                raise
            now = asyncio.get_running_loop().time()
            self._emit(EventKind.TIMEOUT, self.name, now, {"timeout": self.seconds})
            raise OperationTimeout(self.name, self.seconds) from None

    def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Refused: a synchronous call cannot be interrupted; see the module docstring."""
        raise UsageError(
            f"Timeout {self.name!r} cannot bound the synchronous call {getattr(fn, '__name__', fn)!r}: "
            "Python cannot interrupt a running thread. Make it async, or await "
            "loop.run_in_executor(None, fn) through Timeout.acall."
        )

    def __call__(self, fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        """Decorate a coroutine function."""
        if not inspect.iscoroutinefunction(fn):
            self.call(fn)
        acall = self.acall

        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            return await acall(fn, *args, **kwargs)

        return wrapper
