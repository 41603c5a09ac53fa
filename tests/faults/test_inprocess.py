"""In-process faults: decisions replay per seed, patches are always restored, events are recorded."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import harness.faults
from harness.clock import VirtualClock
from harness.errors import InvalidConfig, UsageError
from harness.faults import (
    FaultInjector,
    FaultKind,
    FaultSchedule,
    FaultWindow,
    Fixed,
    LogNormal,
    Normal,
    Swarm,
    Uniform,
    add_latency,
    corrupt_result,
    decide,
    hang,
    inject,
    raise_error,
)
from harness.journal import Journal
from tests.faults import targets

FETCH = "tests.faults.targets:fetch"


def test_all_is_sorted_and_resolves() -> None:
    """The public surface is sorted and every name exists."""
    names = harness.faults.__all__

    def isort_key(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)

    assert list(names) == sorted(names, key=isort_key)
    for name in names:
        assert getattr(harness.faults, name) is not None


def test_raise_error_patches_and_restores_dotted_path() -> None:
    """Inside the block the function raises; afterwards the original is back."""
    original = targets.fetch
    with inject(FETCH, raise_error(ConnectionError("down"))) as inj, pytest.raises(ConnectionError):
        targets.fetch("a")
    assert targets.fetch is original
    assert targets.fetch("a") == "value:a"
    assert [(e.call, e.kind) for e in inj.events] == [(1, FaultKind.RAISE_ERROR)]


def test_patch_restored_when_block_raises() -> None:
    """An exception leaving the block still restores the target."""
    original = targets.fetch
    with pytest.raises(KeyboardInterrupt), inject(FETCH, raise_error(ValueError)):
        raise KeyboardInterrupt
    assert targets.fetch is original


def test_rate_decisions_replay_per_seed() -> None:
    """The same seed gives the same failing call numbers; another seed gives others."""

    def failing_calls(seed: int) -> list[int]:
        with inject(FETCH, raise_error(TimeoutError, rate=0.3), seed=seed) as inj:
            for i in range(200):
                with contextlib.suppress(TimeoutError):
                    targets.fetch(str(i))
        return [e.call for e in inj.events]

    first = failing_calls(7)
    assert first == failing_calls(7)
    assert first != failing_calls(8)
    assert 30 <= len(first) <= 90


def test_latency_uses_injected_clock() -> None:
    """Latency advances the virtual clock instead of sleeping."""
    clock = VirtualClock()
    with inject(FETCH, add_latency(0.25), clock=clock) as inj:
        assert targets.fetch("x") == "value:x"
    assert clock.now() == pytest.approx(0.25)
    assert inj.events[0].delay == pytest.approx(0.25)


def test_async_latency_and_hang_on_virtual_time() -> None:
    """Async targets sleep on the loop's virtual time; a hang ends only by cancellation."""
    clock = VirtualClock()

    async def main() -> tuple[str, bool]:
        async with inject("tests.faults.targets:afetch", add_latency(Uniform(1.0, 2.0)), clock=clock):
            value = await targets.afetch("k")
        with inject("tests.faults.targets:afetch", hang(), clock=clock):
            try:
                async with asyncio.timeout(30):
                    await targets.afetch("k")
            except TimeoutError:
                return value, True
        return value, False

    value, timed_out = clock.run(main())
    assert value == "avalue:k"
    assert timed_out
    assert 31.0 <= clock.now() <= 32.0


def test_sync_infinite_hang_is_a_usage_error() -> None:
    """A sync call cannot be cancelled, so an endless hang is refused with advice."""
    with inject(FETCH, hang()), pytest.raises(UsageError, match="finite seconds"):
        targets.fetch("x")
    clock = VirtualClock()
    with inject(FETCH, hang(seconds=5), clock=clock):
        targets.fetch("x")
    assert clock.now() == 5


def test_corrupt_result() -> None:
    """The result is replaced by the corruption function's output."""
    with inject(FETCH, corrupt_result(str.upper)):
        assert targets.fetch("a") == "VALUE:A"


