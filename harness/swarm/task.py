"""What runs on a worker: one batch of seeds of one scenario, each run reduced to a small record.

A :class:`Batch` carries the scenario's text (parsed once per worker process and kept), the seeds
and the client's working directory. Each seed's :func:`~harness.scenario.run_scenario` becomes a
:class:`SeedRun` (verdict, digest, failed expectations, seconds) or, when the run raised, a
:class:`SeedCrash` with the exception: a crash is never counted as a pass or a failure. Only these
records travel back to the client; journals stay on the worker.

Workers import the scenario's callables (``harness.examples.scenario_versions:good``,
``mypackage.app:make``) as ``harness run`` does, from the installed packages and their working
directory; the client's working directory is added to ``sys.path`` too when it exists on the
worker (a local cluster, or the same checkout path on every machine).
"""

from __future__ import annotations

import functools
import os
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass

from harness._version import __version__
from harness.expectation import ExpectationResult
from harness.mode import Mode
from harness.scenario import Scenario, parse_scenario, run_scenario
from harness.scenario.result import replay_command

__all__ = [
    "Batch",
    "FailedExpectation",
    "SeedCrash",
    "SeedRun",
    "add_paths",
    "parsed_scenario",
    "run_batch",
    "warm_worker",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch:
    """Seeds of one scenario to run on one worker, in one task."""

    scenario: int
    source: str
    text: str
    seeds: tuple[int, ...]
    mode: Mode = Mode.SIMULATED
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class FailedExpectation:
    """An expectation that did not hold: what was observed against what limit."""

    name: str
    observed: float | str | None
    limit: float | str | None
    detail: str = ""

    @classmethod
    def of(cls, result: ExpectationResult) -> FailedExpectation:
        """The record of a failed :class:`~harness.expectation.ExpectationResult`."""
        return cls(name=result.name, observed=result.observed, limit=result.limit, detail=result.detail)

    def text(self) -> str:
        """``name (observed vs limit)``, as the run table prints it."""
        return f"{self.name} ({self.observed} vs {self.limit})"


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedRun:
    """One run of one scenario at one seed, reduced to what the swarm reports."""

    scenario: int
    seed: int
    passed: bool
    digest: str
    seconds: float
    failed: tuple[FailedExpectation, ...] = ()

    def replay(self, source: str, mode: Mode = Mode.SIMULATED) -> str:
        """The command that replays this run."""
        return replay_command(source, self.seed, mode)


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedCrash:
    """A run that raised instead of finishing: the exception's type, message and traceback."""

    scenario: int
    seed: int
    error: str
    message: str
    trace: str
    usage: bool


def add_paths(paths: Sequence[str]) -> None:
    """Put ``paths`` that exist on this machine at the front of ``sys.path`` (once each)."""
    for path in reversed(paths):
        if path not in sys.path and os.path.isdir(path):
            sys.path.insert(0, path)


@functools.lru_cache(maxsize=64)
def parsed_scenario(text: str, source: str) -> Scenario:
    """The parsed scenario, kept per worker process so a swarm parses each file once per worker."""
    return parse_scenario(text, source=source)


def _run_one(scenario: Scenario, batch: Batch, seed: int) -> SeedRun | SeedCrash:
    from harness.errors import UsageError

    start = time.perf_counter()
    try:
        result = run_scenario(scenario, seed=seed, mode=batch.mode)
    except Exception as exc:  # noqa: BLE001 - a crash is reported with its seed, never as a verdict
        return SeedCrash(
            scenario=batch.scenario,
            seed=seed,
            error=type(exc).__name__,
            message=str(exc),
            trace="".join(traceback.format_exception(exc)),
            usage=isinstance(exc, UsageError),
        )
    return SeedRun(
        scenario=batch.scenario,
        seed=seed,
        passed=result.passed,
        digest=result.digest,
        seconds=time.perf_counter() - start,
        failed=tuple(FailedExpectation.of(e) for e in result.failed),
    )


def run_batch(batch: Batch) -> list[SeedRun | SeedCrash]:
    """Run every seed of ``batch`` in order; a batch stops at its first crash."""
    add_paths(batch.paths)
    scenario = parsed_scenario(batch.text, batch.source)
    out: list[SeedRun | SeedCrash] = []
    for seed in batch.seeds:
        record = _run_one(scenario, batch, seed)
        out.append(record)
        if isinstance(record, SeedCrash):
            break
    return out


def warm_worker(paths: Sequence[str]) -> str:
    """Import the engine and set ``sys.path`` on a worker before the first task; its package version."""
    add_paths(paths)
    import harness.scenario.engine
    import harness.scenario.flow_drivers  # noqa: F401 - the flows and their judges

    return __version__
