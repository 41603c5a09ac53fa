"""The open-model driver: requests start on schedule whether or not earlier ones have finished.

Intended start times come from a :class:`~harness.load.profiles.Profile`. ``connections``
workers (one per keep-alive connection, as in wrk2) take the next intended start from the shared
schedule, wait for it if it lies ahead, send, and record two latencies:

* **corrected** latency, from the intended start to completion: when every connection is stuck
  behind a slow response, the requests that should have started meanwhile are charged the time
  they waited (coordinated omission corrected, as wrk2 does);
* **service time**, from the actual send to completion: what a closed-loop tool such as Locust
  reports.

It also records the driver's own scheduling lag (how late a waiting worker woke, and how late a
probe that wakes every few milliseconds ran: the event loop's delay) and its CPU share; a run
where the driver was the bottleneck is marked ``valid=False`` with the reasons.
Starts still unsent ``drain`` seconds after the profile ends are counted as dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from harness._checks import integer, invalid, non_negative, positive, within
from harness.clock import Clock, SystemClock
from harness.errors import InvalidConfig
from harness.load.profiles import ArrivalProcess, Profile, arrival_times
from harness.load.targets import ScheduledTarget, Target
from harness.load.thresholds import (
    EXIT_DRIVER_BOUND,
    EXIT_NO_SUCCESS,
    Threshold,
    ThresholdOutcome,
    ThresholdReport,
    evaluate_thresholds,
)
from harness.stats.histogram import LatencyRecorder, LatencySummary

__all__ = ["DriverConfig", "DriverResult", "OpenModelDriver"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DriverConfig:
    """How the open-model driver runs a profile."""

    profile: Profile
    connections: int = 64  # concurrent requests at most (keep-alive connections for HTTP)
    drain: float = 1.0  # seconds after the profile ends during which late starts are still sent
    latency_target: float = 0.1  # seconds; scheduling-lag p99 above max_lag_fraction of it is driver-bound
    max_lag_fraction: float = 0.05
    max_cpu: float = 0.85  # process CPU share above which a real-time run is driver-bound
    max_requests: int | None = None  # stop starting requests after this many
    process: ArrivalProcess = ArrivalProcess.UNIFORM
    seed: int | None = None  # required for ArrivalProcess.POISSON
    thresholds: tuple[Threshold, ...] = ()
    check_every: float = 0.5  # seconds between abort_on_fail evaluations
    lag_probe_every: float = 0.005  # seconds between wake-ups of the event-loop lag probe

    def __post_init__(self) -> None:
        if not isinstance(self.profile, Profile):
            raise invalid(
                "profile", self.profile, "a load profile", "e.g. ConstantArrival(rate=100, duration=30)"
            )
        integer("connections", self.connections, "concurrent requests", at_least=1)
        positive(
            "latency_target", self.latency_target, "the latency the driver must stay under", unit="seconds"
        )
        positive("check_every", self.check_every, "between abort_on_fail evaluations", unit="seconds")
        positive("lag_probe_every", self.lag_probe_every, "between event-loop lag probes", unit="seconds")
        non_negative("drain", self.drain, "how long to wait for requests in flight", unit="seconds")
        within(
            "max_lag_fraction", self.max_lag_fraction, "(0, 1]", "of the latency target", what="a fraction"
        )
        within("max_cpu", self.max_cpu, "(0, 1]", "of one core the driver may use", what="a fraction")
        if self.max_requests is not None:
            integer("max_requests", self.max_requests, "or None for no limit", at_least=1)
        if self.process is ArrivalProcess.POISSON and self.seed is None:
            raise InvalidConfig(
                "process=POISSON needs seed= so the arrivals replay.", field="seed", value=None
            )
        object.__setattr__(self, "thresholds", tuple(_as_threshold(t) for t in self.thresholds))


def _as_threshold(value: Threshold | str) -> Threshold:
    return value if isinstance(value, Threshold) else Threshold.parse(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class DriverResult:
    """What one open-model run measured; latencies in seconds."""

    duration: float  # the profile's length
    origin: float  # clock time of the profile's t=0 (the first intended start)
    elapsed: float  # clock seconds from the first intended start to the last completion
    planned: int  # intended starts in the profile (or up to max_requests)
    sent: int
    completed: int
    errors: int
    dropped: int  # intended starts never sent (late beyond the drain, or cut by an abort)
    target_rate: float
    achieved_rate: float
    corrected: LatencySummary
    service: LatencySummary
    lag: LatencySummary
    cpu: float | None  # process CPU share during the run (real time only)
    statuses: dict[str, int]
    invalid_reasons: tuple[str, ...]
    aborted_by: ThresholdOutcome | None = None
    thresholds: ThresholdReport = field(default_factory=lambda: ThresholdReport(()))
    failed_statuses: dict[str, int] = field(default_factory=dict)  # the labels of failed requests

    @property
    def valid(self) -> bool:
        """False when the driver itself was the bottleneck (see ``invalid_reasons``)."""
        return not self.invalid_reasons

    @property
    def succeeded(self) -> int:
        """Requests that completed without an error."""
        return self.completed - self.errors

    @property
    def exit_code(self) -> int:
        """0, or why the run did not pass, most fundamental first.

        :data:`EXIT_NO_SUCCESS` when no request succeeded (nothing about the service was
        measured but failures), :data:`EXIT_DRIVER_BOUND` when the measurement is not valid,
        :data:`EXIT_THRESHOLDS` when a threshold failed.
        """
        if self.succeeded == 0:
            return EXIT_NO_SUCCESS
        if not self.valid:
            return EXIT_DRIVER_BOUND
        return self.thresholds.exit_code

    def verdict(self) -> str:
        """One line: ``valid``, or what makes the run not count, with its reasons."""
        if self.succeeded == 0:
            failed = f"all {self.completed} failed" if self.completed else "none completed"
            return f"NO REQUEST SUCCEEDED ({failed}): nothing about the service's latency was measured"
        if not self.valid:
            return "INVALID (the driver measured itself): " + "; ".join(self.invalid_reasons)
        return "valid"

    @property
    def error_rate(self) -> float:
        """Errors per completed request."""
        return self.errors / self.completed if self.completed else 0.0

    def metrics(self) -> dict[str, float]:
        """Flat metrics for thresholds and SLO checks."""
        return _metrics(
            corrected=self.corrected,
            service=self.service,
            completed=self.completed,
            errors=self.errors,
            dropped=self.dropped,
            planned=self.planned,
            rps=self.achieved_rate,
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary for reports."""
        return {
            "duration": self.duration,
            "origin": self.origin,
            "elapsed": self.elapsed,
            "planned": self.planned,
            "sent": self.sent,
            "completed": self.completed,
            "errors": self.errors,
            "dropped": self.dropped,
            "target_rate": self.target_rate,
            "achieved_rate": self.achieved_rate,
            "corrected": self.corrected.as_dict(),
            "service": self.service.as_dict(),
            "lag": self.lag.as_dict(),
            "cpu": self.cpu,
            "statuses": dict(self.statuses),
            "failed_statuses": dict(self.failed_statuses),
            "valid": self.valid,
            "verdict": self.verdict(),
            "exit_code": self.exit_code,
            "invalid_reasons": list(self.invalid_reasons),
            "aborted_by": None if self.aborted_by is None else self.aborted_by.describe(),
            "thresholds": [o.describe() for o in self.thresholds.outcomes],
        }