def test_methods_static_and_class_methods_are_patched_and_restored() -> None:
    """Class attributes keep their descriptor kind after restore."""
    raw = dict(vars(targets.Cache))
    with inject("tests.faults.targets:Cache.get", corrupt_result(lambda r: r + "!")):
        assert targets.Cache().get("k") == "cache:k!"
    with inject("tests.faults.targets:Cache.version", corrupt_result(lambda r: r + 1)):
        assert targets.Cache.version() == 2
        assert targets.Cache().version() == 2
    with inject("tests.faults.targets:Cache.make", corrupt_result(lambda r: None)):
        assert targets.Cache.make() is None
    assert dict(vars(targets.Cache)) == raw
    assert isinstance(targets.Cache.make(), targets.Cache)


def test_bound_method_of_an_instance() -> None:
    """A bound method is patched on its instance only, then removed from the instance."""
    cache, other = targets.Cache(), targets.Cache()
    with inject(cache.get, raise_error(KeyError)):
        with pytest.raises(KeyError):
            cache.get("k")
        assert other.get("k") == "cache:k"
    assert "get" not in vars(cache)
    assert cache.get("k") == "cache:k"


def test_callable_that_cannot_be_patched_offers_a_wrapper() -> None:
    """A lambda is not patched in place; the wrapper carries the faults."""
    fn = lambda: 1  # noqa: E731
    with inject(fn, corrupt_result(lambda r: r * 10)) as inj:
        assert not inj.patches
        assert inj.wrapper() == 10
    assert fn() == 1


def test_decorator_sync_and_async() -> None:
    """As a decorator the injection is active only while the function runs."""
    injection = inject(FETCH, corrupt_result(lambda r: "x"))

    @injection
    def run() -> str:
        return targets.fetch("a")

    @injection
    async def arun() -> str:
        return targets.fetch("a")

    assert run() == "x"
    assert asyncio.run(arun()) == "x"
    assert targets.fetch("a") == "value:a"
    assert not injection.active


def test_double_start_is_refused() -> None:
    """Starting an active injection is a usage error and leaves one patch."""
    inj = inject(FETCH, raise_error(ValueError))
    with inj, pytest.raises(UsageError, match="already active"):
        inj.start()
    assert targets.fetch("a") == "value:a"


def test_events_go_to_journal() -> None:
    """Fault events land in the journal with target, fault and call number."""
    journal = Journal()
    clock = VirtualClock(10.0)
    with inject(FETCH, add_latency(1.0), clock=clock, journal=journal):
        targets.fetch("a")
        targets.fetch("b")
    events = journal.events
    assert [e.data["call"] for e in events] == [1, 2]
    assert events[0].t == 10.0
    assert events[1].t == 11.0
    assert events[0].source == "faults/tests.faults.targets:fetch"


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (lambda: raise_error(ValueError, rate=1.5), "rate=1.5"),
        (lambda: add_latency(-1), "seconds=-1"),
        (lambda: Uniform(2, 1), "high must be >= low"),
        (lambda: LogNormal(0), "median=0"),
        (lambda: inject("nocolon", raise_error(ValueError)), "package.module:attribute"),
        (lambda: inject("tests.faults.targets:nope", raise_error(ValueError)), "no attribute 'nope'"),
        (lambda: inject(FETCH, "not a fault"), "is not a fault"),  # type: ignore[arg-type]
        (lambda: FaultWindow(start=-1, duration=1, fault=hang()), "start=-1"),
        (lambda: Swarm(seed=1, p=2), "p=2"),
    ],
)
def test_bad_configuration_is_rejected_with_advice(bad: object, match: str) -> None:
    """Bad values fail at construction with a message quoting them."""
    with pytest.raises(InvalidConfig, match=match):
        bad()  # type: ignore[operator]


def test_distributions_sample_within_shape() -> None:
    """Distributions respect bounds; the log-normal median is near its parameter."""
    rng = random.Random(1)
    assert Fixed(0.1).sample(rng) == 0.1
    assert all(1 <= Uniform(1, 2).sample(rng) <= 2 for _ in range(100))
    assert all(Normal(0.0, 1.0).sample(rng) >= 0 for _ in range(100))
    draws = sorted(LogNormal(0.05, 1.0).sample(rng) for _ in range(2001))
    assert 0.04 < draws[1000] < 0.06
    assert draws[1980] > 0.3  # long tail: p99 near 10x the median


