"""Synthetic windows for simulations and calibration: vectorised, seeded, no I/O.

A :class:`VersionModel` describes a version's behaviour (error rate, latency distribution); a
:func:`synthetic_window` draws one window of traffic split by percent weights, from a numpy
Generator the caller derives from the run's seed (``Seeds(seed).numpy("...")``).
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from harness._checks import non_negative, one_of, positive, probability
from harness.errors import InvalidConfig
from harness.rollout.contract import FloatArray, Flow, Outcome, VersionWindow, Window
from harness.seeding import Seeds

__all__ = ["LatencyShape", "OperatingPoint", "VersionModel", "calibrate", "synthetic_window"]


class LatencyShape(enum.Enum):
    """The family of a :class:`VersionModel`'s latencies (``latency_sigma`` is their log-scale spread).

    ``LOGNORMAL``: log-normal. ``PARETO``: Pareto with tail index ``1 / latency_sigma`` (a heavy
    tail; index 2.5 for sigma 0.4). ``BIMODAL``: 80% log-normal around the median and 20% around
    four times it (a cache that misses one request in five).
    """

    LOGNORMAL = "lognormal"
    PARETO = "pareto"
    BIMODAL = "bimodal"


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionModel:
    """A version's behaviour: error probability and latency (median seconds, log-scale spread, shape).

    ``latency_factor`` multiplies every latency (1.1 = every percentile, p95 included, 10% slower);
    ``latency_resolution`` rounds latencies to a multiple of it (0.001: whole milliseconds, with
    ties), 0 keeps them exact.
    """

    error_rate: float = 0.01
    latency_median: float = 0.05
    latency_sigma: float = 0.5
    latency_factor: float = 1.0
    latency_shape: LatencyShape = LatencyShape.LOGNORMAL
    latency_resolution: float = 0.0

    def __post_init__(self) -> None:
        probability("error_rate", self.error_rate, "the share of failed requests")
        positive("latency_median", self.latency_median, "the typical latency", unit="seconds")
        non_negative("latency_sigma", self.latency_sigma, "the log-normal spread; 0 is a fixed latency")
        positive("latency_factor", self.latency_factor, "1.0 leaves the latency as drawn")
        object.__setattr__(self, "latency_shape", one_of("latency_shape", self.latency_shape, LatencyShape))
        non_negative(
            "latency_resolution", self.latency_resolution, "0.001 rounds to whole ms", unit="seconds"
        )
        if self.latency_shape is LatencyShape.PARETO:
            positive("latency_sigma", self.latency_sigma, "a Pareto's spread is 1 / its tail index, e.g. 0.4")

    def latencies(self, rng: np.random.Generator, size: int) -> FloatArray:
        """``size`` latencies of this version, in seconds."""
        shape, median, sigma = self.latency_shape, self.latency_median, self.latency_sigma
        lat: FloatArray
        if shape is LatencyShape.PARETO:
            lat = median * 2.0 ** (-sigma) * (1.0 + rng.pareto(1.0 / sigma, size))
        else:
            lat = rng.lognormal(math.log(median), sigma, size)
            if shape is LatencyShape.BIMODAL:
                lat = np.where(rng.random(size) < 0.2, 4.0 * lat, lat)
        lat = lat * self.latency_factor
        if self.latency_resolution > 0:
            lat = np.round(lat / self.latency_resolution) * self.latency_resolution
        return lat


def synthetic_window(
    rng: np.random.Generator,
    *,
    start: float,
    end: float,
    requests: int,
    weights: Mapping[str, float],
    models: Mapping[str, VersionModel],
    latency_sample: int | None = None,
) -> Window:
    """One window of ``requests`` requests split by ``weights`` (percent) across ``models``.

    Requests per version are multinomial; errors binomial; latencies log-normal. With
    ``latency_sample`` at most that many latencies are drawn per version (a sample of the window).
    """
    names = sorted(weights)
    missing = [n for n in names if n not in models]
    if missing:
        raise InvalidConfig(f"no VersionModel for {missing}; give one per weighted version.", field="models")
    p = np.array([weights[n] for n in names], dtype=np.float64) / 100.0
    counts = rng.multinomial(requests, p / p.sum())
    versions = {}
    for name, n in zip(names, counts, strict=True):
        model = models[name]
        errors = int(rng.binomial(n, model.error_rate)) if n else 0
        k = int(n) if latency_sample is None else min(int(n), latency_sample)
        lat = model.latencies(rng, k)
        versions[name] = VersionWindow(requests=int(n), errors=errors, latencies=lat)
    return Window(start=start, end=end, versions=versions)


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatingPoint:
    """How often a flow ended each way over seeded simulated runs."""

    runs: int
    outcomes: Mapping[Outcome, int]
    mean_windows: float

    def rate(self, *outcomes: Outcome) -> float:
        """Share of runs that ended in any of ``outcomes``."""
        return sum(self.outcomes.get(o, 0) for o in outcomes) / self.runs

    def binomial_margin(self, p: float, sigmas: float = 3.0) -> float:
        """``sigmas`` standard errors of a rate ``p`` over these runs."""
        return sigmas * math.sqrt(p * (1 - p) / self.runs)


def _calibration_run(
    run: int,
    *,
    make_flow: Callable[[], Flow],
    models: Mapping[str, VersionModel],
    seed: int,
    requests: int,
    window_seconds: float,
    latency_sample: int | None,
    max_windows: int,
) -> tuple[Outcome, int]:
    """One seeded rollout of a calibration: its outcome and how many windows it observed."""
    rng = Seeds(seed).numpy(f"calibrate/{run}")
    flow = make_flow()
    t = 0.0
    windows = 0
    for _ in range(max_windows):
        if flow.outcome is not Outcome.RUNNING:
            break
        w = synthetic_window(
            rng,
            start=t,
            end=t + window_seconds,
            requests=requests,
            weights=flow.weights,
            models=models,
            latency_sample=latency_sample,
        )
        flow.observe(w)
        t += window_seconds
        windows += 1
    return flow.outcome, windows


def calibrate(
    make_flow: Callable[[], Flow],
    models: Mapping[str, VersionModel],
    *,
    runs: int,
    seed: int,
    requests: int = 10_000,
    window_seconds: float = 10.0,
    latency_sample: int | None = 2000,
    max_windows: int = 1000,
    map: Callable[[Callable[[int], tuple[Outcome, int]], Iterable[int]], Iterable[tuple[Outcome, int]]] = map,
) -> OperatingPoint:
    """Run ``runs`` simulated rollouts (each from its own seeded stream) and count the outcomes.

    Run ``k`` draws only from the stream ``calibrate/k`` of ``seed``, so the runs are independent
    and ``map`` may compute them anywhere, in any order, as long as it returns the results in the
    order of the runs: the built-in ``map`` (default), or ``harness.swarm.swarm_map(client)`` on
    a Dask cluster, give the same operating point.
    """
    one = functools.partial(
        _calibration_run,
        make_flow=make_flow,
        models=models,
        seed=seed,
        requests=requests,
        window_seconds=window_seconds,
        latency_sample=latency_sample,
        max_windows=max_windows,
    )
    outcomes: dict[Outcome, int] = {}
    windows = 0
    for outcome, seen in map(one, range(runs)):
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        windows += seen
    return OperatingPoint(runs=runs, outcomes=outcomes, mean_windows=windows / runs)
