"""Simulated versions: vectorised model services and Python callables on per-request virtual time.

A service turns the arrival times of the requests routed to it in one window into outcomes
(latency, error, per-request metrics). Model services draw everything with numpy in one go;
callable services call the user's function once per request with a :class:`RequestClock`, whose
sleeps add to that request's latency instead of moving the run's clock, so thousands of
concurrent requests cost one function call each.
"""

from __future__ import annotations

import abc
import random
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from types import CoroutineType
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.errors import InvalidConfig
from harness.scenario.faults import FaultEffects
from harness.scenario.imports import resolve_callable
from harness.scenario.model import CallableSpec, ModelSpec
from harness.scenario.requests import RequestMaker

__all__ = ["CallableService", "ModelService", "Outcomes", "RequestClock", "Service"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(slots=True)
class Outcomes:
    """What happened to the requests one version served in one window.

    The arrays hold one entry per request, or, when ``totals`` is set, one per request of a
    uniform random sample of the window's requests (a window too large to keep whole, see
    :mod:`harness.scenario.chunks`); ``totals`` is then ``(requests, errors)`` of the whole window.
    """

    latencies: FloatArray
    errors: BoolArray
    metrics: dict[str, FloatArray] = field(default_factory=dict)
    responses: list[Any] | None = None
    totals: tuple[int, int] | None = None

    @property
    def requests(self) -> int:
        """How many requests these outcomes cover."""
        return int(self.latencies.size) if self.totals is None else self.totals[0]

    @property
    def failures(self) -> int:
        """How many of them failed."""
        return int(self.errors.sum()) if self.totals is None else self.totals[1]

    @classmethod
    def empty(cls) -> Outcomes:
        """Outcomes of no requests."""
        return cls(latencies=np.empty(0), errors=np.zeros(0, dtype=bool))


class Service(abc.ABC):
    """A simulated version. Subclasses implement :meth:`serve`."""

    name: str

    @abc.abstractmethod
    def serve(
        self,
        arrivals: FloatArray,
        effects: FaultEffects,
        rng: np.random.Generator,
        *,
        window_rate: float,
        requests: RequestMaker,
    ) -> Outcomes:
        """Outcomes for requests arriving at ``arrivals`` (sorted seconds), kinds drawn from ``requests``."""


class ModelService(Service):
    """A version described by a latency distribution, error rate, capacity and warm-up."""

    def __init__(self, name: str, spec: ModelSpec) -> None:
        self.name = name
        self.spec = spec
        self.first_traffic: float | None = None

    def serve(
        self,
        arrivals: FloatArray,
        effects: FaultEffects,
        rng: np.random.Generator,
        *,
        window_rate: float,
        requests: RequestMaker,
    ) -> Outcomes:
        """Vectorised outcomes: base latency x request kind x warm-up x queueing, errors, then faults."""
        n = arrivals.size
        if n == 0:
            return Outcomes.empty()
        spec = self.spec
        if self.first_traffic is None:
            self.first_traffic = float(arrivals[0])
        latencies = spec.latency.sample(rng, n)
        if not requests.uniform:
            latencies *= requests.factors[requests.draw(n)]
        if spec.warmup > 0:
            age = np.clip((arrivals - self.first_traffic) / spec.warmup, 0.0, 1.0)
            latencies *= 1.0 + (spec.warmup_factor - 1.0) * (1.0 - age)
        errors = rng.random(n) < spec.error_rate if spec.error_rate else np.zeros(n, dtype=bool)
        if spec.capacity is not None:
            latencies, errors = _queueing(latencies, errors, window_rate / spec.capacity, rng)
        metrics = {name: rng.normal(mean, std, n) for name, (mean, std) in spec.metrics.items()}
        latencies, errors = effects.apply(arrivals, latencies, errors, rng)
        return Outcomes(latencies=latencies, errors=errors, metrics=metrics)


def _queueing(
    latencies: FloatArray, errors: BoolArray, utilisation: float, rng: np.random.Generator
) -> tuple[FloatArray, BoolArray]:
    """M/M/1-style slowdown 1/(1-rho) below saturation; above it, the excess is shed as errors."""
    if utilisation < 0.95:
        return latencies / (1.0 - utilisation), errors
    shed = rng.random(latencies.size) < max(0.0, 1.0 - 0.95 / utilisation)
    return latencies * 20.0, errors | shed


class RequestClock:
    """The clock a callable version sees while serving one request.

    ``now()`` is the request's arrival plus the time it has spent so far; ``sleep`` and
    ``sleep_sync`` add to that time and return at once. The run's own clock does not move, so
    requests that overlap in virtual time do not delay each other.
    """

    __slots__ = ("_start", "elapsed")

    def __init__(self) -> None:
        self._start = 0.0
        self.elapsed = 0.0

    def begin(self, arrival: float) -> None:
        """Start timing a request that arrived at ``arrival``."""
        self._start = arrival
        self.elapsed = 0.0

    def now(self) -> float:
        """The request's current virtual time."""
        return self._start + self.elapsed

    async def sleep(self, seconds: float) -> None:
        """Spend ``seconds`` of this request's time."""
        if seconds > 0:
            self.elapsed += seconds

    def sleep_sync(self, seconds: float) -> None:
        """Spend ``seconds`` of this request's time."""
        if seconds > 0:
            self.elapsed += seconds


Handler = Callable[[dict[str, Any]], Any]


def _not_on_clock(target: str) -> InvalidConfig:
    return InvalidConfig(
        f"callable {target!r} awaited something other than the clock it was given; in simulated "
        "mode async versions must wait only on that clock (clock.sleep)."
    )


def _drive(coro: Coroutine[Any, Any, Any], target: str) -> Any:
    """Run a coroutine that waits only on its RequestClock (it never suspends) to completion."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    except RuntimeError as exc:
        if "no running event loop" in str(exc):
            raise _not_on_clock(target) from None
        raise
    coro.close()
    raise _not_on_clock(target)


class CallableService(Service):
    """A version implemented by Python code, called once per request on virtual time.

    The target is a factory ``make(rng: random.Random, clock) -> handler``; the handler takes a
    request dict and returns a response (or raises to fail). Async handlers are supported as
    long as they wait only on the clock they are given.
    """

    def __init__(self, name: str, spec: CallableSpec, rng: random.Random) -> None:
        self.name = name
        self.target = spec.target
        self.clock = RequestClock()
        factory = resolve_callable(spec.target)
        try:
            handler = factory(rng, self.clock)
        except TypeError as exc:
            raise InvalidConfig(
                f"callable {spec.target!r} must be a factory make(rng, clock) -> handler ({exc})"
            ) from None
        if not callable(handler):
            raise InvalidConfig(f"callable {spec.target!r} returned {handler!r}, not a request handler")
        self.handler: Callable[[dict[str, Any]], Any | Awaitable[Any]] = handler

    def serve(
        self,
        arrivals: FloatArray,
        effects: FaultEffects,
        rng: np.random.Generator,
        *,
        window_rate: float,
        requests: RequestMaker,
    ) -> Outcomes:
        """Call the handler for every request, in arrival order."""
        n = arrivals.size
        kinds = requests.draw(n).tolist()
        latencies = np.empty(n)
        errors = np.zeros(n, dtype=bool)
        responses: list[Any] = []
        clock, handler, target = self.clock, self.handler, self.target
        for i, arrival in enumerate(arrivals.tolist()):
            clock.begin(arrival)
            request = requests.request(kinds[i])
            try:
                result = handler(request)
                if type(result) is CoroutineType:
                    result = _drive(result, target)
                responses.append(result)
            except InvalidConfig:
                raise
            except Exception:  # noqa: BLE001 - a failing request is an outcome, not a crash
                errors[i] = True
                responses.append(None)
            latencies[i] = clock.elapsed
        latencies, errors = effects.apply(arrivals, latencies, errors, rng)
        return Outcomes(latencies=latencies, errors=errors, responses=responses)
