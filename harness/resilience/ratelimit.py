"""Rate limiting with GCRA (the generic cell rate algorithm), local or shared through Storage.

GCRA keeps one number per limiter, the theoretical arrival time (TAT). With emission interval
``T = period / rate`` and burst ``B``, a request of cost ``n`` at time ``now`` is admitted when
``max(TAT, now) + n*T - now <= B*T`` (plus ``max_wait`` if the caller may wait), and then TAT
moves to ``max(TAT, now) + n*T``. One read and one write: cheap locally, and a single Lua
script on Redis. ``Gcra`` is the sans-IO core; ``RateLimiter`` drives it on a clock;
``SharedRateLimiter`` keeps the TAT in a ``Storage`` so several processes share one limit, and
decides by its :class:`~harness.resilience.StoragePolicy` (local limiting by default) whenever
the storage cannot be used.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar, cast

from harness._checks import integer, invalid, one_of, positive, within
from harness.clock import Clock, SystemClock
from harness.errors import StorageFailure, StorageUnavailable
from harness.resilience._decorate import Decorating
from harness.resilience.breaker import CircuitBreakerConfig
from harness.resilience.errors import RateLimited
from harness.resilience.events import EventKind, EventSource, Listener
from harness.resilience.storage_guard import StorageGuard, StoragePolicy
from harness.storage import Storage
from harness.storage.base import as_redis

if TYPE_CHECKING:
    from harness.storage.redis import RedisStorage

__all__ = ["Gcra", "RateLimiter", "RateLimiterConfig", "SharedRateLimiter"]

P = ParamSpec("P")
R = TypeVar("R")

_GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local max_wait = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new = tat + cost * interval
local wait = new - now - burst * interval
if wait > max_wait then return {0, string.format('%.6f', wait)} end
redis.call('SET', KEYS[1], string.format('%.6f', new), 'PX', math.ceil((new - now) * 1000) + 1000)
if wait < 0 then wait = 0 end
return {1, string.format('%.6f', wait)}
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimiterConfig:
    """``rate`` permits per ``period`` seconds, bursts of up to ``burst``, waits up to ``max_wait``."""

    rate: float
    period: float = 1.0
    burst: int = 1
    max_wait: float = 0.0
    """Seconds a caller may wait for a permit; 0 rejects at once."""

    def __post_init__(self) -> None:
        positive("rate", self.rate, "for example rate=100 with period=1.0 for 100 per second.")
        positive("period", self.period, "for example 1.0", unit="seconds")
        integer("burst", self.burst, "1 spaces calls evenly; larger values allow bursts.", at_least=1)
        within("max_wait", self.max_wait, "[0, inf]", "0 rejects when no permit is free", unit="seconds")

    @property
    def interval(self) -> float:
        """Seconds per permit (``period / rate``)."""
        return self.period / self.rate


class Gcra:
    """The sans-IO limiter: ``reserve(now, cost, max_wait)`` returns the wait or ``None``."""

    __slots__ = ("_burst", "_interval", "tat")

    def __init__(self, config: RateLimiterConfig) -> None:
        self._interval = config.interval
        self._burst = config.burst
        self.tat = -math.inf

    def check(self, tat: float, now: float, cost: int, max_wait: float) -> tuple[float, float | None]:
        """For a stored ``tat``: ``(new_tat, wait)`` if admitted, or ``(tat, None)`` plus nothing."""
        base = max(tat, now)
        new = base + cost * self._interval
        wait = new - now - self._burst * self._interval
        if wait > max_wait + 1e-12:
            return tat, None
        return new, max(0.0, wait)

    def reserve(self, now: float, cost: int = 1, max_wait: float = 0.0) -> float | None:
        """Admit ``cost`` permits at ``now``: the seconds to wait first, or ``None`` if refused."""
        self.tat, wait = self.check(self.tat, now, cost, max_wait)
        return wait

    def retry_after(self, now: float, cost: int = 1) -> float:
        """Seconds from ``now`` until ``cost`` permits would be admitted without waiting."""
        return max(0.0, max(self.tat, now) + cost * self._interval - now - self._burst * self._interval)


def _bad_config(config: object) -> None:
    raise invalid("config", config, "a RateLimiterConfig", "build one with RateLimiterConfig(rate=...)")


def _check_cost(cost: int, burst: int) -> None:
    if type(cost) is not int or not 1 <= cost <= burst:  # per call: the check below only words the error
        integer(
            "cost", cost, f"burst={burst}: a larger cost could never be admitted", at_least=1, at_most=burst
        )


class RateLimiter(Decorating, EventSource):
    """An in-process GCRA limiter on a ``Clock``; thread-safe; sync and async forms."""

    __slots__ = ("_cfg", "_core", "_listeners", "_lock", "clock", "name", "rejected")

    def __init__(
        self, config: RateLimiterConfig, *, name: str = "ratelimit", clock: Clock | None = None
    ) -> None:
        if not isinstance(cast(object, config), RateLimiterConfig):
            _bad_config(config)
        self._cfg = config
        self._core = Gcra(config)
        self.name = name
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self.rejected = 0

    @property
    def config(self) -> RateLimiterConfig:
        """The configuration."""
        return self._cfg

    def __repr__(self) -> str:
        return f"RateLimiter(name={self.name!r}, rate={self._cfg.rate}/{self._cfg.period}s)"

    def _reserve(self, cost: int, max_wait: float) -> float:
        _check_cost(cost, self._cfg.burst)
        with self._lock:
            now = self.clock.now()
            wait = self._core.reserve(now, cost, max_wait)
            if wait is None:
                self.rejected += 1
                after = self._core.retry_after(now, cost)
        if wait is None:
            self._emit(EventKind.REJECT, self.name, now, {"reason": "rate_limited", "retry_after": after})
            raise RateLimited(self.name, after)
        return wait

    def try_acquire(self, cost: int = 1) -> bool:
        """Take ``cost`` permits if they are free now; never waits or raises for lack of permits."""
        try:
            self._reserve(cost, 0.0)
        except RateLimited:
            return False
        return True

    def acquire(self, cost: int = 1) -> None:
        """Take ``cost`` permits, sleeping on the clock up to ``max_wait``; else ``RateLimited``."""
        wait = self._reserve(cost, self._cfg.max_wait)
        if wait > 0:
            self.clock.sleep_sync(wait)

    async def aacquire(self, cost: int = 1) -> None:
        """Async ``acquire``: sleeps on the clock without blocking the loop."""
        wait = self._reserve(cost, self._cfg.max_wait)
        if wait > 0:
            await self.clock.sleep(wait)

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``fn`` once a permit is granted."""
        self.acquire()
        return fn(*args, **kwargs)

    async def acall(self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Await ``fn`` once a permit is granted."""
        await self.aacquire()
        return await fn(*args, **kwargs)


_DEFAULT_STORAGE_BREAKER = CircuitBreakerConfig(
    window=20, minimum_calls=5, failure_rate_threshold=0.5, open_for=1.0, half_open_calls=1
)
"""The breaker on a shared limiter's storage: half of 20 operations failing leaves it alone for 1 s."""


class SharedRateLimiter(EventSource):
    """A GCRA limiter whose state lives in ``Storage``, shared by every process using ``name``.

    On ``RedisStorage`` each decision is one Lua script that reads the server's ``TIME``, so
    processes on different hosts agree on time. On other storages the decision is a
    compare-and-set loop on the TAT using the injected clock (processes must share that clock:
    one host's monotonic clock, or one ``VirtualClock`` in a simulation).

    **When the storage cannot be used** (unreachable, hung, read-only, out of memory, any error
    reply) no ``redis`` error reaches the caller: the decision follows ``on_storage_error``, a
    :class:`StoragePolicy`. ``LOCAL`` (the default) limits in this process with the same
    configuration, so N processes may admit up to N times the rate until the storage is back;
    ``FAIL_OPEN`` admits every call; ``FAIL_CLOSED`` refuses every call with
    :class:`~harness.errors.StorageUnavailable`. A caller waits for the storage at most
    ``storage_timeout`` seconds; after failures a breaker on the storage (``storage_breaker``)
    keeps callers off it, a background probe retries it, and decisions are shared again once it
    answers. Listeners receive ``STORAGE_DEGRADED``/``STORAGE_RECOVERED``; ``storage_errors``
    counts failed operations and ``degraded_decisions`` the decisions made without the storage.
    """

    def __init__(
        self,
        config: RateLimiterConfig,
        storage: Storage,
        *,
        name: str = "ratelimit",
        clock: Clock | None = None,
        max_cas_attempts: int = 64,
        on_storage_error: StoragePolicy = StoragePolicy.LOCAL,
        storage_timeout: float = 0.05,
        storage_breaker: CircuitBreakerConfig | None = None,
    ) -> None:
        if not isinstance(cast(object, config), RateLimiterConfig):
            _bad_config(config)
        self._cfg = config
        self._core = Gcra(config)
        self._local = Gcra(config)
        self.storage = storage
        self.name = name
        self.key = f"ratelimit:{name}"
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._attempts = max_cas_attempts
        self.policy = one_of("on_storage_error", on_storage_error, StoragePolicy)
        self._listeners: list[Listener] = []
        self.rejected = 0
        self.degraded_decisions = 0
        """Decisions made without the storage (by the policy)."""
        self._guard = StorageGuard(
            name=f"shared rate limiter {name!r}",
            url=str(getattr(storage, "url", type(storage).__name__)),
            clock=self.clock,
            breaker=storage_breaker if storage_breaker is not None else _DEFAULT_STORAGE_BREAKER,
            call_timeout=storage_timeout,
            sync_timeout=max(storage_timeout, 1.0),
            emit=self._storage_event,
        )
        self._redis: RedisStorage | None = as_redis(storage)
        self._script = None if self._redis is None else self._redis.script(_GCRA_LUA)

    @property
    def config(self) -> RateLimiterConfig:
        """The configuration."""
        return self._cfg

    @property
    def storage_errors(self) -> int:
        """Storage operations that failed."""
        return self._guard.errors

    @property
    def degraded(self) -> bool:
        """Whether decisions are being made without the storage after it failed."""
        return self._guard.degraded

    def __repr__(self) -> str:
        return f"SharedRateLimiter(name={self.name!r}, rate={self._cfg.rate}/{self._cfg.period}s)"

    def _storage_event(self, kind: EventKind, data: Mapping[str, Any]) -> None:
        self._emit(kind, self.name, self.clock.now(), data)

    async def _reserve(self, cost: int, max_wait: float) -> float:
        _check_cost(cost, self._cfg.burst)
        if self._guard.admits_callers():
            try:
                wait, retry_after = await self._guard.call(lambda: self._shared(cost, max_wait))
            except StorageUnavailable as exc:
                return self._without_storage(cost, max_wait, exc)
            if wait is None:
                self._refuse(retry_after)
            return wait
        return self._without_storage(cost, max_wait, None)

    async def _shared(self, cost: int, max_wait: float) -> tuple[float | None, float]:
        """``(wait, 0)`` if admitted, ``(None, retry_after)`` if refused, from the shared state."""
        if self._redis is not None and self._script is not None:
            redis_key = self._redis.key(self.key)
            args = [self._cfg.interval, self._cfg.burst, cost, max_wait]
            ok, wait = await self._script([redis_key], args)
            if int(ok) != 1:
                return None, max(0.0, float(wait) - max_wait)
            return float(wait), 0.0
        return await self._shared_cas(cost, max_wait)

    async def _shared_cas(self, cost: int, max_wait: float) -> tuple[float | None, float]:
        for _ in range(self._attempts):
            now = self.clock.now()
            stored = await self.storage.get(self.key)
            tat = float(stored) if stored is not None else -math.inf
            new, wait = self._core.check(tat, now, cost, max_wait)
            if wait is None:
                self._core.tat = tat
                return None, self._core.retry_after(now, cost)
            ttl = max(0.001, new - now) + 1.0
            if await self.storage.compare_and_set(self.key, stored, new, ttl=ttl):
                return wait, 0.0
        return None, self._cfg.interval

    def _refuse(self, retry_after: float) -> NoReturn:
        self.rejected += 1
        data = {"reason": "rate_limited", "retry_after": retry_after}
        self._emit(EventKind.REJECT, self.name, self.clock.now(), data)
        raise RateLimited(self.name, retry_after)

    def _without_storage(self, cost: int, max_wait: float, error: StorageUnavailable | None) -> float:
        """Decide by the policy, and let a background probe find out when the storage is back."""
        self.degraded_decisions += 1
        self._guard.spawn(self._probe)
        if self.policy is StoragePolicy.FAIL_OPEN:
            return 0.0
        if self.policy is StoragePolicy.FAIL_CLOSED:
            raise self._closed(error)
        now = self.clock.now()
        wait = self._local.reserve(now, cost, max_wait)
        if wait is None:
            self._refuse(self._local.retry_after(now, cost))
        return wait

    def _closed(self, error: StorageUnavailable | None) -> StorageUnavailable:
        cause = error or self._guard.last_error
        return StorageUnavailable(
            f"shared rate limiter {self.name!r} refuses calls while its storage cannot be used "
            f"(on_storage_error=fail_closed): {cause}",
            url=self._guard.url,
            failure=cause.failure if cause is not None else StorageFailure.UNREACHABLE,
        )

    async def _probe(self) -> None:
        """A zero-cost reservation (a real read and write of the shared state)."""
        await self._guard.background(lambda: self._shared(0, 0.0))

    async def try_acquire(self, cost: int = 1) -> bool:
        """Take ``cost`` permits if free now."""
        try:
            await self._reserve(cost, 0.0)
        except RateLimited:
            return False
        return True

    async def acquire(self, cost: int = 1) -> None:
        """Take ``cost`` permits, sleeping up to ``max_wait``; else ``RateLimited``."""
        wait = await self._reserve(cost, self._cfg.max_wait)
        if wait > 0:
            await self.clock.sleep(wait)

    async def acall(self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Await ``fn`` once a permit is granted."""
        await self.acquire()
        return await fn(*args, **kwargs)

    async def aclose(self) -> None:
        """Stop the background probe in flight (the storage itself stays open)."""
        await self._guard.aclose()
