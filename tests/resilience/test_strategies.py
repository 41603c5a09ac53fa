"""Timeout, bulkhead, rate limiter and fallback chain."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest

from harness.clock import VirtualClock
from harness.errors import InvalidConfig, UsageError
from harness.resilience import (
    Bulkhead,
    BulkheadConfig,
    BulkheadFull,
    EventKind,
    Fallback,
    FallbackChain,
    OperationTimeout,
    RateLimited,
    RateLimiter,
    RateLimiterConfig,
    SharedRateLimiter,
    Timeout,
)
from harness.resilience.ratelimit import Gcra
from harness.storage import MemoryStorage, RedisStorage
from tests.support import redis_url, requires_redis

# -- Timeout -------------------------------------------------------------------------------------


def test_timeout_fires_on_virtual_time(virtual_clock: VirtualClock) -> None:
    """A slow coroutine fails with OperationTimeout at exactly the timeout, in no wall time."""
    timeout = Timeout(2.0, name="db")
    events = []
    timeout.add_listener(events.append)

    async def main() -> float:
        with pytest.raises(OperationTimeout) as info:
            await timeout.acall(asyncio.sleep, 3600.0)
        assert isinstance(info.value, TimeoutError)
        assert info.value.timeout == 2.0
        return asyncio.get_running_loop().time()

    assert virtual_clock.run(main()) == 2.0
    assert [e.kind for e in events] == [EventKind.TIMEOUT]


def test_timeout_passes_results_and_own_timeouts_through(virtual_clock: VirtualClock) -> None:
    """A fast call returns its value; a TimeoutError raised by the call itself is not converted."""
    timeout = Timeout(5.0)

    @timeout
    async def own_timeout() -> None:
        raise TimeoutError("inner")

    async def main() -> None:
        assert await timeout.acall(asyncio.sleep, 1.0, "done") == "done"
        with pytest.raises(TimeoutError, match="inner") as info:
            await own_timeout()
        assert not isinstance(info.value, OperationTimeout)

    virtual_clock.run(main())


def test_timeout_creates_no_task_per_call(virtual_clock: VirtualClock) -> None:
    """The operation runs in the caller's task: no extra task exists while it is awaited."""
    timeout = Timeout(5.0)

    async def body() -> tuple[int, asyncio.Task[object] | None]:
        return len(asyncio.all_tasks()), asyncio.current_task()

    async def main() -> None:
        me = asyncio.current_task()
        count, task = await timeout.acall(body)
        assert task is me
        assert count == 1

    virtual_clock.run(main())


def test_timeout_refuses_sync_calls_and_bad_values() -> None:
    """Sync calls cannot be interrupted, so they are refused with the fix; bad seconds fail early."""
    with pytest.raises(UsageError, match="run_in_executor"):
        Timeout(1.0).call(print)
    with pytest.raises(InvalidConfig, match="seconds=0"):
        Timeout(0)


# -- Bulkhead ------------------------------------------------------------------------------------


def test_bulkhead_config_validation() -> None:
    """Zero concurrency, negative waits, and a queue without a wait timeout are refused."""
    with pytest.raises(InvalidConfig, match="max_concurrent=0"):
        BulkheadConfig(max_concurrent=0)
    with pytest.raises(InvalidConfig, match="max_waiting=-1"):
        BulkheadConfig(max_waiting=-1)
    with pytest.raises(InvalidConfig, match="needs a wait_timeout"):
        BulkheadConfig(max_waiting=3)


def test_async_bulkhead_limits_concurrency_and_queue(virtual_clock: VirtualClock) -> None:
    """At most max_concurrent run; max_waiting queue; the rest are rejected at once."""
    bulkhead = Bulkhead(BulkheadConfig(max_concurrent=2, max_waiting=2, wait_timeout=100.0))
    running = 0
    peak = 0

    async def work() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(1.0)
        running -= 1

    async def main() -> list[object]:
        return list(await asyncio.gather(*(bulkhead.acall(work) for _ in range(6)), return_exceptions=True))

    results = virtual_clock.run(main())
    assert peak == 2
    assert sum(isinstance(r, BulkheadFull) for r in results) == 2
    assert results.count(None) == 4
    assert (bulkhead.active, bulkhead.waiting, bulkhead.rejected) == (0, 0, 2)


