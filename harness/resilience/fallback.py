"""Fallbacks: a chain of alternatives for one call, and a manager of service-wide modes.

``FallbackChain`` tries the primary, then each alternative whose predicate matches the failure
before it. ``FallbackManager`` chooses a service-wide mode, PRIMARY -> HEURISTIC -> SAFE, from a
health state (a mapping of numbers and booleans such as ``circuit_open``, ``retry_failures``,
``failed_components``) by rules written in the condition language; a manual override wins over
the rules. Every transition is kept in memory and, with a ``Storage``, persisted under
``fallback:transition:<timestamp>-<seq>`` by ``persist()`` (or ``aupdate``).
"""

from __future__ import annotations

import enum
import inspect
import itertools
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, cast

from harness._checks import invalid
from harness.clock import Clock, SystemClock
from harness.conditions import Condition, parse_condition
from harness.errors import InvalidConfig, StorageUnavailable
from harness.resilience._checks import ExceptionMatcher, check_matcher, matches
from harness.resilience._decorate import Decorating
from harness.resilience.events import EventKind, EventSource, Listener
from harness.storage import Storage

__all__ = [
    "Fallback",
    "FallbackChain",
    "FallbackManager",
    "FallbackMetrics",
    "FallbackMode",
    "FallbackRules",
    "FallbackTransition",
]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Fallback:
    """A fallback ``fn`` (called with the primary's arguments) used when ``when`` matches the failure."""

    fn: Callable[..., Any]
    when: ExceptionMatcher = (Exception,)

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise invalid("fn", self.fn, "callable", "pass the function that serves the fallback")
        check_matcher("when", self.when)


