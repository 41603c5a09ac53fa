"""Redis faults on chosen commands, clock jumps and skew, and process signals with guaranteed resume."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import redis.exceptions

from harness.clock import VirtualClock
from harness.errors import InvalidConfig, StorageFailure, StorageUnavailable, UsageError
from harness.faults import (
    ClockJump,
    FaultyClock,
    FaultyStorage,
    ProcessFaults,
    ProcessStep,
    RedisFaults,
    inject_redis,
)
from harness.faults import redis_faults as rf
from harness.journal import Journal
from harness.storage import MemoryStorage, RedisStorage


async def test_readonly_on_writes_only() -> None:
    """READONLY hits the chosen write command; reads still work."""
    storage = RedisStorage.embedded()
    try:
        await storage.set("k", 1)
        with inject_redis(storage.client, rf.readonly(commands={"SET"})) as core:
            with pytest.raises(StorageUnavailable) as raised:
                await storage.set("k", 2)
            assert raised.value.failure is StorageFailure.READ_ONLY
            assert isinstance(raised.value.__cause__, redis.exceptions.ReadOnlyError)
            assert await storage.get("k") == 1
        await storage.set("k", 3)
        assert await storage.get("k") == 3
        assert [e.fault for e in core.events] == ["redis.readonly(SET)"]
        assert "execute_command" not in vars(storage.client)
    finally:
        await storage.close()


async def test_error_kinds_are_redis_py_exceptions() -> None:
    """Each error kind raises the exception redis-py raises for the real condition."""
    storage = RedisStorage.embedded()
    try:
        cases = [
            (rf.connection_error(), redis.exceptions.ConnectionError),
            (rf.timeout(), redis.exceptions.TimeoutError),
            (rf.oom(), redis.exceptions.OutOfMemoryError),
            (rf.drop_connection(), redis.exceptions.ConnectionError),
            (rf.noscript(commands=()), redis.exceptions.NoScriptError),
            (rf.wrong_type(), redis.exceptions.ResponseError),
            (rf.missing_database(), redis.exceptions.ResponseError),
        ]
        for fault, error in cases:
            with inject_redis(storage.client, fault), pytest.raises(error):
                await storage.client.get("k")
        assert await storage.get("k") is None  # reconnects after the dropped connection
        with inject_redis(storage.client, rf.connection_error()), pytest.raises(StorageUnavailable):
            await storage.get("k")  # what code using RedisStorage sees
    finally:
        await storage.close()


async def test_lua_backed_operations_are_faulted_by_command_name() -> None:
    """RedisStorage's compare-and-set runs as EVALSHA, and faults can target it."""
    storage = RedisStorage.embedded()
    try:
        with (
            inject_redis(storage.client, rf.oom(commands={"EVALSHA", "EVAL"})),
            pytest.raises(StorageUnavailable) as raised,
        ):
            await storage.compare_and_set("k", None, 1)
        assert raised.value.failure is StorageFailure.OUT_OF_MEMORY
        assert isinstance(raised.value.__cause__, redis.exceptions.OutOfMemoryError)
        assert await storage.compare_and_set("k", None, 1)
    finally:
        await storage.close()


async def test_nested_injection_is_refused() -> None:
    """Two injections into one client would restore in the wrong order: refused."""
    storage = RedisStorage.embedded()
    try:
        with inject_redis(storage.client, rf.oom()), pytest.raises(UsageError), inject_redis(storage.client):
            pass
        assert "execute_command" not in vars(storage.client)
    finally:
        await storage.close()


