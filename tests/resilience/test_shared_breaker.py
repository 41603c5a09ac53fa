"""Breakers sharing state through Storage: atomic transitions, a complete log, global trials."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest

from harness.clock import VirtualClock
from harness.errors import StorageUnavailable
from harness.resilience import (
    CircuitBreaker,
    CircuitBreakerConfig,
    CircuitOpenError,
    CircuitState,
    SharedCircuitBreaker,
)
from harness.resilience.shared import is_valid_sequence
from harness.seeding import Seeds
from harness.storage import MemoryStorage, RedisStorage
from harness.storage.base import Storage
from tests.support import redis_url, requires_redis

ROOT = Path(__file__).resolve().parents[2]


def make_shared(storage: Storage, clock: VirtualClock, owner: str) -> SharedCircuitBreaker:
    cfg = CircuitBreakerConfig(window=10, minimum_calls=5, open_for=2.0, half_open_calls=3)
    breaker = CircuitBreaker(cfg, name="payments", clock=clock)
    return SharedCircuitBreaker(breaker, storage, sync_interval=0.5, owner=owner)


async def assert_log_complete(shared: SharedCircuitBreaker) -> list[dict[str, object]]:
    entries = await shared.transitions()
    state = await shared.read()
    assert is_valid_sequence(entries), entries
    assert len(entries) == state.version
    if entries:
        assert CircuitState(entries[-1]["to"]) is state.state
    return entries


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_instances_share_one_breaker(backend: str, virtual_clock: VirtualClock, seeds: Seeds) -> None:
    """Four breakers on one storage: one valid transition chain, global trial limits, recovery."""
    trials: Counter[int] = Counter()

    async def main() -> list[dict[str, object]]:
        storage = MemoryStorage(clock=virtual_clock) if backend == "memory" else RedisStorage.embedded()
        members = [make_shared(storage, virtual_clock, f"p{i}") for i in range(4)]
        loop = asyncio.get_running_loop()

        async def worker(i: int) -> None:
            rng = seeds.stream(f"worker-{i}")
            shared = members[i]
            while loop.time() < 60.0:
                down = 10.0 <= loop.time() < 25.0

                async def dependency(down: bool = down, shared: SharedCircuitBreaker = shared) -> None:
                    if shared.breaker._state is CircuitState.HALF_OPEN:
                        trials[shared._version] += 1
                    await asyncio.sleep(rng.uniform(0.01, 0.2))
                    if down:
                        raise ConnectionError("down")

                with contextlib.suppress(ConnectionError, CircuitOpenError):
                    await shared.acall(dependency)
                await asyncio.sleep(rng.uniform(0.01, 0.1))

        await asyncio.gather(*(worker(i) for i in range(4)))
        entries = await assert_log_complete(members[0])
        assert {m.breaker.state for m in members} == {CircuitState.CLOSED}
        await storage.close()
        return entries

    entries = virtual_clock.run(main())
    pairs = [(e["from"], e["to"]) for e in entries]
    assert ("closed", "open") in pairs
    assert ("half_open", "open") in pairs
    assert pairs[-1] == ("half_open", "closed")
    assert len({e["by"] for e in entries}) > 1
    assert trials
    assert max(trials.values()) <= 3


def test_losing_publisher_adopts_the_winner(virtual_clock: VirtualClock) -> None:
    """When two processes trip at once, one transition is published and the other adopts it."""

    async def main() -> None:
        storage = MemoryStorage(clock=virtual_clock)
        a, b = make_shared(storage, virtual_clock, "a"), make_shared(storage, virtual_clock, "b")

        async def fail() -> None:
            raise ConnectionError

        for shared in (a, b):
            decorated = shared(fail)
            for _ in range(5):
                with pytest.raises((ConnectionError, CircuitOpenError)):
                    await decorated()
        assert a.breaker.state is b.breaker.state is CircuitState.OPEN  # both tripped locally
        await asyncio.sleep(0.1)  # the background syncs run: a publishes first, b adopts
        entries = await assert_log_complete(a)
        assert [(e["from"], e["to"], e["by"]) for e in entries] == [("closed", "open", "a")]
        assert b.breaker.state is CircuitState.OPEN

    virtual_clock.run(main())


@pytest.mark.slow
@pytest.mark.redis
@requires_redis
def test_four_processes_on_real_redis_keep_a_complete_valid_log() -> None:
    """Four processes hammer one shared breaker on real Redis; the transition log is one valid chain."""
    url = redis_url()
    assert url is not None
    name = f"shared-{uuid.uuid4().hex[:8]}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.resilience.shared_worker", url, name, f"proc{i}", str(i)],
            cwd=ROOT,
        )
        for i in range(4)
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0

    async def check() -> list[dict[str, object]]:
        storage = RedisStorage.from_url(url, namespace="harness-test")
        probe = SharedCircuitBreaker(CircuitBreaker(name=name), storage, owner="probe")
        try:
            entries = await assert_log_complete(probe)
            for key in await storage.scan(f"breaker:{name}:"):
                await storage.delete(key)
        finally:
            await storage.close()
        return entries

    entries = asyncio.run(check())
    pairs = {(e["from"], e["to"]) for e in entries}
    assert len(entries) >= 10
    assert {("closed", "open"), ("open", "half_open"), ("half_open", "closed")} <= pairs
    assert len({e["by"] for e in entries}) >= 2


class FlakyStorage(MemoryStorage):
    """A MemoryStorage that raises StorageUnavailable while ``down`` is set."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(clock=clock)
        self.down = False

    def _check(self, key: str) -> None:
        if self.down:
            raise StorageUnavailable("storage is down", url="memory://flaky")
        super()._check(key)


