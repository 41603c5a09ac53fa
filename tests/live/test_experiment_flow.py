"""The ChAP-style experiment flow: harm tests calibrated against independent oracles, aborts on
time, verdicts from the calibrated judge, and the flow run by the simulated engine's groups."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from harness.errors import InvalidConfig
from harness.rollout import (
    Action,
    ExperimentConfig,
    ExperimentFlow,
    HarmBudget,
    Outcome,
    VersionWindow,
    Window,
)
from harness.rollout.experiment import budget_p_value, quantile_lower_bound
from harness.scenario import parse_scenario, run_scenario
from harness.stats import JudgeConfig, MetricConfig


@pytest.mark.parametrize(
    ("errors", "requests", "budget"), [(3, 20, 0.05), (0, 50, 0.1), (9, 100, 0.05), (40, 40, 0.5)]
)
def test_the_budget_test_is_the_exact_binomial_test(errors: int, requests: int, budget: float) -> None:
    """Oracle: scipy.stats.binomtest (one-sided, greater)."""
    oracle = binomtest(errors, requests, budget, alternative="greater").pvalue if errors else 1.0
    assert budget_p_value(errors, requests, budget) == pytest.approx(oracle, rel=1e-9)


def test_the_p99_lower_bound_covers_the_true_p99_at_its_confidence() -> None:
    """Oracle: simulation. Over 4,000 samples of 300 exponential latencies, the bound lies at or
    below the true p99 (ln(100) for Exp(1)) in at least 95% of them (binomial slack 3 sd)."""
    rng = np.random.default_rng(20261203)
    truth = np.log(100.0)
    trials = 4000
    covered = sum(quantile_lower_bound(rng.exponential(size=300), 0.99, 0.95) <= truth for _ in range(trials))
    assert covered / trials >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / trials)
    assert quantile_lower_bound(np.empty(0), 0.99, 0.95) == -np.inf


def _config(**over: object) -> ExperimentConfig:
    judge = JudgeConfig(metrics=(MetricConfig(name="error_rate", allowed_increase=1.25, min_samples=10),))
    base: dict[str, object] = {
        "stable": "v1",
        "share": 10.0,
        "windows": 6,
        "budget": HarmBudget(error_rate=0.05),
        "judge": judge,
    }
    base.update(over)
    return ExperimentConfig(**base)  # type: ignore[arg-type]


def _window(i: int, control: tuple[int, int], experiment: tuple[int, int]) -> Window:
    return Window(
        start=float(i),
        end=float(i + 1),
        versions={
            "v1": VersionWindow(requests=800, errors=0),
            "control": VersionWindow(requests=control[0], errors=control[1]),
            "experiment": VersionWindow(requests=experiment[0], errors=experiment[1]),
        },
    )


def test_a_window_over_budget_aborts_at_once_and_sends_traffic_back() -> None:
    flow = ExperimentFlow(_config())
    assert flow.weights == {"v1": 80.0, "control": 10.0, "experiment": 10.0}
    assert flow.observe(_window(0, (100, 0), (100, 1))).action is Action.CONTINUE
    decision = flow.observe(_window(1, (100, 0), (100, 60)))
    assert decision.action is Action.ABORT
    assert decision.terminal
    assert flow.outcome is Outcome.ABORTED
    assert decision.weights == {"v1": 100.0, "control": 0.0, "experiment": 0.0}
    assert [r.metric for r in decision.failed] == ["error_rate"]


def test_a_few_errors_in_a_small_group_do_not_abort() -> None:
    """2 errors of 20 requests (10%) against a 5% budget is not demonstrably over it."""
    flow = ExperimentFlow(_config())
    assert flow.observe(_window(0, (20, 0), (20, 2))).action is Action.CONTINUE


def test_an_experiment_within_the_allowances_passes_and_one_beyond_is_rejected() -> None:
    passing, failing = ExperimentFlow(_config()), ExperimentFlow(_config())
    for i in range(6):
        last_pass = passing.observe(_window(i, (1000, 10), (1000, 11)))
        last_fail = failing.observe(_window(i, (1000, 10), (1000, 40)))
    assert passing.outcome is Outcome.PASSED
    assert last_pass.action is Action.COMPLETE
    assert failing.outcome is Outcome.REJECTED
    assert last_fail.weights["v1"] == 100.0


def test_bad_experiment_settings_are_refused() -> None:
    with pytest.raises(InvalidConfig, match="share=60"):
        _config(share=60.0)
    with pytest.raises(InvalidConfig, match="error_rate"):
        HarmBudget()


SIMULATED = """\
name: sim-experiment
description: a Redis outage on the experiment group's path
duration: 2m
window: 10s
versions:
  v1:
    model:
      latency: {kind: lognormal, median: 20ms, sigma: 0.2}
      dependencies: [redis]
dependencies:
  redis: {kind: redis}
traffic: {rate: 400}
faults:
  - {kind: outage, target: redis, at: 40s, duration: 40s, groups: [experiment]}
flow:
  kind: experiment
  stable: v1
  experiment: {share: 10, abort: {error_rate: 5%}}
expectations:
  steady_state:
    - {name: control untouched, metric: error_rate, max: 0.0, group: control}
  outcome: {aborted: true, aborted_within: 60s, experiment: aborted}
"""


def test_the_simulated_engine_runs_an_experiment_and_aborts_within_two_windows() -> None:
    result = run_scenario(parse_scenario(SIMULATED), seed=3)
    assert result.failed == [], result.explain()
    assert result.outcome.decided_at == 50.0  # the fault starts at 40 s: the first window with it
    assert all(p.errors == 0 for p in result.points["control"])
    assert result.points["experiment"][-1].t_end == 50.0  # no traffic after the abort
    assert sum(p.requests for p in result.points["v1"][5:]) > 0.99 * 400 * 70
    [cleared] = result.journal.of_kind("faults.cleared")
    assert cleared.t == 50.0


def test_without_a_fault_the_simulated_experiment_passes() -> None:
    text = SIMULATED.replace(
        "  - {kind: outage, target: redis, at: 40s, duration: 40s, groups: [experiment]}\n", ""
    )
    text = text.replace("faults:\n", "").replace(
        "{aborted: true, aborted_within: 60s, experiment: aborted}", "{experiment: passed}"
    )
    result = run_scenario(parse_scenario(text), seed=4)
    assert result.failed == [], result.explain()
