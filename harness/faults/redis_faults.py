"""Redis faults: errors, latency and dropped connections on chosen commands, seeded and recorded.

Two adapters share one decision core:

- :func:`inject_redis` patches a ``redis.asyncio`` client's ``execute_command`` (so every
  command, including the Lua scripts ``RedisStorage`` runs, passes through it) and restores it
  on exit. Command names are Redis's (``GET``, ``SET``, ``EVALSHA``...).
- :class:`FaultyStorage` wraps any :class:`~harness.storage.Storage` (memory or Redis); its
  command names are the storage operations in upper case (``GET``, ``SET``, ``INCR``,
  ``COMPARE_AND_SET``, ``DELETE``, ``TTL``, ``SCAN``).

Errors are the exceptions redis-py raises for the real condition, so the code under test sees
exactly what it would see in production::

    async with inject_redis(storage.client, readonly(commands={"SET", "EVALSHA"}), seed=7):
        ...
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

import redis.asyncio as aioredis
import redis.exceptions

from harness._checks import non_negative, probability
from harness.clock import Clock, SystemClock
from harness.errors import InvalidConfig, UsageError
from harness.faults.inject import FaultEvent
from harness.journal import Journal
from harness.seeding import Seeds
from harness.storage.base import JSONValue, Storage

__all__ = [
    "FaultyStorage",
    "RedisFault",
    "RedisFaultKind",
    "RedisFaults",
    "connection_error",
    "drop_connection",
    "inject_redis",
    "latency",
    "missing_database",
    "noscript",
    "oom",
    "readonly",
    "timeout",
    "wrong_type",
]


class RedisFaultKind(StrEnum):
    """What goes wrong with a Redis command."""

    CONNECTION_ERROR = "connection_error"
    TIMEOUT = "timeout"
    READONLY = "readonly"
    OOM = "oom"
    LATENCY = "latency"
    DROP_CONNECTION = "drop_connection"
    NOSCRIPT = "noscript"
    WRONG_TYPE = "wrong_type"
    MISSING_DATABASE = "missing_database"


_MESSAGES = {
    RedisFaultKind.CONNECTION_ERROR: "Connection refused (injected fault)",
    RedisFaultKind.TIMEOUT: "Timeout reading from socket (injected fault)",
    RedisFaultKind.READONLY: "You can't write against a read only replica. (injected fault)",
    RedisFaultKind.OOM: "command not allowed when used memory > 'maxmemory'. (injected fault)",
    RedisFaultKind.DROP_CONNECTION: "Connection closed by server. (injected fault)",
    RedisFaultKind.NOSCRIPT: "No matching script. Please use EVAL. (injected fault)",
    RedisFaultKind.WRONG_TYPE: (
        "WRONGTYPE Operation against a key holding the wrong kind of value (injected fault)"
    ),
    RedisFaultKind.MISSING_DATABASE: "DB index is out of range (injected fault)",
}
_ERRORS: dict[RedisFaultKind, type[redis.exceptions.RedisError]] = {
    RedisFaultKind.CONNECTION_ERROR: redis.exceptions.ConnectionError,
    RedisFaultKind.TIMEOUT: redis.exceptions.TimeoutError,
    RedisFaultKind.READONLY: redis.exceptions.ReadOnlyError,
    RedisFaultKind.OOM: redis.exceptions.OutOfMemoryError,
    RedisFaultKind.DROP_CONNECTION: redis.exceptions.ConnectionError,
    RedisFaultKind.NOSCRIPT: redis.exceptions.NoScriptError,
    RedisFaultKind.WRONG_TYPE: redis.exceptions.ResponseError,
    RedisFaultKind.MISSING_DATABASE: redis.exceptions.ResponseError,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisFault:
    """A fault on the commands in ``commands`` (all commands when empty), on a ``rate`` of calls."""

    kind: RedisFaultKind
    commands: frozenset[str] = field(default_factory=frozenset)
    rate: float = 1.0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        probability("rate", self.rate, "the share of matching commands that fail")
        non_negative("seconds", self.seconds, "the delay added to each matching command", unit="seconds")
        if isinstance(cast(object, self.commands), str):
            raise InvalidConfig(
                f"commands={self.commands!r} must be a collection of names, e.g. {{'GET', 'SET'}}.",
                field="commands",
                value=self.commands,
            )
        object.__setattr__(self, "commands", frozenset(c.upper() for c in self.commands))

    def matches(self, command: str) -> bool:
        """Whether this fault targets ``command``."""
        return not self.commands or command.upper() in self.commands

    def error(self) -> redis.exceptions.RedisError:
        """The exception a real server or client would raise for this fault."""
        return _ERRORS[self.kind](_MESSAGES[self.kind])

    def describe(self) -> str:
        """A short label for event records."""
        scope = ",".join(sorted(self.commands)) or "*"
        return f"redis.{self.kind.value}({scope})"


def _make(kind: RedisFaultKind, commands: Iterable[str], rate: float, seconds: float = 0.0) -> RedisFault:
    if isinstance(commands, str):
        raise InvalidConfig(
            f"commands={commands!r} must be a collection of names, e.g. {{'GET', 'SET'}}.",
            field="commands",
            value=commands,
        )
    return RedisFault(kind=kind, commands=frozenset(commands), rate=rate, seconds=seconds)


def connection_error(commands: Iterable[str] = (), rate: float = 1.0) -> RedisFault:
    """``ConnectionError`` on the chosen commands."""
    return _make(RedisFaultKind.CONNECTION_ERROR, commands, rate)


def timeout(commands: Iterable[str] = (), rate: float = 1.0) -> RedisFault:
    """``TimeoutError`` on the chosen commands."""
    return _make(RedisFaultKind.TIMEOUT, commands, rate)


def readonly(commands: Iterable[str] = (), rate: float = 1.0) -> RedisFault:
    """``READONLY`` (a failover left us on a replica) on the chosen commands."""
    return _make(RedisFaultKind.READONLY, commands, rate)


def oom(commands: Iterable[str] = (), rate: float = 1.0) -> RedisFault:
    """``OOM`` (maxmemory reached) on the chosen commands."""
    return _make(RedisFaultKind.OOM, commands, rate)


def noscript(commands: Iterable[str] = ("EVALSHA",), rate: float = 1.0) -> RedisFault:
    """``NOSCRIPT`` (the server lost its script cache, e.g. after a restart or failover)."""
    return _make(RedisFaultKind.NOSCRIPT, commands, rate)


def wrong_type(commands: Iterable[str] = (), rate: float = 1.0) -> RedisFault:
    """``WRONGTYPE`` (a key holds another kind of value, e.g. written by another program)."""
    return _make(RedisFaultKind.WRONG_TYPE, commands, rate)


def missing_database(commands: Iterable[str] = (), rate: float = 1.0) -> RedisFault:
    """``DB index is out of range`` (the URL names a database the server does not have)."""
    return _make(RedisFaultKind.MISSING_DATABASE, commands, rate)


def latency(seconds: float, commands: Iterable[str] = (), rate: float = 1.0) -> RedisFault:
    """Delay the chosen commands by ``seconds`` on the clock, then run them."""
    return _make(RedisFaultKind.LATENCY, commands, rate, seconds)


def drop_connection(commands: Iterable[str] = (), rate: float = 1.0) -> RedisFault:
    """Close the client's pooled connections and fail the command with ``ConnectionError``."""
    return _make(RedisFaultKind.DROP_CONNECTION, commands, rate)


