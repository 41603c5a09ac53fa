"""Pipelines: strategies composed in order, outermost first, with one event stream.

    pipeline = Pipeline(Timeout(2.0), Retry(...), breaker, Bulkhead(...), FallbackChain(...))
    result = await pipeline.acall(fetch, user_id)

is ``timeout(retry(breaker(bulkhead(fallback(fetch)))))``, as Polly v8 composes a resilience
pipeline: the timeout bounds every retry, each retry goes through the breaker, and so on. Every
strategy's events (retries, state changes, rejections, timeouts, fallbacks) reach the
pipeline's listeners, tagged with the strategy's name, in the order they happen.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, Protocol, TypeVar, cast, runtime_checkable

from harness.errors import InvalidConfig
from harness.resilience._decorate import Decorating
from harness.resilience.events import EventKind, EventSource, Listener, ResilienceEvent

__all__ = ["Pipeline", "Strategy"]

P = ParamSpec("P")
R = TypeVar("R")


@runtime_checkable
class Strategy(Protocol):
    """What a pipeline composes: sync and async call forms and an event hook."""

    name: str

    def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` under the strategy."""
        ...

    async def acall(self, fn: Callable[..., Awaitable[Any]], /, *args: Any, **kwargs: Any) -> Any:
        """Await ``fn`` under the strategy."""
        ...

    def add_listener(self, listener: Listener) -> None:
        """Receive the strategy's events."""
        ...


class Pipeline(Decorating, EventSource):
    """Compose ``strategies`` (outermost first) into one sync/async wrapper with one event stream."""

    def __init__(self, *strategies: Strategy, name: str = "pipeline") -> None:
        if not strategies:
            raise InvalidConfig("Pipeline needs at least one strategy.", field="strategies", value=())
        for s in strategies:
            if not isinstance(s, Strategy):
                raise InvalidConfig(
                    f"{s!r} is not a strategy (it needs call, acall, add_listener and a name); "
                    "use CircuitBreaker, Retry, Timeout, Bulkhead, RateLimiter or FallbackChain.",
                    field="strategies",
                    value=s,
                )
        self.strategies = tuple(strategies)
        self.name = name
        self._listeners: list[Listener] = []
        for s in self.strategies:
            s.add_listener(self._forward)

    def _forward(self, event: ResilienceEvent) -> None:
        for listener in tuple(self._listeners):
            listener(event)

    def on(self, kind: EventKind, callback: Callable[[ResilienceEvent], None]) -> None:
        """Call ``callback`` for events of one ``kind`` (on_retry, on_open, ... in one method)."""

        def listener(event: ResilienceEvent) -> None:
            if event.kind is kind:
                callback(event)

        self.add_listener(listener)

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``fn(*args, **kwargs)`` through every strategy."""
        inner: Callable[[], Any] = functools.partial(fn, *args, **kwargs)
        for s in reversed(self.strategies):
            inner = functools.partial(s.call, inner)
        return cast(R, inner())

    async def acall(self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Await ``fn(*args, **kwargs)`` through every strategy."""
        inner: Callable[[], Awaitable[Any]] = functools.partial(fn, *args, **kwargs)
        for s in reversed(self.strategies):
            inner = functools.partial(s.acall, inner)
        return cast(R, await inner())
