"""Storage trouble is never the caller's: shared breakers and limiters degrade to local decisions.

Every Redis error response (READONLY, OOM, a missing database, NOSCRIPT, WRONGTYPE), an unreachable
store and a store that never answers: a call whose own function succeeds returns its result, the
component says what happened (events, counters), and resynchronises once the storage answers.
Deterministic: embedded fakeredis with injected Redis faults, or a storage that hangs, on virtual time.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable
from typing import Any

import pytest

from harness.clock import VirtualClock
from harness.errors import InvalidConfig, StorageFailure, StorageUnavailable
from harness.faults import redis_faults as rf
from harness.faults.redis_faults import RedisFault, inject_redis
from harness.resilience import (
    CircuitBreaker,
    CircuitBreakerConfig,
    CircuitOpenError,
    CircuitState,
    EventKind,
    RateLimited,
    RateLimiterConfig,
    ResilienceEvent,
    SharedCircuitBreaker,
    SharedRateLimiter,
    StoragePolicy,
)
from harness.storage import MemoryStorage, RedisStorage
from harness.storage.redis import storage_failure

RESPONSES: list[tuple[Callable[[], RedisFault], StorageFailure]] = [
    (rf.readonly, StorageFailure.READ_ONLY),
    (rf.oom, StorageFailure.OUT_OF_MEMORY),
    (rf.missing_database, StorageFailure.ERROR_RESPONSE),
    (lambda: rf.noscript(commands=()), StorageFailure.ERROR_RESPONSE),
    (rf.wrong_type, StorageFailure.ERROR_RESPONSE),
    (rf.connection_error, StorageFailure.UNREACHABLE),
    (rf.timeout, StorageFailure.TIMEOUT),
]
IDS = [make().kind.value for make, _ in RESPONSES]


def make_shared(storage: Any, clock: VirtualClock, owner: str = "p1") -> SharedCircuitBreaker:
    cfg = CircuitBreakerConfig(window=10, minimum_calls=5, open_for=2.0, half_open_calls=3)
    breaker = CircuitBreaker(cfg, name="payments", clock=clock)
    return SharedCircuitBreaker(breaker, storage, sync_interval=0.5, owner=owner)


async def ok() -> str:
    return "ok"


async def fail() -> None:
    raise ConnectionError("dependency down")


@pytest.mark.parametrize(("fault", "failure"), RESPONSES, ids=IDS)
def test_redis_errors_are_storage_unavailable_with_their_failure(
    fault: Callable[[], RedisFault], failure: StorageFailure
) -> None:
    """RedisStorage turns every error reply into StorageUnavailable saying which failure it was."""

    made = fault()
    # incr on a key of another type is the storage contract's InvalidConfig, on every backend
    incr_error = InvalidConfig if made.kind is rf.RedisFaultKind.WRONG_TYPE else StorageUnavailable

    async def main() -> None:
        storage = RedisStorage.embedded()
        with inject_redis(storage.client, made):
            with pytest.raises(StorageUnavailable) as raised:
                await storage.set("k", 1)
            with pytest.raises(incr_error):
                await storage.incr("n")
        assert raised.value.failure is failure
        assert storage_failure(raised.value.__cause__ or raised.value) is failure
        await storage.close()

    asyncio.run(main())


@pytest.mark.parametrize("timeout", [0, -1.0, math.nan, math.inf])
def test_command_timeout_must_be_positive_and_finite(timeout: float) -> None:
    """A zero, negative, NaN or infinite command timeout would let a hung server hang its callers."""
    with pytest.raises(InvalidConfig, match="command_timeout"):
        RedisStorage.from_url("redis://127.0.0.1:6379/0", command_timeout=timeout)
    with pytest.raises(InvalidConfig, match="connect_timeout"):
        RedisStorage.from_url("redis://127.0.0.1:6379/0", connect_timeout=timeout)


@pytest.mark.parametrize(("fault", "failure"), RESPONSES, ids=IDS)
def test_shared_breaker_degrades_on_every_storage_error_and_resyncs(
    fault: Callable[[], RedisFault], failure: StorageFailure, virtual_clock: VirtualClock
) -> None:
    """A call that succeeds returns its result whatever the storage answers; events tell the story."""
    events: list[ResilienceEvent] = []

    async def main() -> None:
        storage = RedisStorage.embedded()
        shared = make_shared(storage, virtual_clock)
        shared.add_listener(events.append)
        with inject_redis(storage.client, fault()):
            for _ in range(20):
                assert await shared.acall(ok) == "ok"
                await asyncio.sleep(0.1)
            for _ in range(5):
                with pytest.raises(ConnectionError):
                    await shared.acall(fail)
            assert shared.breaker.state is CircuitState.OPEN
            await asyncio.sleep(0.1)
            assert shared.degraded
            assert shared.storage_errors >= 1
        await asyncio.sleep(1.0)
        with pytest.raises(CircuitOpenError):
            await shared.acall(ok)  # the next background sync finds the storage back
        await asyncio.sleep(0.1)
        assert not shared.degraded
        assert (await shared.read()).state is CircuitState.OPEN  # published after recovery
        await storage.close()

    virtual_clock.run(main())
    kinds = [e.kind for e in events]
    assert kinds == [EventKind.STORAGE_DEGRADED, EventKind.STORAGE_RECOVERED]
    assert events[0].data["failure"] == failure.value


def test_corrupt_shared_record_degrades_instead_of_raising(virtual_clock: VirtualClock) -> None:
    """A state record that is not what the breaker wrote is storage trouble, not the caller's."""

    async def main() -> None:
        storage = MemoryStorage(clock=virtual_clock)
        shared = make_shared(storage, virtual_clock)
        await storage.set(shared.state_key, {"state": "sideways"})
        assert await shared.acall(ok) == "ok"
        await asyncio.sleep(0.1)
        assert await shared.acall(ok) == "ok"
        assert shared.degraded
        with pytest.raises(StorageUnavailable) as raised:
            await shared.sync()
        assert raised.value.failure is StorageFailure.CORRUPT

    virtual_clock.run(main())


