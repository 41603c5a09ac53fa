"""Champion-challenger: comparison, adaptive allocation, guardrails, probability of best, regret."""

import pytest

from harness.errors import InvalidConfig
from harness.rollout import (
    Action,
    Allocation,
    ChampionChallengerConfig,
    ChampionChallengerFlow,
    Guardrail,
    Outcome,
    VersionModel,
    calibrate,
    synthetic_window,
)
from harness.seeding import Seeds


def _config(**kwargs: object) -> ChampionChallengerConfig:
    base: dict[str, object] = {"champion": "champ", "challengers": ("c1", "c2"), "windows": 10}
    base.update(kwargs)
    return ChampionChallengerConfig(**base)  # type: ignore[arg-type]


MODELS = {
    "champ": VersionModel(error_rate=0.02),
    "c1": VersionModel(error_rate=0.02),
    "c2": VersionModel(error_rate=0.012),
}


def _drive(
    flow: ChampionChallengerFlow, models: dict[str, VersionModel], seed: int
) -> ChampionChallengerFlow:
    rng = Seeds(seed).numpy("champion")
    t = 0.0
    while not flow.terminal:
        flow.observe(
            synthetic_window(
                rng,
                start=t,
                end=t + 10,
                requests=6000,
                weights=flow.weights,
                models=models,
                latency_sample=500,
            )
        )
        t += 10
    return flow


def test_better_challenger_is_promoted_with_probability_of_best_and_regret() -> None:
    """The challenger with fewer errors wins; the decision reports P(best) and regret."""
    flow = _drive(ChampionChallengerFlow(_config()), MODELS, seed=1)
    assert flow.outcome is Outcome.PROMOTED
    assert flow.winner == "c2"
    final = flow.observe(
        synthetic_window(Seeds(0).numpy("x"), start=0, end=1, requests=10, weights={"c2": 100}, models=MODELS)
    )
    assert final.terminal
    assert final.action is Action.PROMOTE
    assert dict(final.weights) == {"champ": 0.0, "c1": 0.0, "c2": 100.0}
    p_best = {r.statistic: r.value for r in final.reasons if r.statistic.startswith("probability_of_best")}
    assert p_best["probability_of_best[c2]"] > 0.95
    assert sum(v for v in p_best.values() if v is not None) == pytest.approx(1.0)
    assert flow.regret() > 0


def test_thompson_sampling_shifts_traffic_to_the_best_arm_and_lowers_regret() -> None:
    """Thompson allocation sends most traffic to the best arm, so regret is below the fixed split's."""
    fixed = _drive(ChampionChallengerFlow(_config()), MODELS, seed=2)
    ts = _drive(ChampionChallengerFlow(_config(allocation=Allocation.THOMPSON, seed=3)), MODELS, seed=2)
    assert ts.winner == "c2"
    assert ts.regret() < fixed.regret()
    eg = ChampionChallengerFlow(_config(allocation="epsilon_greedy", epsilon=0.3, windows=3))
    _drive(eg, MODELS, seed=4)
    assert eg.winner in ("c2", "champ")


def test_allocation_keeps_a_floor_per_live_arm() -> None:
    """Adaptive weights never drop a live arm below min_weight."""
    flow = ChampionChallengerFlow(_config(allocation="thompson", min_weight=10, windows=50))
    rng = Seeds(5).numpy("floor")
    for i in range(5):
        d = flow.observe(
            synthetic_window(
                rng, start=10.0 * i, end=10.0 * i + 10, requests=6000, weights=flow.weights, models=MODELS
            )
        )
        assert min(d.weights.values()) >= 10.0 - 1e-9
        assert sum(d.weights.values()) == pytest.approx(100.0)


def test_guardrail_ejects_a_challenger() -> None:
    """A challenger with better errors but doubled latency is ejected and cannot win."""
    models = dict(MODELS, c2=VersionModel(error_rate=0.012, latency_factor=2.0))
    flow = _drive(
        ChampionChallengerFlow(_config(guardrails=(Guardrail(metric="latency", max_ratio=1.3),))),
        models,
        seed=6,
    )
    assert flow.ejected == {"c2": "guardrail latency"}
    assert flow.winner != "c2"


def test_no_difference_keeps_the_champion() -> None:
    """Equal arms: the champion is retained (promotion needs significance)."""
    models = {a: VersionModel(error_rate=0.02) for a in ("champ", "c1", "c2")}
    op = calibrate(
        lambda: ChampionChallengerFlow(_config()), models, runs=100, seed=8, requests=6000, latency_sample=100
    )
    assert op.rate(Outcome.PROMOTED) <= 0.05 + 3 * (0.05 * 0.95 / 100) ** 0.5
    assert op.rate(Outcome.RETAINED) >= 0.85


def test_sample_metric_with_maximise_goal() -> None:
    """A per-request score metric with goal=maximize promotes the higher-scoring challenger."""
    cfg = _config(challengers=("c1",), metric="latency", goal="maximize", windows=3)
    models = {"champ": VersionModel(), "c1": VersionModel(latency_factor=1.2)}
    flow = _drive(ChampionChallengerFlow(cfg), models, seed=9)
    assert flow.winner == "c1"
    assert flow.estimate("c1") > flow.estimate("champ")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"challengers": ()}, "at least one challenger"),
        ({"challengers": ("champ",)}, "distinct"),
        ({"weights": {"champ": 50, "c1": 50}}, "arms are"),
        ({"weights": {"champ": 50, "c1": 50, "c2": 50}}, "sum to"),
        ({"confidence": 0.3}, "confidence"),
        ({"min_weight": 40}, "exceeds 100%"),
        ({"metric": "revenue"}, "not in the windows"),
        ({"allocation": "ucb"}, "valid: fixed, thompson, epsilon_greedy"),
    ],
)
def test_bad_configuration(kwargs: dict[str, object], match: str) -> None:
    """Bad settings name the field and the fix."""
    with pytest.raises(InvalidConfig, match=match):
        _config(**kwargs)
    with pytest.raises(InvalidConfig, match="max_ratio"):
        Guardrail(metric="latency", max_ratio=0.5)


def test_fixed_allocation_keeps_the_configured_split_until_an_ejection() -> None:
    """An 80/10/10 fixed split stays exactly so; an ejected arm's share is spread over the others."""
    cfg = _config(
        weights={"champ": 80, "c1": 10, "c2": 10}, guardrails=(Guardrail(metric="latency", max_ratio=1.3),)
    )
    models = dict(MODELS, c1=VersionModel(error_rate=0.02, latency_factor=2.0))
    flow = ChampionChallengerFlow(cfg)
    rng = Seeds(10).numpy("fixed")
    d = flow.observe(
        synthetic_window(rng, start=0, end=10, requests=6000, weights=flow.weights, models=models)
    )
    assert flow.ejected == {"c1": "guardrail latency"}
    assert dict(d.weights) == pytest.approx({"champ": 80 / 90 * 100, "c1": 0.0, "c2": 10 / 90 * 100})
    flow2 = ChampionChallengerFlow(_config(weights={"champ": 80, "c1": 10, "c2": 10}))
    d2 = flow2.observe(
        synthetic_window(rng, start=0, end=10, requests=6000, weights=flow2.weights, models=MODELS)
    )
    assert dict(d2.weights) == {"champ": 80.0, "c1": 10.0, "c2": 10.0}
    assert d2.action is Action.CONTINUE
