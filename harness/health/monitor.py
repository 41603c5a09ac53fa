"""``HealthMonitor``: runs registered checks concurrently, scores them, reports, repeats.

The monitor is a thin driver. A round runs every check (at most ``max_concurrency`` at once),
stamps durations from the injected :class:`~harness.clock.Clock`, builds a
:class:`HealthReport` (per-check results, breaker and retry statistics, overall status, score
and trend), sends metrics to the sink and hands the report to subscribers (an
``AlertManager``, an ``AutoRepair``, a ``FallbackManager``). ``run()`` repeats rounds every
``interval`` seconds on the clock, so on a virtual clock an hour of monitoring takes
milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import logging
import re
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Self

from harness._checks import integer, positive, within
from harness.clock import Clock, SystemClock
from harness.errors import InvalidConfig
from harness.health.checks import HealthCheck
from harness.health.counters import EventCounter
from harness.health.score import health_score, score_trend
from harness.health.sinks import MetricSink, NoOpSink
from harness.health.status import CheckResult, HealthStatus, Trend, worst

if TYPE_CHECKING:
    from harness.journal import Journal

__all__ = ["HealthMonitor", "HealthMonitorConfig", "HealthReport", "StatsSource", "Subscriber"]

_log = logging.getLogger("harness.health")

Subscriber = Callable[["HealthReport"], object]
"""Called with every report; may be a coroutine function (its awaitable is awaited)."""

StatsSource = Callable[[], Mapping[str, Any]] | Any
"""Breaker or retry statistics: an object with ``metrics()`` / ``snapshot()`` / ``stats()``, or a function."""

_STATS_METHODS = ("metrics", "snapshot", "stats")
_IDENT = re.compile(r"[^0-9a-zA-Z_]")


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthMonitorConfig:
    """How often the monitor runs, how many checks at once, and how the trend is read."""

    interval: float = 10.0  # seconds between the starts of two rounds
    max_concurrency: int = 16  # checks running at the same time
    trend_window: int = 10  # rounds the trend is fitted over
    trend_threshold: float = 5.0  # score points of fitted change that count as a trend
    history: int = 100  # reports kept in memory
    round_timeout: float | None = 60.0  # a check still running after this is reported UNHEALTHY

    def __post_init__(self) -> None:
        within("interval", self.interval, "(0, inf]", "for example 10.0", unit="seconds")
        integer("max_concurrency", self.max_concurrency, "checks probed at once", at_least=1)
        integer("trend_window", self.trend_window, "rounds the trend is fitted over", at_least=1)
        integer("history", self.history, "reports kept in memory", at_least=1)
        if self.round_timeout is not None:
            fix = "or None to wait for every check however long it takes"
            within("round_timeout", self.round_timeout, "(0, inf]", fix, unit="seconds")
        within("trend_threshold", self.trend_threshold, "(0, inf]", "score points, e.g. 5.0")


def _identifier(name: str) -> str:
    return _IDENT.sub("_", name)


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthReport:
    """The comprehensive health state after one round.

    ``checks`` holds every check's result; ``breakers`` and ``retries`` the statistics of the
    tracked breakers and retries, as dicts. :meth:`context` flattens it into the numeric
    variables health rules (conditions) and fallback cascades read.
    """

    status: HealthStatus
    score: float
    trend: Trend
    checks: Mapping[str, CheckResult]
    breakers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    retries: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    at: float = 0.0
    round: int = 0
    duration: float = 0.0

    @property
    def unhealthy(self) -> tuple[str, ...]:
        """Names of the checks that reported UNHEALTHY."""
        return tuple(n for n, r in self.checks.items() if r.status is HealthStatus.UNHEALTHY)

    @property
    def degraded(self) -> tuple[str, ...]:
        """Names of the checks that reported DEGRADED."""
        return tuple(n for n, r in self.checks.items() if r.status is HealthStatus.DEGRADED)

    def _breaker_count(self, state: str) -> int:
        return sum(1 for b in self.breakers.values() if str(b.get("state", "")).lower() == state)

    def _retry_failures(self) -> int:
        total = 0
        for stats in self.retries.values():
            value = stats.get("failures", stats.get("failed_calls", stats.get("exhausted", 0)))
            total += int(value) if isinstance(value, int | float) else 0
        return total

    def context(self) -> dict[str, float]:
        """Numeric variables for condition rules.

        ``score``, ``status`` (0 healthy, 1 degraded, 2 unhealthy), ``checks``,
        ``unhealthy_checks``, ``degraded_checks``, ``failed_components`` (unhealthy checks
        plus open breakers; a breaker tracked as ``n`` and checked by a check named
        ``breaker:n``, the ``BreakerHealthCheck`` default, counts once), ``open_circuits``,
        ``circuit_open`` (1 when any breaker is open), ``half_open_circuits``,
        ``retry_failures``, ``trend`` (1 improving, 0 stable, -1 degrading) and per check
        ``<name>_status`` (the check's rank; non-identifier characters become ``_``). These are
        the variables ``harness.resilience.FallbackManager.update`` cascades on.
        """
        open_circuits = self._breaker_count("open")
        failed = set(self.unhealthy)
        failed.update(
            f"breaker:{n}" for n, b in self.breakers.items() if str(b.get("state", "")).lower() == "open"
        )
        ctx: dict[str, float] = {
            "score": self.score,
            "status": float(self.status.rank),
            "checks": float(len(self.checks)),
            "unhealthy_checks": float(len(self.unhealthy)),
            "degraded_checks": float(len(self.degraded)),
            "failed_components": float(len(failed)),
            "open_circuits": float(open_circuits),
            "circuit_open": 1.0 if open_circuits else 0.0,
            "half_open_circuits": float(self._breaker_count("half_open")),
            "retry_failures": float(self._retry_failures()),
            "trend": {Trend.IMPROVING: 1.0, Trend.STABLE: 0.0, Trend.DEGRADING: -1.0}[self.trend],
        }
        for name, result in self.checks.items():
            ctx[f"{_identifier(name)}_status"] = float(result.status.rank)
        return ctx

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view of the whole state."""
        return {
            "status": self.status.value,
            "score": self.score,
            "trend": self.trend.value,
            "at": self.at,
            "round": self.round,
            "duration": self.duration,
            "checks": {n: r.as_dict() for n, r in self.checks.items()},
            "breakers": {n: dict(s) for n, s in self.breakers.items()},
            "retries": {n: dict(s) for n, s in self.retries.items()},
        }


@dataclass(frozen=True, slots=True)
class _Registration:
    check: HealthCheck
    weight: float
    critical: bool


def _has_stats(source: StatsSource) -> bool:
    return any(callable(getattr(source, attr, None)) for attr in _STATS_METHODS)


def _read_stats(source: StatsSource) -> Mapping[str, Any]:
    for attr in _STATS_METHODS:
        method = getattr(source, attr, None)
        if callable(method):
            return _as_mapping(method())
    if callable(source):
        return _as_mapping(source())
    raise InvalidConfig(f"{source!r} has no metrics()/snapshot()/stats() and is not callable.", value=source)


def _as_mapping(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    as_dict = getattr(value, "as_dict", None) or getattr(value, "to_dict", None)
    if callable(as_dict):
        return dict(as_dict())
    slots = getattr(value, "__dataclass_fields__", None)
    if slots is not None:
        return {name: _plain(getattr(value, name)) for name in slots}
    return {"value": value}


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _journal_changes(journal: Journal, previous: HealthReport | None, report: HealthReport) -> None:
    """Record what changed since the previous round: check statuses and the overall status."""
    for name, result in report.checks.items():
        before = previous.checks.get(name) if previous is not None else None
        if before is None or before.status is not result.status:
            journal.record(
                report.at, "health.check", name, status=result.status.value, message=result.message
            )
    if previous is None or previous.status is not report.status:
        journal.record(report.at, "health.status", "monitor", status=report.status.value, score=report.score)


class HealthMonitor:
    """Registered checks, run in rounds, scored and reported.

    Register checks with :meth:`register` (``critical=False`` caps an unhealthy check's effect
    on the overall status at DEGRADED; ``weight`` is its share of the score). Track breakers
    and retries with :meth:`track_breaker` / :meth:`track_retry` to include their statistics.
    With a ``journal``, every change of a check's status (``health.check``) and of the overall
    status (``health.status``) is recorded at the round's clock time.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        config: HealthMonitorConfig | None = None,
        sink: MetricSink | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.config = config if config is not None else HealthMonitorConfig()
        self.sink: MetricSink = sink if sink is not None else NoOpSink()
        self.journal = journal
        self._checks: dict[str, _Registration] = {}
        self._breakers: dict[str, StatsSource] = {}
        self._retries: dict[str, StatsSource] = {}
        self._subscribers: list[Subscriber] = []
        self._reports: deque[HealthReport] = deque(maxlen=self.config.history)
        self._scores: deque[float] = deque(maxlen=self.config.trend_window)
        self._rounds = 0
        self._task: asyncio.Task[None] | None = None

    def register(self, check: HealthCheck, *, weight: float = 1.0, critical: bool = True) -> HealthCheck:
        """Add ``check``; its name must be unique in this monitor. Returns the check."""
        if not isinstance(check, HealthCheck):
            raise InvalidConfig(
                f"{check!r} is not a HealthCheck: it needs a name and an async check() method.", value=check
            )
        if check.name in self._checks:
            raise InvalidConfig(
                f"a check named {check.name!r} is already registered; give each check a unique name.",
                field="name",
                value=check.name,
            )
        positive("weight", weight, "e.g. 1.0")
        self._checks[check.name] = _Registration(check, float(weight), critical)
        return check

    def unregister(self, name: str) -> bool:
        """Remove the check named ``name``; ``True`` if it was registered."""
        return self._checks.pop(name, None) is not None

    @property
    def checks(self) -> tuple[str, ...]:
        """Names of the registered checks, in registration order."""
        return tuple(self._checks)

    def track_breaker(self, breaker: StatsSource, *, name: str | None = None) -> None:
        """Include ``breaker``'s metrics snapshot in every report under ``name`` (default: its name)."""
        self._breakers[name or str(getattr(breaker, "name", f"breaker{len(self._breakers)}"))] = breaker

    def track_retry(self, retry: StatsSource, *, name: str | None = None) -> None:
        """Include ``retry``'s statistics in every report under ``name`` (default: its name).

        A component that only emits events (a ``harness.resilience.Retry``) gets an
        :class:`~harness.health.counters.EventCounter` attached, counting retries and give-ups
        from now on.
        """
        key = name or str(getattr(retry, "name", f"retry{len(self._retries)}"))
        if not _has_stats(retry) and callable(getattr(retry, "add_listener", None)):
            retry = EventCounter(key).watch(retry)
        self._retries[key] = retry

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber(report)`` after every round; returns a function that unsubscribes."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber) if subscriber in self._subscribers else None

    @property
    def latest(self) -> HealthReport | None:
        """The last round's report, or ``None`` before the first round."""
        return self._reports[-1] if self._reports else None

    def history(self) -> list[HealthReport]:
        """The kept reports, oldest first."""
        return list(self._reports)

    async def _timed(self, registration: _Registration) -> CheckResult:
        check = registration.check
        now = self.clock.now
        start = now()
        try:
            result = await check.check()
        except Exception as exc:  # noqa: BLE001 - a check that breaks its contract is reported, not fatal
            result = CheckResult(
                name=check.name, status=HealthStatus.UNHEALTHY, message=f"{type(exc).__name__}: {exc}"
            )
        end = now()
        return CheckResult(
            name=check.name,
            status=result.status,
            message=result.message,
            duration=end - start,
            checked_at=end,
            details=result.details,
        )

    async def _run_checks(self, registrations: list[_Registration]) -> list[CheckResult]:
        """Run the checks with at most ``max_concurrency`` in flight.

        This task is the first worker. The others are spawned only if a check actually
        suspends (a callback scheduled now runs only when this task yields), so a round of
        checks that answer at once creates no task at all.
        """
        results: list[CheckResult | None] = [None] * len(registrations)
        pending = iter(enumerate(registrations))

        async def worker() -> None:
            for index, registration in pending:
                results[index] = await self._timed(registration)

        def spawn(group: asyncio.TaskGroup, count: int) -> None:
            for _ in range(count):
                group.create_task(worker())

        extra = min(self.config.max_concurrency, len(registrations)) - 1
        with contextlib.suppress(TimeoutError):  # unfinished checks are reported below
            async with asyncio.timeout(self.config.round_timeout), asyncio.TaskGroup() as group:
                handle = asyncio.get_running_loop().call_soon(spawn, group, extra) if extra > 0 else None
                try:
                    await worker()
                finally:
                    if handle is not None:
                        handle.cancel()
        return [
            result if result is not None else self._unfinished(registration)
            for result, registration in zip(results, registrations, strict=True)
        ]

    def _unfinished(self, registration: _Registration) -> CheckResult:
        timeout = self.config.round_timeout
        return CheckResult(
            name=registration.check.name,
            status=HealthStatus.UNHEALTHY,
            message=f"no result within the round timeout of {timeout:g}s",
            duration=float(timeout or 0.0),
            checked_at=self.clock.now(),
        )

    def _overall(self, registrations: list[_Registration], results: list[CheckResult]) -> HealthStatus:
        statuses = []
        for registration, result in zip(registrations, results, strict=True):
            status = result.status
            if not registration.critical and status is HealthStatus.UNHEALTHY:
                status = HealthStatus.DEGRADED
            statuses.append(status)
        return worst(statuses)

    def _stats(self, sources: Mapping[str, StatsSource]) -> dict[str, Mapping[str, Any]]:
        stats: dict[str, Mapping[str, Any]] = {}
        for name, source in sources.items():
            try:
                stats[name] = MappingProxyType(dict(_read_stats(source)))
            except Exception as exc:  # noqa: BLE001 - a broken statistics source is reported in the report
                stats[name] = MappingProxyType({"error": f"{type(exc).__name__}: {exc}"})
        return stats

    async def run_round(self) -> HealthReport:
        """Run every check once and publish the report."""
        registrations = list(self._checks.values())
        started = self.clock.now()
        results = await self._run_checks(registrations)
        score = health_score((r.status, reg.weight) for r, reg in zip(results, registrations, strict=True))
        self._scores.append(score)
        self._rounds += 1
        report = HealthReport(
            status=self._overall(registrations, results),
            score=score,
            trend=score_trend(self._scores, self.config.trend_threshold),
            checks=MappingProxyType({r.name: r for r in results}),
            breakers=self._stats(self._breakers),
            retries=self._stats(self._retries),
            at=self.clock.now(),
            round=self._rounds,
            duration=self.clock.now() - started,
        )
        previous = self._reports[-1] if self._reports else None
        self._reports.append(report)
        if self.journal is not None:
            _journal_changes(self.journal, previous, report)
        self._emit(report)
        await self._publish(report)
        return report

    def _emit(self, report: HealthReport) -> None:
        sink = self.sink
        if type(sink) is NoOpSink:
            return
        for name, result in report.checks.items():
            labels = {"check": name}
            sink.gauge("health_check_status", result.status.score / 100.0, labels)
            sink.histogram("health_check_duration_seconds", result.duration, labels)
            if result.status is not HealthStatus.HEALTHY:
                sink.counter("health_check_failures", 1.0, labels)
        sink.gauge("health_score", report.score)
        sink.gauge("health_status", float(report.status.rank))
        sink.counter("health_rounds", 1.0)
        sink.histogram("health_round_duration_seconds", report.duration)

    async def _publish(self, report: HealthReport) -> None:
        for subscriber in list(self._subscribers):
            try:
                outcome = subscriber(report)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:  # noqa: BLE001 - a broken subscriber must not stop monitoring; it is logged loudly
                _log.exception("health subscriber %r failed on round %d", subscriber, report.round)

    async def run(self, *, rounds: int | None = None) -> None:
        """Run a round every ``interval`` seconds on the clock (forever, or ``rounds`` times)."""
        if rounds is not None:
            integer("rounds", rounds, "or None to run until cancelled", at_least=1)
        done = 0
        while True:
            started = self.clock.now()
            await self.run_round()
            done += 1
            if rounds is not None and done >= rounds:
                return
            await self.clock.sleep(max(0.0, self.config.interval - (self.clock.now() - started)))

    def start(self) -> asyncio.Task[None]:
        """Start continuous monitoring in a task on the running loop (stop with :meth:`stop`)."""
        if self._task is not None and not self._task.done():
            raise InvalidConfig("this monitor is already running; call stop() before starting it again.")
        self._task = asyncio.get_running_loop().create_task(self.run(), name="harness-health-monitor")
        return self._task

    async def stop(self) -> None:
        """Stop continuous monitoring and wait for the current round to be cancelled."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return f"HealthMonitor(checks={len(self._checks)}, rounds={self._rounds}, clock={self.clock!r})"
