"""The canary controller: steps, analysis, Argo-like limits, manual gates, fast rollback."""

import json

import numpy as np
import pytest

from harness.errors import InvalidConfig
from harness.rollout import (
    Action,
    Analysis,
    CanaryFlow,
    CanaryPhase,
    Outcome,
    Pause,
    SetWeight,
    Verdict,
    VersionModel,
    VersionWindow,
    synthetic_window,
)
from harness.slo import SLO
from harness.stats import JudgeConfig, MetricConfig

from ._helpers import ERRORS, LATENCY, canary_config, run_canary, window


def test_good_candidate_walks_the_steps_and_is_promoted() -> None:
    """Weights follow the steps; after the last analysis the candidate gets 100%."""
    flow = CanaryFlow(canary_config())
    run_canary(flow, seed=1, candidate=VersionModel())
    seen = [d.weights["v2"] for d in flow.history]
    assert flow.promoted
    assert flow.outcome is Outcome.PROMOTED
    assert seen[0] == 20.0
    assert 50.0 in seen
    assert flow.history[-1].action is Action.PROMOTE
    assert flow.history[-1].terminal
    assert dict(flow.weights) == {"v1": 0.0, "v2": 100.0}


def test_slow_candidate_is_rolled_back_with_reasons() -> None:
    """A 30% slower candidate rolls back at the first analysis; the reasons name latency p95."""
    flow = run_canary(CanaryFlow(canary_config()), seed=2, candidate=VersionModel(latency_factor=1.3))
    final = flow.history[-1]
    assert flow.rolled_back
    assert final.action is Action.ROLLBACK
    assert dict(final.weights) == {"v1": 100.0, "v2": 0.0}
    failed = {(r.metric, r.statistic) for r in final.failed}
    assert ("latency", "p95_ratio") in failed
    assert ("analysis", "failed_measurements") in failed
    p95 = next(r for r in final.reasons if r.statistic == "p95_ratio")
    assert p95.value == pytest.approx(1.3, abs=0.05)
    assert p95.threshold == 1.05
    json.dumps(final.to_dict())
    assert "latency p95_ratio" in final.explain()


def test_nothing_is_decided_after_a_terminal_state() -> None:
    """Further windows and gates return the final decision unchanged."""
    flow = run_canary(CanaryFlow(canary_config()), seed=3, candidate=VersionModel(error_rate=0.05))
    final = flow.history[-1]
    n = len(flow.history)
    assert flow.observe(window(1e6)) is final
    assert flow.abort() is final
    assert flow.approve() is final
    assert flow.pause() is final
    assert len(flow.history) == n


def test_failure_limit_tolerates_one_failed_measurement() -> None:
    """With failure_limit=1 one failure continues and a second rolls back."""
    flow = CanaryFlow(
        canary_config(
            steps=(SetWeight(50), Analysis(windows=1, measurements=3)),
            failure_limit=1,
            alpha=None,
            judge=JudgeConfig(metrics=(LATENCY,), alpha=0.05),
        )
    )
    run_canary(flow, seed=4, candidate=VersionModel(latency_factor=1.5))
    counters = [r for d in flow.history for r in d.reasons if r.statistic == "failed_measurements"]
    assert [r.value for r in counters] == [1.0, 2.0]
    assert counters[0].verdict is Verdict.PASS
    assert flow.outcome is Outcome.ROLLED_BACK


def test_consecutive_metric_errors_roll_back() -> None:
    """Windows without candidate data are errors; more than the limit in a row roll back."""
    flow = CanaryFlow(
        canary_config(steps=(SetWeight(10), Analysis(windows=1, measurements=10)), consecutive_error_limit=2)
    )
    flow.observe(window(0))
    base = VersionWindow(requests=1000, errors=10, latencies=np.full(1000, 0.05))
    decisions = [flow.observe(window(10.0 * i, v1=base)) for i in range(1, 4)]
    assert [d.action for d in decisions] == [Action.CONTINUE, Action.CONTINUE, Action.ROLLBACK]
    assert decisions[-1].terminal
    assert any(
        r.statistic == "consecutive_errors" and r.verdict is Verdict.FAIL for r in decisions[-1].reasons
    )


