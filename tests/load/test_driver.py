"""The open-model driver on virtual time: schedule, corrected latency, drops, aborts, validity."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.examples.sample_service import SampleService
from harness.load import (
    EXIT_DRIVER_BOUND,
    EXIT_NO_SUCCESS,
    ArrivalProcess,
    CallableTarget,
    ConstantArrival,
    DriverConfig,
    OpenModelDriver,
    RampLoad,
    Threshold,
)

FREEZE_EVERY, FREEZE_FOR, BASE = 1.0, 0.2, 0.001


def _freezing(clock: VirtualClock):  # type: ignore[no-untyped-def]
    """An async callable that answers in BASE seconds, held until the end of any freeze window."""

    async def call() -> None:
        phase = clock.now() % FREEZE_EVERY
        hold = FREEZE_FOR - phase if phase < FREEZE_FOR else 0.0
        await asyncio.sleep(BASE + hold)

    return call


def _run(clock: VirtualClock, config: DriverConfig, fn):  # type: ignore[no-untyped-def]
    return clock.run(OpenModelDriver(config, CallableTarget(fn), clock=clock).run())


def test_corrected_latency_reflects_freezes_that_service_time_hides(virtual_clock: VirtualClock) -> None:
    """With 4 connections and periodic freezes, corrected p99 is the analytic value; service p99 is not."""
    config = DriverConfig(profile=ConstantArrival(rate=500, duration=10), connections=4)
    result = _run(virtual_clock, config, _freezing(virtual_clock))
    analytic = FREEZE_FOR - 0.01 * FREEZE_EVERY + BASE  # P(wait > x) = (F - x) / P
    assert result.completed == result.planned == 5000
    assert result.corrected.p99 == pytest.approx(analytic, rel=0.10)
    assert result.corrected.max == pytest.approx(FREEZE_FOR + BASE, rel=0.05)
    assert result.service.p99 < analytic / 10
    assert result.dropped == 0
    assert result.valid
    assert result.achieved_rate == pytest.approx(500)


def test_every_start_follows_the_schedule_on_virtual_time(virtual_clock: VirtualClock) -> None:
    """A fast target sees its starts at the intended times: zero lag, rate achieved, run valid."""
    starts: list[float] = []

    async def call() -> None:
        starts.append(virtual_clock.now())
        await asyncio.sleep(0.002)

    profile = RampLoad(start_rate=100, end_rate=300, duration=2)
    result = _run(virtual_clock, DriverConfig(profile=profile, connections=16), call)
    assert len(starts) == result.completed == 400
    assert result.lag.max <= 1e-6  # the histogram's resolution
    assert result.corrected.p50 == pytest.approx(0.002, rel=0.01)
    assert sum(1 for t in starts if t < 1.0) == pytest.approx(profile.cumulative([1.0])[0], abs=1)


def test_starts_still_unsent_after_the_drain_are_dropped(virtual_clock: VirtualClock) -> None:
    """A target slower than the rate can carry: unsent starts are counted, never silently lost."""

    async def slow() -> None:
        await asyncio.sleep(1.0)

    config = DriverConfig(profile=ConstantArrival(rate=100, duration=1), connections=2, drain=0.5)
    result = _run(virtual_clock, config, slow)
    assert result.sent + result.dropped == result.planned == 100
    assert result.sent == 4  # two connections, each starting at 0 and 1.0 (the drain ends at 1.5)
    assert result.metrics()["dropped_rate"] == pytest.approx(0.96)


def test_errors_are_counted_by_label(virtual_clock: VirtualClock, seeds) -> None:  # type: ignore[no-untyped-def]
    """The buggy sample version fails about 20% of checkouts; each failure is labelled by type."""
    service = SampleService("buggy", rng=seeds.stream("service"), clock=virtual_clock)

    async def call() -> None:
        await service.checkout("widget")

    result = _run(virtual_clock, DriverConfig(profile=ConstantArrival(rate=500, duration=4)), call)
    assert set(result.statuses) == {"ok", "CheckoutError"}
    assert result.statuses["CheckoutError"] == result.errors
    assert result.error_rate == pytest.approx(0.2, abs=0.03)


def test_abort_on_fail_stops_the_run_after_its_delay(virtual_clock: VirtualClock) -> None:
    """A failing abort_on_fail threshold stops sending once its delay has passed."""

    async def broken() -> None:
        await asyncio.sleep(0.001)
        raise RuntimeError("down")

    threshold = Threshold.parse("error_rate < 1%", abort_on_fail=True, delay=2.0)
    config = DriverConfig(
        profile=ConstantArrival(rate=100, duration=30), thresholds=(threshold,), check_every=0.5
    )
    result = _run(virtual_clock, config, broken)
    assert result.aborted_by is not None
    assert result.aborted_by.threshold is threshold
    assert 2.0 <= result.elapsed <= 2.6
    assert result.sent + result.dropped == result.planned == 3000
    assert not result.thresholds.passed
    assert result.thresholds.exit_code == 99


def test_a_blocking_target_makes_the_run_invalid(virtual_clock: VirtualClock) -> None:
    """A sync callable that blocks the loop delays every other start: the run is marked driver-bound."""

    def blocking() -> None:
        virtual_clock.sleep_sync(0.015)

    config = DriverConfig(profile=ConstantArrival(rate=100, duration=2), latency_target=0.1)
    result = _run(virtual_clock, config, blocking)
    assert not result.valid
    assert any("scheduling lag p99" in r for r in result.invalid_reasons)
    assert result.exit_code == EXIT_DRIVER_BOUND
    assert result.verdict().startswith("INVALID (the driver measured itself): scheduling lag p99")


def test_a_run_in_which_every_request_failed_is_not_a_pass(virtual_clock: VirtualClock) -> None:
    """Nothing about the service was measured: exit EXIT_NO_SUCCESS, failures broken down by label."""

    async def refused() -> None:
        await asyncio.sleep(0.001)
        raise ConnectionRefusedError("nobody listens")

    config = DriverConfig(profile=ConstantArrival(rate=50, duration=2))
    result = _run(virtual_clock, config, refused)
    assert result.valid
    assert result.thresholds.passed  # no threshold was given: only the run's own validity fails
    assert result.exit_code == EXIT_NO_SUCCESS
    assert result.failed_statuses == {"ConnectionRefusedError": 100}
    assert result.verdict() == (
        "NO REQUEST SUCCEEDED (all 100 failed): nothing about the service's latency was measured"
    )


def test_poisson_runs_replay_from_the_seed() -> None:
    """Two Poisson runs with one seed see identical latencies on virtual time."""

    def once(seed: int) -> tuple[int, float, float]:
        clock = VirtualClock()
        rng = random.Random(1)

        async def call() -> None:
            await asyncio.sleep(rng.random() * 0.01)

        config = DriverConfig(
            profile=ConstantArrival(rate=300, duration=3),
            process=ArrivalProcess.POISSON,
            seed=seed,
            connections=2,
        )
        r = _run(clock, config, call)
        return r.planned, r.corrected.p99, r.corrected.mean

    assert once(11) == once(11)
    assert once(11) != once(12)


def test_max_requests_bounds_a_run(virtual_clock: VirtualClock) -> None:
    """max_requests stops starting requests after that many."""

    async def call() -> None:
        await asyncio.sleep(0)

    config = DriverConfig(profile=ConstantArrival(rate=1000, duration=5), max_requests=250)
    result = _run(virtual_clock, config, call)
    assert result.sent == result.completed == 250


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"connections": 0}, "connections=0"),
        ({"drain": -1}, "drain=-1"),
        ({"latency_target": 0}, "latency_target=0"),
        ({"max_cpu": 1.5}, "max_cpu=1.5"),
        ({"max_requests": 0}, "max_requests=0"),
        ({"process": ArrivalProcess.POISSON}, "needs seed="),
    ],
)
def test_bad_driver_config_is_refused(kwargs: dict, match: str) -> None:  # type: ignore[type-arg]
    """Bad driver settings fail at construction, quoting the value."""
    with pytest.raises(InvalidConfig, match=match):
        DriverConfig(profile=ConstantArrival(rate=1, duration=1), **kwargs)


def test_thresholds_given_as_text_are_parsed() -> None:
    """DriverConfig accepts threshold strings and parses them at construction."""
    config = DriverConfig(profile=ConstantArrival(rate=1, duration=1), thresholds=("p99 < 1s",))  # type: ignore[arg-type]
    assert config.thresholds[0].metric == "p99"
    with pytest.raises(InvalidConfig):
        DriverConfig(profile=ConstantArrival(rate=1, duration=1), thresholds=("p99 < soon",))  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(
    rate=st.floats(20, 400),
    duration=st.floats(0.2, 2.0),
    connections=st.integers(1, 8),
    mean_latency=st.floats(0.0005, 0.05),
    seed=st.integers(0, 2**32),
)
def test_accounting_and_corrected_latency_invariants(
    rate: float, duration: float, connections: int, mean_latency: float, seed: int
) -> None:
    """Every planned start is sent or dropped; corrected latency never falls below service time."""
    clock = VirtualClock()
    rng = random.Random(seed)

    async def call() -> None:
        await asyncio.sleep(rng.expovariate(1 / mean_latency))

    config = DriverConfig(
        profile=ConstantArrival(rate=rate, duration=duration), connections=connections, drain=0.5
    )
    result = _run(clock, config, call)
    assert result.sent + result.dropped == result.planned
    assert abs(result.planned - rate * duration) <= 1
    assert result.completed == result.sent
    for q in ("p50", "p90", "p99", "p999", "max"):
        assert getattr(result.corrected, q) >= getattr(result.service, q) - 2e-6
