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
  cancelled trial returns its permit.
* **When state is synchronised.** On every local transition, on every HALF_OPEN call, on a
  rejected trial, and otherwise at least every ``sync_interval`` seconds (checked on the next
  call). Between syncs a process may keep admitting calls in CLOSED after another process
  opened the breaker: at most ``sync_interval`` seconds of extra calls.
* **Storage outages.** If the storage is unreachable the breaker keeps working on its local
  state (local window and local HALF_OPEN trials), counts ``storage_errors``, retries the
  storage after ``sync_interval`` and then publishes what it did or adopts what others did.
* **Time.** ``open_until`` is stored in the breaker clock's timebase, so sharing processes must
  share that clock: the host's monotonic clock (processes on one host) or one ``VirtualClock``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import redis.exceptions

from harness._checks import instance_of, positive
from harness.errors import StorageUnavailable
from harness.resilience._window import IGNORE, RECORD
from harness.resilience.breaker import CircuitBreaker, CircuitState, StateTransition
from harness.resilience.errors import CircuitOpenError
from harness.storage import Storage
from harness.storage.base import encode
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
    """The storage could not be reached before a trial call started."""


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


class SharedCircuitBreaker:
    """Wraps a :class:`CircuitBreaker` so its state is shared through ``storage`` (async calls).

    ``owner`` names this process in the transition log. See the module docstring for the
    consistency model.
    """

    def __init__(
        self,
        breaker: CircuitBreaker,
        storage: Storage,
        *,
        sync_interval: float = 1.0,
        key_prefix: str = "breaker",
        owner: str = "",
    ) -> None:
        instance_of("breaker", breaker, CircuitBreaker, "wrap a CircuitBreaker(...)")
        positive("sync_interval", sync_interval, "for example 1.0", unit="seconds")
        self.breaker = breaker
        self.storage = storage
        self.sync_interval = float(sync_interval)
        self.owner = owner
        self._base = f"{key_prefix}:{breaker.name}"
        self._version = 0
        self._last_sync = -float("inf")
        self._outbox: list[StateTransition] = []
        self._adopting = False
        self._offline_until = -float("inf")
        self.storage_errors = 0
        """Storage calls that failed with ``StorageUnavailable`` (the breaker then ran locally)."""
        self._publish_script: Any = (
            storage.client.register_script(_PUBLISH_LUA) if isinstance(storage, RedisStorage) else None
        )
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
        """Publish local transitions, then adopt the shared state; returns it."""
        await self._publish()
        shared = await self.read()
        if shared.version != self._version:
            self._adopt(shared)
        self._last_sync = self.breaker.clock.now()
        return shared

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
                self._adopt(await self.read())
                return
            self._outbox.pop(0)
            self._version = new.version

    async def _commit(self, raw: Any, new: SharedState, entry: dict[str, Any]) -> bool:
        """Compare-and-set the state record and write its log entry (one Lua script on Redis)."""
        log_key = f"{self.log_prefix}{new.version:010d}"
        if self._publish_script is None:
            if not await self.storage.compare_and_set(self.state_key, raw, new.encode()):
                return False
            await self.storage.compare_and_set(log_key, None, entry)
            return True
        assert isinstance(self.storage, RedisStorage)
        keys = [self.storage.key(self.state_key), self.storage.key(log_key)]
        args = ["" if raw is None else encode(raw), encode(new.encode()), encode(entry)]
        try:
            return bool(await self._publish_script(keys=keys, args=args))
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            raise StorageUnavailable(
                f"Redis at {self.storage.url} is unreachable ({type(exc).__name__}: {exc}).",
                url=self.storage.url,
            ) from exc

    async def transitions(self) -> list[dict[str, Any]]:
        """The published transitions, oldest first."""
        keys = await self.storage.scan(self.log_prefix)
        entries = [await self.storage.get(k) for k in keys]
        return [e for e in entries if e is not None]

    async def acall(self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Await ``fn`` through the shared breaker.

        If the storage is unreachable the breaker carries on locally (local window, local
        HALF_OPEN trials) and publishes its transitions once the storage answers again.
        """
        b = self.breaker
        online = await self._sync_if_due()
        state = b.state
        if self._outbox and online:
            online = await self._sync_if_due(force=True)
            state = b.state
        if state is CircuitState.HALF_OPEN and online:
            try:
                return await self._trial(fn, args, kwargs)
            except _Offline:
                pass
        try:
            return await b.acall(fn, *args, **kwargs)
        finally:
            if self._outbox:
                await self._sync_if_due(force=True)

    async def _sync_if_due(self, *, force: bool = False) -> bool:
        """Sync when forced, when transitions wait, or every ``sync_interval``; False if offline."""
        now = self.breaker.clock.now()
        if now < self._offline_until:
            return False
        if force or self._outbox or now - self._last_sync >= self.sync_interval:
            try:
                await self.sync()
            except StorageUnavailable:
                self._went_offline()
                return False
        return True

    def __call__(self, fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        """Decorate a coroutine function."""
        acall = self.acall

        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            return await acall(fn, *args, **kwargs)

        return wrapper

    def _trial_key(self, what: str) -> str:
        return f"{self._base}:{what}:{self._version:010d}"

    async def _trial(self, fn: Callable[..., Awaitable[R]], args: Any, kwargs: Any) -> R:
        b = self.breaker
        cfg = b.config
        ttl = max(60.0, cfg.open_for * 10)
        try:
            permit = await self.storage.incr(self._trial_key("permits"), ttl=ttl)
        except StorageUnavailable:
            self._went_offline()
            raise _Offline from None
        if permit > cfg.half_open_calls:
            await self._sync_if_due(force=True)
            raise CircuitOpenError(self.name, 0.0)
        start = b.clock.now()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            kind = b.classify(exc)
            if kind == IGNORE:
                await self._quietly(self.storage.incr(self._trial_key("permits"), -1, ttl=ttl))
            else:
                await self._quietly(self._trial_outcome(kind == RECORD, b.clock.now() - start, ttl))
            raise
        await self._quietly(self._trial_outcome(False, b.clock.now() - start, ttl))
        return result

    def _went_offline(self) -> None:
        self.storage_errors += 1
        self._offline_until = self.breaker.clock.now() + self.sync_interval

    async def _quietly(self, op: Awaitable[object]) -> None:
        """Run a bookkeeping storage call; an outage must not replace the call's own outcome."""
        try:
            await op
        except StorageUnavailable:
            self._went_offline()

    async def _trial_outcome(self, failed: bool, elapsed: float, ttl: float) -> None:
        cfg = self.breaker.config
        slow = cfg.slow_call_duration is not None and elapsed >= cfg.slow_call_duration
        if failed:
            await self.storage.incr(self._trial_key("failed"), ttl=ttl)
        if slow:
            await self.storage.incr(self._trial_key("slow"), ttl=ttl)
        done = await self.storage.incr(self._trial_key("done"), ttl=ttl)
        if done != cfg.half_open_calls:
            return
        fails = int(await self.storage.get(self._trial_key("failed")) or 0)
        slows = int(await self.storage.get(self._trial_key("slow")) or 0)
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
        await self._publish()
