"""The storage-fault suite: a shared breaker and a shared rate limiter on a real redis-server that fails.

Each case runs one workload on the real clock: 16 tasks call through the shared breaker and the
shared limiter in a loop (the dependency itself fails for a while, so the breaker opens, probes
and closes while the storage is broken). The storage is killed, stopped with SIGSTOP, made a
read-only replica, filled to its memory limit, pointed at a missing database, or replaced by a
listener that accepts and never answers. Checked in every case: no storage error reaches a caller
(every call either returns the dependency's result, or raises the dependency's own error or
``CircuitOpenError``), the components say they degraded, and the p99 call latency stays under
100 ms while the storage is broken; where the storage heals, both resynchronise.

The latency bound is behavioural, not a benchmark: a call that waits for a hung storage waits
its command timeout (5 s) or, with the fix, at most ``storage_timeout`` (50 ms); everything else
is microseconds, so 100 ms holds on a loaded 2-core machine.
"""

from __future__ import annotations

import asyncio
import math
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
import redis.asyncio as aioredis

from harness.resilience import (
    CircuitBreaker,
    CircuitBreakerConfig,
    CircuitOpenError,
    EventKind,
    RateLimiterConfig,
    ResilienceEvent,
    SharedCircuitBreaker,
    SharedRateLimiter,
)
from harness.storage import RedisStorage
from tests.resilience.redis_server import RedisServer, redis_server, silent_listener

pytestmark = [pytest.mark.slow]

TASKS = 16
FAULT_SECONDS = 2.5
HEAL_SECONDS = 3.0
P99_BOUND = 0.100


@dataclass
class Workload:
    """One breaker and one limiter on ``url``, called by TASKS tasks; what the callers saw."""

    url: str
    latencies: list[float] = field(default_factory=list)
    unexpected: list[BaseException] = field(default_factory=list)
    results: int = 0
    events: list[ResilienceEvent] = field(default_factory=list)
    dependency_down: bool = False

    def __post_init__(self) -> None:
        namespace = f"suite-{uuid.uuid4().hex[:10]}"
        self.storage = RedisStorage.from_url(self.url, namespace=namespace, connect_timeout=1.0)
        cfg = CircuitBreakerConfig(window=20, minimum_calls=10, open_for=0.2, half_open_calls=3)
        breaker = CircuitBreaker(cfg, name="checkout")
        self.breaker = SharedCircuitBreaker(breaker, self.storage, sync_interval=0.1, owner="suite")
        limit = RateLimiterConfig(rate=1_000_000, period=1.0, burst=1000)
        self.limiter = SharedRateLimiter(limit, self.storage, name="checkout")
        self.breaker.add_listener(self.events.append)
        self.limiter.add_listener(self.events.append)

    async def dependency(self) -> str:
        await asyncio.sleep(0)
        if self.dependency_down:
            raise ConnectionError("dependency down")
        return "ok"

    async def one_call(self) -> None:
        start = time.perf_counter()
        try:
            admitted = await self.limiter.try_acquire()
            if admitted and await self.breaker.acall(self.dependency) == "ok":
                self.results += 1
        except (ConnectionError, CircuitOpenError):
            pass  # the dependency's own failure, or the breaker protecting it: expected
        except Exception as exc:  # anything else is a storage error that leaked
            self.unexpected.append(exc)
        self.latencies.append(time.perf_counter() - start)

    async def run(self, seconds: float, *, flap: bool = False) -> None:
        """Call for ``seconds``; with ``flap`` the dependency is down for the first 40%."""
        start = time.perf_counter()
        loop = asyncio.get_running_loop()

        async def caller() -> None:
            while (elapsed := time.perf_counter() - start) < seconds:
                self.dependency_down = flap and elapsed < 0.4 * seconds
                await self.one_call()
                await asyncio.sleep(0.002)

        async with asyncio.timeout(seconds + 30):
            await asyncio.gather(*(loop.create_task(caller()) for _ in range(TASKS)))
        self.dependency_down = False

    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]

    def kinds(self, source: str) -> list[EventKind]:
        return [e.kind for e in self.events if e.source == source and e.kind.value.startswith("storage")]

    async def close(self) -> None:
        await self.breaker.aclose()
        await self.limiter.aclose()
        await self.storage.close()


