"""The decorator form shared by every strategy that has ``call`` and ``acall``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

__all__ = ["decorate"]

P = ParamSpec("P")


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