class HangingStorage(MemoryStorage):
    """A storage that accepts every operation and, while ``hung``, never answers."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(clock=clock)
        self.hung = False
        self.waiting = 0

    async def _hang(self) -> None:
        if self.hung:
            self.waiting += 1
            await asyncio.Event().wait()

    async def get(self, key: str) -> Any:
        await self._hang()
        return await super().get(key)

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        await self._hang()
        return await super().incr(key, amount, ttl=ttl)

    async def compare_and_set(self, key: str, expected: Any, new: Any, *, ttl: float | None = None) -> bool:
        await self._hang()
        return await super().compare_and_set(key, expected, new, ttl=ttl)


async def _timed(clock: VirtualClock, call: Callable[[], Any]) -> float:
    start = clock.now()
    with contextlib.suppress(ConnectionError, CircuitOpenError, RateLimited):
        await call()
    return clock.now() - start


def test_hung_storage_never_stalls_breaker_callers(virtual_clock: VirtualClock) -> None:
    """With a storage that never answers, 2,000 calls through open, half-open and closed wait ~0 s."""
    latencies: list[float] = []

    async def main() -> None:
        storage = HangingStorage(virtual_clock)
        members = [make_shared(storage, virtual_clock, f"p{i}") for i in range(2)]
        for shared in members:
            assert await shared.acall(ok) == "ok"
        await asyncio.sleep(0.6)
        storage.hung = True

        def ok_call(shared: SharedCircuitBreaker) -> Callable[[], Any]:
            return lambda: shared.acall(ok)

        def fail_call(shared: SharedCircuitBreaker) -> Callable[[], Any]:
            return lambda: shared.acall(fail)

        async def run(i: int) -> None:
            shared = members[i % 2]
            for n in range(1000):
                down = 20.0 <= asyncio.get_running_loop().time() < 40.0
                call = fail_call(shared) if down and n % 2 else ok_call(shared)
                latencies.append(await _timed(virtual_clock, call))
                await asyncio.sleep(0.05)

        async with asyncio.timeout(3600):
            await asyncio.gather(run(0), run(1))
        assert storage.waiting >= 1
        assert all(shared.degraded for shared in members)
        assert {shared.breaker.state for shared in members} == {CircuitState.CLOSED}

    virtual_clock.run(main())
    assert len(latencies) == 2000
    assert max(latencies) <= 0.05
    assert sorted(latencies)[int(0.99 * len(latencies))] == 0.0


@pytest.mark.parametrize("policy", list(StoragePolicy))
def test_shared_limiter_wraps_redis_errors_and_follows_its_policy(
    policy: StoragePolicy, virtual_clock: VirtualClock
) -> None:
    """READONLY from Redis: LOCAL limits locally, FAIL_OPEN admits, FAIL_CLOSED raises StorageUnavailable."""

    async def main() -> tuple[list[str], SharedRateLimiter]:
        storage = RedisStorage.embedded()
        cfg = RateLimiterConfig(rate=10, period=1.0, burst=2)
        limiter = SharedRateLimiter(cfg, storage, name="api", clock=virtual_clock, on_storage_error=policy)
        outcomes: list[str] = []
        with inject_redis(storage.client, rf.readonly()):
            for _ in range(4):
                try:
                    outcomes.append("admitted" if await limiter.try_acquire() else "limited")
                except StorageUnavailable as exc:
                    outcomes.append(f"unavailable ({exc.failure.value})")
        assert limiter.storage_errors >= 1
        assert limiter.degraded_decisions == 4
        await limiter.aclose()
        await storage.close()
        return outcomes, limiter

    outcomes, _ = virtual_clock.run(main())
    expected = {
        StoragePolicy.LOCAL: ["admitted", "admitted", "limited", "limited"],
        StoragePolicy.FAIL_OPEN: ["admitted"] * 4,
        StoragePolicy.FAIL_CLOSED: ["unavailable (read_only)"] * 4,
    }
    assert outcomes == expected[policy]


def test_shared_limiter_resyncs_when_storage_returns(virtual_clock: VirtualClock) -> None:
    """After an outage a background probe finds the storage back and decisions are shared again."""
    events: list[ResilienceEvent] = []

    async def main() -> None:
        storage = RedisStorage.embedded()
        # One permit per 30 s: the script reads the server's real clock, so the shared refusal
        # below must hold however slowly this machine runs between the two calls.
        cfg = RateLimiterConfig(rate=1, period=30.0, burst=1)
        make = lambda: SharedRateLimiter(cfg, storage, name="api", clock=virtual_clock)  # noqa: E731
        first, second = make(), make()
        first.add_listener(events.append)
        with inject_redis(storage.client, rf.connection_error()):
            for _ in range(10):
                await first.try_acquire()
                await asyncio.sleep(0.05)
            assert first.degraded
        await asyncio.sleep(31.0)  # the local bucket refills and the storage breaker may probe again
        assert await first.try_acquire()  # decided locally; starts the background probe
        await asyncio.sleep(0.01)
        assert not first.degraded
        assert await first.try_acquire()
        assert not await second.try_acquire()  # the shared state now says: no permit for 30 s
        await storage.close()

    virtual_clock.run(main())
    storage_events = [e.kind for e in events if e.kind is not EventKind.REJECT]
    assert storage_events == [EventKind.STORAGE_DEGRADED, EventKind.STORAGE_RECOVERED]


def test_hung_storage_never_stalls_limiter_callers(virtual_clock: VirtualClock) -> None:
    """A limiter on a storage that never answers: no caller waits more than storage_timeout."""
    latencies: list[float] = []

    async def main() -> None:
        storage = HangingStorage(virtual_clock)
        storage.hung = True
        cfg = RateLimiterConfig(rate=1000, period=1.0, burst=50)
        limiter = SharedRateLimiter(cfg, storage, name="api", clock=virtual_clock, storage_timeout=0.05)

        async def caller() -> None:
            for _ in range(200):
                latencies.append(await _timed(virtual_clock, limiter.acquire))
                await asyncio.sleep(0.01)

        async with asyncio.timeout(3600):
            await asyncio.gather(*(caller() for _ in range(10)))
        assert limiter.degraded

    virtual_clock.run(main())
    assert len(latencies) == 2000
    assert max(latencies) <= 0.05 + 1e-9
    assert sorted(latencies)[int(0.99 * len(latencies))] == 0.0


@pytest.mark.parametrize("bad", [0, -0.1, math.nan])
def test_storage_timeouts_must_be_positive(bad: float) -> None:
    """storage_timeout of 0, negative or NaN is refused where it is written."""
    storage = MemoryStorage()
    with pytest.raises(InvalidConfig, match="storage_timeout"):
        SharedCircuitBreaker(CircuitBreaker(), storage, storage_timeout=bad)
    with pytest.raises(InvalidConfig, match="storage_timeout"):
        SharedRateLimiter(RateLimiterConfig(rate=1), storage, storage_timeout=bad)
