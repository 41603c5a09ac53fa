"""Health checks: the ``HealthCheck`` protocol, ``BaseHealthCheck`` with a timeout, built-ins.

A check is anything with a ``name`` and an ``async check() -> CheckResult``. Subclass
:class:`BaseHealthCheck` and implement ``probe()`` to get the timeout and error handling for
free: a probe that raises or overruns its timeout reports UNHEALTHY with the reason, never
propagates. ``probe()`` may return a :class:`HealthStatus`, a ``bool``, a ``(status, message)``
pair or a full :class:`CheckResult`.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import shutil
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple, Protocol, runtime_checkable

from harness._checks import invalid, within
from harness.errors import InvalidConfig
from harness.health.status import CheckResult, HealthStatus
from harness.storage.base import Storage

__all__ = [
    "BaseHealthCheck",
    "BreakerHealthCheck",
    "CallableCheck",
    "DiskSpaceCheck",
    "DiskUsage",
    "HealthCheck",
    "HttpHealthCheck",
    "ProbeResult",
    "RedisHealthCheck",
]

ProbeResult = HealthStatus | bool | tuple[HealthStatus, str] | CheckResult
"""What a probe may return; :meth:`BaseHealthCheck.probe` results are normalised from these."""


@runtime_checkable
class HealthCheck(Protocol):
    """A named probe of one component. ``check()`` must not raise for an unhealthy component."""

    @property
    def name(self) -> str:
        """A stable, unique name within a monitor (used in metrics labels and reports)."""
        ...

    async def check(self) -> CheckResult:
        """Probe the component once and say how healthy it is."""
        ...


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise invalid("name", name, "a non-empty string", "name the check, e.g. 'redis'")
    return name


def _check_degraded_after(seconds: float | None) -> None:
    if seconds is not None:
        within("degraded_after", seconds, "(0, inf]", "or None to never report slowness", unit="seconds")


def _coerce_result(name: str, outcome: ProbeResult) -> CheckResult:
    """Normalise a probe's return value into a :class:`CheckResult` named ``name``."""
    if isinstance(outcome, CheckResult):
        return outcome
    if isinstance(outcome, HealthStatus):
        return CheckResult(name=name, status=outcome)
    if isinstance(outcome, bool):
        status = HealthStatus.HEALTHY if outcome else HealthStatus.UNHEALTHY
        return CheckResult(name=name, status=status, message="" if outcome else "check returned False")
    pair: Any = outcome
    if isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], HealthStatus):
        return CheckResult(name=name, status=pair[0], message=str(pair[1]))
    return CheckResult(
        name=name,
        status=HealthStatus.UNHEALTHY,
        message=f"probe returned {outcome!r}; return a HealthStatus, a bool, (status, message) "
        "or a CheckResult",
    )


