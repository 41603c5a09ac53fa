"""Retry: capped exponential backoff with seeded jitter, a total deadline and a retry budget.

The decision of what to do after a failed attempt (``RetryPolicy.plan``) is sans-IO: it takes
the attempt number, the elapsed time and the previous delay and returns the next delay or a
reason to stop. ``Retry`` drives it, sleeping on the injected ``Clock`` and drawing jitter from an
injected ``random.Random`` (derive it from the run's seed: ``seeds.stream("retry/payments")``).

A :class:`RetryBudget` caps retries at a fraction of calls over a sliding window, as Finagle's
retry budget does, so a brown-out does not turn every call into ``max_attempts`` calls.
"""

from __future__ import annotations

import enum
import random
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar, cast

from harness._checks import integer, invalid, member_of, positive, within
from harness.clock import Clock, SystemClock
from harness.errors import InvalidConfig
from harness.resilience._checks import ExceptionMatcher, check_matcher, matches
from harness.resilience._decorate import Decorating
from harness.resilience.events import EventKind, EventSource, Listener

__all__ = ["GiveUp", "Jitter", "Retry", "RetryBudget", "RetryConfig", "RetryPolicy"]

P = ParamSpec("P")
R = TypeVar("R")


class Jitter(enum.Enum):
    """How a backoff delay is randomised (AWS architecture blog, "Exponential Backoff And Jitter")."""

    NONE = "none"
    """Exactly the capped exponential delay."""
    FULL = "full"
    """Uniform in [0, capped delay]."""
    EQUAL = "equal"
    """Half the capped delay plus uniform in [0, half]."""
    DECORRELATED = "decorrelated"
    """Uniform in [base, 3 x previous delay], capped."""


class GiveUp(enum.Enum):
    """Why a retry loop stopped retrying."""

    ATTEMPTS = "attempts"
    DEADLINE = "deadline"
    BUDGET = "budget"


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryConfig:
    """How many attempts, how long to wait between them, and what is worth retrying."""

    max_attempts: int = 3
    """Attempts in total, the first included."""
    base_delay: float = 0.1
    """Seconds before the first retry (before jitter)."""
    multiplier: float = 2.0
    """Growth of the delay per attempt."""
    max_delay: float = 10.0
    """Cap on any single delay."""
    jitter: Jitter = Jitter.FULL
    deadline: float | None = None
    """Seconds from the first attempt after which no retry starts; ``None`` for no deadline."""
    retry_on: ExceptionMatcher = (Exception,)
    """Exceptions worth retrying (a tuple of classes or a predicate)."""
    retry_if_result: Callable[[Any], bool] | None = None
    """Retry when this returns true for a result; the last result is returned when retries run out."""

    def __post_init__(self) -> None:
        integer("max_attempts", self.max_attempts, "1 means no retries; 3 is a common choice.", at_least=1)
        positive("base_delay", self.base_delay, "for example 0.1", unit="seconds")
        within("multiplier", self.multiplier, "[1, inf)", "use 1 for a constant delay, 2 to double it")
        positive("max_delay", self.max_delay, "for example 10.0", unit="seconds")
        if self.max_delay < self.base_delay:
            raise InvalidConfig(
                f"max_delay={self.max_delay!r} is below base_delay={self.base_delay!r}; raise max_delay.",
                field="max_delay",
                value=self.max_delay,
            )
        member_of("jitter", self.jitter, Jitter)
        if self.deadline is not None:
            positive("deadline", self.deadline, "or None for no total deadline", unit="seconds")
        check_matcher("retry_on", self.retry_on)
        if self.retry_if_result is not None and not callable(self.retry_if_result):
            raise invalid("retry_if_result", self.retry_if_result, "a predicate taking the result, or None")