class FallbackChain(Decorating, EventSource):
    """Primary first, then the alternatives in order; the last failure propagates if none applies.

    An alternative is tried only if the failure just before it matches its ``when``; its own
    failure is then the one the next alternative is matched against.
    """

    __slots__ = ("_listeners", "alternatives", "clock", "name")

    def __init__(
        self,
        *alternatives: Fallback | Callable[..., Any],
        name: str = "fallback",
        clock: Clock | None = None,
    ) -> None:
        if not alternatives:
            msg = "FallbackChain needs at least one alternative."
            raise InvalidConfig(msg, field="alternatives", value=())
        self.alternatives = tuple(a if isinstance(a, Fallback) else Fallback(a) for a in alternatives)
        self.name = name
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._listeners: list[Listener] = []

    def _served(self, index: int, failure: BaseException, result: Any) -> Any:
        data = {"index": index, "failure": repr(failure)}
        self._emit(EventKind.FALLBACK, self.name, self.clock.now(), data)
        return result

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """``fn(*args, **kwargs)``, or the first applicable alternative's result."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - matched against each alternative, re-raised if none applies
            return cast(R, self._rescue(exc, args, kwargs))

    async def acall(self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Async ``call``; alternatives may be sync or async."""
        try:
            return await fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - matched against each alternative, re-raised if none applies
            return cast(R, await self._arescue(exc, args, kwargs))

    def _rescue(self, failure: Exception, args: Any, kwargs: Any) -> Any:
        """The first applicable alternative's result; the last failure if none serves."""
        for index, alt in enumerate(self.alternatives):
            if not matches(alt.when, failure):
                continue
            try:
                result = alt.fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the next alternative is matched against it
                failure = exc
                continue
            return self._served(index, failure, result)
        raise failure

    async def _arescue(self, failure: Exception, args: Any, kwargs: Any) -> Any:
        """``_rescue`` awaiting the alternatives that return an awaitable."""
        for index, alt in enumerate(self.alternatives):
            if not matches(alt.when, failure):
                continue
            try:
                result = alt.fn(*args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:  # noqa: BLE001 - the next alternative is matched against it
                failure = exc
                continue
            return self._served(index, failure, result)
        raise failure


class FallbackMode(enum.IntEnum):
    """Service-wide modes, from full service to the safest degraded behaviour."""

    PRIMARY = 0
    HEURISTIC = 1
    SAFE = 2

    @classmethod
    def parse(cls, text: str) -> FallbackMode:
        """``FallbackMode.parse("safe")``; the error lists the valid modes."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            valid = ", ".join(m.name.lower() for m in cls)
            msg = f"{text!r} is not a fallback mode; valid: {valid}"
            raise InvalidConfig(msg, field="mode", value=text) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class FallbackRules:
    """When to leave PRIMARY: two conditions over the health state (SAFE is checked first).

    Variables missing from a health state read as 0 (false).
    """

    heuristic_when: str = "circuit_open or retry_failures >= 3"
    safe_when: str = "failed_components >= 2"
    max_tokens: int = 50
    heuristic: Condition = field(init=False, repr=False, compare=False)
    safe: Condition = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        limit = self.max_tokens
        object.__setattr__(self, "heuristic", parse_condition(self.heuristic_when, max_tokens=limit))
        object.__setattr__(self, "safe", parse_condition(self.safe_when, max_tokens=limit))

    def decide(self, health: Mapping[str, float | int | bool]) -> tuple[FallbackMode, str]:
        """The mode the rules pick for ``health`` and the rule text that picked it."""
        if self.safe.evaluate(_with_defaults(self.safe, health)):
            return FallbackMode.SAFE, self.safe_when
        if self.heuristic.evaluate(_with_defaults(self.heuristic, health)):
            return FallbackMode.HEURISTIC, self.heuristic_when
        return FallbackMode.PRIMARY, "healthy"


Health = Mapping[str, float | int | bool]


def _with_defaults(cond: Condition, health: Health) -> dict[str, float | int | bool]:
    ctx: dict[str, float | int | bool] = dict.fromkeys(cond.variables, 0)
    ctx.update({k: v for k, v in health.items() if k in cond.variables})
    return ctx


@dataclass(frozen=True, slots=True)
class FallbackTransition:
    """The manager moved ``from_mode`` -> ``to_mode`` at clock time ``at`` because of ``reason``."""

    at: float
    from_mode: FallbackMode
    to_mode: FallbackMode
    reason: str
    seq: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "at": self.at,
            "from": self.from_mode.name.lower(),
            "to": self.to_mode.name.lower(),
            "reason": self.reason,
            "seq": self.seq,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FallbackTransition:
        """Inverse of ``to_json``."""
        return cls(
            float(data["at"]),
            FallbackMode.parse(data["from"]),
            FallbackMode.parse(data["to"]),
            str(data["reason"]),
            int(data["seq"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class FallbackMetrics:
    """A summary: the mode, the override, transition count and seconds spent per mode."""

    mode: FallbackMode
    override: FallbackMode | None
    transitions: int
    since: float
    time_in_mode: Mapping[FallbackMode, float]
    unsaved: int = 0
    """Transitions not yet written to storage."""


class FallbackManager(EventSource):
    """Picks PRIMARY / HEURISTIC / SAFE from health states; thread-safe; persists transitions.

    ``update(health)`` is synchronous and returns the mode; transitions queue for ``persist()``
    (``aupdate`` does both). ``override(mode)`` pins a mode until ``clear_override()``.
    """

    def __init__(
        self,
        rules: FallbackRules | None = None,
        *,
        name: str = "fallback",
        clock: Clock | None = None,
        storage: Storage | None = None,
        key_prefix: str = "fallback",
        keep: int = 1000,
    ) -> None:
        self.rules = rules if rules is not None else FallbackRules()
        self.name = name
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.storage = storage
        self.key_prefix = key_prefix
        self._lock = threading.Lock()
        self._mode = FallbackMode.PRIMARY
        self._override: FallbackMode | None = None
        self._rule_mode = FallbackMode.PRIMARY
        self._since = self.clock.now()
        self._time_in: dict[FallbackMode, float] = dict.fromkeys(FallbackMode, 0.0)
        self._history: deque[FallbackTransition] = deque(maxlen=keep)
        self._unsaved: list[FallbackTransition] = []
        self._seq = itertools.count(1)
        self._count = 0
        self._callbacks: list[Callable[[FallbackTransition], None]] = []
        self._listeners: list[Listener] = []
        self.storage_errors = 0
        """``aupdate`` calls whose persistence failed with ``StorageUnavailable``."""

    @property
    def mode(self) -> FallbackMode:
        """The mode in effect."""
        return self._mode

    @property
    def override_mode(self) -> FallbackMode | None:
        """The manual override, if any."""
        return self._override

    def on_mode_change(self, callback: Callable[[FallbackTransition], None]) -> None:
        """Call ``callback(transition)`` after every mode change."""
        self._callbacks.append(callback)

    def _set(self, mode: FallbackMode, reason: str) -> FallbackTransition | None:
        """Under the lock: move to ``mode``; the transition, or None if unchanged."""
        if mode is self._mode:
            return None
        now = self.clock.now()
        self._time_in[self._mode] += now - self._since
        t = FallbackTransition(now, self._mode, mode, reason, next(self._seq))
        self._mode, self._since = mode, now
        self._history.append(t)
        self._count += 1
        if self.storage is not None:
            self._unsaved.append(t)
        return t

    def _announce(self, t: FallbackTransition | None) -> None:
        if t is None:
            return
        for cb in tuple(self._callbacks):
            cb(t)
        data = {"from": t.from_mode.name.lower(), "to": t.to_mode.name.lower(), "reason": t.reason}
        self._emit(EventKind.MODE_CHANGE, self.name, t.at, data)

    def update(self, health: Mapping[str, float | int | bool]) -> FallbackMode:
        """Apply the rules to ``health``; returns the mode in effect (the override, if set)."""
        mode, reason = self.rules.decide(health)
        with self._lock:
            self._rule_mode = mode
            t = self._set(mode, reason) if self._override is None else None
            current = self._mode
        self._announce(t)
        return current

    def override(self, mode: FallbackMode, reason: str = "manual override") -> None:
        """Pin ``mode`` regardless of health until ``clear_override``."""
        if not isinstance(mode, FallbackMode):
            raise invalid("mode", mode, "a FallbackMode", "for example FallbackMode.SAFE")
        with self._lock:
            self._override = mode
            t = self._set(mode, reason)
        self._announce(t)

    def clear_override(self) -> None:
        """Return to the mode the rules chose for the last health state."""
        with self._lock:
            self._override = None
            t = self._set(self._rule_mode, "override cleared")
        self._announce(t)

    def recent_transitions(self, limit: int = 100) -> list[FallbackTransition]:
        """The newest ``limit`` transitions held in memory, newest first."""
        with self._lock:
            return list(self._history)[::-1][:limit]

    def _key(self, t: FallbackTransition) -> str:
        return f"{self.key_prefix}:transition:{t.at:017.6f}-{t.seq:08d}"

    async def persist(self) -> int:
        """Write queued transitions to storage; returns how many were written."""
        if self.storage is None:
            return 0
        with self._lock:
            batch, self._unsaved = self._unsaved, []
        for i, t in enumerate(batch):
            try:
                await self.storage.set(self._key(t), t.to_json())
            except BaseException:
                with self._lock:
                    self._unsaved[:0] = batch[i:]
                raise
        return len(batch)

    async def aupdate(self, health: Mapping[str, float | int | bool]) -> FallbackMode:
        """``update`` then ``persist``; if the storage is unreachable the transitions stay queued
        (``metrics().unsaved``) and are written by a later ``persist``, so a storage outage never
        stops the mode from changing."""
        mode = self.update(health)
        try:
            await self.persist()
        except StorageUnavailable:
            self.storage_errors += 1
        return mode

    async def transitions(self, limit: int = 100) -> list[FallbackTransition]:
        """The newest ``limit`` transitions, newest first: from storage if any, else from memory."""
        if self.storage is None:
            return self.recent_transitions(limit)
        await self.persist()
        keys = await self.storage.scan(f"{self.key_prefix}:transition:")
        found = []
        for key in reversed(keys[-limit:] if limit > 0 else []):
            data = await self.storage.get(key)
            if data is not None:
                found.append(FallbackTransition.from_json(data))
        return found

    def metrics(self) -> FallbackMetrics:
        """Mode, override, transition count and time spent in each mode up to now."""
        with self._lock:
            now = self.clock.now()
            spent = dict(self._time_in)
            spent[self._mode] += now - self._since
            return FallbackMetrics(
                mode=self._mode,
                override=self._override,
                transitions=self._count,
                since=self._since,
                time_in_mode=spent,
                unsaved=len(self._unsaved),
            )
