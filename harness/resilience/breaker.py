"""A circuit breaker with resilience4j's semantics.

``BreakerCore`` is the sans-IO state machine: every method takes ``now`` and returns a decision;
it never reads a clock, sleeps or takes a lock. ``CircuitBreaker`` drives it from a ``Clock``
under a short lock that is never held while the protected function runs.

States: CLOSED counts outcomes in a sliding window (count- or time-based) and opens when, with
at least ``minimum_calls`` in the window, the failure rate or slow-call rate reaches its threshold.
OPEN rejects every call for ``open_for`` seconds, then becomes HALF_OPEN, which admits exactly
``half_open_calls`` trial calls (the rest are rejected at once); when they have all finished it
opens again if their failure or slow rate reaches a threshold and closes otherwise. A trial call
that is cancelled or raises an ignored exception gives its slot back.

Outcomes are tagged with the breaker's *generation* (bumped on every transition): a call that
started before a transition does not count towards the state that followed it.
"""

from __future__ import annotations

import enum
import functools
import inspect
import itertools
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, overload

from harness._checks import instance_of, integer, member_of, positive, within
from harness.clock import Clock, SystemClock
from harness.errors import InvalidConfig
from harness.resilience._checks import ExceptionMatcher, check_matcher, matches
from harness.resilience._window import FAILURE, IGNORE, RECORD, SLOW, SUCCESS, CountWindow, TimeWindow
from harness.resilience.errors import CircuitOpenError
from harness.resilience.events import EventKind, EventSource, Listener

__all__ = [
    "BreakerCore",
    "BreakerMetrics",
    "CircuitBreaker",
    "CircuitBreakerConfig",
    "CircuitState",
    "ExceptionMatcher",
    "StateTransition",
    "WindowType",
]

P = ParamSpec("P")
R = TypeVar("R")


class CircuitState(enum.Enum):
    """A breaker's state."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class WindowType(enum.Enum):
    """How the CLOSED state's sliding window is measured."""

    COUNT = "count"
    """The last ``window`` calls."""
    TIME = "time"
    """The calls of the last ``window`` seconds (in one-second buckets)."""


_CLOSED = CircuitState.CLOSED
_OPEN = CircuitState.OPEN
_HALF_OPEN = CircuitState.HALF_OPEN

_OpenError: Callable[[str, float], CircuitOpenError] = CircuitOpenError


def _rate(name: str, value: float) -> None:
    fix = "for example 0.5 opens at 50% of the window, 1.0 only when every call in it qualifies"
    within(name, value, "(0, 1]", fix, what="a fraction")


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitBreakerConfig:
    """When a breaker opens and how it probes for recovery (resilience4j's settings)."""

    failure_rate_threshold: float = 0.5
    """Fraction of failed calls in the window at which the breaker opens."""
    slow_call_rate_threshold: float = 1.0
    """Fraction of slow calls in the window at which the breaker opens."""
    slow_call_duration: float | None = None
    """Calls lasting at least this many seconds are slow; ``None`` disables slow-call tracking."""
    window_type: WindowType = WindowType.COUNT
    window: int = 100
    """Calls (COUNT) or seconds (TIME) in the sliding window."""
    minimum_calls: int = 10
    """Calls the window must hold before rates are evaluated."""
    open_for: float = 30.0
    """Seconds OPEN before trial calls are let through."""
    half_open_calls: int = 3
    """Trial calls admitted in HALF_OPEN."""
    record_on: ExceptionMatcher = (Exception,)
    """Exceptions that count as failures; others count as successes."""
    ignore_on: ExceptionMatcher = ()
    """Exceptions that count neither way (they win over ``record_on``)."""

    def __post_init__(self) -> None:
        _rate("failure_rate_threshold", self.failure_rate_threshold)
        _rate("slow_call_rate_threshold", self.slow_call_rate_threshold)
        if self.slow_call_duration is not None:
            positive(
                "slow_call_duration",
                self.slow_call_duration,
                "or None to disable slow-call tracking.",
                unit="seconds",
            )
        member_of("window_type", self.window_type, WindowType)
        integer("window", self.window, "for example 100 calls or 60 seconds.", at_least=1)
        integer("minimum_calls", self.minimum_calls, "for example 10.", at_least=1)
        if self.window_type is WindowType.COUNT and self.minimum_calls > self.window:
            raise InvalidConfig(
                f"minimum_calls={self.minimum_calls!r} exceeds window={self.window!r}: a count window "
                "never holds that many calls; lower minimum_calls or widen the window.",
                field="minimum_calls",
                value=self.minimum_calls,
            )
        positive("open_for", self.open_for, "for example 30.0", unit="seconds")
        integer("half_open_calls", self.half_open_calls, "for example 3 trial calls.", at_least=1)
        check_matcher("record_on", self.record_on)
        check_matcher("ignore_on", self.ignore_on)