def test_async_bulkhead_wait_times_out(virtual_clock: VirtualClock) -> None:
    """A queued task gives up after wait_timeout of loop time and leaves the queue."""
    bulkhead = Bulkhead(BulkheadConfig(max_concurrent=1, max_waiting=1, wait_timeout=0.5))

    async def main() -> None:
        holder = asyncio.create_task(bulkhead.acall(asyncio.sleep, 10.0))
        await asyncio.sleep(0)
        with pytest.raises(BulkheadFull) as info:
            await bulkhead.acall(asyncio.sleep, 0.0)
        assert "waiting 0.500s" in str(info.value)
        assert asyncio.get_running_loop().time() == 0.5
        assert bulkhead.waiting == 0
        await holder

    virtual_clock.run(main())
    assert bulkhead.active == 0


def test_async_bulkhead_cancelled_waiter_frees_nothing_it_does_not_hold(virtual_clock: VirtualClock) -> None:
    """Cancelling a queued task removes it; the slot count stays exact."""
    bulkhead = Bulkhead(BulkheadConfig(max_concurrent=1, max_waiting=2, wait_timeout=50.0))

    async def main() -> None:
        holder = asyncio.create_task(bulkhead.acall(asyncio.sleep, 1.0))
        await asyncio.sleep(0)
        waiter = asyncio.create_task(bulkhead.acall(asyncio.sleep, 1.0))
        await asyncio.sleep(0)
        assert bulkhead.waiting == 1
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert bulkhead.waiting == 0
        await holder
        assert bulkhead.active == 0
        await bulkhead.acall(asyncio.sleep, 0.0)

    virtual_clock.run(main())


def test_sync_bulkhead_threads() -> None:
    """Threads beyond max_concurrent + max_waiting are rejected; queued ones get freed slots."""
    bulkhead = Bulkhead(BulkheadConfig(max_concurrent=2, max_waiting=1, wait_timeout=10.0))
    gate = threading.Event()
    started = threading.Semaphore(0)
    results: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        started.release()
        assert gate.wait(10.0)

    def caller() -> None:
        try:
            bulkhead.call(work)
            outcome = "ran"
        except BulkheadFull:
            outcome = "full"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=caller) for _ in range(2)]
    for t in threads:
        t.start()
    for _ in range(2):
        assert started.acquire(timeout=10.0)
    queued = threading.Thread(target=caller)
    queued.start()
    for _ in range(1000):
        if bulkhead.waiting == 1:
            break
        threading.Event().wait(0.001)
    assert bulkhead.waiting == 1
    with pytest.raises(BulkheadFull):
        bulkhead.call(work)
    gate.set()
    for t in [*threads, queued]:
        t.join(10.0)
    assert sorted(results) == ["ran", "ran", "ran"]
    assert bulkhead.active == 0


# -- Rate limiter --------------------------------------------------------------------------------


def test_rate_limiter_config_validation() -> None:
    """Zero rates, periods, bursts and negative waits are refused with the value."""
    with pytest.raises(InvalidConfig, match="rate=0"):
        RateLimiterConfig(rate=0)
    with pytest.raises(InvalidConfig, match="burst=0"):
        RateLimiterConfig(rate=1, burst=0)
    with pytest.raises(InvalidConfig, match="max_wait=-1"):
        RateLimiterConfig(rate=1, max_wait=-1)


