"""Rollback plans: backup, validation, execution, verification, roll-forward, history."""

import json

import pytest

from harness.errors import InvalidConfig, UsageError
from harness.rollout import (
    Action,
    Outcome,
    RollbackConfig,
    RollbackMode,
    RollbackPhase,
    RollbackPlan,
    VersionWindow,
    Window,
)
from harness.slo import SLO

BEFORE = {"v2": 100.0, "v1": 0.0}
AVAILABILITY = SLO(name="availability", objective=0.99)


def _plan(**kwargs: object) -> RollbackPlan:
    base: dict[str, object] = {
        "from_version": "v2",
        "to_version": "v1",
        "weights": BEFORE,
        "reason": "p99 regression",
        "pre_checks": ("artifact",),
        "post_checks": (AVAILABILITY,),
        "verify_windows": 2,
    }
    base.update(kwargs)
    return RollbackPlan(RollbackConfig(**base))  # type: ignore[arg-type]


def _window(t: float, errors: int) -> Window:
    return Window(start=t, end=t + 10, versions={"v1": VersionWindow(requests=1000, errors=errors)})


def test_normal_rollback_validates_executes_and_verifies() -> None:
    """backup -> check -> all traffic on v1 -> two healthy windows -> rolled back."""
    plan = _plan()
    assert plan.start(0).action is Action.PAUSE
    assert plan.backup == BEFORE
    assert plan.phase is RollbackPhase.VALIDATING
    assert plan.observe(_window(0, 0)).action is Action.PAUSE
    d = plan.report_check("artifact", True, t=5)
    assert d.action is Action.ROLLBACK
    assert dict(d.weights) == {"v1": 100.0, "v2": 0.0}
    assert plan.observe(_window(10, 1)).action is Action.CONTINUE
    final = plan.observe(_window(20, 2))
    assert final.terminal
    assert final.action is Action.COMPLETE
    assert plan.outcome is Outcome.ROLLED_BACK
    events = [e.event for e in plan.history]
    assert events == ["backup", "validate", "check", "execute", "rolled_back"]
    json.dumps(plan.to_dict())


def test_failed_post_validation_rolls_forward_to_the_exact_backup() -> None:
    """If the old version is unhealthy too, traffic returns exactly to the backed-up split."""
    plan = _plan(mode=RollbackMode.EMERGENCY, weights={"v2": 70.0, "v1": 30.0})
    d = plan.observe(_window(0, 0))
    assert d.action is Action.ROLLBACK
    assert "emergency" in d.reasons[0].message
    final = plan.observe(_window(10, 50))
    assert plan.outcome is Outcome.ROLLED_FORWARD
    assert dict(final.weights) == {"v2": 70.0, "v1": 30.0}
    assert final.failed[0].metric == "availability"


def test_failed_pre_check_cancels_and_failed_execution_rolls_forward() -> None:
    """A failing pre-check keeps the current split; an execution failure restores it."""
    plan = _plan()
    plan.start()
    d = plan.report_check("artifact", False, "checksum mismatch")
    assert plan.outcome is Outcome.ABORTED
    assert dict(d.weights) == BEFORE
    plan2 = _plan(pre_checks=())
    plan2.start()
    d2 = plan2.execution_failed("kubectl timed out")
    assert plan2.outcome is Outcome.ROLLED_FORWARD
    assert dict(d2.weights) == BEFORE
    assert plan2.observe(_window(0, 0)) is d2


def test_abort_and_usage_errors() -> None:
    """abort restores the backup; misuse is reported as a usage error."""
    plan = _plan()
    with pytest.raises(UsageError, match="call start"):
        plan.report_check("artifact", True)
    plan.start()
    with pytest.raises(UsageError, match="already started"):
        plan.start()
    with pytest.raises(InvalidConfig, match="not a pre-check"):
        plan.report_check("dns", True)
    d = plan.abort("operator")
    assert plan.outcome is Outcome.ABORTED
    assert dict(d.weights) == BEFORE
    assert plan.abort() is d
    assert plan.start() is d


def test_zero_verify_windows_finishes_on_execution() -> None:
    """Without verification the plan is done as soon as it executes."""
    plan = _plan(pre_checks=(), verify_windows=0)
    d = plan.start()
    assert d.terminal
    assert plan.outcome is Outcome.ROLLED_BACK


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"to_version": "v2"}, "two different"),
        ({"weights": {"v2": 50}}, "sum to"),
        ({"mode": "panic"}, "valid: normal, emergency"),
        ({"pre_checks": ("a", "a")}, "repeat"),
        ({"verify_windows": -1}, "verify_windows"),
    ],
)
def test_bad_configuration(kwargs: dict[str, object], match: str) -> None:
    """Bad settings name the field."""
    with pytest.raises(InvalidConfig, match=match):
        _plan(**kwargs)
