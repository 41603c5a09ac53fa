"""Results of a swarm, counted as they stream in: memory grows with failures, never with runs.

A :class:`Tally` per scenario keeps counts, total seconds, the slowest runs (a bounded heap) and
one record per failure (its seed, failed expectations and replay command): a passing run leaves
nothing behind but a count. :meth:`Tally.stats` gives the frozen :class:`ScenarioStats` the
reports render: the failure rate with its Wilson 95% interval (Wilson 1927), the flow's alpha and
whether the rate is significantly above the scenario's bound (:func:`flakiness_level`).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.mode import Mode
from harness.stats.binomial import RateInterval, exceeds_rate, wilson_interval
from harness.swarm.plan import SwarmScenario
from harness.swarm.task import FailedExpectation, SeedRun

__all__ = [
    "FAMILY_LEVEL",
    "SLOWEST",
    "FailureRecord",
    "ScenarioStats",
    "SlowRun",
    "Tally",
    "all_stats",
    "flakiness_level",
]

SLOWEST = 5
"""How many of the slowest runs each scenario reports."""
FAMILY_LEVEL = 0.05
"""The chance that a swarm of scenarios all within their bounds alarms anyway (Bonferroni)."""


def flakiness_level(scenarios: int) -> float:
    """The one-sided level of each scenario's test: :data:`FAMILY_LEVEL` shared among ``scenarios``.

    With m scenarios each tested at 0.05/m, the chance that any scenario whose true failure rate
    is within its bound is reported above it is at most 0.05 (Bonferroni's inequality).
    """
    return FAMILY_LEVEL / max(1, scenarios)


@dataclass(frozen=True, slots=True, kw_only=True)
class FailureRecord:
    """One failing seed: what failed, its digest and the command that replays it."""

    seed: int
    digest: str
    failed: tuple[FailedExpectation, ...]
    replay: str


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class SlowRun:
    """A run's seed and how long it took on its worker."""

    seconds: float
    seed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioStats:
    """One scenario over the swarm: runs, failures, failure-rate interval, bound and verdict."""

    name: str
    source: str
    runs: int
    failures: int
    interval: RateInterval
    alpha: float | None
    bound: float
    level: float
    exceeds_bound: bool
    seconds: float
    slowest: tuple[SlowRun, ...]
    failed_runs: tuple[FailureRecord, ...]

    @property
    def failure_rate(self) -> float:
        """Failures per run (0 without runs)."""
        return self.interval.rate

    @property
    def mean_seconds(self) -> float:
        """Mean run time on a worker."""
        return self.seconds / self.runs if self.runs else 0.0

    def reading(self) -> str:
        """One line a reviewer can check: the rate, its interval, the bound and what it means."""
        i = self.interval
        rate = f"fails {i.rate:.1%} [{i.low:.1%}, {i.high:.1%}] of {self.runs} seeds"
        if self.alpha is not None and self.bound == self.alpha:
            bound = f"alpha {self.alpha:.1%}"
        elif self.bound == 0.0:
            bound = "should never fail"
        else:
            bound = f"bound {self.bound:.1%}"
        verdict = "significantly above its bound" if self.exceeds_bound else "within its bound"
        return f"{rate}, {bound}: {verdict}"


@dataclass(slots=True)
class Tally:
    """The running count of one scenario's runs."""

    scenario: SwarmScenario
    mode: Mode = Mode.SIMULATED
    runs: int = 0
    seconds: float = 0.0
    _slowest: list[SlowRun] = field(default_factory=list)
    _failures: list[FailureRecord] = field(default_factory=list)

    def add(self, run: SeedRun) -> None:
        """Count one run; keep it only if it failed or is among the slowest."""
        self.runs += 1
        self.seconds += run.seconds
        slow = SlowRun(seconds=run.seconds, seed=run.seed)
        if len(self._slowest) < SLOWEST:
            heapq.heappush(self._slowest, slow)
        elif slow > self._slowest[0]:
            heapq.heapreplace(self._slowest, slow)
        if not run.passed:
            self._failures.append(
                FailureRecord(
                    seed=run.seed,
                    digest=run.digest,
                    failed=run.failed,
                    replay=run.replay(self.scenario.source, self.mode),
                )
            )

    @property
    def failures(self) -> int:
        """Failed runs so far."""
        return len(self._failures)

    def stats(self, level: float) -> ScenarioStats:
        """The scenario's figures now, testing the bound at one-sided ``level``."""
        sc = self.scenario
        return ScenarioStats(
            name=sc.name,
            source=sc.source,
            runs=self.runs,
            failures=self.failures,
            interval=wilson_interval(self.failures, self.runs, confidence=0.95),
            alpha=sc.alpha,
            bound=sc.bound,
            level=level,
            exceeds_bound=self.runs > 0 and exceeds_rate(self.failures, self.runs, sc.bound, level=level),
            seconds=self.seconds,
            slowest=tuple(sorted(self._slowest, reverse=True)),
            failed_runs=tuple(sorted(self._failures, key=lambda f: f.seed)),
        )


def all_stats(tallies: Sequence[Tally]) -> list[ScenarioStats]:
    """Every scenario's figures, each tested at the Bonferroni share of the family level."""
    level = flakiness_level(len(tallies))
    return [t.stats(level) for t in tallies]
