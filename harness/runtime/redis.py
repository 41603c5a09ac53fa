"""A simulated Redis: a fresh fakeredis server per run, reached by the user's own ``redis.asyncio`` client.

The code under test keeps its client (``redis.asyncio.from_url(os.environ["REDIS_URL"])``); the
run's :class:`~harness.runtime.network.SimulatedNetwork` hands every connection its pool opens to
a simulated host (``redis://redis.sim:6379/0``) a :class:`SimulatedConnection` on this server
instead of a socket. Each command then takes the dependency's latency on virtual time, and the
fault windows act on it the way a real server or network would:

- ``outage``: connections are refused and commands fail with ``ConnectionError``;
- ``errors`` / ``brownout``: a rate of commands fail with ``ConnectionError`` (brownout also slows
  every command by ``latency``);
- ``latency``: a rate of commands take ``latency`` longer;
- ``readonly``: write commands fail with ``ReadOnlyError`` (a failover left the client on a
  replica) and are not executed;
- ``oom``: commands that may grow memory fail with ``OutOfMemoryError`` and are not executed;
- ``drop``: the server closes the connection mid-command (``ConnectionError``; the pool reconnects);
- ``timeout``: the server stops answering; the client's ``socket_timeout`` raises ``TimeoutError``,
  or without one the reply comes when the fault window ends.

A command that a fault fails or refuses is sent to the server as ``ECHO`` instead, so nothing is
written and the connection's replies stay in step. Which commands write or may grow memory comes
from the command table fakeredis ships (the flags Redis itself declares).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import redis.asyncio as redis_async
import redis.exceptions
from fakeredis import FakeServer
from fakeredis.aioredis import FakeAsyncRedisConnection

from harness.runtime.schedule import DependencyCounters, DependencyFaultKind, FaultTimeline

__all__ = ["SimulatedConnection", "SimulatedRedis"]

Latency = Callable[[], float]
"""Draws one call's latency in seconds (from a seeded stream)."""


@cache
def _command_flags() -> dict[str, frozenset[str]]:
    """Redis's declared flags per command (``write``, ``denyoom``...), from fakeredis's command table."""
    text = resources.files("fakeredis").joinpath("commands.json").read_text(encoding="utf-8")
    table: dict[str, list[Any]] = json.loads(text)
    return {name.upper(): frozenset(entry[2]) for name, entry in table.items()}


def _flags(command: str) -> frozenset[str]:
    return _command_flags().get(command, frozenset())


@dataclass(frozen=True, slots=True)
class _Plan:
    """What happens to one command: extra delay, an error instead of the reply, a dropped connection."""

    delay: float = 0.0
    error: redis.exceptions.RedisError | None = None
    drop: bool = False
    hang_until: float | None = None


_CLEAN = _Plan()


class SimulatedRedis:
    """One simulated Redis dependency of one run: a fresh fakeredis server and its fault windows."""

    def __init__(
        self,
        name: str,
        *,
        timeline: FaultTimeline,
        rng: random.Random,
        now: Callable[[], float],
        latency: Latency | None = None,
    ) -> None:
        self.name = name
        self.timeline = timeline
        self.rng = rng
        self.now = now
        self.latency = latency
        self.server = FakeServer(version=(7, 4))
        self.counters = DependencyCounters()

    def connection(self, **kwargs: Any) -> SimulatedConnection:
        """A connection to this server for a pool of the user's client (its ``connection_kwargs``)."""
        kwargs.pop("version", None)
        kwargs.pop("server_type", None)
        return SimulatedConnection(simulated=self, server=self.server, **kwargs)

    def refused(self) -> bool:
        """Whether a new connection is refused now (an outage is on)."""
        return any(f.kind is DependencyFaultKind.OUTAGE for f in self.timeline.active(self.now()))

    def plan(self, command: str) -> _Plan:
        """Decide what happens to one ``command`` sent now (draws from the run's stream)."""
        self.counters.calls += 1
        now = self.now()
        delay = self.latency() if self.latency is not None else 0.0
        error: redis.exceptions.RedisError | None = None
        drop = False
        hang_until = None
        for fault in self.timeline.active(now):
            hit = fault.rate >= 1.0 or self.rng.random() < fault.rate
            kind = fault.kind
            if kind is DependencyFaultKind.BROWNOUT:
                delay += fault.latency
            if not hit or error is not None:
                continue
            if kind is DependencyFaultKind.LATENCY:
                delay += fault.latency
                continue
            found = _fault_error(kind, command)
            if found is None and kind is not DependencyFaultKind.TIMEOUT:
                continue
            self.counters.faults[kind.value] += 1
            if kind is DependencyFaultKind.TIMEOUT:
                hang_until = fault.end
            else:
                error, drop = found, kind is DependencyFaultKind.DROP
        if error is None and hang_until is None and delay == 0.0:
            return _CLEAN
        return _Plan(delay=delay, error=error, drop=drop, hang_until=hang_until)


