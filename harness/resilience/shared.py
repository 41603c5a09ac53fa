"""A circuit breaker shared by several processes through ``Storage``.

Consistency model:

* **CLOSED is local.** Each process counts outcomes in its own window with the local fast path
  (no storage round trip per call). When a process's window trips, it publishes CLOSED -> OPEN.
* **Transitions are global and atomic.** A transition is published with ``compare_and_set`` on
  a versioned state record (``<prefix>:<name>:state``): it succeeds only if the shared state is
  still the one the transition starts from, and it bumps the version. On ``RedisStorage``
  compare-and-set is a single Lua script, so concurrent processes never lose or fork a
  transition. Each published transition is logged under ``<prefix>:<name>:transition:<version>``
  (on Redis in the same Lua script as the state change, so the log has no gaps). A process whose
  publish loses the race adopts the shared state instead.
* **HALF_OPEN trials are counted globally.** Trial permits (``half_open_calls`` in total, across
  all processes) and trial outcomes are storage counters keyed by the state's version; the
  process that records the last trial outcome decides OPEN or CLOSED from the global counts. A
  cancelled trial returns its permit. A process admits a shared trial only once its HALF_OPEN
  state is published or adopted (until then it rejects, as when every trial slot is taken).
* **Synchronisation is off the callers' path.** Publishing transitions, recording trial
  outcomes and adopting the shared state run in one background task per breaker, started on a
  local transition, after a trial, on a rejected trial and at least every ``sync_interval``
  seconds (checked on the next call); a call never waits for it. Between syncs a process may keep
  admitting calls in CLOSED after another process opened the breaker: at most ``sync_interval``
  seconds of extra calls (plus the time a sync takes). The only storage operation on a caller's
  path is a HALF_OPEN trial permit, bounded by ``storage_timeout``.
* **Storage trouble degrades to local protection.** Every storage failure (unreachable, hung,
  a read-only replica, out of memory, a missing database, an unknown script, a key of the wrong
  type, a record that does not decode) is handled alike, through a
  :class:`~harness.resilience.storage_guard.StorageGuard`: a breaker on the storage itself, so a
  storage that failed is left alone for ``sync_interval`` seconds (by default) and then probed by
  the background sync only. Meanwhile the breaker works on its local state (local window, local
  HALF_OPEN trials); no storage error reaches a caller. Listeners receive ``STORAGE_DEGRADED``
  and ``STORAGE_RECOVERED``; ``storage_errors`` counts the failed operations. When the storage
  answers again the breaker publishes what it did or adopts what others did.
* **Time.** ``open_until`` is stored in the breaker clock's timebase, so sharing processes must
  share that clock: the host's monotonic clock (processes on one host) or one ``VirtualClock``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from harness._checks import instance_of, positive
from harness.errors import StorageUnavailable
from harness.resilience._window import IGNORE, RECORD, SUCCESS
from harness.resilience.breaker import CircuitBreaker, CircuitBreakerConfig, CircuitState, StateTransition
from harness.resilience.errors import CircuitOpenError
from harness.resilience.events import EventKind, EventSource, Listener
from harness.resilience.storage_guard import StorageGuard
from harness.storage import Storage
from harness.storage.base import as_redis, encode

if TYPE_CHECKING:
    from harness.storage.redis import RedisStorage

__all__ = ["SharedCircuitBreaker", "SharedState", "is_valid_sequence"]

P = ParamSpec("P")
R = TypeVar("R")

_ALLOWED = {
    (CircuitState.CLOSED, CircuitState.OPEN),
    (CircuitState.OPEN, CircuitState.HALF_OPEN),
    (CircuitState.HALF_OPEN, CircuitState.OPEN),
    (CircuitState.HALF_OPEN, CircuitState.CLOSED),
    (CircuitState.OPEN, CircuitState.CLOSED),
}


_PUBLISH_LUA = """
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if cur then return 0 end
elseif cur ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3])
return 1
"""


class _Offline(Exception):
    """The storage could not be used before a trial call started."""


@dataclass(frozen=True, slots=True)
class _TrialOutcome:
    """A finished shared trial, recorded by the background sync under the version it ran in."""

    version: int
    kind: int
    elapsed: float


def _storage_breaker_config(sync_interval: float) -> CircuitBreakerConfig:
    """The default breaker on a shared breaker's storage: a failure leaves it alone for ``sync_interval``."""
    return CircuitBreakerConfig(
        window=10, minimum_calls=1, failure_rate_threshold=0.5, open_for=sync_interval, half_open_calls=1
    )