@given(st.integers(0, 2**32), st.integers(1, 50))
@settings(max_examples=50, deadline=None)
def test_decisions_for_call_n_do_not_depend_on_earlier_firings(seed: int, n: int) -> None:
    """Each fault consumes the same draws per call, so call N's decision is stable."""
    faults = [raise_error(ValueError, rate=0.5), add_latency(Uniform(0, 1), rate=0.5)]
    a, b = random.Random(seed), random.Random(seed)
    for _ in range(n):
        decide(faults, a)
        decide([*faults[:1], add_latency(Uniform(0, 1), rate=1.0)], b)
    assert a.random() == b.random()


def test_schedule_windows_activate_faults_on_the_clock() -> None:
    """Faults of a window apply only inside it and only to its target."""
    clock = VirtualClock()
    schedule = FaultSchedule(
        [
            FaultWindow(start=10, duration=5, fault=raise_error(ConnectionError), target=FETCH),
            FaultWindow(start=12, duration=1, fault=add_latency(1.0), target="other"),
        ]
    )
    outcomes = []
    with inject(FETCH, clock=clock, schedule=schedule):
        for _ in range(20):
            try:
                targets.fetch("a")
                outcomes.append("ok")
            except ConnectionError:
                outcomes.append("err")
            clock.advance(1)
    assert outcomes == ["ok"] * 10 + ["err"] * 5 + ["ok"] * 5
    assert schedule.next_change(0) == 10
    assert schedule.next_change(12.5) == 13
    kinds = [(e.t, e.kind) for e in schedule.timeline()]
    assert kinds == [(10, "fault.on"), (12, "fault.on"), (13, "fault.off"), (15, "fault.off")]


def test_schedule_open_ended_window() -> None:
    """A window of infinite duration never closes and has no off event."""
    s = FaultSchedule([FaultWindow(start=1, duration=math.inf, fault=hang())])
    assert s.active(1e9)
    assert not s.active(0.5)
    assert [e.kind for e in s.timeline()] == ["fault.on"]


def test_swarm_activation_is_per_seed_and_near_p() -> None:
    """A kind is on for a run with probability p, the same for the same seed."""
    faults = [raise_error(ValueError), add_latency(1.0), corrupt_result(str), hang()]
    assert Swarm(seed=3).select(faults) == Swarm(seed=3).select(faults)
    on = sum(Swarm(seed=s, p=0.3).enabled("raise_error") for s in range(2000))
    assert 480 <= on <= 720
    assert Swarm(seed=1, p=0).select(faults) == ()
    assert Swarm(seed=1, p=1).select(faults) == tuple(faults)


def test_swarm_filters_injected_faults() -> None:
    """Faults switched off by the swarm never fire."""
    with inject(FETCH, raise_error(ValueError), swarm=Swarm(seed=1, p=0.0)) as inj:
        assert targets.fetch("a") == "value:a"
    assert inj.events == []


def test_fault_injector_decides_without_patching() -> None:
    """The sans-IO core numbers calls and decides from now + schedule, recording fired faults."""
    window = FaultWindow(start=5, duration=5, fault=raise_error(TimeoutError), target="svc")
    schedule = FaultSchedule([window])

    def run(journal: Journal | None = None) -> list[tuple[int, list[str]]]:
        injector = FaultInjector(
            "svc", [add_latency(0.1, rate=0.5)], seed=9, schedule=schedule, journal=journal
        )
        out = []
        for now in range(12):
            call, decisions = injector.decide(float(now))
            out.append((call, [d.fault.describe() for d in decisions]))
        return out

    journal = Journal()
    fired = run(journal)
    assert [c for c, _ in fired] == list(range(1, 13))
    assert all("raise_error(TimeoutError)" in kinds for c, kinds in fired if 6 <= c <= 10)
    assert not any("raise_error(TimeoutError)" in kinds for c, kinds in fired if c < 6 or c > 10)
    assert len(journal) == sum(len(k) for _, k in fired)
    assert run() == fired