def _metrics(
    *,
    corrected: LatencySummary,
    service: LatencySummary,
    completed: int,
    errors: int,
    dropped: int,
    planned: int,
    rps: float,
) -> dict[str, float]:
    out: dict[str, float] = {}
    for prefix, summary in (("", corrected), ("service_", service)):
        d = summary.as_dict()
        for key in ("p50", "p90", "p95", "p99", "p99.9", "max", "mean"):
            out[prefix + key] = d[key]
    out["error_rate"] = errors / completed if completed else 0.0
    out["dropped_rate"] = dropped / planned if planned else 0.0
    out["rps"] = rps
    out["requests"] = float(completed)
    out["errors"] = float(errors)
    return out


class _Schedule:
    """The shared queue of intended start times (absolute clock seconds)."""

    def __init__(self, chunks: Iterator[np.ndarray[Any, Any]], origin: float, limit: int | None) -> None:
        self._chunks = chunks
        self._origin = origin
        self._buf: list[float] = []
        self._i = 0
        self._limit = limit
        self.taken = 0
        self.issued = 0  # starts handed out, given-back ones included: the next start's number
        self._returned: list[float] = []

    def next(self) -> float | None:
        if self._limit is not None and self.taken >= self._limit:
            return None
        if self._i >= len(self._buf):
            chunk = next(self._chunks, None)
            if chunk is None:
                return None
            self._buf = (chunk + self._origin).tolist()
            self._i = 0
        value = self._buf[self._i]
        self._i += 1
        self.taken += 1
        self.issued += 1
        return value

    def give_back(self, value: float) -> None:
        self.taken -= 1
        self._returned.append(value)

    def unsent(self) -> int:
        """Intended starts never taken (consumes the schedule)."""
        rest = len(self._returned) + len(self._buf) - self._i + sum(len(c) for c in self._chunks)
        if self._limit is not None:
            rest = min(rest, self._limit - self.taken)
        return rest


