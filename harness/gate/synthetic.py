"""Synthetic benchmark timings from a noisy shared machine, to calibrate and test the gate.

The model has three layers, each seeded:

* ``jitter``: independent log-normal noise per round (timer, caches, branch predictors);
* ``outlier_rate``/``outlier_factor``: rounds hit by a pause (GC, preemption) run 1.3-3x slower;
* ``drift``: a slowly wandering machine state (CPU frequency, noisy neighbours), a log-normal
  factor following an AR(1) process whose correlation lasts ``drift_rounds`` rounds;
* ``run_offset``: a log-normal factor drawn once per run and shared by all its rounds (memory
  layout, address-space randomisation, what the process warmed up): the run-to-run differences
  that even alternating runs do not share (Kalibera & Jones 2013 measure such per-execution
  variation).

Two runs far apart in time see independent drift, which is what makes separate baseline and
current runs disagree; alternating runs (``interleaved``) share it, but not their offsets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from harness._checks import integer, invalid, non_negative, positive, probability

__all__ = ["NoisyMachine"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NoisyMachine:
    """A benchmark of true duration ``true_time`` seconds measured over ``rounds`` rounds."""

    true_time: float = 1e-3
    rounds: int = 30
    jitter: float = 0.04
    outlier_rate: float = 0.08
    outlier_factor: tuple[float, float] = (1.3, 3.0)
    drift: float = 0.10
    drift_rounds: float = 60.0
    run_offset: float = 0.0

    def __post_init__(self) -> None:
        positive("true_time", self.true_time, "the benchmark's true duration", unit="seconds")
        integer("rounds", self.rounds, "measurement rounds", at_least=1)
        non_negative("jitter", self.jitter, "relative noise per round, e.g. 0.04")
        probability("outlier_rate", self.outlier_rate, "the share of rounds hit by an outlier")
        low, high = self.outlier_factor
        if not 1 <= low <= high:
            raise invalid(
                "outlier_factor", self.outlier_factor, "(low, high) with 1 <= low <= high", "e.g. (1.3, 3.0)"
            )
        non_negative("drift", self.drift, "the standard deviation of the log drift, e.g. 0.1")
        positive("drift_rounds", self.drift_rounds, "rounds the drift takes to decorrelate")
        non_negative("run_offset", self.run_offset, "the standard deviation of a run's log offset, e.g. 0.05")

    def drift_path(self, rng: np.random.Generator, length: int) -> np.ndarray:
        """Log drift per round: a stationary AR(1) path with standard deviation ``drift``."""
        rho = math.exp(-1.0 / self.drift_rounds)
        shocks = rng.normal(0.0, self.drift * math.sqrt(1 - rho * rho), size=length)
        state = rng.normal(0.0, self.drift)
        path, _ = lfilter([1.0], [1.0, -rho], shocks, zi=[rho * state])
        return np.asarray(path, dtype=float)

    def timings(self, rng: np.random.Generator, log_drift: np.ndarray, slowdown: float = 0.0) -> np.ndarray:
        """One run's per-round timings over the given drift (one value per round)."""
        n = log_drift.size
        offset = rng.normal(0.0, self.run_offset) if self.run_offset > 0 else 0.0
        noise = offset + rng.normal(0.0, self.jitter, size=n)
        hit = rng.random(n) < self.outlier_rate
        factor = np.where(hit, rng.uniform(*self.outlier_factor, size=n), 1.0)
        return self.true_time * (1.0 + slowdown) * np.exp(log_drift + noise) * factor

    def run(self, rng: np.random.Generator, slowdown: float = 0.0) -> np.ndarray:
        """A run on its own (independent drift): what a separate CI job measures."""
        return self.timings(rng, self.drift_path(rng, self.rounds), slowdown)

    def interleaved(
        self, rng: np.random.Generator, pairs: int, slowdown: float = 0.0
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``pairs`` runs of A and of B alternating A B B A ... over one shared drift path."""
        path = self.drift_path(rng, 2 * pairs * self.rounds)
        runs_a: list[np.ndarray] = []
        runs_b: list[np.ndarray] = []
        order = [side for r in range(pairs) for side in (("A", "B") if r % 2 == 0 else ("B", "A"))]
        for index, side in enumerate(order):
            segment = path[index * self.rounds : (index + 1) * self.rounds]
            if side == "A":
                runs_a.append(self.timings(rng, segment))
            else:
                runs_b.append(self.timings(rng, segment, slowdown))
        return runs_a, runs_b