@dataclass(frozen=True, slots=True)
class StateTransition:
    """A breaker moved ``from_state`` -> ``to_state`` at clock time ``at``."""

    name: str
    from_state: CircuitState
    to_state: CircuitState
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerMetrics:
    """A snapshot of a breaker: its state and the counts in its current window.

    ``failure_rate`` and ``slow_call_rate`` are ``None`` until the window holds ``minimum_calls``
    calls (HALF_OPEN: until every trial call has finished).
    """

    name: str
    state: CircuitState
    calls: int
    failures: int
    slow_calls: int
    failure_rate: float | None
    slow_call_rate: float | None
    not_permitted: int
    transitions: int
    open_remaining: float


class BreakerCore:
    """The breaker's state machine; every input carries ``now``, nothing here reads a clock.

    A driver calls ``acquire(now)`` (a generation, or -1 for a rejection), runs the call, then
    ``record(outcome, generation, now)`` with ``outcome`` a combination of ``FAILURE`` and
    ``SLOW`` (0 for a fast success), or ``release(generation)`` if the call had no outcome.
    """

    FAILURE = FAILURE
    """Outcome bit: the call failed."""
    SLOW = SLOW
    """Outcome bit: the call was slow."""

    __slots__ = (
        "_cfg",
        "_count",
        "_fail_thr",
        "_gen",
        "_ho_calls",
        "_ho_fail",
        "_ho_free",
        "_ho_slow",
        "_hot",
        "_hot_capable",
        "_min_calls",
        "_open_until",
        "_pending",
        "_reject_until",
        "_rejections",
        "_slow_thr",
        "_state",
        "_tickets",
        "_window",
        "name",
        "transitions",
    )

    def __init__(self, config: CircuitBreakerConfig | None = None, *, name: str = "breaker") -> None:
        cfg = config if config is not None else CircuitBreakerConfig()
        instance_of("config", cfg, CircuitBreakerConfig, "build one with CircuitBreakerConfig(...)")
        self._cfg = cfg
        self.name = name
        self._count = cfg.window_type is WindowType.COUNT
        self._window: CountWindow | TimeWindow = (
            CountWindow(cfg.window) if self._count else TimeWindow(cfg.window)
        )
        self._min_calls = cfg.minimum_calls
        self._fail_thr = cfg.failure_rate_threshold
        self._slow_thr = cfg.slow_call_rate_threshold
        self._state = _CLOSED
        self._gen = 0
        self._open_until = 0.0
        # The drivers' fast paths read these two: CLOSED with a count window and no timing, and
        # the time before which every call is rejected outright (-inf unless OPEN).
        self._hot_capable = self._count and cfg.slow_call_duration is None
        self._hot = self._hot_capable
        self._reject_until = -math.inf
        self._tickets = self._window.tickets if isinstance(self._window, CountWindow) else itertools.count()
        self._ho_free = self._ho_calls = self._ho_fail = self._ho_slow = 0
        self._pending: list[StateTransition] = []
        self._rejections = itertools.count()
        self.transitions = 0

    @property
    def config(self) -> CircuitBreakerConfig:
        """The configuration."""
        return self._cfg

    @property
    def generation(self) -> int:
        """Bumped on every transition; outcomes of calls admitted in an older one are dropped."""
        return self._gen

    @property
    def not_permitted(self) -> int:
        """Calls rejected since the breaker was created."""
        return int(repr(self._rejections)[6:-1])

    @property
    def open_until(self) -> float:
        """Clock time at which an OPEN breaker starts admitting trial calls."""
        return self._open_until

    # -- transitions ------------------------------------------------------------------------------

    def _move(self, to: CircuitState, now: float) -> None:
        self._pending.append(StateTransition(self.name, self._state, to, now))
        self._state = to
        self._gen += 1
        self.transitions += 1
        self._hot = to is _CLOSED and self._hot_capable
        self._reject_until = -math.inf
        if to is _OPEN:
            self._set_open_until(now + self._cfg.open_for)
        elif to is _HALF_OPEN:
            self._ho_free = self._cfg.half_open_calls
            self._ho_calls = self._ho_fail = self._ho_slow = 0
        else:
            self._reset_window()

    def _set_open_until(self, when: float) -> None:
        self._open_until = when
        self._reject_until = when

    def _reset_window(self) -> None:
        self._window.reset()
        if isinstance(self._window, CountWindow):
            self._tickets = self._window.tickets

    def take_transitions(self) -> list[StateTransition]:
        """The transitions since the last call, oldest first (the driver announces them)."""
        pending, self._pending = self._pending, []
        return pending

    def state_at(self, now: float) -> CircuitState:
        """The state at ``now`` (an OPEN breaker whose time is up becomes HALF_OPEN)."""
        if self._state is _OPEN and now >= self._open_until:
            self._move(_HALF_OPEN, now)
        return self._state

    def open(self, now: float) -> None:
        """Force OPEN for ``open_for`` from ``now`` (for example on an external signal)."""
        if self._state is _OPEN:
            self._set_open_until(now + self._cfg.open_for)
        else:
            self._move(_OPEN, now)

    def reset(self, now: float) -> None:
        """Back to CLOSED with an empty window."""
        if self._state is _CLOSED:
            self._reset_window()
        else:
            self._move(_CLOSED, now)

    def adopt(self, state: CircuitState, now: float, open_until: float) -> None:
        """Take on a state decided elsewhere (a shared breaker's store); no-op if already in it."""
        if state is _OPEN:
            if self._state is not _OPEN:
                self._move(_OPEN, now)
            self._set_open_until(open_until)
        elif state is not self._state and not (state is _HALF_OPEN and self._state is _OPEN):
            self._move(state, now)

    # -- calls ------------------------------------------------------------------------------------

    def acquire(self, now: float) -> int:
        """Admit a call: its generation (>= 0), or -1 if rejected."""
        state = self.state_at(now)
        if state is _CLOSED:
            return self._gen
        if state is _HALF_OPEN and self._ho_free > 0:
            self._ho_free -= 1
            return self._gen
        next(self._rejections)
        return -1

    def remaining(self, now: float) -> float:
        """Seconds until an OPEN breaker admits trial calls (0.0 otherwise)."""
        return max(0.0, self._open_until - now) if self._state is _OPEN else 0.0

    def would_admit(self, now: float) -> bool:
        """Whether a call would be admitted at ``now``, without taking a trial slot."""
        state = self.state_at(now)
        return state is _CLOSED or (state is _HALF_OPEN and self._ho_free > 0)

    def record(self, outcome: int, gen: int, now: float) -> None:
        """Record a finished call's ``outcome`` (bit 0 failure, bit 1 slow) admitted in ``gen``."""
        if gen != self._gen:
            return
        if self._state is _CLOSED:
            t = self._window.record(outcome, now)
            # A count window's rates only rise on a failure or slow call (or on first reaching
            # minimum_calls); a time window's also rise when old successes expire.
            if outcome or t == self._min_calls or (not self._count and self._window.has_bad()):
                self.evaluate(now, t)
        elif self._state is _HALF_OPEN:
            self._ho_calls += 1
            self._ho_fail += outcome & FAILURE
            self._ho_slow += outcome >> 1
            if self._ho_calls >= self._cfg.half_open_calls:
                self._check_half_open(now)

    def evaluate(self, now: float, ticket: int | None = None) -> None:
        """In CLOSED, open if the window (up to ``ticket`` for count windows) crosses a threshold."""
        if self._state is not _CLOSED:
            return
        calls, fails, slow = self._window.counts(ticket if self._count else None)
        if calls >= self._min_calls and (fails / calls >= self._fail_thr or slow / calls >= self._slow_thr):
            self._move(_OPEN, now)

    def release(self, gen: int) -> None:
        """A call admitted in ``gen`` finished without an outcome (cancelled or ignored)."""
        if gen == self._gen and self._state is _HALF_OPEN:
            self._ho_free += 1

    def _check_half_open(self, now: float) -> None:
        n = self._ho_calls
        tripped = self._ho_fail / n >= self._fail_thr or self._ho_slow / n >= self._slow_thr
        self._move(_OPEN if tripped else _CLOSED, now)

    def classify(self, exc: BaseException) -> int:
        """0 to record ``exc`` as a failure, 1 to ignore it, 2 to count it as a success."""
        if not isinstance(exc, Exception) or matches(self._cfg.ignore_on, exc):
            return IGNORE
        return RECORD if matches(self._cfg.record_on, exc) else SUCCESS

    def metrics_at(self, now: float) -> BreakerMetrics:
        """A snapshot at ``now``."""
        state = self.state_at(now)
        if state is _CLOSED:
            self._window.expire(now)
            calls, fails, slow = self._window.counts()
            ready = calls >= self._min_calls
        else:
            calls, fails, slow = self._ho_calls, self._ho_fail, self._ho_slow
            ready = state is _HALF_OPEN and calls >= self._cfg.half_open_calls
        return BreakerMetrics(
            name=self.name,
            state=state,
            calls=calls,
            failures=fails,
            slow_calls=slow,
            failure_rate=fails / calls if ready and calls else None,
            slow_call_rate=slow / calls if ready and calls else None,
            not_permitted=self.not_permitted,
            transitions=self.transitions,
            open_remaining=self.remaining(now),
        )