def test_inconclusive_measurement_pauses_until_approved() -> None:
    """A marginal score pauses the canary; approve() resumes it."""
    metrics = tuple(MetricConfig(name=n) for n in ("latency", "cpu", "mem", "io"))
    cfg = canary_config(
        steps=(SetWeight(50), Analysis(windows=1, measurements=2)),
        alpha=None,
        judge=JudgeConfig(metrics=metrics, pass_threshold=90, marginal_threshold=70),
        metrics=("cpu", "mem", "io"),
    )
    flow = CanaryFlow(cfg)
    flow.observe(window(0))
    rng = np.random.default_rng(5)

    def vw(cpu_shift: float) -> VersionWindow:
        return VersionWindow(
            requests=500,
            latencies=rng.normal(1, 0.1, 500),
            metrics={
                "cpu": rng.normal(1 + cpu_shift, 0.1, 500),
                "mem": rng.normal(1, 0.1, 500),
                "io": rng.normal(1, 0.1, 500),
            },
        )

    d = flow.observe(window(10, v1=vw(0), v2=vw(0.5)))
    assert d.action is Action.PAUSE
    assert flow.phase is CanaryPhase.PAUSED
    assert flow.observe(window(20, v1=vw(0), v2=vw(0))).action is Action.PAUSE
    flow.approve()
    d = flow.observe(window(30, v1=vw(0), v2=vw(0)))
    assert flow.promoted
    assert d.action is Action.PROMOTE


def test_pause_steps_wait_for_time_or_approval() -> None:
    """Pause(duration) holds for run time; Pause() holds until approve()."""
    flow = CanaryFlow(
        canary_config(steps=(SetWeight(10), Pause(30), SetWeight(40), Pause(), SetWeight(60)), judge=None)
    )
    actions = [flow.observe(window(10.0 * i)).action for i in range(5)]
    assert actions == [Action.SET_WEIGHT, Action.PAUSE, Action.PAUSE, Action.CONTINUE, Action.SET_WEIGHT]
    assert flow.weights["v2"] == 40.0
    assert flow.observe(window(60)).action is Action.PAUSE
    assert flow.observe(window(70)).action is Action.PAUSE
    flow.approve()
    assert flow.observe(window(80)).action is Action.CONTINUE
    final = flow.observe(window(90))
    assert final.action is Action.PROMOTE
    assert flow.promoted


def test_manual_abort_wins_and_restores_the_baseline() -> None:
    """abort() in the middle of a canary ends it with all traffic on the baseline."""
    flow = CanaryFlow(canary_config())
    flow.observe(window(0))
    assert flow.weights["v2"] == 20.0
    d = flow.abort("bad dashboard")
    assert d.terminal
    assert d.action is Action.ABORT
    assert flow.outcome is Outcome.ABORTED
    assert dict(d.weights) == {"v1": 100.0, "v2": 0.0}
    assert d.reasons[0].message == "bad dashboard"


def test_manual_pause_holds_the_weights() -> None:
    """pause() holds the current split; windows observed while paused do not advance steps."""
    flow = CanaryFlow(canary_config())
    flow.observe(window(0))
    flow.pause()
    for i in range(1, 6):
        assert flow.observe(window(10.0 * i)).action is Action.PAUSE
    assert flow.step_index == 1
    flow.resume()
    assert flow.phase is CanaryPhase.PROGRESSING


