"""Retry: attempts, backoff with seeded jitter, deadline, result predicates and the budget."""

from __future__ import annotations

import asyncio
import random

import pytest

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.resilience import EventKind, GiveUp, Jitter, Retry, RetryBudget, RetryConfig
from harness.resilience.retry import RetryPolicy
from harness.seeding import Seeds


class Flaky:
    """Fails ``failures`` times, then returns ``"ok"``; records the clock time of every attempt."""

    def __init__(self, clock: VirtualClock, failures: int, exc: type[Exception] = ConnectionError) -> None:
        self.clock, self.left, self.exc = clock, failures, exc
        self.times: list[float] = []

    def __call__(self) -> str:
        self.times.append(self.clock.now())
        if self.left > 0:
            self.left -= 1
            raise self.exc("transient")
        return "ok"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"max_attempts": 0}, "max_attempts=0"),
        ({"base_delay": 0}, "base_delay=0"),
        ({"multiplier": 0.5}, "multiplier=0.5 must be a number >= 1"),
        ({"max_delay": 0.01, "base_delay": 0.1}, "max_delay=0.01 is below base_delay=0.1"),
        ({"deadline": -1}, "deadline=-1"),
        ({"jitter": "full"}, "valid: none, full, equal, decorrelated"),
        ({"retry_on": ("x",)}, "not an exception class"),
    ],
)
def test_bad_config_quotes_value(kwargs: dict[str, object], fragment: str) -> None:
    """Invalid retry settings fail at construction with the value and the fix."""
    with pytest.raises(InvalidConfig) as info:
        RetryConfig(**kwargs)  # type: ignore[arg-type]
    assert fragment in str(info.value)


def test_bad_budget_quotes_value() -> None:
    """A negative ratio or zero window is refused."""
    with pytest.raises(InvalidConfig, match=r"ratio=-0\.1"):
        RetryBudget(ratio=-0.1)
    with pytest.raises(InvalidConfig, match="window=0"):
        RetryBudget(window=0)


def test_retries_until_success_with_exponential_delays(virtual_clock: VirtualClock) -> None:
    """Without jitter, delays are base * multiplier**k, capped, and sleeps are on the clock."""
    cfg = RetryConfig(max_attempts=5, base_delay=1.0, multiplier=2.0, max_delay=3.0, jitter=Jitter.NONE)
    flaky = Flaky(virtual_clock, 3)
    assert Retry(cfg, clock=virtual_clock).call(flaky) == "ok"
    assert flaky.times == [0.0, 1.0, 3.0, 6.0]


def test_gives_up_after_max_attempts_reraising_last_error(virtual_clock: VirtualClock) -> None:
    """The last exception propagates once attempts run out."""
    flaky = Flaky(virtual_clock, 10)
    with pytest.raises(ConnectionError, match="transient"):
        Retry(RetryConfig(max_attempts=3), clock=virtual_clock).call(flaky)
    assert len(flaky.times) == 3


def test_non_retryable_exception_propagates_at_once(virtual_clock: VirtualClock) -> None:
    """Exceptions outside retry_on are not retried."""
    flaky = Flaky(virtual_clock, 10, exc=ValueError)
    retry = Retry(RetryConfig(retry_on=(ConnectionError,)), clock=virtual_clock)
    with pytest.raises(ValueError, match="transient"):
        retry.call(flaky)
    assert len(flaky.times) == 1


def test_retry_on_result(virtual_clock: VirtualClock) -> None:
    """A result matching retry_if_result is retried; the last one is returned when retries run out."""
    values = iter([None, None, 5])
    retry = Retry(RetryConfig(max_attempts=3, retry_if_result=lambda r: r is None), clock=virtual_clock)
    assert retry.call(lambda: next(values)) == 5
    retry2 = Retry(RetryConfig(max_attempts=2, retry_if_result=lambda r: r is None), clock=virtual_clock)
    assert retry2.call(lambda: None) is None


def test_deadline_stops_before_sleeping_past_it(virtual_clock: VirtualClock) -> None:
    """No retry starts if its delay would end past the total deadline."""
    cfg = RetryConfig(max_attempts=10, base_delay=1.0, multiplier=2.0, jitter=Jitter.NONE, deadline=5.0)
    flaky = Flaky(virtual_clock, 10)
    events = []
    retry = Retry(cfg, clock=virtual_clock)
    retry.add_listener(events.append)
    with pytest.raises(ConnectionError):
        retry.call(flaky)
    assert flaky.times == [0.0, 1.0, 3.0]
    assert events[-1].kind is EventKind.GIVE_UP
    assert events[-1].data["reason"] == "deadline"


