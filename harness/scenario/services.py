"""Simulated model versions: a window's outcomes drawn vectorised, and the outcomes' shape.

A service turns the arrival times of the requests routed to it in one window into outcomes
(latency, error, per-request metrics); model services draw everything with numpy in one go.
Versions that run the user's code (callables, ASGI apps) are served per request on a virtual-time
loop by :mod:`harness.scenario.realcode`, which fills the same :class:`Outcomes`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.scenario.faults import FaultEffects
from harness.scenario.model import ModelSpec
from harness.scenario.requests import RequestMaker

__all__ = ["ModelService", "Outcomes", "Service"]

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