def test_dry_run_metrics_are_reported_but_never_act() -> None:
    """A failing dry-run metric shows up as INFO and the canary still promotes."""
    cfg = canary_config(dry_run=("latency",), steps=(SetWeight(50), Analysis(windows=2)))
    flow = run_canary(CanaryFlow(cfg), seed=6, candidate=VersionModel(latency_factor=1.5))
    assert flow.promoted
    dry = [r for d in flow.history for r in d.reasons if r.metric == "latency"]
    assert dry
    assert all(r.verdict is Verdict.INFO for r in dry)
    assert any("dry-run: high" in r.message for r in dry)


def test_slo_analysis_and_fast_rollback_window() -> None:
    """SLOs judge the candidate; inside the fast-rollback window an SLO breach rolls back at once."""
    slo = SLO(name="availability", objective=0.98)
    cfg = canary_config(judge=None, slos=(slo,), steps=(SetWeight(50), Analysis()), fast_rollback_window=30)
    flow = CanaryFlow(cfg)
    good = VersionWindow(requests=1000, errors=5, latencies=np.full(100, 0.05))
    bad = VersionWindow(requests=1000, errors=100, latencies=np.full(100, 0.05))
    flow.observe(window(0))
    d = flow.observe(window(10, v1=good, v2=good))
    assert d.action is Action.PROMOTE
    assert not d.terminal
    assert flow.phase is CanaryPhase.WATCHING
    d = flow.observe(window(20, v2=bad))
    assert d.action is Action.ROLLBACK
    assert d.terminal
    assert flow.outcome is Outcome.ROLLED_BACK
    assert any(r.statistic == "fast_rollback" for r in d.reasons)
    flow2 = CanaryFlow(cfg)
    flow2.observe(window(0))
    flow2.observe(window(10, v1=good, v2=good))
    flow2.observe(window(20, v2=good))
    d = flow2.observe(window(40, v2=good))
    assert d.action is Action.COMPLETE
    assert flow2.promoted
    flow3 = CanaryFlow(cfg)
    flow3.observe(window(0))
    flow3.observe(window(10, v1=good, v2=good))
    assert flow3.rollback("pager").action is Action.ROLLBACK
    assert flow3.outcome is Outcome.ROLLED_BACK


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": ()}, "steps is empty"),
        ({"candidate": "v1"}, "two different"),
        ({"failure_limit": -1}, "failure_limit"),
        ({"alpha": 0.9}, "alpha"),
        ({"judge": None}, "needs a judge"),
        ({"judge": JudgeConfig(metrics=(MetricConfig(name="cpu"),))}, "not in the windows"),
        ({"dry_run": ("nope",)}, "neither judge metrics nor SLOs"),
        ({"fast_rollback_window": -1}, "fast_rollback_window"),
    ],
)
def test_bad_configuration_names_the_field(kwargs: dict[str, object], match: str) -> None:
    """Configuration errors say which field and how to fix it."""
    with pytest.raises(InvalidConfig, match=match):
        canary_config(**kwargs)


def test_step_validation() -> None:
    """Weights outside 0-100, negative pauses and empty analyses are rejected."""
    with pytest.raises(InvalidConfig, match="outside 0-100"):
        SetWeight(120)
    with pytest.raises(InvalidConfig, match="Pause"):
        Pause(-1)
    with pytest.raises(InvalidConfig, match="Analysis"):
        Analysis(windows=0)
    assert ERRORS.name == "error_rate"


def test_sequential_monitor_rolls_back_before_the_measurement_ends() -> None:
    """With always-valid monitoring a doubled error rate is caught within the 5-window analysis."""
    from harness.stats import SequentialConfig

    cfg = canary_config(steps=(SetWeight(50), Analysis(windows=5)), sequential=SequentialConfig(alpha=0.01))
    flow = run_canary(CanaryFlow(cfg), seed=7, candidate=VersionModel(error_rate=0.03))
    final = flow.history[-1]
    assert flow.outcome is Outcome.ROLLED_BACK
    assert len(flow.history) < 6
    failed = [r for r in final.failed if r.statistic == "always_valid_bound"]
    assert [r.metric for r in failed] == ["error_rate"]
    assert failed[0].value > failed[0].threshold == 1.25
    assert "level 0.005" in failed[0].message
    assert flow.levels.sequential == 0.005
    assert flow.levels.judge == pytest.approx(0.04 / 2)
    with pytest.raises(InvalidConfig, match=r"sequential\.alpha"):
        canary_config(sequential=SequentialConfig(alpha=0.05))
    with pytest.raises(InvalidConfig, match="no always-valid bound"):
        canary_config(
            judge=JudgeConfig(metrics=(MetricConfig(name="latency"),)),
            sequential=SequentialConfig(alpha=0.01),
        )


