"""The window/decision contract the scenario engine relies on."""

import json
import math

import numpy as np
import pytest

from harness import rollout
from harness.errors import InvalidConfig
from harness.rollout import Action, Decision, Reason, Verdict, VersionWindow, Window
from harness.rollout.contract import parse_enum


def test_all_is_sorted_and_resolves() -> None:
    """The public surface is sorted and every name exists."""
    assert list(rollout.__all__) == sorted(rollout.__all__)
    for name in rollout.__all__:
        assert getattr(rollout, name) is not None


def test_decision_round_trips_through_json() -> None:
    """to_dict is JSON-serialisable (non-finite numbers too) and from_dict inverts it."""
    reason = Reason(
        metric="latency",
        statistic="p95_ratio",
        value=math.inf,
        threshold=1.1,
        verdict=Verdict.FAIL,
        message="slower",
    )
    d = Decision(action=Action.ROLLBACK, weights={"v2": 0.0, "v1": 100.0}, reasons=(reason,), terminal=True)
    data = json.loads(json.dumps(d.to_dict()))
    back = Decision.from_dict(data)
    assert back.action is Action.ROLLBACK
    assert dict(back.weights) == {"v1": 100.0, "v2": 0.0}
    assert back.reasons[0].value == math.inf
    assert back.failed == back.reasons
    assert "latency p95_ratio" in d.explain()


def test_decision_weights_are_read_only() -> None:
    """A decision cannot be mutated after the fact."""
    d = Decision(action=Action.CONTINUE, weights={"a": 50.0})
    with pytest.raises(TypeError):
        d.weights["a"] = 1.0  # type: ignore[index]


def test_version_window_validates_counts_and_shapes() -> None:
    """Errors above requests and 2-D latency arrays are rejected with the field named."""
    with pytest.raises(InvalidConfig, match="errors"):
        VersionWindow(requests=3, errors=4)
    with pytest.raises(InvalidConfig, match="1-D"):
        VersionWindow(requests=3, latencies=np.zeros((2, 2)))


def test_window_lookup_and_metric_values() -> None:
    """Missing versions read as empty; named metrics resolve; bad bounds are rejected."""
    vw = VersionWindow(requests=10, errors=1, latencies=[0.1, 0.2], metrics={"cpu": [1.0]})
    w = Window(start=0.0, end=10.0, versions={"v1": vw})
    assert w.duration == 10.0
    assert w.version("v1").error_rate == pytest.approx(0.1)
    assert w.version("nope").requests == 0
    assert list(vw.values("cpu")) == [1.0]
    assert vw.values("latency").dtype == np.float64
    assert vw.values("missing").size == 0
    with pytest.raises(InvalidConfig, match="start"):
        Window(start=5.0, end=1.0)


def test_parse_enum_lists_valid_values() -> None:
    """A bad enum value names the valid ones."""
    with pytest.raises(InvalidConfig, match="valid: continue, set_weight"):
        parse_enum(Action, "go", field_name="action")
    assert parse_enum(Action, "pause", field_name="action") is Action.PAUSE


@pytest.mark.parametrize("module", ["harness.rollout", "harness.stats", "harness.slo"])
def test_public_classes_functions_and_methods_have_docstrings(module: str) -> None:
    """Every exported class and function, and every public method, says what it does."""
    import importlib
    import inspect

    mod = importlib.import_module(module)
    missing = []
    for name in mod.__all__:
        obj = getattr(mod, name)
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and not (obj.__doc__ or "").strip():
            missing.append(name)
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                fn = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                if not attr.startswith("_") and inspect.isfunction(fn) and not (fn.__doc__ or "").strip():
                    missing.append(f"{name}.{attr}")
    assert missing == []


def test_flow_configurations_convert_from_plain_data_with_pydantic() -> None:
    """A scenario loader can build the frozen configs from YAML-like dicts; our validation still runs."""
    from pydantic import TypeAdapter

    from harness.rollout import Analysis, CanaryConfig, Pause, RollbackConfig, SetWeight
    from harness.stats import EffectSize

    data = {
        "baseline": "v1",
        "candidate": "v2",
        "steps": [{"weight": 10}, {"windows": 2, "measurements": 1}, {"duration": 30}],
        "judge": {"metrics": [{"name": "latency", "effect": "p95_ratio", "allowed_increase": 1.05}]},
        "slos": [{"name": "availability", "objective": 0.99}],
    }
    cfg = TypeAdapter(CanaryConfig).validate_python(data)
    assert cfg.steps == (SetWeight(10), Analysis(windows=2), Pause(30))
    assert cfg.judge is not None
    assert cfg.judge.metrics[0].effect is EffectSize.P95_RATIO
    with pytest.raises(InvalidConfig, match="outside 0-100"):
        TypeAdapter(CanaryConfig).validate_python({**data, "steps": [{"weight": 120}]})
    rb = TypeAdapter(RollbackConfig).validate_python(
        {"from_version": "a", "to_version": "b", "weights": {"a": 100}}
    )
    assert dict(rb.weights) == {"a": 100.0}


def test_every_flow_satisfies_the_flow_protocol() -> None:
    """Canary, shadow, champion-challenger and rollback are all Flows (weights, outcome, observe)."""
    from harness.rollout import (
        ChampionChallengerConfig,
        ChampionChallengerFlow,
        Flow,
        Outcome,
        RollbackConfig,
        RollbackPlan,
        ShadowConfig,
        ShadowFlow,
    )

    from ._helpers import canary_config

    flows = [
        rollout.CanaryFlow(canary_config()),
        ShadowFlow(ShadowConfig(primary="a", candidate="b")),
        ChampionChallengerFlow(ChampionChallengerConfig(champion="a", challengers=("b",))),
        RollbackPlan(RollbackConfig(from_version="b", to_version="a", weights={"b": 100})),
    ]
    for flow in flows:
        assert isinstance(flow, Flow)
        assert flow.outcome is Outcome.RUNNING
        assert sum(flow.weights.values()) == pytest.approx(100.0)
