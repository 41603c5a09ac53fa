"""Side-by-side overhead of our resilience primitives and their Python peers.

Every case runs in this one process, interleaved round by round in a shuffled order, so load on
the machine hits every library alike. Batches are timed in thread CPU time. For each case we
take the median over rounds of the per-call time of a batch, subtract the bare call's median,
and print the overheads and the ratios the project's targets are stated in.

    .venv/bin/python benchmarks/compare_resilience.py [--rounds 25] [--batch 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import random
import statistics
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiobreaker
import circuitbreaker
import purgatory
import pybreaker
import stamina
import tenacity

from harness.resilience import (
    CircuitBreaker,
    CircuitBreakerConfig,
    CircuitOpenError,
    Retry,
    RetryConfig,
)

Case = Callable[[int], float]

# CPU time of this thread, not wall time: other processes competing for the cores stretch wall
# time but not the CPU time a call costs, so the ratios stay stable on a busy machine.
_cpu = time.thread_time


def f() -> int:
    return 1


async def af() -> int:
    return 1


class Boom(Exception):
    pass


def boom() -> None:
    raise Boom("x")


async def aboom() -> None:
    raise Boom("x")


def sync_case(fn: Callable[[], Any]) -> Case:
    def run(n: int) -> float:
        t0 = _cpu()
        for _ in range(n):
            fn()
        return (_cpu() - t0) / n

    return run


def raising_case(fn: Callable[[], Any], exc: type[BaseException]) -> Case:
    def run(n: int) -> float:
        t0 = _cpu()
        for _ in range(n):
            try:  # noqa: SIM105 - contextlib.suppress would add its own cost to the case
                fn()
            except exc:
                pass
        return (_cpu() - t0) / n

    return run


def async_case(loop: asyncio.AbstractEventLoop, fn: Callable[[], Awaitable[Any]]) -> Case:
    async def body(n: int) -> float:
        t0 = _cpu()
        for _ in range(n):
            await fn()
        return (_cpu() - t0) / n

    def run(n: int) -> float:
        return loop.run_until_complete(body(n))

    return run


def build_cases(loop: asyncio.AbstractEventLoop) -> dict[str, Case]:
    ours100 = CircuitBreaker(CircuitBreakerConfig(window=100), name="w100")
    ours1000 = CircuitBreaker(CircuitBreakerConfig(window=1000), name="w1000")
    ours_slow = CircuitBreaker(CircuitBreakerConfig(window=100, slow_call_duration=1.0), name="slow")
    ours_async = CircuitBreaker(CircuitBreakerConfig(window=100), name="async")
    ours_open = CircuitBreaker(CircuitBreakerConfig(open_for=3600.0), name="open")
    ours_open.force_open()
    pyb = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60)
    cbf = purgatory.AsyncCircuitBreakerFactory(default_threshold=5, default_ttl=30)
    aio = aiobreaker.CircuitBreaker(fail_max=5, timeout_duration=timedelta(seconds=60))
    retry = Retry(RetryConfig(max_attempts=3))
    stamina.set_testing(False)
    return {
        "bare": sync_case(f),
        "ours breaker (window 100)": sync_case(ours100(f)),
        "ours breaker (window 1000)": sync_case(ours1000(f)),
        "ours breaker (slow-call timing on)": sync_case(ours_slow(f)),
        "pybreaker": sync_case(pyb(f)),
        "circuitbreaker": sync_case(circuitbreaker.circuit(failure_threshold=5, recovery_timeout=30)(f)),
        "bare raise+catch": raising_case(boom, Boom),
        "ours open rejection": raising_case(ours_open(f), CircuitOpenError),
        "ours retry (first try ok)": sync_case(retry(f)),
        "tenacity": sync_case(tenacity.retry(stop=tenacity.stop_after_attempt(3))(f)),
        "stamina": sync_case(stamina.retry(on=Exception, attempts=3)(f)),
        "async bare": async_case(loop, af),
        "ours async breaker": async_case(loop, ours_async(af)),
        "aiobreaker": async_case(loop, aio(af)),
        "purgatory": async_case(loop, cbf("purgatory")(af)),
    }


def measure(cases: dict[str, Case], rounds: int, batch: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for name in names:  # warm-up
        cases[name](batch // 10)
    for _ in range(rounds):
        rng.shuffle(names)
        for name in names:
            samples[name].append(cases[name](batch))
    return {name: statistics.median(s) for name, s in samples.items()}


def report(med: dict[str, float]) -> list[tuple[str, float, float, bool]]:
    bare, abare = med["bare"], med["async bare"]

    def over(name: str, base: float = bare) -> float:
        return max(med[name] - base, 1e-12)

    print(f"{'case':38} {'median/call':>12} {'overhead':>10}")
    for name, value in med.items():
        base = abare if name.startswith(("async", "ours async", "aiobreaker", "purgatory")) else bare
        print(f"{name:38} {value * 1e9:10.0f}ns {(value - base) * 1e9:8.0f}ns")
    ours = over("ours breaker (window 100)")
    ours_a = over("ours async breaker", abare)
    raise_catch = med["bare raise+catch"]
    checks = [
        ("sync breaker overhead / circuitbreaker", ours / over("circuitbreaker"), 1 / 3),
        ("sync breaker overhead / pybreaker", ours / over("pybreaker"), 1 / 8),
        ("async breaker overhead / aiobreaker", ours_a / over("aiobreaker", abare), 1 / 3),
        ("async breaker overhead / purgatory", ours_a / over("purgatory", abare), 1 / 3),
        ("open rejection / bare raise+catch", med["ours open rejection"] / raise_catch, 2.0),
        ("retry first-try overhead / tenacity", over("ours retry (first try ok)") / over("tenacity"), 1 / 20),
        ("retry first-try overhead / stamina", over("ours retry (first try ok)") / over("stamina"), 1 / 20),
        ("window 1000 / window 100 (per call)", over("ours breaker (window 1000)") / ours, 1.2),
    ]
    print()
    print(f"{'ratio':44} {'measured':>9} {'target':>9}")
    rows = []
    for label, value, target in checks:
        ok = value <= target
        rows.append((label, value, target, ok))
        print(f"{label:44} {value:9.3f} {'<=' + format(target, '.3f'):>9} {'ok' if ok else 'MISSED'}")
    return rows


# -- correctness side by side: half-open stampede and memory under rejections --------------------

STAMPEDE = 50
TRIAL_SLOTS = 3  # ours: half_open_calls; the peers have no such setting


def _trip_sync(guarded: Callable[[], Any]) -> None:
    for _ in range(20):
        with contextlib.suppress(Exception):
            guarded()


def stampede_threads(make: Callable[[Callable[[], None]], Callable[[], Any]]) -> int:
    """Trip a breaker, wait out its open time, then release 50 threads at it: calls that ran.

    A call that runs holds on until every caller has either run or been rejected (at most
    0.1 s), so no caller can arrive after the trial calls closed the breaker again.
    """
    entered: list[int] = []
    rejected: list[int] = []
    failing = [True]
    settled = threading.Condition()

    def protected() -> None:
        if failing[0]:
            raise Boom("down")
        with settled:
            entered.append(1)
            settled.notify_all()
            settled.wait_for(lambda: len(entered) + len(rejected) >= STAMPEDE, timeout=0.1)

    guarded = make(protected)
    _trip_sync(guarded)
    failing[0] = False
    time.sleep(0.15)
    barrier = threading.Barrier(STAMPEDE)

    def caller() -> None:
        barrier.wait(10.0)
        try:
            guarded()
        except Exception:
            with settled:
                rejected.append(1)
                settled.notify_all()

    threads = [threading.Thread(target=caller) for _ in range(STAMPEDE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60.0)
    return len(entered)


def stampede_tasks(make: Callable[[Callable[[], Awaitable[None]]], Callable[[], Awaitable[Any]]]) -> int:
    """The asyncio version: 50 tasks at once on a breaker that has just become half-open."""
    entered: list[int] = []
    rejected: list[int] = []
    failing = [True]
    settled = asyncio.Event()

    def tally(into: list[int]) -> None:
        into.append(1)
        if len(entered) + len(rejected) >= STAMPEDE:
            settled.set()

    async def protected() -> None:
        if failing[0]:
            raise Boom("down")
        tally(entered)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.1):
                await settled.wait()

    async def caller(guarded: Callable[[], Awaitable[Any]]) -> None:
        try:
            await guarded()
        except Exception:
            tally(rejected)

    async def run() -> int:
        guarded = make(protected)
        for _ in range(20):
            with contextlib.suppress(Exception):
                await guarded()
        failing[0] = False
        await asyncio.sleep(0.15)
        await asyncio.gather(*(caller(guarded) for _ in range(STAMPEDE)))
        return len(entered)

    return asyncio.run(run())


def rejection_memory(reject_once: Callable[[], None], n: int = 20_000) -> float:
    """KiB still allocated after ``n`` rejections by an open breaker."""
    for _ in range(100):
        reject_once()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(n):
            reject_once()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (after - before) / 1024


def _ours(open_for: float) -> CircuitBreaker:
    cfg = CircuitBreakerConfig(window=10, minimum_calls=5, open_for=open_for, half_open_calls=TRIAL_SLOTS)
    return CircuitBreaker(cfg)


def _catching(call: Callable[[], Any]) -> Callable[[], None]:
    def once() -> None:
        with contextlib.suppress(Exception):
            call()

    return once


def _acatching(loop: asyncio.AbstractEventLoop, call: Callable[[], Awaitable[Any]]) -> Callable[[], None]:
    async def once() -> None:
        with contextlib.suppress(Exception):
            await call()

    return lambda: loop.run_until_complete(once())


def correctness() -> None:
    """Print how many stampeding callers reach the function, and memory after 20,000 rejections."""
    td = timedelta(seconds=0.1)
    print(
        f"\nhalf-open stampede: {STAMPEDE} concurrent callers right after the open time "
        f"(ours admits half_open_calls={TRIAL_SLOTS})"
    )
    threads: dict[str, Callable[[Callable[[], None]], Callable[[], Any]]] = {
        "ours": _ours(0.1),
        "pybreaker": pybreaker.CircuitBreaker(fail_max=5, reset_timeout=0.1),
        "circuitbreaker": circuitbreaker.circuit(failure_threshold=5, recovery_timeout=0.1),
    }
    factory = purgatory.AsyncCircuitBreakerFactory(default_threshold=5, default_ttl=0.1)
    tasks: dict[str, Callable[[Callable[[], Awaitable[None]]], Callable[[], Awaitable[Any]]]] = {
        "ours": _ours(0.1),
        "aiobreaker": aiobreaker.CircuitBreaker(fail_max=5, timeout_duration=td),
        "purgatory": factory("stampede"),
    }
    for name, make in threads.items():
        print(f"  threads  {name:16} {stampede_threads(make):3d} of {STAMPEDE} ran the function")
    for name, make_async in tasks.items():
        print(f"  asyncio  {name:16} {stampede_tasks(make_async):3d} of {STAMPEDE} ran the function")

    print("\nmemory still allocated after 20,000 rejections by an open breaker")
    ours = _ours(3600.0)
    ours.force_open()
    pyb = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=3600)
    pyb.open()
    cb = circuitbreaker.circuit(failure_threshold=1, recovery_timeout=3600)(boom)
    _catching(cb)()
    loop = asyncio.new_event_loop()
    aio = aiobreaker.CircuitBreaker(fail_max=1, timeout_duration=timedelta(hours=1))
    aio.open()
    pg = purgatory.AsyncCircuitBreakerFactory(default_threshold=1, default_ttl=3600)("mem")(aboom)
    _acatching(loop, pg)()
    cases = {
        "ours": _catching(ours(f)),
        "pybreaker": _catching(pyb(f)),
        "circuitbreaker": _catching(cb),
        "ours (async)": _acatching(loop, ours(af)),
        "aiobreaker": _acatching(loop, aio(af)),
        "purgatory": _acatching(loop, pg),
    }
    try:
        for name, once in cases.items():
            print(f"  {name:16} {rejection_memory(once):10.1f} KiB")
    finally:
        loop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--batch", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-correctness", action="store_true", help="only the timing comparison")
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    try:
        med = measure(build_cases(loop), args.rounds, args.batch, args.seed)
    finally:
        loop.close()
    report(med)
    if not args.skip_correctness:
        correctness()


if __name__ == "__main__":
    main()
