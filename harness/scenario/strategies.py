"""Hypothesis strategies for fault schedules, and counterexamples written back as scenario files.

Write properties over every schedule of faults, not just the ones you thought of::

    from hypothesis import given, settings
    from harness.scenario import load_scenario, run_scenario
    from harness.scenario.strategies import counterexample_on_failure, with_faults

    BASE = load_scenario("scenarios/canary-redis-outage.yaml")

    @settings(max_examples=25, deadline=None)
    @given(with_faults(BASE, targets=["redis"], kinds=["outage"], max_duration=30))
    def test_canary_never_promotes_an_erroring_version(scenario):
        with counterexample_on_failure(scenario, "reports/counterexample.yaml"):
            result = run_scenario(scenario, seed=1)
            assert not (result.outcome.promoted and result.summary()["user_error_rate"] > 0.02)

Hypothesis shrinks a failing schedule toward fewer, shorter, earlier windows; its final replay is
the minimal one, so the file left behind is the minimal counterexample, runnable with
``harness run``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import yaml
from hypothesis import strategies as st

from harness._checks import Interval, invalid, one_of, within
from harness.atomic import write_atomic
from harness.errors import InvalidConfig
from harness.scenario.model import FaultSpec, Scenario, ScenarioFaultKind
from harness.units import format_duration

__all__ = ["counterexample_on_failure", "fault_specs", "fault_windows", "scenario_yaml", "with_faults"]


def fault_specs(
    targets: Sequence[str],
    *,
    kinds: Sequence[ScenarioFaultKind | str] = tuple(ScenarioFaultKind),
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
    kinds: Sequence[ScenarioFaultKind | str] = tuple(ScenarioFaultKind),
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
    each generated fault has a kind its target can suffer (``Scenario.fault_kinds``), so a
    simulated Redis gets ``readonly`` or ``drop`` and a version never does. The scenarios are
    validated, so the schedules drive the real-code engine as well as the vectorised one.
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
        if (usable := [k for k in parsed if k in scenario.fault_kinds(t)])
    ]
    if not per_target:
        raise InvalidConfig(f"none of the kinds {[k.value for k in parsed]} can act on targets {chosen}")
    schedules = st.lists(st.one_of(per_target), max_size=max_faults).map(
        lambda fs: sorted(fs, key=lambda f: f.at)
    )
    base = list(scenario.faults) if keep_existing else []
    data = scenario.model_dump(exclude={"faults"})
    return schedules.map(lambda faults: Scenario.model_validate({**data, "faults": base + faults}))


def scenario_yaml(scenario: Scenario) -> str:
    """The scenario as a YAML file that ``load_scenario`` reads back to an equal scenario."""
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("name", scenario.name)
    data.setdefault("description", scenario.description)
    data.setdefault("duration", format_duration(scenario.duration))
    return yaml.safe_dump(data, sort_keys=False)


@contextlib.contextmanager
def counterexample_on_failure(scenario: Scenario, path: str | Path) -> Iterator[None]:
    """Write ``scenario`` to ``path`` (atomically) if the block raises, then re-raise."""
    try:
        yield
    except BaseException:
        header = "# A counterexample found by Hypothesis; replay with: harness run " + str(path) + "\n"
        write_atomic(path, header + scenario_yaml(scenario))
        raise