class RedisFaults:
    """The decision core: which faults fire for a command, from a seeded stream; records events."""

    def __init__(
        self,
        faults: Iterable[RedisFault],
        *,
        seed: int = 0,
        clock: Clock | None = None,
        journal: Journal | None = None,
        target: str = "redis",
    ) -> None:
        self.faults = tuple(faults)
        for fault in self.faults:
            if not isinstance(fault, RedisFault):
                raise InvalidConfig(f"{fault!r} is not a Redis fault; use redis_faults.readonly() etc.")
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.target = target
        self._rng = Seeds(seed).stream(f"faults/{target}")
        self._journal = journal
        self._lock = threading.Lock()
        self.calls = 0
        self.events: list[FaultEvent] = []

    def decide(self, command: str) -> list[RedisFault]:
        """The faults that fire for this call of ``command`` (each matching fault draws once)."""
        with self._lock:
            self.calls += 1
            fired = [f for f in self.faults if f.matches(command) and self._rng.random() < f.rate]
            now = self.clock.now()
            for fault in fired:
                event = FaultEvent(now, self.target, fault.describe(), fault.kind, self.calls, fault.seconds)
                self.events.append(event)
                if self._journal is not None:
                    self._journal.append(event.to_event())
        return fired

    async def apply(
        self, command: str, run: Callable[[], Awaitable[Any]], drop: Callable[[], Awaitable[None]]
    ) -> Any:
        """Decide for ``command``, apply latency/errors/drops, else ``run()`` it."""
        for fault in self.decide(command):
            if fault.kind is RedisFaultKind.LATENCY:
                await self.clock.sleep(fault.seconds)
                continue
            if fault.kind is RedisFaultKind.DROP_CONNECTION:
                await drop()
            raise fault.error()
        return await run()


