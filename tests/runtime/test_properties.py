"""Hypothesis over real code: fault schedules drive the shop; a failing one shrinks to a scenario file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from harness.cli import main
from harness.scenario import Scenario, parse_scenario, run_scenario
from harness.scenario.model import ScenarioFaultKind
from harness.scenario.strategies import counterexample_on_failure, with_faults

SHOP = """
name: shop-property
description: the shop under generated Redis fault schedules; no user may see an error
duration: 20s
window: 10s
dependencies:
  redis: {{kind: redis, latency: {{kind: fixed, value: 1ms}}}}
  catalog:
    kind: http
    latency: {{kind: fixed, value: 10ms}}
    simulate: {{callable: {{target: "harness.examples.shop.catalog:make"}}}}
versions:
  shop:
    asgi:
      app: "harness.examples.shop.app:app"
      env: {{REDIS_URL: "${{deps.redis.url}}", CATALOG_URL: "${{deps.catalog.url}}"{variant}}}
traffic:
  rate: 5
  mix: [{{name: product, method: GET, path: "/products/{{item}}"}}]
flow: {{stable: shop}}
expectations:
  steady_state: [{{name: no user errors, metric: error_rate, max: 0.0}}]
"""


SEARCH = (Phase.generate, Phase.shrink)
"""Without Phase.explain, which re-runs the failing scenario under a tracer many times (5x slower)."""


def _shop(variant: str = "") -> Scenario:
    return parse_scenario(SHOP.format(variant=variant))


def test_generated_schedules_only_use_kinds_their_target_can_suffer() -> None:
    """Every generated fault targets the declared dependency with a Redis kind (or a version kind)."""
    base = _shop()

    @settings(max_examples=30, deadline=None, database=None)
    @given(with_faults(base, targets=["redis", "shop"], max_duration=10))
    def check(scenario: Scenario) -> None:
        Scenario.model_validate(scenario.model_dump())
        for fault in scenario.faults:
            assert fault.kind in base.fault_kinds(fault.target)

    check()


@pytest.mark.slow
@settings(
    max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck), phases=SEARCH
)
@given(with_faults(_shop(), targets=["redis"], kinds=["outage", "readonly", "drop"], max_duration=10))
def test_the_good_shop_survives_any_redis_fault_schedule(scenario: Scenario) -> None:
    """Whatever Redis outages, read-only spells and dropped connections happen, users see no error."""
    result = run_scenario(scenario, seed=1)
    assert result.passed, result.explain()


def test_a_failing_schedule_shrinks_to_a_file_that_fails_the_same_way(tmp_path: Path) -> None:
    """The no-fallback build fails under some Redis outage: Hypothesis finds one, shrinks it, and the
    scenario file it leaves behind fails its expectation when run (exit 1)."""
    out = tmp_path / "counterexample.yaml"
    base = _shop(", SHOP_VARIANT: no-fallback")

    @settings(
        max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck), phases=SEARCH
    )
    @given(
        with_faults(base, targets=["redis"], kinds=[ScenarioFaultKind.OUTAGE], max_duration=10, max_faults=1)
    )
    def prop(scenario: Scenario) -> None:
        with counterexample_on_failure(scenario, out, seed=1) as run:
            assert run_scenario(run).passed

    with pytest.raises(AssertionError):
        prop()
    assert out.exists()
    replayed = run_scenario(out, seed=1)
    assert not replayed.passed
    assert [f.kind for f in replayed.scenario.faults] == [ScenarioFaultKind.OUTAGE]
    assert replayed.scenario.faults[0].duration == 1.0
    assert main(["run", str(out), "--seed", "1", "--no-report"]) == 1
