"""Carrying out routing decisions: call the routed version, mirror to shadows in the background.

The decision (which version serves a request, which shadows get a copy) is the
:class:`~harness.rollout.router.Router`'s and does no I/O. A :class:`MirrorPool` carries a
:class:`Route` out: it starts one background task per shadow, bounded by ``max_concurrency``
(excess mirrors are dropped and counted) and by ``timeout``, then awaits only the primary. A slow,
failing or hanging shadow cannot change the primary's result or delay it. Mirror outcomes go to an
``on_mirror`` callback (for example to build shadow exchanges) once both calls have finished.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from harness._checks import integer, within
from harness.errors import InvalidConfig

__all__ = ["Handler", "MirrorConfig", "MirrorOutcome", "MirrorPool", "Route"]

_Resp = TypeVar("_Resp")
Handler = Callable[[Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class MirrorConfig:
    """Bounds on mirroring: concurrent mirrors in flight, time each may take, share mirrored."""

    max_concurrency: int = 16
    timeout: float = 1.0
    percent: float = 100.0

    def __post_init__(self) -> None:
        integer("max_concurrency", self.max_concurrency, "mirrored calls in flight at once", at_least=1)
        within("timeout", self.timeout, "(0, inf]", "how long a mirrored call may take", unit="seconds")
        within("percent", self.percent, "[0, 100]", "the share of requests mirrored", what="a percent")


@dataclass(frozen=True, slots=True)
class Route:
    """One request's routing decision: the version that serves it and the shadows that get a copy."""

    version: str
    shadows: tuple[str, ...] = ()
    key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MirrorOutcome(Generic[_Resp]):
    """What one mirrored call produced, next to the primary's result."""

    key: str | None
    request_number: int  # the pool's running count of requests served: pairs one request's mirrors
    primary_version: str
    shadow_version: str
    primary: _Resp | None
    primary_error: BaseException | None
    shadow: _Resp | None
    shadow_error: BaseException | None
    timed_out: bool


@dataclass(frozen=True, slots=True)
class _MirrorJob:
    number: int
    route: Route
    shadow: str
    request: Any
    handlers: Mapping[str, Handler]
    primary: asyncio.Future[Any]


class MirrorPool:
    """Serves routes: awaits the primary, runs bounded fire-and-forget mirrors to the shadows."""

    def __init__(
        self,
        config: MirrorConfig | None = None,
        on_mirror: Callable[[MirrorOutcome[Any]], None] | None = None,
    ) -> None:
        self.config = config or MirrorConfig()
        self.on_mirror = on_mirror
        self._tasks: set[asyncio.Task[None]] = set()
        self.served = 0
        self.mirrored = 0
        self.dropped = 0
        self.timeouts = 0
        self.failures = 0

    async def serve(self, route: Route, request: Any, handlers: Mapping[str, Handler]) -> Any:
        """Call ``route.version`` with ``request`` and return its result; mirror to ``route.shadows``."""
        if route.version not in handlers:
            raise InvalidConfig(
                f"no handler for version {route.version!r}; handlers: {', '.join(sorted(handlers))}.",
                field="handlers",
                value=route.version,
            )
        self.served += 1
        primary_done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        for shadow in route.shadows:
            self._start(_MirrorJob(self.served, route, shadow, request, handlers, primary_done))
        try:
            result = await handlers[route.version](request)
        except BaseException as exc:
            primary_done.set_exception(exc)
            primary_done.exception()  # mark retrieved: mirrors may read it, nobody else must
            raise
        primary_done.set_result(result)
        return result

    def _start(self, job: _MirrorJob) -> None:
        if len(self._tasks) >= self.config.max_concurrency or job.shadow not in job.handlers:
            self.dropped += 1
            return
        self.mirrored += 1
        task = asyncio.get_running_loop().create_task(self._mirror(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call_shadow(self, job: _MirrorJob) -> tuple[Any, BaseException | None, bool]:
        try:
            async with asyncio.timeout(self.config.timeout):
                return await job.handlers[job.shadow](job.request), None, False
        except TimeoutError as exc:
            self.timeouts += 1
            return None, exc, True
        except Exception as exc:  # noqa: BLE001 - a shadow's failure is data, never the caller's problem
            self.failures += 1
            return None, exc, False

    async def _mirror(self, job: _MirrorJob) -> None:
        result, error, timed_out = await self._call_shadow(job)
        await asyncio.wait([job.primary])
        if self.on_mirror is None:
            return
        p_err = job.primary.exception()
        self.on_mirror(
            MirrorOutcome(
                key=job.route.key,
                request_number=job.number,
                primary_version=job.route.version,
                shadow_version=job.shadow,
                primary=None if p_err else job.primary.result(),
                primary_error=p_err,
                shadow=result,
                shadow_error=error,
                timed_out=timed_out,
            )
        )

    @property
    def pending(self) -> int:
        """Mirrors still in flight."""
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for in-flight mirrors (each is bounded by the mirror timeout)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel in-flight mirrors and wait for them to finish."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