class RetryPolicy:
    """The sans-IO decision: after a failed attempt, the next delay or why to stop."""

    __slots__ = ("_cfg",)

    def __init__(self, config: RetryConfig) -> None:
        self._cfg = config

    def delay(self, attempt: int, previous: float, rng: random.Random) -> float:
        """The delay after failed attempt number ``attempt`` (1-based), with jitter from ``rng``."""
        c = self._cfg
        if c.jitter is Jitter.DECORRELATED:
            upper = max(c.base_delay, previous * 3.0)
            return min(c.max_delay, rng.uniform(c.base_delay, upper))
        exponent = min(attempt - 1, 1024)
        try:
            capped = min(c.max_delay, c.base_delay * c.multiplier**exponent)
        except OverflowError:
            capped = c.max_delay
        if c.jitter is Jitter.FULL:
            return rng.uniform(0.0, capped)
        if c.jitter is Jitter.EQUAL:
            return capped / 2.0 + rng.uniform(0.0, capped / 2.0)
        return capped

    def plan(self, attempt: int, elapsed: float, previous: float, rng: random.Random) -> float | GiveUp:
        """After attempt ``attempt`` failed ``elapsed`` seconds into the loop: a delay, or ``GiveUp``."""
        c = self._cfg
        if attempt >= c.max_attempts:
            return GiveUp.ATTEMPTS
        wait = self.delay(attempt, previous, rng)
        if c.deadline is not None and elapsed + wait >= c.deadline:
            return GiveUp.DEADLINE
        return wait


