"""Hypothesis strategies for fault schedules, and counterexamples written back as scenario files.

Write properties over every schedule of faults, not just the ones you thought of. State the
property as expectations, so the file a failure leaves behind checks it too::

    from hypothesis import given, settings
    from harness.scenario import load_scenario, run_scenario
    from harness.scenario.strategies import counterexample_on_failure, with_faults

    BASE = load_scenario("scenarios/canary-redis-outage.yaml")

    @settings(max_examples=25, deadline=None)
    @given(with_faults(BASE, targets=["redis"], kinds=["outage"], max_duration=30))
    def test_users_never_see_more_than_two_percent_errors(scenario):
        expect = {"outcome": {"max_user_error_rate": 0.02}}
        with counterexample_on_failure(scenario, "reports/counterexample.yaml", seed=1, expect=expect) as run:
            result = run_scenario(run)
            assert result.passed, result.explain()

Hypothesis shrinks a failing schedule toward fewer, shorter, earlier windows; its final replay is
the minimal one, so the file left behind is the minimal counterexample, with the seed that failed
and the property among its expectations: ``harness run reports/counterexample.yaml`` fails the
same way (exit 1, naming the expectation).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st
from pydantic import ValidationError

from harness._checks import Interval, invalid, one_of, within
from harness.atomic import write_atomic
from harness.errors import InvalidConfig
from harness.scenario.expectations import unproducible
from harness.scenario.loader import check_runnable
from harness.scenario.model import (
    TEXT_CONTEXT,
    Expectations,
    FaultSpec,
    Scenario,
    ScenarioFaultKind,
)
from harness.seeding import parse_seed
from harness.units import format_duration

__all__ = [
    "SIMULATED_KINDS",
    "counterexample_on_failure",
    "fault_specs",
    "fault_windows",
    "scenario_yaml",
    "with_faults",
]

SIMULATED_KINDS: tuple[ScenarioFaultKind, ...] = tuple(
    k for k in ScenarioFaultKind if k in Scenario.model_fault_kinds()
)
"""The fault kinds simulated mode carries out on every version (the default of the schedule
strategies; :func:`with_faults` also generates the kinds a declared dependency suffers)."""


def fault_specs(
    targets: Sequence[str],
    *,
    kinds: Sequence[ScenarioFaultKind | str] = SIMULATED_KINDS,
    horizon: float,
    max_duration: float,
    min_duration: float = 1.0,
    resolution: float = 1.0,
) -> st.SearchStrategy[FaultSpec]:
    """One fault window on one of ``targets``, starting before ``horizon`` seconds.

    Times are whole multiples of ``resolution`` so shrunk timelines read cleanly.
    """
    if not targets:
        raise invalid("targets", targets, "at least one version or dependency", "e.g. ['redis']")
    within("max_duration", max_duration, "(0, inf)", "the longest fault window", unit="seconds")
    fix = f"at most max_duration={max_duration!r}"
    within("min_duration", min_duration, Interval(0.0, max_duration, True, False), fix, unit="seconds")
    parsed = [one_of("kinds", k, ScenarioFaultKind) for k in kinds]
    steps = max(0, int((horizon - resolution) // resolution))
    return st.builds(
        lambda kind, target, at, duration, rate, latency: FaultSpec(
            kind=kind,
            target=target,
            at=at * resolution,
            duration=duration * resolution,
            rate=rate,
            latency=latency,
        ),
        kind=st.sampled_from(parsed),
        target=st.sampled_from(list(targets)),
        at=st.integers(min_value=0, max_value=steps),
        duration=st.integers(
            min_value=max(1, round(min_duration / resolution)),
            max_value=max(1, round(max_duration / resolution)),
        ),
        rate=st.sampled_from([1.0, 0.5, 0.2]),
        latency=st.sampled_from([0.0, 0.05, 0.2, 1.0]),
    )


def fault_windows(
    targets: Sequence[str],
    *,
    kinds: Sequence[ScenarioFaultKind | str] = SIMULATED_KINDS,
    horizon: float,
    max_duration: float,
    max_faults: int = 3,
    min_faults: int = 0,
) -> st.SearchStrategy[list[FaultSpec]]:
    """Schedules of up to ``max_faults`` windows, in start order."""
    one = fault_specs(targets, kinds=kinds, horizon=horizon, max_duration=max_duration)
    return st.lists(one, min_size=min_faults, max_size=max_faults).map(
        lambda fs: sorted(fs, key=lambda f: f.at)
    )


def with_faults(
    scenario: Scenario,
    *,
    targets: Sequence[str] | None = None,
    kinds: Sequence[ScenarioFaultKind | str] = tuple(ScenarioFaultKind),
    max_duration: float = 60.0,
    max_faults: int = 3,
    keep_existing: bool = False,
) -> st.SearchStrategy[Scenario]:
    """``scenario`` with its fault schedule replaced (or extended) by a generated one.

    ``targets`` defaults to every version and dependency (declared or modelled) of the scenario;
    each generated fault has a kind simulated mode carries out on its target
    (``Scenario.simulated_fault_kinds``), so a simulated Redis gets ``readonly`` or ``drop`` and a
    version never does. The scenarios are validated, so the schedules drive the real-code engine
    as well as the vectorised one. Schedules under which a steady-state probe of the scenario has
    nothing to measure (a ``during`` probe and no fault, an ``after`` probe and a fault to the end)
    are not generated: ``run_scenario`` refuses them. Expectations no schedule can make measurable
    (a breaker without ``resilience:``) are refused here, as ``InvalidScenario``.
    """
    known = (
        set(scenario.versions)
        | set(scenario.dependencies)
        | {d for v in scenario.versions.values() if v.model is not None for d in v.model.dependencies}
    )
    chosen = list(targets) if targets is not None else sorted(known)
    unknown = sorted(set(chosen) - known)
    if unknown:
        raise InvalidConfig(f"targets {unknown} are not versions or dependencies; known: {sorted(known)}")
    parsed = [one_of("kinds", k, ScenarioFaultKind) for k in kinds]
    per_target = [
        fault_specs([t], kinds=usable, horizon=scenario.duration, max_duration=max_duration)
        for t in chosen
        if (usable := [k for k in parsed if k in scenario.simulated_fault_kinds(t)])
    ]
    if not per_target:
        raise InvalidConfig(f"none of the kinds {[k.value for k in parsed]} can act on targets {chosen}")
    schedules = st.lists(st.one_of(per_target), max_size=max_faults).map(
        lambda fs: sorted(fs, key=lambda f: f.at)
    )
    without_probes = scenario.expectations.model_copy(update={"steady_state": []})
    check_runnable(scenario.model_copy(update={"expectations": without_probes}))
    base = list(scenario.faults) if keep_existing else []
    data = scenario.model_dump(exclude={"faults"})
    generated = schedules.map(lambda faults: Scenario.model_validate({**data, "faults": base + faults}))
    return generated.filter(lambda s: not unproducible(s))


def scenario_yaml(scenario: Scenario) -> str:
    """The scenario as a YAML file that ``load_scenario`` reads back to an equal scenario."""
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("name", scenario.name)
    data.setdefault("description", scenario.description)
    data.setdefault("duration", format_duration(scenario.duration))
    return yaml.safe_dump(data, sort_keys=False)


@contextlib.contextmanager
def counterexample_on_failure(
    scenario: Scenario,
    path: str | Path,
    *,
    seed: int,
    expect: Expectations | Mapping[str, Any] | None = None,
) -> Iterator[Scenario]:
    """Yield the scenario to check; if the block raises, write it to ``path`` (atomically) and re-raise.

    The scenario yielded is ``scenario`` with ``seed`` as its seed and ``expect`` (the property,
    as an :class:`~harness.scenario.model.Expectations` or its mapping, durations as text) added
    to its expectations: outcome fields replace the scenario's, steady-state probes are appended.
    Run it as it is (``run_scenario(run)``) and assert ``result.passed``: the file then holds
    exactly what failed, and ``harness run`` on it fails the same way. A property asserted in the
    block but not given as ``expect`` is not in the file.
    """
    checked = _with_property(scenario, seed, expect)
    try:
        yield checked
    except BaseException:
        names = _expectation_names(checked)
        header = (
            f"# A counterexample found by Hypothesis at seed {seed}, checking: {names}.\n"
            f"# Replay with: harness run {path}\n"
        )
        write_atomic(path, header + scenario_yaml(checked))
        raise


def _with_property(
    scenario: Scenario, seed: int, expect: Expectations | Mapping[str, Any] | None
) -> Scenario:
    seed = parse_seed(seed)
    if expect is None:
        extra = Expectations()
    elif isinstance(expect, Expectations):
        extra = expect
    else:
        try:
            extra = Expectations.model_validate(expect, context=TEXT_CONTEXT)
        except ValidationError as exc:
            raise invalid("expect", expect, "scenario expectations", str(exc.errors()[0]["msg"])) from None
    own = scenario.expectations
    outcome = own.outcome.model_copy(update=extra.outcome.model_dump(exclude_unset=True))
    merged = own.model_copy(
        update={"outcome": outcome, "steady_state": [*own.steady_state, *extra.steady_state]}
    )
    checked = scenario.model_copy(update={"seed": seed, "expectations": merged})
    check_runnable(checked, source="expect")
    return checked


def _expectation_names(scenario: Scenario) -> str:
    outcome = scenario.expectations.outcome.model_dump(exclude_none=True)
    probes = [p.name for p in scenario.expectations.steady_state]
    return ", ".join([*outcome, *probes]) or "its own expectations (none)"
