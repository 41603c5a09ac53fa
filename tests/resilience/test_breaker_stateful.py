"""The circuit breaker against a small reference model, as a Hypothesis state machine.

Rules are calls (success, failure, slow), trial calls left in flight and finished later (with a
result, a failure or a cancellation) and clock advances. Invariants: the breaker's state equals
the model's; OPEN admits nothing before open_for has passed; HALF_OPEN never has more than
half_open_calls trials in flight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from harness.clock import VirtualClock
from harness.resilience import (
    CircuitBreaker,
    CircuitBreakerConfig,
    CircuitOpenError,
    CircuitState,
    WindowType,
)
from harness.resilience.breaker import _Guard

CLOSED, OPEN, HALF_OPEN = CircuitState.CLOSED, CircuitState.OPEN, CircuitState.HALF_OPEN


class Boom(Exception):
    """A recorded failure."""


@dataclass
class Model:
    """The breaker written the obvious way: a list of outcomes, the window recomputed each time."""

    cfg: CircuitBreakerConfig
    state: CircuitState = CLOSED
    outcomes: list[tuple[float, bool, bool]] = field(default_factory=list)
    open_until: float = 0.0
    free: int = 0
    trials: list[tuple[bool, bool]] = field(default_factory=list)
    gen: int = 0

    def move(self, to: CircuitState, now: float) -> None:
        self.state, self.gen = to, self.gen + 1
        if to is OPEN:
            self.open_until = now + self.cfg.open_for
        elif to is HALF_OPEN:
            self.free, self.trials = self.cfg.half_open_calls, []
        else:
            self.outcomes.clear()

    def window(self, now: float) -> list[tuple[bool, bool]]:
        """The outcomes in the sliding window at ``now``."""
        if self.cfg.window_type is WindowType.COUNT:
            kept = self.outcomes[-self.cfg.window :]
        else:
            horizon = math.floor(now) - self.cfg.window
            kept = [o for o in self.outcomes if math.floor(o[0]) > horizon]
        return [(f, s) for _, f, s in kept]

    def at(self, now: float) -> CircuitState:
        if self.state is OPEN and now >= self.open_until:
            self.move(HALF_OPEN, now)
        return self.state

    def admit(self, now: float) -> int | None:
        state = self.at(now)
        if state is CLOSED:
            return self.gen
        if state is HALF_OPEN and self.free > 0:
            self.free -= 1
            return self.gen
        return None

    def tripped(self, outcomes: list[tuple[bool, bool]]) -> bool:
        n = len(outcomes)
        fails = sum(f for f, _ in outcomes)
        slow = sum(s for _, s in outcomes)
        return fails / n >= self.cfg.failure_rate_threshold or slow / n >= self.cfg.slow_call_rate_threshold

    def finish(self, gen: int, outcome: tuple[bool, bool] | None, now: float) -> None:
        if gen != self.gen:
            return
        if outcome is None:
            if self.state is HALF_OPEN:
                self.free += 1
            return
        if self.state is CLOSED:
            self.outcomes.append((now, *outcome))
            window = self.window(now)
            if len(window) >= self.cfg.minimum_calls and self.tripped(window):
                self.move(OPEN, now)
        elif self.state is HALF_OPEN:
            self.trials.append(outcome)
            if len(self.trials) >= self.cfg.half_open_calls:
                self.move(OPEN if self.tripped(self.trials) else CLOSED, now)


@dataclass
class Flight:
    guard: _Guard
    gen: int
    start: float


class BreakerMachine(RuleBasedStateMachine):
    """Drives a real CircuitBreaker and the model with the same inputs."""

    config = CircuitBreakerConfig(
        window=6, minimum_calls=3, failure_rate_threshold=0.5, open_for=4.0, half_open_calls=2
    )

    def __init__(self) -> None:
        super().__init__()
        self.clock = VirtualClock()
        self.breaker = CircuitBreaker(self.config, name="m", clock=self.clock)
        self.model = Model(self.config)
        self.flights: list[Flight] = []
        self.trials_in_flight = 0

    def slow(self, duration: float) -> bool:
        limit = self.config.slow_call_duration
        return limit is not None and duration >= limit

    def _call(self, failing: bool, duration: float) -> None:
        now = self.clock.now()
        gen = self.model.admit(now)
        ran = []

        def body() -> None:
            ran.append(1)
            self.clock.advance(duration)
            if failing:
                raise Boom

        if gen is None:
            with pytest.raises(CircuitOpenError):
                self.breaker.call(body)
            assert not ran
            return
        if failing:
            with pytest.raises(Boom):
                self.breaker.call(body)
        else:
            self.breaker.call(body)
        self.model.finish(gen, (failing, self.slow(duration)), self.clock.now())

    @rule()
    def success(self) -> None:
        self._call(False, 0.0)

    @rule()
    def failure(self) -> None:
        self._call(True, 0.0)

    @rule(failing=st.booleans(), duration=st.sampled_from([0.5, 1.0, 2.5]))
    def timed_call(self, failing: bool, duration: float) -> None:
        self._call(failing, duration)

    @rule(dt=st.sampled_from([0.25, 1.0, 3.0, 4.0, 10.0]))
    def advance(self, dt: float) -> None:
        self.clock.advance(dt)

    @precondition(lambda self: len(self.flights) < 6)
    @rule()
    def begin(self) -> None:
        now = self.clock.now()
        gen = self.model.admit(now)
        guard = self.breaker.protect()
        if gen is None:
            with pytest.raises(CircuitOpenError):
                guard.__enter__()
            return
        guard.__enter__()
        self.flights.append(Flight(guard, gen, now))

    @precondition(lambda self: bool(self.flights))
    @rule(index=st.integers(0, 5), how=st.sampled_from(["ok", "fail", "cancel", "ignored"]))
    def finish(self, index: int, how: str) -> None:
        flight = self.flights.pop(index % len(self.flights))
        now = self.clock.now()
        slow = self.slow(now - flight.start)
        if how == "ok":
            flight.guard.__exit__(None, None, None)
            outcome: tuple[bool, bool] | None = (False, slow)
        elif how == "fail":
            exc = Boom()
            flight.guard.__exit__(Boom, exc, None)
            outcome = (True, slow)
        elif how == "cancel":
            cancel = KeyboardInterrupt()
            flight.guard.__exit__(KeyboardInterrupt, cancel, None)
            outcome = None
        else:
            ignored = LookupError()
            flight.guard.__exit__(LookupError, ignored, None)
            outcome = None
        self.model.finish(flight.gen, outcome, now)

    @invariant()
    def state_agrees_with_model(self) -> None:
        now = self.clock.now()
        assert self.breaker.state is self.model.at(now)

    @invariant()
    def open_admits_nothing_before_open_for(self) -> None:
        if self.model.at(self.clock.now()) is OPEN:
            assert self.clock.now() < self.model.open_until
            assert not self.breaker.allow()

    @invariant()
    def half_open_trials_bounded(self) -> None:
        if self.model.at(self.clock.now()) is HALF_OPEN:
            in_flight = sum(1 for f in self.flights if f.gen == self.model.gen)
            assert in_flight + len(self.model.trials) <= self.config.half_open_calls

    @invariant()
    def window_counts_agree(self) -> None:
        m = self.breaker.metrics()
        if m.state is CLOSED:
            window = self.model.window(self.clock.now())
            assert m.calls == len(window)
            assert m.failures == sum(f for f, _ in window)


class TimedBreakerMachine(BreakerMachine):
    """The same machine with slow-call tracking on (the timed, locked path)."""

    config = CircuitBreakerConfig(
        window=5,
        minimum_calls=2,
        failure_rate_threshold=0.6,
        slow_call_duration=1.0,
        slow_call_rate_threshold=0.5,
        open_for=3.0,
        half_open_calls=3,
        ignore_on=(LookupError,),
    )


class TimeWindowBreakerMachine(BreakerMachine):
    """The same machine with a 5-second time window and slow-call tracking."""

    config = CircuitBreakerConfig(
        window_type=WindowType.TIME,
        window=5,
        minimum_calls=3,
        failure_rate_threshold=0.5,
        slow_call_duration=1.0,
        slow_call_rate_threshold=0.7,
        open_for=4.0,
        half_open_calls=2,
        ignore_on=(LookupError,),
    )


# LookupError must be ignored by the first machine too.
BreakerMachine.config = CircuitBreakerConfig(
    window=6,
    minimum_calls=3,
    failure_rate_threshold=0.5,
    open_for=4.0,
    half_open_calls=2,
    ignore_on=(LookupError,),
)

TestBreakerMachine = BreakerMachine.TestCase
TestBreakerMachine.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
TestTimedBreakerMachine = TimedBreakerMachine.TestCase
TestTimedBreakerMachine.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
TestTimeWindowBreakerMachine = TimeWindowBreakerMachine.TestCase
TestTimeWindowBreakerMachine.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
