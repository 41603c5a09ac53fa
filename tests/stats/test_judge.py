"""The Kayenta-style canary judge."""

import math

import numpy as np
import pytest

from harness import stats
from harness.errors import InvalidConfig
from harness.seeding import Seeds
from harness.stats import (
    CanaryJudge,
    Classification,
    Counts,
    Direction,
    EffectSize,
    JudgeConfig,
    MetricConfig,
    NanStrategy,
    Verdict,
    mann_whitney_judge,
)


def test_public_names_are_sorted_and_resolve() -> None:
    """harness.stats.__all__ is sorted and complete."""
    assert list(stats.__all__) == sorted(stats.__all__)
    for name in stats.__all__:
        assert getattr(stats, name) is not None


def test_spinnaker_6278_seventy_fold_mean_increase_is_flagged() -> None:
    """Kayenta passed canary=7x100+3x1 vs baseline=10x1; the mean-ratio bound flags it HIGH."""
    res = mann_whitney_judge([100.0] * 7 + [1.0] * 3, [1.0] * 10, alpha=0.02)
    assert res.classification is Classification.HIGH
    assert res.effect_size == pytest.approx(70.3)
    assert res.p_value < 0.02
    assert res.cles == pytest.approx(0.85)
    assert "mean ratio 70.3; 98% lower bound 34.03 > allowed 1.1" in res.message


def test_significant_but_small_difference_passes() -> None:
    """A clearly detectable 2% increase is inside allowed_increase=1.1 and passes."""
    rng = Seeds(1).numpy("judge/small")
    res = mann_whitney_judge(rng.lognormal(0, 0.3, 20_000) * 1.02, rng.lognormal(0, 0.3, 20_000))
    assert res.low > 1.0  # the increase is real ...
    assert res.high < 1.1  # ... and inside the allowance
    assert res.classification is Classification.PASS


def test_large_but_insignificant_difference_passes() -> None:
    """One outlier gives a large mean ratio but no rank evidence, so it is not HIGH."""
    res = mann_whitney_judge([1.0] * 9 + [1000.0], [1.0] * 10)
    assert res.effect_size > 10
    assert res.classification is Classification.PASS


def test_direction_decides_which_change_is_bad() -> None:
    """A decrease is LOW only when direction allows it."""
    rng = Seeds(2).numpy("judge/dir")
    x, y = rng.normal(50, 5, 500), rng.normal(100, 5, 500)
    assert mann_whitney_judge(x, y, direction="increase").classification is Classification.PASS
    assert mann_whitney_judge(x, y, direction="decrease").classification is Classification.LOW
    assert mann_whitney_judge(x, y, direction=Direction.EITHER).classification is Classification.LOW
    assert mann_whitney_judge(y, x, direction="either").classification is Classification.HIGH


def _config(**kwargs: object) -> JudgeConfig:
    metrics = (
        MetricConfig(name="latency", effect=EffectSize.P95_RATIO, group="perf"),
        MetricConfig(name="errors", group="errors", critical=True),
        MetricConfig(name="cpu", group="perf"),
    )
    return JudgeConfig(metrics=metrics, **kwargs)  # type: ignore[arg-type]


def test_score_groups_and_critical_metrics() -> None:
    """Group scores are weighted; a failing critical metric forces score 0 and FAIL."""
    rng = Seeds(3).numpy("judge/score")
    base = {
        "latency": rng.lognormal(0, 0.5, 3000),
        "errors": Counts(30, 3000),
        "cpu": rng.normal(1, 0.1, 3000),
    }
    good = {
        "latency": rng.lognormal(0, 0.5, 3000),
        "errors": Counts(31, 3000),
        "cpu": rng.normal(1, 0.1, 3000),
    }
    judge = CanaryJudge(_config(group_weights={"perf": 70, "errors": 30}))
    res = judge.judge(good, base)
    assert res.verdict is Verdict.PASS
    assert res.score == 100.0
    slow_cpu = dict(good, cpu=rng.normal(1.5, 0.1, 3000))
    res = judge.judge(slow_cpu, base)
    assert res.metric("cpu").classification is Classification.HIGH
    assert res.group_scores["perf"] == 50.0
    assert res.score == pytest.approx(0.7 * 50 + 0.3 * 100)
    assert res.verdict is Verdict.FAIL
    bad_errors = dict(good, errors=Counts(90, 3000))
    res = judge.judge(bad_errors, base)
    assert res.metric("errors").classification is Classification.HIGH
    assert res.score == 0.0
    assert res.to_dict()["metrics"][1]["classification"] == "high"


