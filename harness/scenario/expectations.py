"""Expectations: steady-state probes per phase, and the flow's outcome, checked after a run."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness.expectation import ExpectationResult
from harness.journal import Journal
from harness.scenario.dependency import DependencyStats
from harness.scenario.flows import FlowOutcome
from harness.scenario.model import FlowKind, OutcomeExpectations, Scenario, SteadyStateProbe

__all__ = ["Unproducible", "UserWindow", "check_expectations", "journal_expectations", "unproducible"]

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
    return _pooled_percentile(windows, {"p50": 50, "p95": 95, "p99": 99}[metric])


def _pooled_percentile(windows: Sequence[UserWindow], q: float) -> float | None:
    """The ``q``-th percentile of the latencies users saw over ``windows``.

    When every window kept all its latencies, the percentile of their union (linear
    interpolation). When some kept a sample (a long run keeps a bounded number per window, see
    :data:`~harness.scenario.record.USER_SAMPLE_BUDGET`), each kept latency stands for
    ``requests / kept`` requests of its window and the percentile is the weighted inverse of the
    empirical distribution function (Hyndman & Fan 1996, definition 1, with weights).
    """
    kept = [w for w in windows if w.latencies.size]
    if not kept:
        return None
    pooled = np.concatenate([w.latencies for w in kept])
    if all(w.latencies.size == w.requests for w in kept):
        return float(np.percentile(pooled, q))
    weights = np.concatenate([np.full(w.latencies.size, w.requests / w.latencies.size) for w in kept])
    order = np.argsort(pooled, kind="stable")
    cumulative = np.cumsum(weights[order])
    at = int(np.searchsorted(cumulative, q / 100.0 * cumulative[-1], side="left"))
    return float(pooled[order][min(at, pooled.size - 1)])


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


# -- what a scenario can produce ------------------------------------------------------------------

_ROLLBACK_FLOWS = frozenset({FlowKind.CANARY, FlowKind.ROLLBACK})
_FLOW_OUTPUTS: Mapping[str, frozenset[FlowKind]] = {
    "promoted": frozenset(FlowKind) - {FlowKind.NONE},
    "rolled_back": _ROLLBACK_FLOWS,
    "rolled_back_within": _ROLLBACK_FLOWS,
    "rolled_back_to": frozenset({FlowKind.ROLLBACK}),
    "winner": frozenset({FlowKind.CHAMPION_CHALLENGER}),
    "no_winner": frozenset({FlowKind.CHAMPION_CHALLENGER}),
    "detected_fields": frozenset({FlowKind.SHADOW}),
    "clean_fields": frozenset({FlowKind.SHADOW}),
    "state_restored": frozenset({FlowKind.ROLLBACK}),
}
"""Which flows decide each outcome expectation; under any other flow its value never changes."""
_DEPENDENCY_OUTPUTS = {"max_retry_ratio": "retries", "breaker_opened": "breaker"}


@dataclass(frozen=True, slots=True)
class Unproducible:
    """An expectation the scenario cannot produce the inputs of: where it is written, and why."""

    location: tuple[str | int, ...]
    message: str


def unproducible(scenario: Scenario) -> list[Unproducible]:
    """Every expectation of ``scenario`` that would pass or fail whatever the system did.

    An outcome no flow of this kind decides (``winner`` without champion-challenger,
    ``detected_fields`` without shadow...), the breaker or retries of a dependency when there is
    no ``resilience:`` block, a shadow field no response has or that is ignored, a winner that
    cannot win, a steady-state phase with no window in it.
    """
    return [*_outcome_inputs(scenario), *_shadow_fields(scenario), *_probe_phases(scenario)]


def _outcome_inputs(scenario: Scenario) -> Iterator[Unproducible]:
    expected, kind = scenario.expectations.outcome, scenario.flow.kind
    where = ("expectations", "outcome")
    for name, kinds in _FLOW_OUTPUTS.items():
        if getattr(expected, name) is not None and kind not in kinds:
            flows = " or ".join(sorted(k.value for k in kinds))
            yield Unproducible(
                (*where, name),
                f"only a {flows} flow decides {name}; this scenario's flow.kind is {kind.value!r}, "
                "so it could never change: remove the expectation or run that flow",
            )
    for name, what in _DEPENDENCY_OUTPUTS.items():
        if getattr(expected, name) is not None and scenario.resilience is None:
            yield Unproducible(
                (*where, name),
                f"there are no {what} to measure without a resilience: block (a dependency behind a "
                "breaker, retries and a fallback); add one or remove the expectation",
            )
    winner, challenger = expected.winner, scenario.flow.candidate
    if winner is not None and kind is FlowKind.CHAMPION_CHALLENGER and winner != challenger:
        yield Unproducible(
            (*where, "winner"),
            f"{winner!r} can never be the winner: only the challenger flow.candidate={challenger!r} "
            "can win (the champion stays when none does: expect no_winner: true)",
        )


def _response_fields(scenario: Scenario, version: str | None) -> set[str] | None:
    """The fields a model version's responses carry; None when only its real responses tell."""
    spec = scenario.versions.get(version or "")
    if spec is None:
        return {"status"}
    model = spec.model
    if model is None:
        return None
    response = model.response
    return {"status", *response.fields, *response.noisy, *response.diff}


def _shadow_fields(scenario: Scenario) -> Iterator[Unproducible]:
    if scenario.flow.kind is not FlowKind.SHADOW:
        return
    expected, flow = scenario.expectations.outcome, scenario.flow
    stable, candidate = _response_fields(scenario, flow.stable), _response_fields(scenario, flow.candidate)
    if stable is None or candidate is None:
        return  # a callable's or a live service's responses are known only when it runs
    known = stable | candidate
    ignored = set(flow.shadow.ignore)
    for name in ("detected_fields", "clean_fields"):
        for index, field in enumerate(getattr(expected, name) or ()):
            if field in ignored:
                reason = "is in flow.shadow.ignore, so it is never compared"
            elif field not in known:
                versions = f"{flow.stable!r} or {flow.candidate!r}"
                reason = f"is in no response of {versions}; fields: {sorted(known)}"
            else:
                continue
            yield Unproducible(("expectations", "outcome", name, index), f"field {field!r} {reason}")


def _probe_phases(scenario: Scenario) -> Iterator[Unproducible]:
    from harness.scenario.control import window_bounds

    windows = list(window_bounds(scenario.duration, scenario.window))
    span = scenario.fault_span
    for index, probe in enumerate(scenario.expectations.steady_state):
        if probe.phase == "always" or (probe.phase == "before" and span is None):
            continue
        where = ("expectations", "steady_state", index, "phase")
        if span is None:
            message = f"phase {probe.phase!r} is measured around faults; this scenario has none"
            yield Unproducible(where, message)
        elif not _phase_windows([UserWindow(a, b, 0, 0, np.empty(0)) for a, b in windows], probe, span):
            yield Unproducible(
                where,
                f"no {scenario.window:g}s window lies {probe.phase} the faults "
                f"({span[0]:g}s to {span[1]:g}s, settle {probe.settle:g}s, run {scenario.duration:g}s)",
            )