def test_storage_outage_falls_back_to_local_breaking(virtual_clock: VirtualClock) -> None:
    """With the store down, the breaker still opens, rejects and recovers locally, then resyncs."""

    async def main() -> None:
        storage = FlakyStorage(virtual_clock)
        shared = make_shared(storage, virtual_clock, "solo")
        other = make_shared(storage, virtual_clock, "other")

        async def fail() -> None:
            raise ConnectionError

        async def ok() -> str:
            return "ok"

        assert await shared.acall(ok) == "ok"
        storage.down = True
        for _ in range(4):
            with pytest.raises(ConnectionError):
                await shared.acall(fail)
        with pytest.raises(CircuitOpenError):
            await shared.acall(ok)
        await asyncio.sleep(0.01)  # the background sync runs, off the callers' path, and fails
        assert shared.storage_errors >= 1
        assert shared.degraded
        await asyncio.sleep(2.0)
        for _ in range(3):
            assert await shared.acall(ok) == "ok"
        assert shared.breaker.state is CircuitState.CLOSED
        storage.down = False
        await asyncio.sleep(1.0)
        assert await shared.acall(ok) == "ok"
        entries = await assert_log_complete(shared)
        assert [(e["from"], e["to"]) for e in entries] == [
            ("closed", "open"),
            ("open", "half_open"),
            ("half_open", "closed"),
        ]
        await other.sync()
        assert other.breaker.state is CircuitState.CLOSED

    virtual_clock.run(main())


def test_outage_during_open_publishes_when_storage_returns(virtual_clock: VirtualClock) -> None:
    """A transition made while the store is down is published once it answers again."""

    async def main() -> None:
        storage = FlakyStorage(virtual_clock)
        shared = make_shared(storage, virtual_clock, "solo")
        other = make_shared(storage, virtual_clock, "other")

        async def fail() -> None:
            raise ConnectionError

        storage.down = True
        for _ in range(5):
            with pytest.raises(ConnectionError):
                await shared.acall(fail)
        assert shared.breaker.state is CircuitState.OPEN
        await asyncio.sleep(0.01)  # the background sync fails: the transition waits in the outbox
        assert shared.degraded
        storage.down = False
        await asyncio.sleep(0.6)
        with pytest.raises(CircuitOpenError):
            await shared.acall(fail)  # starts the next background sync
        await asyncio.sleep(0.1)
        assert not shared.degraded
        entries = await assert_log_complete(shared)
        assert [(e["from"], e["to"]) for e in entries] == [("closed", "open")]
        await other.sync()
        assert other.breaker.state is CircuitState.OPEN

    virtual_clock.run(main())