def test_marginal_and_nodata() -> None:
    """Score between thresholds is MARGINAL; metrics without data are NO_DATA and excluded."""
    rng = Seeds(4).numpy("judge/marginal")
    metrics = tuple(MetricConfig(name=f"m{i}") for i in range(4))
    judge = CanaryJudge(JudgeConfig(metrics=metrics, pass_threshold=90, marginal_threshold=70))
    base = {f"m{i}": rng.normal(10, 1, 400) for i in range(4)}
    cand = {f"m{i}": rng.normal(10, 1, 400) for i in range(3)}
    cand["m3"] = rng.normal(13, 1, 400)
    res = judge.judge(cand, base)
    assert res.score == 75.0
    assert res.verdict is Verdict.MARGINAL
    res = judge.judge({"m0": cand["m0"][:3]}, base)
    assert res.verdict is Verdict.NO_DATA
    assert math.isnan(res.score)
    assert res.metric("m1").message == "no data for this metric"
    with pytest.raises(KeyError):
        res.metric("nope")


def test_nan_strategies_and_outlier_removal() -> None:
    """NaNs are dropped or counted as zero; IQR fences drop a few huge outliers."""
    base = np.linspace(1.0, 2.0, 200)
    with_nan = np.concatenate([np.linspace(1.0, 2.0, 200), [np.nan] * 100])
    drop = MetricConfig(name="m", nan_strategy=NanStrategy.REMOVE)
    zero = MetricConfig(name="m", nan_strategy="replace", direction="either")
    assert stats.judge_metric(drop, with_nan, base).classification is Classification.PASS
    assert stats.judge_metric(zero, with_nan, base).classification is Classification.LOW
    spiky = np.concatenate([np.linspace(1.0, 2.0, 200), [1e6] * 3])
    plain = stats.judge_metric(MetricConfig(name="m", effect="mean_ratio"), spiky, base)
    fenced = stats.judge_metric(MetricConfig(name="m", outlier_iqr=3.0), spiky, base)
    assert plain.effect_size > 10
    assert fenced.effect_size == pytest.approx(1.0, abs=0.01)
    assert fenced.n_candidate == 200


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: MetricConfig(name="m", allowed_increase=0.9), "allowed_increase"),
        (lambda: MetricConfig(name="m", effect="cles", allowed_increase=1.1), "probabilities"),
        (lambda: MetricConfig(name="m", direction="up"), "valid: increase, decrease, either"),
        (lambda: MetricConfig(name=""), "non-empty"),
        (lambda: MetricConfig(name="m", outlier_iqr=0), "outlier_iqr"),
        (lambda: JudgeConfig(metrics=()), "at least one"),
        (lambda: JudgeConfig(metrics=(MetricConfig(name="a"), MetricConfig(name="a"))), "more than once"),
        (lambda: JudgeConfig(metrics=(MetricConfig(name="a"),), group_weights={"perf": 1}), "unknown groups"),
        (
            lambda: JudgeConfig(metrics=(MetricConfig(name="a"),), pass_threshold=50, marginal_threshold=60),
            "marginal_threshold",
        ),
        (lambda: JudgeConfig(metrics=(MetricConfig(name="a"),), alpha=0.7), "alpha"),
    ],
)
def test_bad_configuration_names_the_field_and_fix(build: object, match: str) -> None:
    """Configuration errors quote the value and say what to do."""
    with pytest.raises(InvalidConfig, match=match):
        build()  # type: ignore[operator]


def test_mixed_data_kinds_are_rejected() -> None:
    """A metric cannot be Counts on one side and samples on the other."""
    with pytest.raises(InvalidConfig, match="both be Counts"):
        stats.judge_metric(MetricConfig(name="e"), Counts(1, 10), [1.0, 2.0])
    with pytest.raises(InvalidConfig, match="events <= total"):
        Counts(5, 4)