def test_faulty_storage_rate_replays_and_latency_on_clock() -> None:
    """Wrapped storage: the same seed fails the same calls; latency uses the virtual clock."""
    clock = VirtualClock()

    async def run(seed: int) -> list[int]:
        journal = Journal()
        core = RedisFaults(
            [rf.connection_error(commands={"GET"}, rate=0.3)], seed=seed, clock=clock, journal=journal
        )
        storage = FaultyStorage(MemoryStorage(clock=clock), core)
        await storage.set("k", "v")
        for _ in range(100):
            with contextlib.suppress(redis.exceptions.ConnectionError):
                await storage.get("k")
        assert len(journal) == len(core.events)
        return [e.call for e in core.events]

    first = clock.run(run(5))
    assert first == clock.run(run(5))
    assert 15 <= len(first) <= 45

    async def slow() -> float:
        storage = FaultyStorage(MemoryStorage(clock=clock), RedisFaults([rf.latency(0.2)], clock=clock))
        start = clock.now()
        await storage.incr("n")
        await storage.scan()
        return clock.now() - start

    assert clock.run(slow()) == pytest.approx(0.4)


def test_redis_fault_validation() -> None:
    """Bad rates, delays and command lists are refused with advice."""
    with pytest.raises(InvalidConfig, match="rate"):
        rf.readonly(rate=2)
    with pytest.raises(InvalidConfig, match="seconds"):
        rf.latency(-1)
    with pytest.raises(InvalidConfig, match="collection of names"):
        rf.oom(commands="GET")


def test_faulty_clock_jumps_and_skew() -> None:
    """The view runs skewed and steps at the jump times, forwards and backwards."""
    base = VirtualClock(100.0)
    view = FaultyClock(base, skew=2.0, jumps=[ClockJump(at=105, by=-30), ClockJump(at=110, by=3600)])
    assert view.now() == 100.0
    base.advance(4)
    assert view.now() == 108.0
    base.advance(1)
    assert view.now() == 110.0 - 30
    base.advance(5)
    assert view.now() == 120.0 - 30 + 3600
    view.sleep_sync(10)  # 10 skewed seconds are 5 base seconds
    assert base.now() == 115.0
    assert [e.data["by"] for e in view.timeline()] == [-30, 3600]
    with pytest.raises(InvalidConfig, match="skew"):
        FaultyClock(base, skew=0)


def test_faulty_clock_async_sleep_on_virtual_time() -> None:
    """Async sleeps on the view wait skewed time on the base's virtual loop."""
    base = VirtualClock()
    view = FaultyClock(base, skew=0.5)
    base.run(view.sleep(1.0))
    assert base.now() == pytest.approx(2.0)


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(0.01)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0]


def _wait_state(pid: int, wanted: set[str]) -> str:
    deadline = time.monotonic() + 5
    state = _state(pid)
    while state not in wanted and time.monotonic() < deadline:
        time.sleep(0.005)
        state = _state(pid)
    return state


def test_pause_resume_and_resume_on_exit(child: subprocess.Popen[bytes]) -> None:
    """SIGSTOP stops the child; leaving the block (even by an exception) resumes it."""
    faults = ProcessFaults(child)

    def failing_test() -> None:
        with faults:
            faults.pause()
            assert _wait_state(child.pid, {"T", "t"}) in {"T", "t"}
            raise RuntimeError("test failed while paused")

    with pytest.raises(RuntimeError):
        failing_test()
    assert _wait_state(child.pid, {"S", "R"}) in {"S", "R"}
    assert [e.kind for e in faults.events] == ["process.pause", "process.resume"]


def test_schedule_kill_on_virtual_clock(child: subprocess.Popen[bytes]) -> None:
    """A schedule pauses, resumes and kills at its times on the clock."""
    clock = VirtualClock()
    faults = ProcessFaults(child, clock=clock)
    steps = [
        ProcessStep(at=1, action="pause"),  # type: ignore[arg-type]
        ProcessStep(at=2, action="resume"),  # type: ignore[arg-type]
        ProcessStep(at=3, action="kill"),  # type: ignore[arg-type]
    ]
    faults.run_sync(steps)
    assert child.poll() is not None
    assert [(e.t, e.kind) for e in faults.events] == [
        (1, "process.pause"),
        (2, "process.resume"),
        (3, "process.kill"),
    ]
    assert faults.kill() is False  # already gone
