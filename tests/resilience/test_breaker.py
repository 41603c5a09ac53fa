"""Circuit breaker behaviour: thresholds, OPEN/HALF_OPEN, forms, listeners, metrics, bad config."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import tracemalloc

import pytest

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.resilience import (
    CircuitBreaker,
    CircuitBreakerConfig,
    CircuitOpenError,
    CircuitState,
    EventKind,
    WindowType,
)


class Boom(Exception):
    """The protected call failed."""


def fail() -> None:
    raise Boom("down")


def ok() -> str:
    return "ok"


def make(clock: VirtualClock, **overrides: object) -> CircuitBreaker:
    settings: dict[str, object] = {"window": 10, "minimum_calls": 4, "open_for": 5.0, "half_open_calls": 2}
    settings.update(overrides)
    return CircuitBreaker(CircuitBreakerConfig(**settings), name="db", clock=clock)  # type: ignore[arg-type]


def trip(b: CircuitBreaker, n: int = 4) -> None:
    for _ in range(n):
        with pytest.raises(Boom):
            b.call(fail)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("failure_rate_threshold", 0.0, "must be a fraction in (0, 1]"),
        ("failure_rate_threshold", 1.5, "1.5"),
        ("slow_call_rate_threshold", -0.1, "-0.1"),
        ("slow_call_duration", 0, "slow_call_duration=0"),
        ("window", 0, "window=0 must be an integer >= 1"),
        ("window", 2.5, "window=2.5"),
        ("minimum_calls", -3, "minimum_calls=-3"),
        ("open_for", -1.0, "open_for=-1.0 must be a positive finite number"),
        ("open_for", float("inf"), "open_for=inf"),
        ("failure_rate_threshold", float("nan"), "nan"),
        ("half_open_calls", 0, "half_open_calls=0"),
        ("record_on", (int,), "not an exception class"),
        ("ignore_on", "ValueError", "must be a tuple of exception classes or a predicate"),
        ("window_type", "count", "valid: count, time"),
    ],
)
def test_bad_config_fails_with_value_and_fix(field: str, value: object, fragment: str) -> None:
    """Every invalid setting fails at construction, naming the field and the value."""
    with pytest.raises(InvalidConfig) as info:
        CircuitBreakerConfig(**{field: value})  # type: ignore[arg-type]
    assert fragment in str(info.value)
    assert info.value.field == field


def test_minimum_calls_above_count_window_is_rejected() -> None:
    """A count window can never hold more calls than its size."""
    with pytest.raises(InvalidConfig, match="exceeds window=5"):
        CircuitBreakerConfig(window=5, minimum_calls=6)


def test_stays_closed_below_minimum_calls(virtual_clock: VirtualClock) -> None:
    """Failures do not open the breaker until the window holds minimum_calls calls."""
    b = make(virtual_clock)
    trip(b, 3)
    assert b.state is CircuitState.CLOSED
    assert b.metrics().failure_rate is None


def test_opens_at_failure_rate_threshold(virtual_clock: VirtualClock) -> None:
    """With minimum_calls reached and 50% failures, the breaker opens."""
    b = make(virtual_clock)
    b.call(ok)
    b.call(ok)
    with pytest.raises(Boom):
        b.call(fail)
    assert b.state is CircuitState.CLOSED
    with pytest.raises(Boom):
        b.call(fail)
    assert b.state is CircuitState.OPEN


def test_success_reaching_minimum_calls_can_open(virtual_clock: VirtualClock) -> None:
    """The rate is evaluated when the window first holds minimum_calls, even on a success."""
    b = make(virtual_clock)
    trip(b, 3)
    b.call(ok)  # 3 of 4 failed: 75% >= 50%
    assert b.state is CircuitState.OPEN


def test_open_breaker_rejects_without_calling(virtual_clock: VirtualClock) -> None:
    """An OPEN breaker raises CircuitOpenError with its name and remaining time, never calling."""
    b = make(virtual_clock)
    trip(b)
    virtual_clock.advance(2.0)
    calls = []
    with pytest.raises(CircuitOpenError) as info:
        b.call(calls.append, 1)
    assert calls == []
    assert info.value.name == "db"
    assert info.value.remaining == pytest.approx(3.0)
    assert "db" in str(info.value)
    assert b.metrics().not_permitted == 1


def test_decorated_open_breaker_rejects_without_calling(virtual_clock: VirtualClock) -> None:
    """The decorator form rejects exactly like call()."""
    b = make(virtual_clock)
    hits = []

    @b
    def guarded() -> None:
        hits.append(1)
        raise Boom

    for _ in range(4):
        with pytest.raises(Boom):
            guarded()
    with pytest.raises(CircuitOpenError):
        guarded()
    assert len(hits) == 4
    assert guarded.__name__ == "guarded"


def test_half_open_after_open_for_then_closes_on_good_trials(virtual_clock: VirtualClock) -> None:
    """After open_for the breaker admits half_open_calls trials and closes if they succeed."""
    b = make(virtual_clock)
    trip(b)
    virtual_clock.advance(5.0)
    assert b.state is CircuitState.HALF_OPEN
    b.call(ok)
    assert b.state is CircuitState.HALF_OPEN
    b.call(ok)
    assert b.state is CircuitState.CLOSED
    assert b.metrics().calls == 0


def test_half_open_reopens_when_trials_fail(virtual_clock: VirtualClock) -> None:
    """Trials failing at the threshold rate send the breaker back to OPEN for another open_for."""
    b = make(virtual_clock)
    trip(b)
    virtual_clock.advance(5.0)
    b.call(ok)
    with pytest.raises(Boom):
        b.call(fail)
    assert b.state is CircuitState.OPEN
    assert b.metrics().open_remaining == pytest.approx(5.0)


def test_half_open_rejects_beyond_trial_slots(virtual_clock: VirtualClock) -> None:
    """With every trial slot taken, further calls are rejected at once with remaining == 0."""
    b = make(virtual_clock)
    trip(b)
    virtual_clock.advance(5.0)
    g1, g2 = b.protect(), b.protect()
    g1.__enter__()
    g2.__enter__()
    with pytest.raises(CircuitOpenError) as info:
        b.call(ok)
    assert info.value.remaining == 0.0
    assert not b.allow()
    g1.__exit__(None, None, None)
    g2.__exit__(None, None, None)
    assert b.state is CircuitState.CLOSED


def test_slow_calls_open_the_breaker(virtual_clock: VirtualClock) -> None:
    """Calls at or above slow_call_duration count as slow and trip the slow-call rate."""
    b = make(virtual_clock, slow_call_duration=1.0, slow_call_rate_threshold=0.5)

    def slow() -> str:
        virtual_clock.advance(1.5)
        return "late"

    for _ in range(2):
        b.call(ok)
    assert b.call(slow) == "late"
    assert b.state is CircuitState.CLOSED
    assert b.call(slow) == "late"
    assert b.state is CircuitState.OPEN
    assert b.metrics().state is CircuitState.OPEN


def test_ignored_and_unrecorded_exceptions(virtual_clock: VirtualClock) -> None:
    """ignore_on exceptions count neither way; exceptions outside record_on count as successes."""
    b = make(virtual_clock, record_on=(Boom,), ignore_on=lambda e: isinstance(e, KeyError))

    def key_error() -> None:
        raise KeyError("k")

    def value_error() -> None:
        raise ValueError("v")

    for _ in range(6):
        with pytest.raises(KeyError):
            b.call(key_error)
    assert b.metrics().calls == 0
    for _ in range(6):
        with pytest.raises(ValueError, match="v"):
            b.call(value_error)
    m = b.metrics()
    assert (m.calls, m.failures, m.state) == (6, 0, CircuitState.CLOSED)


def test_count_window_slides(virtual_clock: VirtualClock) -> None:
    """Only the last `window` outcomes count: old failures slide out."""
    b = make(virtual_clock, window=5, minimum_calls=5, failure_rate_threshold=0.6)
    trip(b, 2)
    for _ in range(5):
        b.call(ok)
    m = b.metrics()
    assert (m.calls, m.failures, m.failure_rate) == (5, 0, 0.0)


def test_time_window_forgets_old_failures(virtual_clock: VirtualClock) -> None:
    """A time window counts only calls of the last `window` seconds."""
    b = make(virtual_clock, window_type=WindowType.TIME, window=10, minimum_calls=3)
    trip(b, 2)
    virtual_clock.advance(11.0)
    b.call(ok)
    b.call(ok)
    with pytest.raises(Boom):
        b.call(fail)
    m = b.metrics()
    assert (m.calls, m.failures, m.state) == (3, 1, CircuitState.CLOSED)
    with pytest.raises(Boom):
        b.call(fail)
    assert b.state is CircuitState.OPEN


def test_time_window_expires_buckets_one_by_one(virtual_clock: VirtualClock) -> None:
    """Buckets leave the time window as the clock passes them."""
    b = make(virtual_clock, window_type=WindowType.TIME, window=3, minimum_calls=10)
    for _ in range(3):
        b.call(ok)
        virtual_clock.advance(1.0)
    assert b.metrics().calls == 2
    virtual_clock.advance(1.0)
    assert b.metrics().calls == 1


def test_state_change_listeners_and_events(virtual_clock: VirtualClock) -> None:
    """Listeners hear every transition, in order, with clock times; rejections emit REJECT."""
    b = make(virtual_clock)
    seen = []
    kinds = []
    b.on_state_change(lambda t: seen.append((t.from_state, t.to_state, t.at)))
    b.add_listener(lambda e: kinds.append(e.kind))
    trip(b)
    with pytest.raises(CircuitOpenError):
        b.call(ok)
    virtual_clock.advance(5.0)
    b.call(ok)
    b.call(ok)
    assert seen == [
        (CircuitState.CLOSED, CircuitState.OPEN, 0.0),
        (CircuitState.OPEN, CircuitState.HALF_OPEN, 5.0),
        (CircuitState.HALF_OPEN, CircuitState.CLOSED, 5.0),
    ]
    assert EventKind.REJECT in kinds


def test_force_open_and_close(virtual_clock: VirtualClock) -> None:
    """Manual transitions work and are announced."""
    b = make(virtual_clock)
    b.force_open()
    assert not b.allow()
    b.close()
    assert b.allow()
    assert b.metrics().transitions == 2


def test_stale_outcome_does_not_count_in_next_state(virtual_clock: VirtualClock) -> None:
    """A call admitted while CLOSED that finishes after the breaker opened is not a trial."""
    b = make(virtual_clock)
    slow_guard = b.protect()
    slow_guard.__enter__()
    trip(b)
    virtual_clock.advance(5.0)
    assert b.state is CircuitState.HALF_OPEN
    slow_guard.__exit__(None, None, None)
    assert b.metrics().calls == 0


def test_context_manager_records_failures(virtual_clock: VirtualClock) -> None:
    """`with breaker.protect():` counts an exception leaving the block as a failure."""
    b = make(virtual_clock)
    for _ in range(4):
        with pytest.raises(Boom), b.protect():
            raise Boom
    assert b.state is CircuitState.OPEN
    with pytest.raises(CircuitOpenError), b.protect():
        pytest.fail("the block must not run")


def test_async_forms(virtual_clock: VirtualClock) -> None:
    """acall, the async decorator and `async with` behave like the sync forms."""
    b = make(virtual_clock)

    @b
    async def afail() -> None:
        await asyncio.sleep(0.1)
        raise Boom

    async def main() -> None:
        assert await b.acall(asyncio.sleep, 0.0, "x") == "x"
        for _ in range(3):
            with pytest.raises(Boom):
                await afail()
        assert b.state is CircuitState.OPEN
        with pytest.raises(CircuitOpenError):
            await afail()
        with pytest.raises(CircuitOpenError):
            async with b.protect():
                pass
        await asyncio.sleep(5.0)
        async with b.protect():
            pass
        assert b.state is CircuitState.HALF_OPEN

    virtual_clock.run(main())


def test_cancelled_trial_frees_its_slot(virtual_clock: VirtualClock) -> None:
    """A HALF_OPEN trial call that is cancelled gives its slot back to the next caller."""
    b = make(virtual_clock, half_open_calls=1)
    trip(b)
    virtual_clock.advance(5.0)

    async def main() -> None:
        task = asyncio.create_task(b.acall(asyncio.sleep, 10.0))
        await asyncio.sleep(0)
        with pytest.raises(CircuitOpenError):
            await b.acall(asyncio.sleep, 0.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert b.state is CircuitState.HALF_OPEN
        await b.acall(asyncio.sleep, 0.0)
        assert b.state is CircuitState.CLOSED

    virtual_clock.run(main())


def test_half_open_stampede_threads() -> None:
    """50 threads hitting a HALF_OPEN breaker at once: at most half_open_calls run the function."""
    clock = VirtualClock()
    b = CircuitBreaker(
        CircuitBreakerConfig(window=10, minimum_calls=2, open_for=1.0, half_open_calls=3), clock=clock
    )
    b.force_open()
    clock.advance(1.0)
    start = threading.Barrier(50)
    release = threading.Event()
    entered = []
    rejected = []
    lock = threading.Lock()

    def protected() -> None:
        with lock:
            entered.append(1)
        assert release.wait(10.0)

    def caller() -> None:
        start.wait(10.0)
        try:
            b.call(protected)
        except CircuitOpenError:
            with lock:
                rejected.append(1)
                if len(rejected) == 47:
                    release.set()

    threads = [threading.Thread(target=caller) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20.0)
    assert len(entered) == 3
    assert len(rejected) == 47
    assert b.state is CircuitState.CLOSED


def test_half_open_stampede_asyncio(virtual_clock: VirtualClock) -> None:
    """50 asyncio tasks on a HALF_OPEN breaker: at most half_open_calls reach the function."""
    b = CircuitBreaker(
        CircuitBreakerConfig(window=10, minimum_calls=2, open_for=1.0, half_open_calls=3), clock=virtual_clock
    )
    b.force_open()
    virtual_clock.advance(1.0)
    entered = []

    async def protected() -> None:
        entered.append(1)
        await asyncio.sleep(0.5)

    async def main() -> list[BaseException | None]:
        results = await asyncio.gather(*(b.acall(protected) for _ in range(50)), return_exceptions=True)
        return list(results)

    results = virtual_clock.run(main())
    assert len(entered) == 3
    assert sum(isinstance(r, CircuitOpenError) for r in results) == 47
    assert b.state is CircuitState.CLOSED


def test_open_rejections_keep_memory_flat() -> None:
    """20,000 rejections allocate nothing that survives: no growing traceback chain."""
    b = CircuitBreaker(CircuitBreakerConfig(open_for=3600.0))
    b.force_open()
    guarded = b(ok)

    def reject(n: int) -> None:
        for _ in range(n):
            with contextlib.suppress(CircuitOpenError):
                guarded()

    reject(1000)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        reject(20_000)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    # Only what the breaker and this test allocate: threads other tests in this worker left
    # running allocate too, and are no part of the rejection path.
    ours = [tracemalloc.Filter(True, "*/harness/resilience/*"), tracemalloc.Filter(True, __file__)]
    grown = after.filter_traces(ours).compare_to(before.filter_traces(ours), "filename")
    assert sum(stat.size_diff for stat in grown) < 64 * 1024
    assert b.metrics().not_permitted == 21_000


def test_error_has_no_context_chain(virtual_clock: VirtualClock) -> None:
    """Each rejection is a fresh error that does not chain to earlier failures."""
    b = make(virtual_clock)
    trip(b)
    errors = []
    for _ in range(3):
        try:
            b.call(ok)
        except CircuitOpenError as exc:
            errors.append(exc)
    assert len({id(e) for e in errors}) == 3
    assert all(e.__context__ is None and e.__cause__ is None for e in errors)


def test_concurrent_threads_keep_window_counts_exact() -> None:
    """8 threads x 2,000 calls (1 in 50 failing) leave the window counting exactly `window` calls."""
    b = CircuitBreaker(CircuitBreakerConfig(window=500, minimum_calls=500, failure_rate_threshold=1.0))
    start = threading.Barrier(8)

    def worker(k: int) -> None:
        start.wait(10.0)
        for i in range(2000):
            with contextlib.suppress(Boom):
                b.call(fail if (i + k) % 50 == 0 else ok)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60.0)
    m = b.metrics()
    assert m.state is CircuitState.CLOSED
    assert m.calls == 500
    assert 0 <= m.failures <= 500
    assert b._window.issued() == 16_000  # type: ignore[union-attr]