@pytest.mark.parametrize("jitter", list(Jitter))
def test_jitter_bounds_and_seed_reproducibility(jitter: Jitter) -> None:
    """Each jitter mode stays in its bounds, and the same seed gives the same delays."""
    cfg = RetryConfig(max_attempts=50, base_delay=0.5, multiplier=2.0, max_delay=8.0, jitter=jitter)
    policy = RetryPolicy(cfg)

    def delays(seed: int) -> list[float]:
        rng = Seeds(seed).stream("retry")
        out, prev = [], cfg.base_delay
        for attempt in range(1, 30):
            prev = policy.delay(attempt, prev, rng)
            out.append(prev)
        return out

    first = delays(7)
    assert first == delays(7)
    for attempt, d in enumerate(first, start=1):
        cap = min(8.0, 0.5 * 2.0 ** (attempt - 1))
        if jitter is Jitter.NONE:
            assert d == cap
        elif jitter is Jitter.FULL:
            assert 0.0 <= d <= cap
        elif jitter is Jitter.EQUAL:
            assert cap / 2 <= d <= cap
        else:
            assert 0.5 <= d <= 8.0
    if jitter is not Jitter.NONE:
        assert first != delays(8)


def test_huge_attempt_numbers_do_not_overflow() -> None:
    """The exponent is clamped; the delay stays at max_delay."""
    policy = RetryPolicy(RetryConfig(jitter=Jitter.NONE, multiplier=10.0, max_delay=2.0))
    assert policy.delay(100_000, 1.0, random.Random(1)) == 2.0


def test_plan_reports_why_it_stops() -> None:
    """plan() returns GiveUp.ATTEMPTS or GiveUp.DEADLINE, else a delay."""
    policy = RetryPolicy(RetryConfig(max_attempts=3, jitter=Jitter.NONE, base_delay=1.0, deadline=2.0))
    rng = random.Random(0)
    assert policy.plan(1, 0.0, 1.0, rng) == 1.0
    assert policy.plan(1, 1.5, 1.0, rng) is GiveUp.DEADLINE
    assert policy.plan(3, 0.0, 1.0, rng) is GiveUp.ATTEMPTS


def test_budget_caps_retries_during_a_brown_out(virtual_clock: VirtualClock) -> None:
    """With every call failing, retries stay within ratio * calls + the per-second floor."""
    budget = RetryBudget(ratio=0.2, min_retries_per_second=0.5, window=10.0)
    retry = Retry(RetryConfig(max_attempts=4, base_delay=0.001), clock=virtual_clock, budget=budget)
    attempts = 0

    def down() -> None:
        nonlocal attempts
        attempts += 1
        raise ConnectionError("brown-out")

    for _ in range(100):
        with pytest.raises(ConnectionError):
            retry.call(down)
    calls, retries = budget.snapshot_at(virtual_clock.now())
    assert calls == 100
    assert retries == attempts - 100
    assert retries <= 0.2 * 100 + 0.5 * 10.0
    assert retries >= 20


def test_budget_refills_as_the_window_slides() -> None:
    """Retries spent leave the budget once their bucket leaves the window."""
    budget = RetryBudget(ratio=0.0, min_retries_per_second=0.2, window=10.0)
    assert budget.withdraw_at(0.0)
    assert budget.withdraw_at(0.0)
    assert not budget.withdraw_at(0.5)
    assert budget.withdraw_at(11.0)


def test_async_retry_sleeps_on_virtual_time(virtual_clock: VirtualClock) -> None:
    """acall and the async decorator retry with sleeps on the clock, taking no wall time."""
    cfg = RetryConfig(max_attempts=4, base_delay=10.0, multiplier=3.0, max_delay=1000.0, jitter=Jitter.NONE)
    retry = Retry(cfg, clock=virtual_clock)
    times: list[float] = []

    @retry
    async def flaky() -> str:
        times.append(asyncio.get_running_loop().time())
        if len(times) < 4:
            raise ConnectionError
        return "ok"

    assert virtual_clock.run(flaky()) == "ok"
    assert times == [0.0, 10.0, 40.0, 130.0]


def test_sync_decorator_keeps_metadata(virtual_clock: VirtualClock) -> None:
    """The decorator keeps the function's name and retries it."""
    flaky = Flaky(virtual_clock, 1)

    @Retry(clock=virtual_clock)
    def wrapped() -> str:
        return flaky()

    assert wrapped() == "ok"
    assert wrapped.__name__ == "wrapped"


def test_retry_events(virtual_clock: VirtualClock) -> None:
    """A RETRY event precedes every sleep, with the attempt and the delay."""
    retry = Retry(RetryConfig(max_attempts=3, jitter=Jitter.NONE, base_delay=0.5), clock=virtual_clock)
    events = []
    retry.add_listener(events.append)
    retry.call(Flaky(virtual_clock, 2))
    assert [(e.kind, e.data["attempt"], e.data["delay"]) for e in events] == [
        (EventKind.RETRY, 1, 0.5),
        (EventKind.RETRY, 2, 1.0),
    ]


def test_deadline_counts_from_the_first_attempt(virtual_clock: VirtualClock) -> None:
    """A slow first attempt uses up the deadline: no retry starts after it."""
    cfg = RetryConfig(max_attempts=5, base_delay=1.0, jitter=Jitter.NONE, deadline=4.0)
    attempts = []

    def slow_failure() -> None:
        attempts.append(virtual_clock.now())
        virtual_clock.advance(3.5)
        raise ConnectionError

    with pytest.raises(ConnectionError):
        Retry(cfg, clock=virtual_clock).call(slow_failure)
    assert attempts == [0.0]
