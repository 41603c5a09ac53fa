"""The decorator form shared by every strategy that has ``call`` and ``acall``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, overload

__all__ = ["Decorating", "decorate"]

P = ParamSpec("P")
R = TypeVar("R")


def decorate(
    fn: Callable[P, Any],
    call: Callable[..., Any],
    acall: Callable[..., Awaitable[Any]],
) -> Callable[P, Any]:
    """Wrap ``fn`` so each call goes through ``call`` (or ``acall`` for a coroutine function)."""
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            return await acall(fn, *args, **kwargs)

        return async_wrapper

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        return call(fn, *args, **kwargs)

    return wrapper


class Decorating:
    """Mixin for a strategy with ``call`` and ``acall``: the instance is also a decorator."""

    call: Callable[..., Any]
    acall: Callable[..., Awaitable[Any]]

    @overload
    def __call__(self, fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]: ...
    @overload
    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]: ...

    def __call__(self, fn: Callable[P, Any]) -> Callable[P, Any]:
        """Decorate a function or coroutine function so every call goes through the strategy."""
        return decorate(fn, self.call, self.acall)