def test_pausing_inside_the_fast_rollback_window_resumes_watching() -> None:
    """A pause after promotion holds; approve() returns to watching, then the window completes."""
    slo = SLO(name="availability", objective=0.98)
    cfg = canary_config(judge=None, slos=(slo,), steps=(SetWeight(50), Analysis()), fast_rollback_window=30)
    flow = CanaryFlow(cfg)
    good = VersionWindow(requests=1000, errors=5)
    flow.observe(window(0))
    flow.observe(window(10, v1=good, v2=good))
    assert flow.phase is CanaryPhase.WATCHING
    flow.pause()
    assert flow.observe(window(20, v2=good)).action is Action.PAUSE
    flow.approve()
    assert flow.phase is CanaryPhase.WATCHING
    assert flow.observe(window(40, v2=good)).action is Action.COMPLETE
    assert flow.promoted


def test_an_early_rejection_for_a_faster_candidate_never_becomes_a_rollback() -> None:
    """10% faster at first, then 3% slower (inside 5%): the monitor never rolls it back.

    The two-sided monitor it replaces rejected in the candidate-better direction early and rolled
    back once the estimate later turned positive.
    """
    from harness.stats import SequentialConfig

    cfg = canary_config(steps=(SetWeight(50), Analysis(windows=20)), sequential=SequentialConfig(alpha=0.01))
    flow = CanaryFlow(cfg)
    rng = np.random.default_rng(20261203)
    fast, slightly_slow = VersionModel(latency_factor=0.9), VersionModel(latency_factor=1.03)
    t = 0.0
    for i in range(21):
        models = {"v1": VersionModel(), "v2": fast if i < 3 else slightly_slow}
        flow.observe(
            synthetic_window(rng, start=t, end=t + 10, requests=10_000, weights=flow.weights, models=models)
        )
        t += 10
    assert flow.promoted
    monitor = [r for d in flow.history for r in d.reasons if r.statistic == "always_valid_bound"]
    assert monitor
    assert all(r.verdict is Verdict.PASS for r in monitor)


def test_a_candidate_meeting_a_tight_slo_is_rarely_rolled_back() -> None:
    """1% errors against a 99% SLO (exactly met): at most alpha of 300 canaries roll back (was 57%)."""
    slo = SLO(name="availability", objective=0.99)
    runs, rolled = 300, 0
    for seed in range(runs):
        cfg = canary_config(judge=None, slos=(slo,))
        flow = run_canary(CanaryFlow(cfg), seed=10_000 + seed, candidate=VersionModel(), sample=10)
        rolled += flow.rolled_back
    assert rolled / runs <= 0.05 + 3 * (0.05 * 0.95 / runs) ** 0.5


def test_a_candidate_missing_its_slo_is_rolled_back() -> None:
    """3% errors against a 99% SLO: rolled back at the first measurement, the reason names the test."""
    slo = SLO(name="availability", objective=0.99)
    flow = run_canary(
        CanaryFlow(canary_config(judge=None, slos=(slo,))), seed=9, candidate=VersionModel(error_rate=0.03)
    )
    assert flow.rolled_back
    failed = [r for r in flow.history[-1].failed if r.metric == "availability"]
    assert "exact binomial" in failed[0].message
    assert flow.levels.slo == pytest.approx(0.05 / 2)