class BaseHealthCheck:
    """A check with a timeout: implement :meth:`probe`; errors and overruns become UNHEALTHY.

    The timeout is enforced with ``asyncio.timeout``, so on a virtual-time loop it is virtual.
    """

    def __init__(self, name: str, *, timeout: float = 5.0) -> None:
        self._name = _check_name(name)
        self.timeout = within(
            "timeout", timeout, "(0, inf]", "give the probe time to answer, e.g. 5.0", unit="seconds"
        )
        self._plain: dict[str, CheckResult] = {}

    @property
    def name(self) -> str:
        """The check's name."""
        return self._name

    async def probe(self) -> ProbeResult:
        """Look at the component once. Subclasses implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement probe()")

    async def check(self) -> CheckResult:
        """Run :meth:`probe` under the timeout; failures and overruns report UNHEALTHY."""
        try:
            async with asyncio.timeout(self.timeout):
                outcome = await self.probe()
        except TimeoutError:
            return self._timed_out()
        except Exception as exc:  # noqa: BLE001 - a failing probe is the finding, reported as UNHEALTHY
            return self._failed(exc)
        return self._result(outcome)

    def _timed_out(self) -> CheckResult:
        message = f"timed out after {self.timeout:g}s"
        return CheckResult(name=self._name, status=HealthStatus.UNHEALTHY, message=message)

    def _failed(self, exc: Exception) -> CheckResult:
        return CheckResult(
            name=self._name,
            status=HealthStatus.UNHEALTHY,
            message=f"{type(exc).__name__}: {exc}",
            details={"error": type(exc).__name__},
        )

    def _result(self, outcome: ProbeResult) -> CheckResult:
        if outcome is True or isinstance(outcome, HealthStatus):
            # The common outcomes carry no details: reuse one immutable result per status.
            status = HealthStatus.HEALTHY if outcome is True else outcome
            cached = self._plain.get(status._value_)  # str keys hash in C; enum members do not
            if cached is None:
                cached = self._plain[status._value_] = CheckResult(name=self._name, status=status)
            return cached
        result = _coerce_result(self._name, outcome)
        if result.name != self._name:
            result = CheckResult(
                name=self._name,
                status=result.status,
                message=result.message,
                details=result.details,
            )
        return result

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._name!r}, timeout={self.timeout!r})"


_PLAIN_OUTCOMES = (HealthStatus, CheckResult, tuple)


class CallableCheck(BaseHealthCheck):
    """A check from a function: sync or async, returning anything :data:`ProbeResult` allows.

    A synchronous function runs on the event loop, so it must be quick; the timeout can only
    interrupt awaitables. Wrap blocking work in ``asyncio.to_thread`` inside an async function.
    """

    def __init__(
        self, name: str, func: Callable[[], ProbeResult | Awaitable[ProbeResult]], *, timeout: float = 5.0
    ) -> None:
        super().__init__(name, timeout=timeout)
        if not callable(func):
            raise InvalidConfig(
                f"CallableCheck {name!r}: func={func!r} is not callable.", field="func", value=func
            )
        self._func = func

    async def probe(self) -> ProbeResult:
        """Call the function (awaiting it when it returns an awaitable)."""
        outcome = self._func()
        if inspect.isawaitable(outcome):
            return await outcome
        return outcome

    async def check(self) -> CheckResult:
        """Call the function; only an awaitable it returns runs under the timeout.

        A synchronous function cannot be interrupted, so it is called without arming a timer.
        """
        try:
            outcome: Any = self._func()
            if outcome is True or outcome is False or isinstance(outcome, _PLAIN_OUTCOMES):
                return self._result(outcome)
            if not inspect.isawaitable(outcome):
                return self._result(outcome)
            async with asyncio.timeout(self.timeout):
                outcome = await outcome
        except TimeoutError:
            return self._timed_out()
        except Exception as exc:  # noqa: BLE001 - a failing probe is the finding, reported as UNHEALTHY
            return self._failed(exc)
        return self._result(outcome)


class _Latency(NamedTuple):
    status: HealthStatus
    message: str


def _latency_status(seconds: float, degraded_after: float | None) -> _Latency:
    if degraded_after is not None and seconds > degraded_after:
        return _Latency(
            HealthStatus.DEGRADED, f"slow: {seconds * 1000:.1f} ms > {degraded_after * 1000:.1f} ms"
        )
    return _Latency(HealthStatus.HEALTHY, f"{seconds * 1000:.1f} ms")


class RedisHealthCheck(BaseHealthCheck):
    """Redis (or any ``Storage``) answers, and answers fast.

    ``target`` is a ``redis.asyncio`` client (``PING``), a ``RedisStorage`` (``PING`` on its
    client) or any other ``Storage`` (a write-read round trip on ``probe_key`` with a short
    expiry). Slower than ``degraded_after`` seconds is DEGRADED; no answer is UNHEALTHY.
    ``timer`` measures the latency (``time.perf_counter`` by default; pass ``clock.now``).
    """

    def __init__(
        self,
        target: Any,
        *,
        name: str = "redis",
        timeout: float = 2.0,
        degraded_after: float | None = 0.1,
        probe_key: str = "health:probe",
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        super().__init__(name, timeout=timeout)
        _check_degraded_after(degraded_after)
        if not (hasattr(target, "ping") or hasattr(target, "client") or isinstance(target, Storage)):
            raise InvalidConfig(
                f"RedisHealthCheck target {target!r} is neither a redis client nor a Storage.",
                field="target",
                value=target,
            )
        self._target = target
        self.degraded_after = degraded_after
        self.probe_key = probe_key
        self._timer = timer

    async def _round_trip(self) -> None:
        target = self._target
        client = target if hasattr(target, "ping") else getattr(target, "client", None)
        if client is not None and hasattr(client, "ping"):
            if not await client.ping():
                raise ConnectionError("PING did not return PONG")
            return
        token = f"{self._timer():.9f}"
        await target.set(self.probe_key, token, ttl=max(self.timeout, 1.0))
        if await target.get(self.probe_key) != token:
            raise ConnectionError(f"read back a different value from {self.probe_key!r}")

    async def probe(self) -> ProbeResult:
        """PING (or round-trip) and classify the latency."""
        start = self._timer()
        await self._round_trip()
        elapsed = self._timer() - start
        status, message = _latency_status(elapsed, self.degraded_after)
        return CheckResult(name=self.name, status=status, message=message, details={"latency": elapsed})


_BODY_STATUS = {
    "up": HealthStatus.HEALTHY,
    "ok": HealthStatus.HEALTHY,
    "pass": HealthStatus.HEALTHY,
    "healthy": HealthStatus.HEALTHY,
    "degraded": HealthStatus.DEGRADED,
    "warn": HealthStatus.DEGRADED,
    "down": HealthStatus.UNHEALTHY,
    "fail": HealthStatus.UNHEALTHY,
    "unhealthy": HealthStatus.UNHEALTHY,
    "out_of_service": HealthStatus.UNHEALTHY,
}


def _body_status(body: Any) -> HealthStatus | None:
    """The status a JSON health body claims (``{"status": "UP"}``, ``"degraded"``, ``"fail"``...)."""
    if not isinstance(body, Mapping):
        return None
    value = body.get("status")
    return _BODY_STATUS.get(value.strip().lower()) if isinstance(value, str) else None


class HttpHealthCheck(BaseHealthCheck):
    """A downstream HTTP service answers its health endpoint in time.

    A status outside ``healthy_statuses`` is UNHEALTHY; a JSON body with a ``status`` field
    (Spring ``UP``/``DOWN``, IETF ``pass``/``warn``/``fail``, or our own values) can only make
    the result worse; slower than ``degraded_after`` is DEGRADED. Without a ``session`` each
    probe opens and closes its own ``aiohttp.ClientSession``. The request is bounded by
    ``timeout`` both through aiohttp and the check's own timeout.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str | None = None,
        timeout: float = 5.0,
        degraded_after: float | None = 1.0,
        method: str = "GET",
        healthy_statuses: range | frozenset[int] = range(200, 400),
        session: Any = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InvalidConfig(f"url={url!r} must start with http:// or https://.", field="url", value=url)
        super().__init__(name or url, timeout=timeout)
        _check_degraded_after(degraded_after)
        self.url = url
        self.method = method.upper()
        self.degraded_after = degraded_after
        self.healthy_statuses = healthy_statuses
        self._session = session
        self._timer = timer

    async def _request(self, session: Any) -> tuple[int, Any]:
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with session.request(self.method, self.url, timeout=timeout) as response:
            body = None
            if response.content_type == "application/json":
                body = await response.json()
            else:
                await response.read()
            return response.status, body

    async def _fetch(self) -> tuple[int, Any]:
        if self._session is not None:
            return await self._request(self._session)
        import aiohttp

        async with aiohttp.ClientSession() as session:
            return await self._request(session)

    async def probe(self) -> ProbeResult:
        """Request the URL and classify status code, body and latency."""
        start = self._timer()
        code, body = await self._fetch()
        elapsed = self._timer() - start
        details = {"status_code": code, "latency": elapsed}
        if code not in self.healthy_statuses:
            return CheckResult(
                name=self.name, status=HealthStatus.UNHEALTHY, message=f"HTTP {code}", details=details
            )
        claimed = _body_status(body)
        if claimed is not None and claimed is not HealthStatus.HEALTHY:
            return CheckResult(
                name=self.name,
                status=claimed,
                message=f"service reports {body.get('status')!r}",
                details=details,
            )
        status, message = _latency_status(elapsed, self.degraded_after)
        return CheckResult(name=self.name, status=status, message=f"HTTP {code}, {message}", details=details)