def _report(case: str, w: Workload) -> None:
    print(
        f"{case}: {len(w.latencies)} calls while broken, p99 {w.p99() * 1000:.2f} ms, "
        f"max {max(w.latencies) * 1000:.1f} ms, breaker storage errors {w.breaker.storage_errors}, "
        f"limiter storage errors {w.limiter.storage_errors}"
    )


async def _broken_phase(case: str, w: Workload) -> None:
    await w.run(FAULT_SECONDS, flap=True)
    _report(case, w)
    assert w.unexpected == []
    assert w.results > 0
    assert w.breaker.storage_errors > 0
    assert w.limiter.storage_errors > 0
    assert w.p99() < P99_BOUND
    assert w.kinds("checkout")[:1] == [EventKind.STORAGE_DEGRADED]


async def _healed_phase(w: Workload) -> None:
    w.latencies.clear()
    w.events.clear()
    local_before = w.limiter.degraded_decisions
    await w.run(HEAL_SECONDS)
    assert w.unexpected == []
    assert not w.breaker.degraded
    # The limiter waits at most 50 ms for each shared decision (on the caller's path), so on a
    # loaded machine slow answers can send it back to local limiting for its storage breaker's
    # 1 s: healed means that it found the storage back (an event), not that it never left it.
    assert EventKind.STORAGE_RECOVERED in w.kinds("checkout")
    local = w.limiter.degraded_decisions - local_before
    print(f"after healing: {local} of {len(w.latencies)} limiter decisions local")
    shared = await w.breaker.sync()
    assert shared.state is w.breaker.breaker.state


async def _admin(server: RedisServer, *command: str) -> None:
    client = aioredis.Redis.from_url(server.url(), socket_timeout=5)
    try:
        await client.execute_command(*command)
    finally:
        await client.aclose()


Break = Callable[[RedisServer], Awaitable[None]]


async def _kill(server: RedisServer) -> None:
    server.kill()


async def _restart(server: RedisServer) -> None:
    server.start()


async def _stop(server: RedisServer) -> None:
    server.signal(signal.SIGSTOP)


async def _continue(server: RedisServer) -> None:
    server.signal(signal.SIGCONT)


async def _replica_of_nothing(server: RedisServer) -> None:
    with silent_listener() as dead:  # a master that never answers: the replica stays read-only
        await _admin(server, "REPLICAOF", "127.0.0.1", str(dead))


async def _primary_again(server: RedisServer) -> None:
    await _admin(server, "REPLICAOF", "NO", "ONE")


async def _full(server: RedisServer) -> None:
    await _admin(server, "CONFIG", "SET", "maxmemory-policy", "noeviction")
    await _admin(server, "CONFIG", "SET", "maxmemory", "1")


async def _room(server: RedisServer) -> None:
    await _admin(server, "CONFIG", "SET", "maxmemory", "0")


CASES: dict[str, tuple[Break, Break]] = {
    "killed": (_kill, _restart),
    "stopped": (_stop, _continue),
    "read-only replica": (_replica_of_nothing, _primary_again),
    "out of memory": (_full, _room),
}


@pytest.mark.parametrize("case", list(CASES))
def test_storage_broken_and_mended_never_reaches_callers(case: str) -> None:
    """The storage breaks under load, then heals: callers never see it, and state resyncs."""
    breaks, mends = CASES[case]

    async def main() -> None:
        with redis_server() as server:
            w = Workload(server.url())
            try:
                await w.run(0.5)
                assert not w.breaker.degraded
                w.latencies.clear()
                await breaks(server)
                await _broken_phase(case, w)
                await mends(server)
                await _healed_phase(w)
            finally:
                await w.close()

    asyncio.run(main())


def test_missing_database_never_reaches_callers() -> None:
    """A URL naming database 99 of a 16-database server: every call still gets its own outcome."""

    async def main() -> None:
        with redis_server() as server:
            w = Workload(server.url(db=99))
            try:
                await _broken_phase("missing database", w)
                assert w.breaker.degraded
            finally:
                await w.close()

    asyncio.run(main())


def test_silent_listener_never_stalls_callers() -> None:
    """A 'Redis' that accepts connections and never answers: calls go on at full speed."""

    async def main() -> None:
        with silent_listener() as port:
            w = Workload(f"redis://127.0.0.1:{port}/0")
            try:
                await _broken_phase("silent listener", w)
            finally:
                await w.close()

    asyncio.run(main())