def _fault_error(kind: DependencyFaultKind, command: str) -> redis.exceptions.RedisError | None:
    """The error a real server or network gives ``command`` under ``kind`` (None: it is unaffected)."""
    if kind is DependencyFaultKind.OUTAGE:
        return redis.exceptions.ConnectionError("Error 111 connecting to the server. Connection refused.")
    if kind in (DependencyFaultKind.ERRORS, DependencyFaultKind.BROWNOUT):
        return redis.exceptions.ConnectionError("Connection reset by peer")
    if kind is DependencyFaultKind.DROP:
        return redis.exceptions.ConnectionError("Connection closed by server.")
    if kind is DependencyFaultKind.READONLY and "write" in _flags(command):
        return redis.exceptions.ReadOnlyError("You can't write against a read only replica.")
    if kind is DependencyFaultKind.OOM and "denyoom" in _flags(command):
        return redis.exceptions.OutOfMemoryError("command not allowed when used memory > 'maxmemory'.")
    return None


def _command_name(args: tuple[Any, ...]) -> str:
    if not args:
        return ""
    first = args[0]
    name = first.decode() if isinstance(first, bytes) else str(first)
    return name.split(" ", 1)[0].upper()


class SimulatedConnection(FakeAsyncRedisConnection):
    """A ``redis.asyncio`` connection to a :class:`SimulatedRedis`, with its latency and faults."""

    def __init__(self, *, simulated: SimulatedRedis, **kwargs: Any) -> None:
        self._simulated = simulated
        self._plans: deque[_Plan] = deque()
        super().__init__(**kwargs)

    async def _connect(self) -> None:
        if self._simulated.refused():
            raise redis_async.ConnectionError(
                f"Error 111 connecting to {self._simulated.name}. Connection refused."
            )
        await super()._connect()

    def pack_command(self, *args: Any) -> list[bytes]:
        """Plan the command's fate; a command a fault fails is sent as ``ECHO`` so nothing happens."""
        plan = self._simulated.plan(_command_name(args))
        self._plans.append(plan)
        if plan.error is not None:
            return super().pack_command("ECHO", "harness-simulated-fault")
        return super().pack_command(*args)

    async def disconnect(self, nowait: bool = False, **kwargs: Any) -> None:  # type: ignore[override]
        """Close the connection; replies still owed die with it."""
        self._plans.clear()
        await super().disconnect(nowait=nowait, **kwargs)

    async def _wait(self, plan: _Plan) -> None:
        delay = plan.delay
        if plan.hang_until is not None:
            delay = max(delay, plan.hang_until - self._simulated.now())
        timeout = self.socket_timeout
        if timeout is not None and delay >= timeout:
            await asyncio.sleep(timeout)
            await self.disconnect()
            raise redis.exceptions.TimeoutError("Timeout reading from socket")
        if math.isfinite(delay) and delay > 0:
            await asyncio.sleep(delay)

    async def read_response(self, **kwargs: Any) -> Any:  # type: ignore[override]
        """The reply after the command's latency, or the fault's error in its place."""
        plan = self._plans.popleft() if self._plans else _CLEAN
        if plan is not _CLEAN:
            await self._wait(plan)
        response = await super().read_response(**kwargs)
        if plan.drop:
            await self.disconnect()
        if plan.error is not None:
            raise plan.error
        return response