class DiskUsage(NamedTuple):
    """Bytes on a filesystem, as ``shutil.disk_usage`` reports them."""

    total: int
    used: int
    free: int


class DiskSpaceCheck(BaseHealthCheck):
    """Enough free space on the filesystem holding ``path``.

    Below ``degraded_below`` (a fraction of the total) it is DEGRADED, below
    ``unhealthy_below`` UNHEALTHY. ``usage`` reads the numbers (``shutil.disk_usage`` by
    default; inject a function in tests).
    """

    def __init__(
        self,
        path: str = ".",
        *,
        name: str = "disk",
        degraded_below: float = 0.10,
        unhealthy_below: float = 0.05,
        timeout: float = 5.0,
        usage: Callable[[str], DiskUsage | Any] = shutil.disk_usage,
    ) -> None:
        super().__init__(name, timeout=timeout)
        for field, value in (("degraded_below", degraded_below), ("unhealthy_below", unhealthy_below)):
            within(field, value, "[0, 1)", "for example 0.1", what="a fraction of the disk")
        if unhealthy_below > degraded_below:
            raise InvalidConfig(
                f"unhealthy_below={unhealthy_below!r} exceeds degraded_below={degraded_below!r}; "
                "the UNHEALTHY level must be at or below the DEGRADED level.",
                field="unhealthy_below",
                value=unhealthy_below,
            )
        self.path = path
        self.degraded_below = float(degraded_below)
        self.unhealthy_below = float(unhealthy_below)
        self._usage = usage

    async def probe(self) -> ProbeResult:
        """Read the usage and compare the free fraction with the two levels."""
        usage = self._usage(self.path)
        free = usage.free / usage.total if usage.total else 0.0
        details = {"total": usage.total, "used": usage.used, "free": usage.free, "free_fraction": free}
        if free < self.unhealthy_below:
            status = HealthStatus.UNHEALTHY
        elif free < self.degraded_below:
            status = HealthStatus.DEGRADED
        else:
            status = HealthStatus.HEALTHY
        return CheckResult(name=self.name, status=status, message=f"{free:.1%} free", details=details)


