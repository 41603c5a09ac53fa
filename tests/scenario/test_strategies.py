"""Hypothesis search over fault schedules; minimal counterexamples are written as scenario files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from harness.cli import main
from harness.errors import InvalidConfig, InvalidScenario
from harness.scenario import Scenario, ScenarioFaultKind, load_scenario, parse_scenario, run_scenario
from harness.scenario.strategies import counterexample_on_failure, scenario_yaml, with_faults

ROOT = Path(__file__).resolve().parents[2]
_BUNDLED = load_scenario(ROOT / "scenarios" / "canary-redis-outage.yaml")
# The bundled outage canary, shortened and thinned so each example runs in a fraction of a second.
OUTAGE = _BUNDLED.model_copy(
    update={"duration": 240.0, "traffic": _BUNDLED.traffic.model_copy(update={"rate": 120.0}), "faults": []}
)
SMALL = parse_scenario(
    """
name: small
description: one version behind a dependency with a breaker and a fallback
duration: 1m
window: 10s
versions:
  v1: {model: {latency: {kind: fixed, value: 10ms}, dependencies: [redis]}}
traffic: {rate: 20}
resilience: {dependency: redis, breaker_window: 20, breaker_minimum_calls: 10, fallback_latency: 1ms}
"""
)


@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    with_faults(OUTAGE, targets=["redis"], kinds=[ScenarioFaultKind.OUTAGE], max_duration=30, max_faults=2)
)
def test_redis_outages_never_get_a_canary_promoted_while_users_see_errors(scenario: object) -> None:
    """The property from the issue: for any schedule of Redis outages up to 30 s, the canary never
    promotes while users see an error rate above 2% (the breaker and fallback absorb outages)."""
    result = run_scenario(scenario, seed=3)  # type: ignore[arg-type]
    assert not (result.outcome.promoted and result.summary()["user_error_rate"] > 0.02)


def test_a_failing_property_shrinks_to_a_minimal_timeline_written_as_a_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a fallback, any long enough outage fails users; Hypothesis finds and shrinks it, and
    the file left behind is the minimal schedule with the seed that failed and the property as an
    expectation: ``harness run`` on it fails the same way (exit 1, naming the expectation)."""
    assert SMALL.resilience is not None
    fragile = SMALL.model_copy(
        update={"resilience": SMALL.resilience.model_copy(update={"fallback_latency": None})}
    )
    out = tmp_path / "counterexample.yaml"
    expect = {"outcome": {"max_user_error_rate": 0.05}}

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
        phases=(Phase.generate, Phase.shrink),
    )
    @given(
        with_faults(
            fragile,
            targets=["redis"],
            kinds=[ScenarioFaultKind.OUTAGE, ScenarioFaultKind.LATENCY],
            max_duration=20,
        )
    )
    def users_never_see_errors(scenario: Scenario) -> None:
        with counterexample_on_failure(scenario, out, seed=2, expect=expect) as run:
            result = run_scenario(run)
            assert result.passed, result.explain()

    with pytest.raises(AssertionError):
        users_never_see_errors()
    assert out.read_text().startswith(
        "# A counterexample found by Hypothesis at seed 2, checking: max_user_error_rate.\n"
        f"# Replay with: harness run {out}\n"
    )
    minimal = load_scenario(out)
    assert minimal.seed == 2
    assert minimal.expectations.outcome.max_user_error_rate == 0.05
    (fault,) = minimal.faults
    assert (fault.kind, fault.at, fault.rate) == (ScenarioFaultKind.OUTAGE, 0.0, 1.0)
    capsys.readouterr()
    assert main(["run", str(out), "--no-report"]) == 1
    printed = capsys.readouterr().out
    assert "FAIL" in printed
    assert "user error rate" in printed
    assert f"replay with: harness run {out} --seed 2" in printed


def test_the_property_joins_the_scenarios_own_expectations() -> None:
    """Outcome fields given replace the scenario's, probes are appended, and the seed is the one given."""
    probe = {"name": "fast", "metric": "p99", "max": "50ms"}
    with counterexample_on_failure(
        SMALL,
        "unused.yaml",
        seed=7,
        expect={"outcome": {"max_user_error_rate": 0.1}, "steady_state": [probe]},
    ) as checked:
        pass
    assert checked.seed == 7
    assert checked.expectations.outcome.max_user_error_rate == 0.1
    (written,) = checked.expectations.steady_state
    assert (written.name, written.max) == ("fast", 0.05)


def test_a_property_the_scenario_cannot_produce_is_refused() -> None:
    expect = {"outcome": {"promoted": True}}
    with (
        pytest.raises(InvalidScenario, match="only a canary or champion_challenger"),
        counterexample_on_failure(SMALL, "unused.yaml", seed=1, expect=expect),
    ):
        pass


@settings(deadline=None)  # parsing is not timed here; a busy machine took 310 ms for one example
@given(with_faults(SMALL, max_faults=4))
def test_generated_scenarios_round_trip_through_yaml(scenario: object) -> None:
    text = scenario_yaml(scenario)  # type: ignore[arg-type]
    assert parse_scenario(text) == scenario


def test_unknown_targets_are_refused() -> None:
    with pytest.raises(InvalidConfig, match="not versions or dependencies"):
        with_faults(SMALL, targets=["kafka"])


@settings(deadline=None)
@given(st.data())
def test_windows_start_inside_the_run(data: st.DataObject) -> None:
    scenario = data.draw(with_faults(SMALL, max_faults=3))
    assert all(0 <= f.at < SMALL.duration for f in scenario.faults)
    assert [f.at for f in scenario.faults] == sorted(f.at for f in scenario.faults)