def test_gcra_allows_bursts_then_spaces_calls() -> None:
    """With burst B, B calls pass at once; then one per interval."""
    core = Gcra(RateLimiterConfig(rate=10, period=1.0, burst=3))
    assert [core.reserve(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert core.reserve(0.0) is None
    assert core.retry_after(0.0) == pytest.approx(0.1)
    assert core.reserve(0.1) == 0.0
    assert core.reserve(0.1) is None
    assert core.reserve(0.1, max_wait=0.1) == pytest.approx(0.1)


def test_rate_limiter_rejects_and_waits_on_the_clock(virtual_clock: VirtualClock) -> None:
    """try_acquire refuses without waiting; acquire waits up to max_wait on the virtual clock."""
    limiter = RateLimiter(RateLimiterConfig(rate=2, burst=1, max_wait=1.0), clock=virtual_clock)
    assert limiter.try_acquire()
    assert not limiter.try_acquire()
    limiter.acquire()
    assert virtual_clock.now() == pytest.approx(0.5)
    strict = RateLimiter(RateLimiterConfig(rate=1, burst=1), clock=virtual_clock, name="strict")
    strict.call(lambda: None)
    with pytest.raises(RateLimited) as info:
        strict.call(lambda: None)
    assert info.value.retry_after == pytest.approx(1.0)
    with pytest.raises(InvalidConfig, match="cost=2"):
        strict.try_acquire(2)


def test_rate_limiter_throughput_matches_rate(virtual_clock: VirtualClock) -> None:
    """Over 10 virtual seconds, an eager async caller gets rate * 10 + burst permits."""
    limiter = RateLimiter(RateLimiterConfig(rate=50, burst=5, max_wait=10.0), clock=virtual_clock)

    async def main() -> int:
        granted = 0
        while asyncio.get_running_loop().time() < 10.0:
            await limiter.aacquire()
            granted += 1
        return granted

    assert virtual_clock.run(main()) in range(500, 507)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_shared_rate_limiter_is_one_limit_for_all(backend: str, virtual_clock: VirtualClock) -> None:
    """Several limiters on one storage share one budget of permits."""

    async def main() -> int:
        storage = MemoryStorage(clock=virtual_clock) if backend == "memory" else RedisStorage.embedded()
        cfg = RateLimiterConfig(rate=1, period=3600.0, burst=5)
        limiters = [SharedRateLimiter(cfg, storage, name="api", clock=virtual_clock) for _ in range(3)]
        granted = 0
        for _ in range(4):
            for limiter in limiters:
                granted += await limiter.try_acquire()
        with pytest.raises(RateLimited):
            await limiters[0].acquire()
        await storage.close()
        return granted

    assert virtual_clock.run(main()) == 5


# -- Fallback chain ------------------------------------------------------------------------------


def test_fallback_chain_order_and_predicates() -> None:
    """Alternatives are tried in order, each only if the failure before it matches."""
    seen = []

    def primary(x: int) -> str:
        raise ConnectionError("down")

    def cache(x: int) -> str:
        seen.append("cache")
        raise KeyError(x)

    def default(x: int) -> str:
        return f"default-{x}"

    chain = FallbackChain(
        Fallback(cache, when=(ConnectionError,)),
        Fallback(lambda x: "never", when=(TimeoutError,)),
        Fallback(default, when=lambda e: isinstance(e, KeyError)),
    )
    events = []
    chain.add_listener(events.append)
    assert chain.call(primary, 7) == "default-7"
    assert seen == ["cache"]
    assert [(e.kind, e.data["index"]) for e in events] == [(EventKind.FALLBACK, 2)]
    assert chain.call(lambda x: f"ok-{x}", 1) == "ok-1"


def test_fallback_chain_reraises_when_nothing_applies() -> None:
    """If no alternative matches, the last failure propagates."""
    chain = FallbackChain(Fallback(lambda: "x", when=(TimeoutError,)))

    def primary() -> str:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        chain.call(primary)
    with pytest.raises(InvalidConfig, match="at least one alternative"):
        FallbackChain()


def test_async_fallback_chain_accepts_sync_and_async_alternatives(virtual_clock: VirtualClock) -> None:
    """acall awaits async alternatives and calls sync ones."""

    async def cached() -> str:
        raise LookupError

    @FallbackChain(cached, lambda: "static")
    async def primary() -> str:
        await asyncio.sleep(1.0)
        raise ConnectionError

    assert virtual_clock.run(primary()) == "static"


@pytest.mark.redis
@requires_redis
def test_shared_rate_limiter_on_real_redis_uses_server_time() -> None:
    """On a real server the GCRA script reads Redis TIME: a burst passes, the next call waits."""
    url = redis_url()
    assert url is not None

    async def main() -> tuple[int, float]:
        storage = RedisStorage.from_url(url, namespace="harness-test")
        name = f"rl-{uuid.uuid4().hex[:8]}"
        cfg = RateLimiterConfig(rate=10, period=1.0, burst=4)
        # Every decision here must be the server's: a 5 s storage budget keeps a loaded machine's
        # slow answers from sending a limiter to its local bucket (the 50 ms default's purpose).
        limiters = [SharedRateLimiter(cfg, storage, name=name, storage_timeout=5.0) for _ in range(2)]
        try:
            granted = sum([await limiters[i % 2].try_acquire() for i in range(8)])
            with pytest.raises(RateLimited) as info:
                await limiters[0].acquire()
            await storage.delete(f"ratelimit:{name}")
        finally:
            await storage.close()
        return granted, info.value.retry_after

    granted, retry_after = asyncio.run(main())
    assert granted == 4
    assert 0.0 < retry_after <= 0.1 + 1e-3
