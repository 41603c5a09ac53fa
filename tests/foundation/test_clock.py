"""Virtual time: asyncio code under test sleeps for hours without waiting on the wall."""

from __future__ import annotations

import asyncio
import selectors
import threading

import pytest

from harness.clock import Clock, SystemClock, VirtualClock, VirtualTimeLoop, WallClock
from harness.errors import InvalidConfig


class _RecordingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """A real selector that remembers every timeout it was asked to block for."""

    def __init__(self) -> None:
        super().__init__()
        self.blocking_timeouts: list[float | None] = []

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout != 0:
            self.blocking_timeouts.append(timeout)
        return super().select(timeout)


def _recording_loop(clock: VirtualClock) -> tuple[VirtualTimeLoop, _RecordingSelector]:
    loop = VirtualTimeLoop(clock)
    recorder = _RecordingSelector()
    loop._selector._inner = recorder  # type: ignore[attr-defined]
    return loop, recorder


def test_an_hour_of_sleeps_and_timeouts_never_blocks_on_the_wall() -> None:
    """3,600 one-second sleeps plus an expiring timeout advance virtual time by an hour without
    the loop ever asking the operating system to wait."""
    clock = VirtualClock()
    loop, recorder = _recording_loop(clock)

    async def code_under_test() -> str:
        for _ in range(3600):
            await asyncio.sleep(1)
        try:
            async with asyncio.timeout(30):
                await asyncio.sleep(3600)
        except TimeoutError:
            return "timed out"
        return "finished"

    try:
        assert loop.run_until_complete(code_under_test()) == "timed out"
    finally:
        loop.close()
    assert clock.now() == pytest.approx(3630.0)
    assert recorder.blocking_timeouts == []


def test_timeout_fires_at_the_exact_virtual_deadline() -> None:
    clock = VirtualClock(start=100.0)

    async def main() -> float:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(2.5):
                await asyncio.Event().wait()
        return asyncio.get_running_loop().time()

    assert clock.run(main()) == pytest.approx(102.5)


def test_simultaneous_timers_fire_in_scheduling_order() -> None:
    """Timers due at the same instant run first-scheduled first, every time."""
    clock = VirtualClock()
    order: list[int] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for i in range(50):
            loop.call_later(5.0, order.append, i)
        loop.call_later(1.0, order.append, -1)
        await asyncio.sleep(6)

    clock.run(main())
    assert order == [-1, *range(50)]


def test_gathered_sleepers_wake_by_deadline_then_start_order() -> None:
    clock = VirtualClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        woke.append((name, asyncio.get_running_loop().time()))

    async def main() -> None:
        await asyncio.gather(sleeper("c", 3), sleeper("a", 1), sleeper("b1", 2), sleeper("b2", 2))

    clock.run(main())
    assert woke == [("a", 1.0), ("b1", 2.0), ("b2", 2.0), ("c", 3.0)]


def test_clock_sleep_on_a_plain_loop_waits_for_advance() -> None:
    """Off a virtual loop, ``VirtualClock.sleep`` waits until someone advances the clock."""
    clock = VirtualClock()
    woke: list[str] = []

    async def sleeper(name: str, delay: float) -> None:
        await clock.sleep(delay)
        woke.append(name)

    async def main() -> None:
        tasks = [asyncio.create_task(sleeper(n, d)) for n, d in (("late", 10), ("early", 2), ("tie", 2))]
        await asyncio.sleep(0)
        clock.advance(1)
        await asyncio.sleep(0)
        assert woke == []
        clock.advance(1)
        await asyncio.sleep(0)
        assert woke == ["early", "tie"]
        clock.advance_to(50)
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert woke == ["early", "tie", "late"]


def test_advance_from_another_thread_wakes_a_sleeper() -> None:
    clock = VirtualClock()
    registered = threading.Event()

    async def main() -> float:
        task = asyncio.create_task(clock.sleep(5))
        await asyncio.sleep(0)
        registered.set()
        await task
        return clock.now()

    def advancer() -> None:
        registered.wait(timeout=10)
        clock.advance(5)

    thread = threading.Thread(target=advancer)
    thread.start()
    assert asyncio.run(main()) == 5.0
    thread.join(timeout=10)


def test_virtual_loop_still_serves_real_work_in_threads() -> None:
    clock = VirtualClock()

    async def main() -> int:
        return await asyncio.to_thread(sum, range(10))

    assert clock.run(main()) == 45
    assert clock.now() == 0.0


def test_sleep_sync_advances_virtual_time() -> None:
    clock = VirtualClock()
    clock.sleep_sync(2.5)
    clock.sleep_sync(0)
    assert clock.now() == 2.5


def test_virtual_time_only_moves_forward() -> None:
    clock = VirtualClock(start=10)
    with pytest.raises(InvalidConfig, match="only moves forward"):
        clock.advance(-1)
    clock.advance_to(5)
    assert clock.now() == 10


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(VirtualClock(), Clock)
    assert isinstance(SystemClock(), Clock)
    a = SystemClock().now()
    assert SystemClock().now() >= a


def test_wall_clock_reads_seconds_since_the_epoch() -> None:
    """WallClock timestamps mean the same in every process: they are Unix time, not monotonic."""
    import time

    clock = WallClock()
    assert isinstance(clock, Clock)
    before = time.time()
    assert before <= clock.now() <= time.time()


def test_timers_a_hair_apart_each_run_at_their_own_deadline() -> None:
    """Timers closer together than the loop's clock resolution run in one batch, yet each one
    sees the clock at its own deadline, never earlier (float drift cannot reorder time)."""
    clock = VirtualClock()
    seen: list[tuple[str, float]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_at(6.0, lambda: seen.append(("window", loop.time())))
        loop.call_at(6.0 - 1e-13, lambda: seen.append(("probe", loop.time())))
        await asyncio.sleep(7)

    clock.run(main())
    assert seen == [("probe", 6.0 - 1e-13), ("window", 6.0)]