class CircuitBreaker(BreakerCore, EventSource):
    """A thread-safe and asyncio-safe circuit breaker on an injected ``Clock``.

    Forms: ``breaker.call(fn, *args)`` / ``await breaker.acall(fn, *args)``; ``@breaker`` on a
    function or coroutine function; ``with breaker.protect():`` / ``async with breaker.protect():``.
    A rejected call raises a fresh :class:`CircuitOpenError`; ``allow()`` checks without raising.

    Cost model: with a count window, a successful call in CLOSED takes no lock (one ``next()``
    on the window's ticket counter) and, without slow-call timing, reads no clock; a rejection
    by an OPEN breaker reads the clock once and takes no lock. Failures, slow calls, HALF_OPEN
    trial calls and time-window records take a short lock, never held while the function runs.
    """

    __slots__ = ("_listeners", "_lock", "_now", "_slow_after", "clock")

    def __init__(
        self,
        config: CircuitBreakerConfig | None = None,
        *,
        name: str = "breaker",
        clock: Clock | None = None,
    ) -> None:
        super().__init__(config, name=name)
        self.clock: Clock = clock if clock is not None else SystemClock()
        # SystemClock.now is time.monotonic; calling it directly saves a frame per call.
        self._now: Callable[[], float] = time.monotonic if type(self.clock) is SystemClock else self.clock.now
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._slow_after = self._cfg.slow_call_duration

    def __repr__(self) -> str:
        return f"CircuitBreaker(name={self.name!r}, state={self._state.value})"

    # -- state ------------------------------------------------------------------------------------

    @property
    def state(self) -> CircuitState:
        """The current state (moving OPEN -> HALF_OPEN if ``open_for`` has passed)."""
        if self._state is not _OPEN:
            return self._state
        with self._lock:
            state = self.state_at(self._now())
        self._announce()
        return state

    def metrics(self) -> BreakerMetrics:
        """A snapshot of the state and the window's counts."""
        with self._lock:
            snapshot = self.metrics_at(self._now())
        self._announce()
        return snapshot

    def allow(self) -> bool:
        """Whether a call made now would be admitted (takes no trial slot, never raises)."""
        with self._lock:
            ok = self.would_admit(self._now())
        self._announce()
        return ok

    def force_open(self) -> None:
        """Open now, for ``open_for`` seconds."""
        with self._lock:
            self.open(self._now())
        self._announce()

    def close(self) -> None:
        """Close now with an empty window."""
        with self._lock:
            self.reset(self._now())
        self._announce()

    def sync_state(self, state: CircuitState, open_until: float) -> None:
        """Adopt ``state`` decided by another process (see ``SharedCircuitBreaker``)."""
        with self._lock:
            self.adopt(state, self._now(), open_until)
        self._announce()

    def on_state_change(self, callback: Callable[[StateTransition], None]) -> None:
        """Call ``callback(transition)`` after every state change (outside the lock)."""

        def listener(event: Any) -> None:
            if event.kind is EventKind.STATE_CHANGE:
                callback(event.data["transition"])

        self.add_listener(listener)

    def _announce(self) -> None:
        if not self._pending:
            return
        with self._lock:
            transitions = self.take_transitions()
        for t in transitions:
            data = {"from": t.from_state.value, "to": t.to_state.value, "transition": t}
            self._emit(EventKind.STATE_CHANGE, self.name, t.at, data)

    # -- admission and recording --------------------------------------------------------------------

    def _reject(self, now: float) -> CircuitOpenError:
        """Count a rejection and build its error (the caller raises it, keeping tracebacks short)."""
        next(self._rejections)
        if self._listeners:
            self._emit_reject(now)
        return _OpenError(self.name, self._open_until - now)

    def _emit_reject(self, now: float) -> None:
        self._emit(EventKind.REJECT, self.name, now, {"remaining": self._open_until - now})

    def _admit(self) -> int:
        """Admit a call outside the CLOSED fast path; raises ``CircuitOpenError``."""
        with self._lock:
            now = self._now()
            gen = self.acquire(now)
            remaining = self.remaining(now) if gen < 0 else 0.0
        if self._pending:
            self._announce()
        if gen < 0:
            if self._listeners:
                self._emit(EventKind.REJECT, self.name, now, {"remaining": remaining})
            raise CircuitOpenError(self.name, remaining)
        return gen

    def _settle(self, gen: int, ticket: int) -> None:
        """A fast-path success reached ``minimum_calls``: evaluate the window under the lock."""
        with self._lock:
            if gen == self._gen:
                self.evaluate(self._now(), ticket)
        if self._pending:
            self._announce()

    def _done(self, outcome: int, gen: int) -> None:
        with self._lock:
            self.record(outcome, gen, self._now())
        if self._pending:
            self._announce()

    def _failed(self, exc: BaseException, gen: int, elapsed: float) -> None:
        kind = self.classify(exc)
        if kind == IGNORE:
            with self._lock:
                self.release(gen)
            return
        outcome = FAILURE if kind == RECORD else 0
        slow = self._slow_after
        if slow is not None and elapsed >= slow:
            outcome |= SLOW
        self._done(outcome, gen)

    def _timed(self, fn: Callable[..., R], args: Any, kwargs: Any) -> R:
        """The general path: timing, and the lock for anything but a fast success in CLOSED."""
        closed = self._state is _CLOSED
        gen = self._gen if closed else self._admit()
        now = self._now
        start = now()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._failed(exc, gen, now() - start)
            raise
        self._succeeded(closed, gen, start, now())
        return result

    def _succeeded(self, closed: bool, gen: int, start: float, end: float) -> None:
        """Record a success admitted in ``gen`` (lock-free for a fast one in a CLOSED count window)."""
        slow = self._slow_after
        outcome = SLOW if slow is not None and end - start >= slow else 0
        if outcome or not closed or not self._count:
            with self._lock:
                self.record(outcome, gen, end)
            if self._pending:
                self._announce()
        elif gen == self._gen and (t := next(self._tickets)) == self._min_calls:
            self._settle(gen, t)

    async def _atimed(self, fn: Callable[..., Awaitable[R]], args: Any, kwargs: Any) -> R:
        closed = self._state is _CLOSED
        gen = self._gen if closed else self._admit()
        now = self._now
        start = now()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            self._failed(exc, gen, now() - start)
            raise
        self._succeeded(closed, gen, start, now())
        return result

    # -- call forms ---------------------------------------------------------------------------------

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``fn(*args, **kwargs)`` through the breaker."""
        # Deliberate inlined fast path (closed, no listeners): the same lines in call, acall and
        # both decorator wrappers, so a call costs one frame. Change all four together.
        if self._hot:
            gen = self._gen
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                self._failed(exc, gen, 0.0)
                raise
            if gen == self._gen and (t := next(self._tickets)) == self._min_calls:
                self._settle(gen, t)
            return result
        if (now := self._now()) < self._reject_until:
            raise self._reject(now)
        return self._timed(fn, args, kwargs)

    async def acall(self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Await ``fn(*args, **kwargs)`` through the breaker (cancellation frees a trial slot)."""
        # Deliberate inlined fast path: see ``call``.
        if self._hot:
            gen = self._gen
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                self._failed(exc, gen, 0.0)
                raise
            if gen == self._gen and (t := next(self._tickets)) == self._min_calls:
                self._settle(gen, t)
            return result
        if (now := self._now()) < self._reject_until:
            raise self._reject(now)
        return await self._atimed(fn, args, kwargs)

    @overload
    def __call__(self, fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]: ...
    @overload
    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]: ...

    def __call__(self, fn: Callable[P, Any]) -> Callable[P, Any]:
        """Decorate a function or coroutine function so every call goes through the breaker.

        The wrapper repeats ``call``'s fast path inline, so a decorated call costs one frame.
        """
        if inspect.iscoroutinefunction(fn):
            return functools.wraps(fn)(self._async_wrapper(fn))
        return functools.wraps(fn)(self._sync_wrapper(fn))

    def _sync_wrapper(self, fn: Callable[..., R]) -> Callable[..., R]:
        b = self

        def wrapper(*args: Any, **kwargs: Any) -> R:
            # Deliberate inlined fast path: see ``call``.
            if b._hot:
                gen = b._gen
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:
                    b._failed(exc, gen, 0.0)
                    raise
                if gen == b._gen and (t := next(b._tickets)) == b._min_calls:
                    b._settle(gen, t)
                return result
            if (now := b._now()) < b._reject_until:
                next(b._rejections)
                if b._listeners:
                    b._emit_reject(now)
                raise _OpenError(b.name, b._reject_until - now)
            return b._timed(fn, args, kwargs)

        return wrapper

    def _async_wrapper(self, fn: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
        b = self

        async def wrapper(*args: Any, **kwargs: Any) -> R:
            # Deliberate inlined fast path: see ``call``.
            if b._hot:
                gen = b._gen
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as exc:
                    b._failed(exc, gen, 0.0)
                    raise
                if gen == b._gen and (t := next(b._tickets)) == b._min_calls:
                    b._settle(gen, t)
                return result
            if (now := b._now()) < b._reject_until:
                next(b._rejections)
                if b._listeners:
                    b._emit_reject(now)
                raise _OpenError(b.name, b._reject_until - now)
            return await b._atimed(fn, args, kwargs)

        return wrapper

    def protect(self) -> _Guard:
        """A context manager (sync or async) that runs its block through the breaker."""
        return _Guard(self)


class _Guard:
    """``with breaker.protect():`` / ``async with breaker.protect():``."""

    __slots__ = ("_breaker", "_gen", "_start")

    def __init__(self, breaker: CircuitBreaker) -> None:
        self._breaker = breaker
        self._gen = -1
        self._start = 0.0

    def __enter__(self) -> _Guard:
        b = self._breaker
        self._gen = b._admit()
        self._start = b._now()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        b = self._breaker
        elapsed = b._now() - self._start
        if exc is not None:
            b._failed(exc, self._gen, elapsed)
            return
        slow = b._slow_after
        b._done(SLOW if slow is not None and elapsed >= slow else 0, self._gen)

    async def __aenter__(self) -> _Guard:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)