@contextlib.contextmanager
def inject_redis(
    client: aioredis.Redis,
    *faults: RedisFault,
    seed: int = 0,
    clock: Clock | None = None,
    journal: Journal | None = None,
) -> Iterator[RedisFaults]:
    """Patch ``client.execute_command`` with ``faults`` for the block; always restored.

    Works as ``with`` (sync) around async code; yields the decision core with its events.
    """
    core = RedisFaults(faults, seed=seed, clock=clock, journal=journal)
    if "execute_command" in vars(client):
        raise UsageError("this Redis client already has faults injected; nest faults in one inject_redis().")
    original: Callable[..., Awaitable[Any]] = client.execute_command
    pool: Any = client.connection_pool

    async def execute_command(*args: Any, **options: Any) -> Any:
        command = str(args[0]).upper() if args else ""
        return await core.apply(command, lambda: original(*args, **options), pool.disconnect)

    client.execute_command = execute_command  # type: ignore[method-assign]
    try:
        yield core
    finally:
        del client.execute_command


class FaultyStorage:
    """A :class:`~harness.storage.Storage` whose operations suffer the given Redis faults."""

    def __init__(self, inner: Storage, core: RedisFaults) -> None:
        self.inner = inner
        self.core = core

    async def _drop(self) -> None:
        client = getattr(self.inner, "client", None)
        if isinstance(client, aioredis.Redis):
            await client.connection_pool.disconnect()

    async def _op(self, name: str, run: Callable[[], Awaitable[Any]]) -> Any:
        return await self.core.apply(name, run, self._drop)

    async def get(self, key: str) -> JSONValue:
        """``GET`` through the faults."""
        return await self._op("GET", lambda: self.inner.get(key))

    async def set(self, key: str, value: JSONValue, *, ttl: float | None = None) -> None:
        """``SET`` through the faults."""
        await self._op("SET", lambda: self.inner.set(key, value, ttl=ttl))

    async def delete(self, key: str) -> bool:
        """``DELETE`` through the faults."""
        return bool(await self._op("DELETE", lambda: self.inner.delete(key)))

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """``INCR`` through the faults."""
        return int(await self._op("INCR", lambda: self.inner.incr(key, amount, ttl=ttl)))

    async def compare_and_set(
        self, key: str, expected: JSONValue, new: JSONValue, *, ttl: float | None = None
    ) -> bool:
        """``COMPARE_AND_SET`` through the faults."""
        return bool(
            await self._op("COMPARE_AND_SET", lambda: self.inner.compare_and_set(key, expected, new, ttl=ttl))
        )

    async def ttl(self, key: str) -> float | None:
        """``TTL`` through the faults."""
        result: float | None = await self._op("TTL", lambda: self.inner.ttl(key))
        return result

    async def scan(self, prefix: str = "") -> list[str]:
        """``SCAN`` through the faults."""
        return list(await self._op("SCAN", lambda: self.inner.scan(prefix)))

    async def close(self) -> None:
        """Close the wrapped storage (never faulted)."""
        await self.inner.close()

    def __repr__(self) -> str:
        return f"FaultyStorage({self.inner!r}, faults={len(self.core.faults)})"