class OpenModelDriver:
    """Runs a profile against a target at its intended rate, with corrected latency.

    ``await OpenModelDriver(config, target).run()`` returns a :class:`DriverResult`. On a
    ``VirtualClock`` (``clock.run(driver.run())``) a callable target runs in virtual time:
    deterministic and instant.
    """

    def __init__(self, config: DriverConfig, target: Target, *, clock: Clock | None = None) -> None:
        self.config = config
        self.target = target
        self.clock: Clock = clock or SystemClock()
        self._corrected = LatencyRecorder()
        self._service = LatencyRecorder()
        self._lag = LatencyRecorder()
        self._statuses: Counter[str] = Counter()
        self._failed: Counter[str] = Counter()
        self._errors = 0
        self._stop = False
        self._aborted_by: ThresholdOutcome | None = None
        self._origin = 0.0
        self._last_end = 0.0

    async def run(self) -> DriverResult:
        """Send the whole profile and return the measurements."""
        cfg = self.config
        await self.target.open(cfg.connections)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        self._origin = self._last_end = self.clock.now()
        schedule = _Schedule(self._arrivals(), self._origin, cfg.max_requests)
        deadline = self._origin + cfg.profile.duration + cfg.drain
        helpers = [asyncio.ensure_future(self._probe_lag())]
        if self._abort_thresholds():
            helpers.append(asyncio.ensure_future(self._monitor()))
        try:
            await asyncio.gather(*(self._worker(schedule, deadline) for _ in range(cfg.connections)))
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self.target.close()
        cpu = _cpu_share(time.process_time() - cpu0, time.perf_counter() - wall0, self.clock)
        return self._result(schedule.taken, schedule.unsent(), cpu)

    def _arrivals(self) -> Iterator[np.ndarray[Any, Any]]:
        cfg = self.config
        rng = np.random.default_rng(cfg.seed) if cfg.seed is not None else None
        return arrival_times(cfg.profile, process=cfg.process, rng=rng)

    def _abort_thresholds(self) -> tuple[Threshold, ...]:
        return tuple(t for t in self.config.thresholds if t.abort_on_fail)

    async def _worker(self, schedule: _Schedule, deadline: float) -> None:
        clock, target = self.clock, self.target
        scheduled = target if isinstance(target, ScheduledTarget) else None
        while not self._stop:
            intended = schedule.next()
            if intended is None:
                return
            number = schedule.issued - 1
            now = clock.now()
            if intended > now:
                await clock.sleep(intended - now)
                now = clock.now()
                self._lag.record(max(0.0, now - intended))  # a timer may fire a tick early
            if self._stop or now > deadline:
                schedule.give_back(intended)
                return
            if scheduled is not None:
                ok, label = await scheduled.send_scheduled(number, intended - self._origin)
            else:
                ok, label = await target.send()
            end = clock.now()
            self._record(intended, now, end, ok, label)

    def _record(self, intended: float, started: float, end: float, ok: bool, label: str) -> None:
        # intended <= started <= end; a clock that reached `intended` by adding a float delay may
        # land a few ulps short of it, which must not become a negative latency.
        self._corrected.record(max(0.0, end - intended))
        self._service.record(max(0.0, end - started))
        self._statuses[label] += 1
        if not ok:
            self._errors += 1
            self._failed[label] += 1
        self._last_end = max(self._last_end, end)

    async def _probe_lag(self) -> None:
        """Wake every ``lag_probe_every`` seconds and record how late: the event loop's own delay.

        A stall of ``L`` seconds swallows the wake-ups that were due during it, so it is recorded
        as those wake-ups would have been: ``L``, ``L - every``, ``L - 2 every``... (jHiccup's
        correction, HdrHistogram's ``recordValueWithExpectedInterval``). Recorded once, a 100 ms
        stall would be one late sample among thousands, and the lag p99 that decides validity
        would miss the stalls that distort the requests' own p99.
        """
        clock, every = self.clock, self.config.lag_probe_every
        while True:
            due = clock.now() + every
            await clock.sleep(every)
            late = max(0.0, clock.now() - due)
            self._lag.record(late)
            if late >= 2 * every:
                self._lag.record_many(np.arange(late - every, every * (1 - 1e-9), -every))

    async def _monitor(self) -> None:
        thresholds = self._abort_thresholds()
        while not self._stop:
            await self.clock.sleep(self.config.check_every)
            elapsed = self.clock.now() - self._origin
            live = self._live_metrics(elapsed)
            for threshold in thresholds:
                if elapsed < threshold.delay or live["requests"] == 0:
                    continue
                outcome = threshold.check(live)
                if not outcome.passed:
                    self._aborted_by = outcome
                    self._stop = True
                    return

    def _live_metrics(self, elapsed: float) -> dict[str, float]:
        completed = self._corrected.count
        rps = completed / elapsed if elapsed > 0 else 0.0
        return _metrics(
            corrected=self._corrected.summary(),
            service=self._service.summary(),
            completed=completed,
            errors=self._errors,
            dropped=0,
            planned=0,
            rps=rps,
        )

    def _result(self, sent: int, unsent: int, cpu: float | None) -> DriverResult:
        cfg = self.config
        planned = sent + unsent
        completed = self._corrected.count
        lag = self._lag.summary()
        duration = cfg.profile.duration
        achieved = completed / duration
        result = DriverResult(
            duration=duration,
            origin=self._origin,
            elapsed=self._last_end - self._origin,
            planned=planned,
            sent=sent,
            completed=completed,
            errors=self._errors,
            dropped=unsent,
            target_rate=planned / duration,
            achieved_rate=achieved,
            corrected=self._corrected.summary(),
            service=self._service.summary(),
            lag=lag,
            cpu=cpu,
            statuses=dict(self._statuses),
            invalid_reasons=_invalid_reasons(cfg, lag, cpu),
            aborted_by=self._aborted_by,
            failed_statuses=dict(self._failed),
        )
        report = evaluate_thresholds(cfg.thresholds, result.metrics())
        return _with_thresholds(result, report)


def _with_thresholds(result: DriverResult, report: ThresholdReport) -> DriverResult:
    return replace(result, thresholds=report)


def _cpu_share(cpu: float, wall: float, clock: Clock) -> float | None:
    if not isinstance(clock, SystemClock) or wall <= 0:
        return None
    return cpu / wall


def _invalid_reasons(cfg: DriverConfig, lag: LatencySummary, cpu: float | None) -> tuple[str, ...]:
    reasons: list[str] = []
    limit = cfg.max_lag_fraction * cfg.latency_target
    if lag.count and lag.p99 > limit:
        reasons.append(
            f"scheduling lag p99 {lag.p99 * 1e3:.2f} ms exceeds {cfg.max_lag_fraction:.0%} of the "
            f"{cfg.latency_target * 1e3:g} ms latency target ({limit * 1e3:.2f} ms): the driver was late"
        )
    if cpu is not None and cpu > cfg.max_cpu:
        reasons.append(
            f"driver process CPU {cpu:.0%} exceeds {cfg.max_cpu:.0%}: the driver was the bottleneck"
        )
    return tuple(reasons)
