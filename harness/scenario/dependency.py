"""A dependency (Redis, a downstream API) behind the real resilience primitives, per request.

Each call to the dependency goes through the library's own ``BreakerCore`` (the sans-IO
state machine behind ``CircuitBreaker``) and ``RetryBudget`` at the request's virtual time, so
a scenario exercises exactly the code users ship. Overload is modelled too: when attempts per
second exceed the dependency's capacity, the excess fails, which is how retry storms feed on
themselves and how a retry budget stops them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness.journal import Journal
from harness.resilience import CircuitBreakerConfig, RetryBudget
from harness.resilience.breaker import BreakerCore
from harness.scenario.faults import FaultEffects
from harness.scenario.model import ResilienceSpec

__all__ = ["DependencySim", "DependencyStats"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_BASE_LATENCY = 0.001


@dataclass(slots=True)
class DependencyStats:
    """Counters of one dependency over a run."""

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    rejected: int = 0
    failures: int = 0
    fallbacks: int = 0
    opened: int = 0

    @property
    def retry_ratio(self) -> float:
        """Retries per call."""
        return self.retries / self.calls if self.calls else 0.0


class DependencySim:
    """Calls to one dependency through a breaker, retries with a budget, and a fallback."""

    def __init__(
        self, spec: ResilienceSpec, effects: FaultEffects, rng: random.Random, journal: Journal
    ) -> None:
        self.spec = spec
        self.effects = effects
        self.rng = rng
        self.journal = journal
        self.stats = DependencyStats()
        self.breaker = BreakerCore(
            CircuitBreakerConfig(
                failure_rate_threshold=spec.breaker_failure_rate,
                window=spec.breaker_window,
                minimum_calls=min(spec.breaker_minimum_calls, spec.breaker_window),
                open_for=spec.breaker_open_for,
                half_open_calls=spec.breaker_half_open_calls,
            ),
            name=spec.dependency,
        )
        self.budget = (
            RetryBudget(ratio=spec.retry_budget, min_retries_per_second=0.0, window=10.0)
            if spec.retry_budget is not None
            else None
        )
        self._attempt_rate = 0.0
        self._window_overload = 0.0
        self._window_attempts = 0
        self._window_calls = 0

    def _overload(self) -> float:
        capacity = self.spec.dependency_capacity
        if capacity is None or self._attempt_rate <= capacity:
            return 0.0
        return 1.0 - capacity / self._attempt_rate

    def open_window(self) -> None:
        """Start a window: its overload follows the attempt rate of the last window with calls."""
        self._window_overload = self._overload()
        self._window_attempts = self.stats.attempts
        self._window_calls = 0

    def serve(self, arrivals: FloatArray) -> tuple[FloatArray, BoolArray]:
        """Latency added by the dependency and whether each request failed because of it.

        ``arrivals`` are calls of the open window in time order; a window may be served in
        several consecutive parts.
        """
        n = arrivals.size
        added = np.empty(n)
        failed = np.zeros(n, dtype=bool)
        overload = self._window_overload
        for i, t in enumerate(arrivals.tolist()):
            added[i], failed[i] = self._call(t, overload)
        self._window_calls += n
        return added, failed

    def close_window(self, window_length: float) -> None:
        """End the window: its attempts per second set the next window's overload."""
        if self._window_calls and window_length > 0:
            self._attempt_rate = (self.stats.attempts - self._window_attempts) / window_length

    def _call(self, t: float, overload: float) -> tuple[float, bool]:
        spec, stats, breaker, rng = self.spec, self.stats, self.breaker, self.rng
        stats.calls += 1
        if self.budget is not None:
            self.budget.deposit_at(t)
        p_fail = 1.0 - (1.0 - self.effects.failure_probability(t)) * (1.0 - overload)
        latency = _BASE_LATENCY + self.effects.added_latency(t)
        ok = False
        for attempt in range(1, spec.retry_attempts + 1):
            gen = breaker.acquire(t)
            if gen < 0:
                stats.rejected += 1
                break
            stats.attempts += 1
            failure = rng.random() < p_fail
            breaker.record(BreakerCore.FAILURE if failure else 0, gen, t + latency)
            self._note_transitions()
            if not failure:
                ok = True
                break
            stats.failures += 1
            if attempt == spec.retry_attempts or (self.budget is not None and not self.budget.withdraw_at(t)):
                break
            stats.retries += 1
            latency += _BASE_LATENCY + self.effects.added_latency(t)
        if ok:
            return latency, False
        if spec.fallback_latency is not None:
            stats.fallbacks += 1
            return latency + spec.fallback_latency, rng.random() < spec.fallback_error_rate
        return latency, True

    def _note_transitions(self) -> None:
        for tr in self.breaker.take_transitions():
            if tr.to_state.value == "open":
                self.stats.opened += 1
            self.journal.record(
                tr.at,
                "breaker.transition",
                f"resilience/{self.spec.dependency}",
                from_state=tr.from_state.value,
                to_state=tr.to_state.value,
            )

    def settle(self, now: float) -> None:
        """Let an OPEN breaker whose time is up report its move to HALF_OPEN."""
        self.breaker.state_at(now)
        self._note_transitions()
