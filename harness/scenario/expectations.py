"""Expectations: steady-state probes per phase, and the flow's outcome, checked after a run."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness.expectation import ExpectationResult
from harness.journal import Journal
from harness.scenario.dependency import DependencyStats
from harness.scenario.flows import FlowOutcome
from harness.scenario.model import OutcomeExpectations, Scenario, SteadyStateProbe

__all__ = ["UserWindow", "check_expectations", "journal_expectations"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class UserWindow:
    """What users saw in one window: requests, errors and a latency sample."""

    start: float
    end: float
    requests: int
    errors: int
    latencies: FloatArray


def _phase_windows(
    windows: Sequence[UserWindow], probe: SteadyStateProbe, span: tuple[float, float] | None
) -> list[UserWindow]:
    if probe.phase == "always":
        return list(windows)
    if span is None:
        return list(windows) if probe.phase == "before" else []
    first, last = span
    if probe.phase == "before":
        return [w for w in windows if w.end <= first]
    if probe.phase == "during":
        return [w for w in windows if w.start < last and w.end > first]
    return [w for w in windows if w.start >= last + probe.settle]


def _probe_value(windows: Sequence[UserWindow], metric: str) -> float | None:
    requests = sum(w.requests for w in windows)
    if metric == "requests":
        return float(requests)
    if requests == 0:
        return None
    if metric == "error_rate":
        return sum(w.errors for w in windows) / requests
    pooled = np.concatenate([w.latencies for w in windows])
    if pooled.size == 0:
        return None
    return float(np.percentile(pooled, {"p50": 50, "p95": 95, "p99": 99}[metric]))


def _check_probe(
    probe: SteadyStateProbe,
    windows: Sequence[UserWindow],
    span: tuple[float, float] | None,
    groups: Mapping[str, Sequence[UserWindow]],
) -> ExpectationResult:
    if probe.group is not None:
        windows = groups.get(probe.group, ())
    selected = _phase_windows(windows, probe, span)
    value = _probe_value(selected, probe.metric)
    limit = " and ".join(
        part
        for part in (
            f">= {probe.min:g}" if probe.min is not None else "",
            f"<= {probe.max:g}" if probe.max is not None else "",
        )
        if part
    )
    scope = probe.phase if probe.group is None else f"{probe.phase}, group {probe.group}"
    name = f"steady state: {probe.name} ({probe.metric}, {scope})"
    if value is None:
        return ExpectationResult(
            name=name, passed=False, limit=limit, detail=f"no traffic in phase {probe.phase!r} to measure"
        )
    ok = (probe.min is None or value >= probe.min) and (probe.max is None or value <= probe.max)
    return ExpectationResult(
        name=name,
        passed=ok,
        observed=round(value, 6),
        limit=limit,
        detail=f"{len(selected)} windows, {sum(w.requests for w in selected)} requests",
    )


def _outcome_checks(
    expected: OutcomeExpectations,
    outcome: FlowOutcome,
    windows: Sequence[UserWindow],
    dependency: DependencyStats | None,
) -> list[ExpectationResult]:
    results: list[ExpectationResult] = []

    def add(
        name: str, passed: bool, observed: float | str | None, limit: float | str | None, detail: str = ""
    ) -> None:
        results.append(
            ExpectationResult(name=name, passed=passed, observed=observed, limit=limit, detail=detail)
        )

    if expected.promoted is not None:
        add("promoted", outcome.promoted == expected.promoted, str(outcome.promoted), str(expected.promoted))
    if expected.rolled_back is not None:
        add(
            "rolled back",
            outcome.rolled_back == expected.rolled_back,
            str(outcome.rolled_back),
            str(expected.rolled_back),
        )
    if expected.rolled_back_within is not None:
        at = outcome.decided_at if outcome.rolled_back else None
        add(
            "rolled back within",
            at is not None and at <= expected.rolled_back_within,
            at,
            expected.rolled_back_within,
            "seconds from the start of the run" if at is not None else "the flow did not roll back",
        )
    if expected.rolled_back_to is not None:
        target = outcome.details.get("target") or {}
        add(
            "rolled back to",
            outcome.rolled_back_to == expected.rolled_back_to,
            str(outcome.rolled_back_to),
            expected.rolled_back_to,
            "; ".join(target.get("reasons", ())),
        )
    if expected.winner is not None:
        add("winner", outcome.winner == expected.winner, str(outcome.winner), expected.winner)
    if expected.no_winner is not None:
        add("no winner claimed", (outcome.winner is None) == expected.no_winner, str(outcome.winner), "None")
    if expected.detected_fields is not None:
        missing = sorted(set(expected.detected_fields) - set(outcome.detected_fields))
        add(
            "fields detected",
            not missing,
            ", ".join(outcome.detected_fields) or "none",
            ", ".join(expected.detected_fields),
            f"missed: {missing}" if missing else "",
        )
    if expected.clean_fields is not None:
        flagged = sorted(set(expected.clean_fields) & set(outcome.detected_fields))
        add(
            "noise not reported",
            not flagged,
            ", ".join(flagged) or "none",
            "none",
            f"false positives: {flagged}" if flagged else "",
        )
    if expected.state_restored is not None:
        add(
            "state restored",
            outcome.state_restored == expected.state_restored,
            str(outcome.state_restored),
            str(expected.state_restored),
        )
    if expected.max_user_error_rate is not None:
        requests = sum(w.requests for w in windows)
        rate = sum(w.errors for w in windows) / requests if requests else 0.0
        add(
            "user error rate",
            rate <= expected.max_user_error_rate,
            round(rate, 6),
            expected.max_user_error_rate,
        )
    if expected.max_retry_ratio is not None:
        ratio = dependency.retry_ratio if dependency is not None else 0.0
        add(
            "retry ratio",
            ratio <= expected.max_retry_ratio,
            round(ratio, 6),
            expected.max_retry_ratio,
            "retries per call to the dependency",
        )
    _experiment_checks(expected, outcome, add)
    if expected.breaker_opened is not None:
        opened = dependency is not None and dependency.opened > 0
        add("breaker opened", opened == expected.breaker_opened, str(opened), str(expected.breaker_opened))
    return results


def _experiment_checks(expected: OutcomeExpectations, outcome: FlowOutcome, add: Callable[..., None]) -> None:
    if expected.aborted is not None:
        add("aborted", outcome.aborted == expected.aborted, str(outcome.aborted), str(expected.aborted))
    if expected.aborted_within is not None:
        at = outcome.decided_at if outcome.aborted else None
        add(
            "aborted within",
            at is not None and at <= expected.aborted_within,
            at,
            expected.aborted_within,
            "seconds from the start of the run" if at is not None else "the experiment was not aborted",
        )
    if expected.experiment is not None:
        verdict = str(outcome.details.get("outcome", "none"))
        add("experiment verdict", verdict == expected.experiment, verdict, expected.experiment)


def check_expectations(
    scenario: Scenario,
    windows: Sequence[UserWindow],
    outcome: FlowOutcome,
    dependency: DependencyStats | None,
    groups: Mapping[str, Sequence[UserWindow]] | None = None,
) -> list[ExpectationResult]:
    """Every expectation of ``scenario``, checked against what the run observed.

    ``groups`` holds each traffic group's windows, for probes that name a group.
    """
    span = scenario.fault_span
    per_group = groups or {}
    results = [_check_probe(p, windows, span, per_group) for p in scenario.expectations.steady_state]
    results.extend(_outcome_checks(scenario.expectations.outcome, outcome, windows, dependency))
    return results


def journal_expectations(
    journal: Journal, t: float, results: Sequence[ExpectationResult], **run_end: object
) -> bool:
    """Record each expectation and the ``run.end`` event at time ``t``; whether all passed."""
    for result in results:
        journal.record(
            t,
            "expectation",
            "engine",
            name=result.name,
            passed=result.passed,
            observed=result.observed,
            limit=result.limit,
        )
    passed = all(r.passed for r in results)
    journal.record(t, "run.end", "engine", passed=passed, **run_end)
    return passed