@dataclass(frozen=True, slots=True)
class SharedState:
    """The shared record: ``state``, its ``version`` (0 = never published) and ``open_until``."""

    state: CircuitState
    version: int
    open_until: float

    @classmethod
    def decode(cls, raw: Any) -> SharedState:
        """From the stored JSON (``None``: the initial CLOSED state)."""
        if raw is None:
            return cls(CircuitState.CLOSED, 0, 0.0)
        return cls(CircuitState(raw["state"]), int(raw["version"]), float(raw["open_until"]))

    def encode(self) -> dict[str, Any]:
        """To JSON."""
        return {"state": self.state.value, "version": self.version, "open_until": self.open_until}


def is_valid_sequence(entries: list[dict[str, Any]]) -> bool:
    """Whether logged transitions form one unbroken chain from CLOSED (versions 1..n)."""
    state = CircuitState.CLOSED
    for expected, entry in enumerate(entries, start=1):
        if int(entry["version"]) != expected or CircuitState(entry["from"]) is not state:
            return False
        to = CircuitState(entry["to"])
        if (state, to) not in _ALLOWED:
            return False
        state = to
    return True


class SharedCircuitBreaker(EventSource):
    """Wraps a :class:`CircuitBreaker` so its state is shared through ``storage`` (async calls).

    ``owner`` names this process in the transition log. ``storage_timeout`` bounds the one
    storage operation a caller may wait for (a HALF_OPEN trial permit); ``sync_timeout`` bounds
    a background sync; ``storage_breaker`` configures the breaker on the storage itself (by
    default one failure leaves the storage alone for ``sync_interval`` seconds). See the module
    docstring for the consistency model.
    """

    def __init__(
        self,
        breaker: CircuitBreaker,
        storage: Storage,
        *,
        sync_interval: float = 1.0,
        key_prefix: str = "breaker",
        owner: str = "",
        storage_timeout: float = 0.05,
        sync_timeout: float = 1.0,
        storage_breaker: CircuitBreakerConfig | None = None,
    ) -> None:
        instance_of("breaker", breaker, CircuitBreaker, "wrap a CircuitBreaker(...)")
        positive("sync_interval", sync_interval, "for example 1.0", unit="seconds")
        self.breaker = breaker
        self.storage = storage
        self.sync_interval = float(sync_interval)
        self.owner = owner
        self._listeners: list[Listener] = []
        self._base = f"{key_prefix}:{breaker.name}"
        self._version = 0
        self._last_sync = -float("inf")
        self._outbox: list[StateTransition] = []
        self._outcomes: list[_TrialOutcome] = []
        self._adopting = False
        self._guard = StorageGuard(
            name=f"shared breaker {breaker.name!r}",
            url=str(getattr(storage, "url", type(storage).__name__)),
            clock=breaker.clock,
            breaker=storage_breaker or _storage_breaker_config(sync_interval),
            call_timeout=storage_timeout,
            sync_timeout=sync_timeout,
            emit=self._storage_event,
        )
        self._redis: RedisStorage | None = as_redis(storage)
        self._publish_script = None if self._redis is None else self._redis.script(_PUBLISH_LUA)
        breaker.on_state_change(self._queue)

    @property
    def name(self) -> str:
        """The breaker's name."""
        return self.breaker.name

    @property
    def state_key(self) -> str:
        """The storage key of the shared state record."""
        return f"{self._base}:state"

    @property
    def log_prefix(self) -> str:
        """The storage key prefix of the transition log."""
        return f"{self._base}:transition:"

    @property
    def storage_errors(self) -> int:
        """Storage operations that failed (the breaker then decided on its local state)."""
        return self._guard.errors

    @property
    def degraded(self) -> bool:
        """Whether the storage is being left alone after failures (the breaker runs locally)."""
        return self._guard.degraded

    def _storage_event(self, kind: EventKind, data: Mapping[str, Any]) -> None:
        self._emit(kind, self.name, self.breaker.clock.now(), data)

    def _queue(self, t: StateTransition) -> None:
        if not self._adopting:
            self._outbox.append(t)

    def _adopt(self, shared: SharedState) -> None:
        self._version = shared.version
        self._adopting = True
        try:
            self.breaker.sync_state(shared.state, shared.open_until)
        finally:
            self._adopting = False

    async def read(self) -> SharedState:
        """The shared state record as stored now."""
        return SharedState.decode(await self.storage.get(self.state_key))

    async def sync(self) -> SharedState:
        """Record trial outcomes, publish local transitions and adopt the shared state; returns it.

        The background sync does this on its own; call it to synchronise now. Raises
        ``StorageUnavailable`` when the storage cannot be used.
        """
        await self._guard.settle()
        return await self._guard.background(self._sync_once)

    async def aclose(self) -> None:
        """Stop the background sync in flight (the storage itself stays open)."""
        await self._guard.aclose()

    async def _sync_once(self) -> SharedState:
        await self._record_outcomes()
        await self._publish()
        shared = SharedState.decode(await self.storage.get(self.state_key))
        if shared.version != self._version:
            self._adopt(shared)
        self._last_sync = self.breaker.clock.now()
        return shared

    async def _sync_work(self) -> None:
        await self._guard.background(self._sync_once)
        while self._outbox or self._outcomes:
            await self._guard.background(self._sync_once)

    def _sync_soon(self, *, force: bool = False) -> None:
        """Start the background sync when forced, when work waits, or every ``sync_interval``."""
        due = force or self._outbox or self._outcomes
        if due or self.breaker.clock.now() - self._last_sync >= self.sync_interval:
            self._guard.spawn(self._sync_work)

    async def _publish(self) -> None:
        while self._outbox:
            t = self._outbox[0]
            raw = await self.storage.get(self.state_key)
            shared = SharedState.decode(raw)
            if shared.state is not t.from_state or (t.from_state, t.to_state) not in _ALLOWED:
                self._outbox.clear()
                self._adopt(shared)
                return
            new = SharedState(t.to_state, shared.version + 1, self.breaker.open_until)
            entry = {
                "version": new.version,
                "from": t.from_state.value,
                "to": t.to_state.value,
                "at": t.at,
                "by": self.owner,
            }
            if not await self._commit(raw, new, entry):
                self._outbox.clear()
                self._adopt(SharedState.decode(await self.storage.get(self.state_key)))
                return
            self._outbox.pop(0)
            self._version = new.version

    async def _commit(self, raw: Any, new: SharedState, entry: dict[str, Any]) -> bool:
        """Compare-and-set the state record and write its log entry (one Lua script on Redis)."""
        log_key = f"{self.log_prefix}{new.version:010d}"
        if self._redis is None:
            if not await self.storage.compare_and_set(self.state_key, raw, new.encode()):
                return False
            await self.storage.compare_and_set(log_key, None, entry)
            return True
        assert self._publish_script is not None  # registered with self._redis
        keys = [self._redis.key(self.state_key), self._redis.key(log_key)]
        args = ["" if raw is None else encode(raw), encode(new.encode()), encode(entry)]
        return bool(await self._publish_script(keys, args))

    async def transitions(self) -> list[dict[str, Any]]:
        """The published transitions, oldest first."""
        keys = await self.storage.scan(self.log_prefix)
        entries = [await self.storage.get(k) for k in keys]
        return [e for e in entries if e is not None]

    async def acall(self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Await ``fn`` through the shared breaker.

        The call never waits for a sync and never fails because of the storage: when the
        storage cannot be used the breaker decides on its local state (local window, local
        HALF_OPEN trials) and publishes its transitions once the storage answers again.
        """
        self._sync_soon()
        b = self.breaker
        if b.state is CircuitState.HALF_OPEN and self._guard.admits_callers():
            try:
                return await self._trial(fn, args, kwargs)
            except _Offline:
                pass
        try:
            return await b.acall(fn, *args, **kwargs)
        finally:
            if self._outbox:
                self._sync_soon(force=True)

    def __call__(self, fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        """Decorate a coroutine function."""
        acall = self.acall

        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            return await acall(fn, *args, **kwargs)

        return wrapper

    def _trial_key(self, what: str, version: int) -> str:
        return f"{self._base}:{what}:{version:010d}"

    def _trial_ttl(self) -> float:
        return max(60.0, self.breaker.config.open_for * 10)

    async def _trial(self, fn: Callable[..., Awaitable[R]], args: Any, kwargs: Any) -> R:
        b = self.breaker
        if self._outbox:  # this process's HALF_OPEN is not published yet: no shared permit exists
            self._sync_soon(force=True)
            raise CircuitOpenError(self.name, 0.0)
        version = self._version
        key = self._trial_key("permits", version)
        try:
            permit = await self._guard.call(lambda: self.storage.incr(key, ttl=self._trial_ttl()))
        except StorageUnavailable:
            raise _Offline from None
        if permit > b.config.half_open_calls:
            self._sync_soon(force=True)
            raise CircuitOpenError(self.name, 0.0)
        start = b.clock.now()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            self._outcome(_TrialOutcome(version, b.classify(exc), b.clock.now() - start))
            raise
        self._outcome(_TrialOutcome(version, SUCCESS, b.clock.now() - start))
        return result

    def _outcome(self, outcome: _TrialOutcome) -> None:
        self._outcomes.append(outcome)
        self._sync_soon(force=True)

    async def _record_outcomes(self) -> None:
        while self._outcomes:
            outcome = self._outcomes.pop(0)
            if outcome.kind == IGNORE:
                key = self._trial_key("permits", outcome.version)
                await self.storage.incr(key, -1, ttl=self._trial_ttl())
            else:
                await self._trial_outcome(outcome)

    async def _trial_outcome(self, outcome: _TrialOutcome) -> None:
        cfg = self.breaker.config
        ttl = self._trial_ttl()
        slow = cfg.slow_call_duration is not None and outcome.elapsed >= cfg.slow_call_duration
        if outcome.kind == RECORD:
            await self.storage.incr(self._trial_key("failed", outcome.version), ttl=ttl)
        if slow:
            await self.storage.incr(self._trial_key("slow", outcome.version), ttl=ttl)
        done = await self.storage.incr(self._trial_key("done", outcome.version), ttl=ttl)
        if done != cfg.half_open_calls or outcome.version != self._version:
            return
        fails = int(await self.storage.get(self._trial_key("failed", outcome.version)) or 0)
        slows = int(await self.storage.get(self._trial_key("slow", outcome.version)) or 0)
        n = cfg.half_open_calls
        tripped = fails / n >= cfg.failure_rate_threshold or slows / n >= cfg.slow_call_rate_threshold
        now = self.breaker.clock.now()
        to = CircuitState.OPEN if tripped else CircuitState.CLOSED
        self._outbox.append(StateTransition(self.name, CircuitState.HALF_OPEN, to, now))
        self._adopting = True
        try:
            self.breaker.sync_state(to, now + cfg.open_for)
        finally:
            self._adopting = False