_BREAKER_STATUS = {
    "closed": HealthStatus.HEALTHY,
    "half_open": HealthStatus.DEGRADED,
    "open": HealthStatus.UNHEALTHY,
}


def _breaker_snapshot(breaker: Any) -> dict[str, Any]:
    """A breaker's ``metrics()`` snapshot as a plain dict (enum values as their strings)."""
    metrics = breaker.metrics()
    fields = getattr(metrics, "__dataclass_fields__", None)
    raw = dict(metrics) if fields is None else {name: getattr(metrics, name) for name in fields}
    return {k: getattr(v, "value", v) if isinstance(v, enum.Enum) else v for k, v in raw.items()}


class BreakerHealthCheck(BaseHealthCheck):
    """A :class:`~harness.resilience.CircuitBreaker` seen as a health check.

    CLOSED is HEALTHY, HALF_OPEN DEGRADED (probing recovery), OPEN UNHEALTHY; the breaker's
    metrics snapshot (calls, failures, rates, remaining open time) goes into the details.
    Reading the breaker never admits or rejects a call.
    """

    def __init__(self, breaker: Any, *, name: str | None = None, timeout: float = 1.0) -> None:
        if not callable(getattr(breaker, "metrics", None)):
            raise InvalidConfig(
                f"{breaker!r} has no metrics() method; pass a harness.resilience.CircuitBreaker.",
                field="breaker",
                value=breaker,
            )
        super().__init__(name or f"breaker:{getattr(breaker, 'name', 'breaker')}", timeout=timeout)
        self.breaker = breaker

    async def probe(self) -> ProbeResult:
        """Read the breaker's state and metrics."""
        snapshot = _breaker_snapshot(self.breaker)
        state = str(snapshot.get("state", "")).lower()
        status = _BREAKER_STATUS.get(state)
        if status is None:
            return CheckResult(
                name=self.name, status=HealthStatus.UNHEALTHY, message=f"unknown breaker state {state!r}"
            )
        rate = snapshot.get("failure_rate")
        message = f"circuit {state}" + (f", failure rate {rate:.0%}" if isinstance(rate, float) else "")
        if state == "open":
            message += f", {snapshot.get('open_remaining', 0.0):.1f}s until half-open"
        return CheckResult(name=self.name, status=status, message=message, details=snapshot)