class RetryBudget:
    """At most ``ratio`` retries per call over the last ``window`` seconds, plus a floor.

    ``min_retries_per_second`` keeps a trickle of retries possible when traffic is low. Share
    one budget between the ``Retry`` instances that call the same dependency. Thread-safe; the
    ``*_at`` methods take ``now`` and read no clock.
    """

    __slots__ = ("_calls", "_epoch", "_lock", "_retries", "min_retries_per_second", "ratio", "window")

    _BUCKETS = 10

    def __init__(
        self, *, ratio: float = 0.2, min_retries_per_second: float = 1.0, window: float = 10.0
    ) -> None:
        within("ratio", ratio, "[0, 10]", "retries allowed per call (0.2 = one per five calls)")
        within(
            "min_retries_per_second",
            min_retries_per_second,
            "[0, inf]",
            "0 allows no retries without traffic",
        )
        positive("window", window, "for example 10.0", unit="seconds")
        self.ratio = float(ratio)
        self.min_retries_per_second = float(min_retries_per_second)
        self.window = float(window)
        self._calls = [0] * self._BUCKETS
        self._retries = [0] * self._BUCKETS
        self._epoch: int | None = None
        self._lock = threading.Lock()

    def _rotate(self, now: float) -> int:
        epoch = int(now // (self.window / self._BUCKETS))
        if self._epoch is None:
            self._epoch = epoch
        steps = epoch - self._epoch
        if steps > 0:
            for k in range(self._epoch + 1, self._epoch + 1 + min(steps, self._BUCKETS)):
                b = k % self._BUCKETS
                self._calls[b] = self._retries[b] = 0
            self._epoch = epoch
        return self._epoch % self._BUCKETS

    def deposit_at(self, now: float) -> None:
        """Count one call at ``now``."""
        with self._lock:
            self._calls[self._rotate(now)] += 1

    def withdraw_at(self, now: float) -> bool:
        """Take one retry at ``now`` if the budget allows it; ``False`` means do not retry."""
        with self._lock:
            b = self._rotate(now)
            allowed = self.ratio * sum(self._calls) + self.min_retries_per_second * self.window
            if sum(self._retries) + 1 > allowed:
                return False
            self._retries[b] += 1
            return True

    def snapshot_at(self, now: float) -> tuple[int, int]:
        """``(calls, retries)`` in the window at ``now``."""
        with self._lock:
            self._rotate(now)
            return sum(self._calls), sum(self._retries)


class Retry(Decorating, EventSource):
    """Retries a sync or async callable per a :class:`RetryConfig`, on an injected clock.

    When attempts, the deadline or the budget run out, the last exception is re-raised (or the
    last result returned, for ``retry_if_result``). Events: RETRY before each sleep, GIVE_UP when
    it stops with a failure.
    """

    __slots__ = (
        "_budget",
        "_cfg",
        "_listeners",
        "_policy",
        "_result_pred",
        "_retry_on",
        "_timed",
        "clock",
        "name",
        "rng",
    )

    def __init__(
        self,
        config: RetryConfig | None = None,
        *,
        name: str = "retry",
        clock: Clock | None = None,
        rng: random.Random | None = None,
        budget: RetryBudget | None = None,
    ) -> None:
        self._cfg = config if config is not None else RetryConfig()
        if not isinstance(self._cfg, RetryConfig):
            raise invalid("config", config, "a RetryConfig", "build one with RetryConfig(...)")
        self.name = name
        self.clock: Clock = clock if clock is not None else SystemClock()
        # Deterministic by default; pass seeds.stream(...) to tie jitter to the run's seed.
        self.rng = rng if rng is not None else random.Random(f"retry/{name}")  # noqa: S311
        self._budget = budget
        self._policy = RetryPolicy(self._cfg)
        self._retry_on = self._cfg.retry_on
        self._result_pred = self._cfg.retry_if_result
        self._timed = budget is not None or self._cfg.deadline is not None
        self._listeners: list[Listener] = []

    @property
    def config(self) -> RetryConfig:
        """The configuration."""
        return self._cfg

    @property
    def budget(self) -> RetryBudget | None:
        """The retry budget, if any."""
        return self._budget

    def __repr__(self) -> str:
        return f"Retry(name={self.name!r}, max_attempts={self._cfg.max_attempts})"

    def _retryable(self, exc: BaseException) -> bool:
        return isinstance(exc, Exception) and matches(self._retry_on, exc)

    def _next(self, attempt: int, start: float, previous: float, failure: object) -> float | GiveUp:
        """Plan the wait after a failed attempt, consult the budget and emit the event."""
        now = self.clock.now()
        plan = self._policy.plan(attempt, now - start, previous, self.rng)
        if not isinstance(plan, GiveUp) and self._budget is not None and not self._budget.withdraw_at(now):
            plan = GiveUp.BUDGET
        if isinstance(plan, GiveUp):
            self._emit(EventKind.GIVE_UP, self.name, now, {"attempt": attempt, "reason": plan.value})
        else:
            self._emit(
                EventKind.RETRY, self.name, now, {"attempt": attempt, "delay": plan, "failure": repr(failure)}
            )
        return plan

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call ``fn(*args, **kwargs)``, retrying per the configuration."""
        start: float | None = None
        if self._timed:  # the clock is read before the first attempt only when something needs it
            start = self.clock.now()
            if self._budget is not None:
                self._budget.deposit_at(start)
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            if not matches(self._retry_on, exc):
                raise
            return self._again(fn, args, kwargs, exc, None, start=start)
        if self._result_pred is not None and self._result_pred(result):
            return self._again(fn, args, kwargs, None, result, start=start)
        return result

    def _again(
        self,
        fn: Callable[..., R],
        args: Any,
        kwargs: Any,
        exc: BaseException | None,
        result: Any,
        *,
        start: float | None,
    ) -> R:
        if start is None:
            start = self.clock.now()
        attempt, previous = 1, self._cfg.base_delay
        while True:
            plan = self._next(attempt, start, previous, exc if exc is not None else result)
            if isinstance(plan, GiveUp):
                if exc is not None:
                    raise exc
                return cast(R, result)
            self.clock.sleep_sync(plan)
            attempt, previous = attempt + 1, plan
            try:
                result = fn(*args, **kwargs)
            except Exception as err:
                if not matches(self._retry_on, err):
                    raise
                exc = err
                continue
            if self._result_pred is None or not self._result_pred(result):
                return cast(R, result)
            exc = None

    async def acall(self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Await ``fn(*args, **kwargs)``, retrying per the configuration; sleeps on the clock."""
        if self._budget is not None:
            self._budget.deposit_at(self.clock.now())
        start = self.clock.now()
        attempt, previous = 1, self._cfg.base_delay
        while True:
            exc: BaseException | None = None
            result: Any = None
            try:
                result = await fn(*args, **kwargs)
            except Exception as err:
                if not matches(self._retry_on, err):
                    raise
                exc = err
            if exc is None and (self._result_pred is None or not self._result_pred(result)):
                return cast(R, result)
            plan = self._next(attempt, start, previous, exc if exc is not None else result)
            if isinstance(plan, GiveUp):
                if exc is not None:
                    raise exc
                return cast(R, result)
            await self.clock.sleep(plan)
            attempt, previous = attempt + 1, plan
