"""Hypothesis state machines for the canary controller and the rollback plan."""

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from harness.rollout import (
    Analysis,
    CanaryFlow,
    Decision,
    Outcome,
    Pause,
    RollbackConfig,
    RollbackMode,
    RollbackPlan,
    SetWeight,
    VersionWindow,
    Window,
)
from harness.slo import SLO

from ._helpers import canary_config

BASELINE_ONLY = {"v1": 100.0, "v2": 0.0}


def _vw(seed: int, slow: float, errors: int) -> VersionWindow:
    rng = np.random.default_rng(seed)
    return VersionWindow(requests=400, errors=errors, latencies=rng.lognormal(-3, 0.3, 200) * slow)


class CanaryMachine(RuleBasedStateMachine):
    """Any interleaving of windows and manual gates keeps the canary's promises."""

    def __init__(self) -> None:
        super().__init__()
        steps = (
            SetWeight(10),
            Analysis(windows=2),
            Pause(),
            SetWeight(50),
            Pause(20),
            Analysis(),
            SetWeight(80),
        )
        self.flow = CanaryFlow(
            canary_config(
                steps=steps,
                failure_limit=1,
                inconclusive_limit=0,
                fast_rollback_window=20,
                slos=(SLO(name="availability", objective=0.95),),
            )
        )
        self.t = 0.0
        self.final: Decision | None = None
        self.decisions = 0

    def _record(self, d: Decision) -> None:
        if self.final is not None:
            assert d is self.final, "a decision was made after the terminal state"
        elif d.terminal:
            self.final = d

    @rule(
        seed=st.integers(0, 2**16),
        slow=st.sampled_from([1.0, 1.0, 1.5]),
        errors=st.sampled_from([4, 4, 40]),
        with_candidate=st.booleans(),
    )
    def observe(self, seed: int, slow: float, errors: int, with_candidate: bool) -> None:
        versions = {"v1": _vw(seed, 1.0, 4)}
        if with_candidate:
            versions["v2"] = _vw(seed + 1, slow, errors)
        d = self.flow.observe(Window(start=self.t, end=self.t + 10, versions=versions))
        self.t += 10
        self._record(d)

    @rule()
    def pause(self) -> None:
        self._record(self.flow.pause())

    @rule()
    def approve(self) -> None:
        self._record(self.flow.approve())

    @rule()
    def rollback(self) -> None:
        was_terminal = self.flow.terminal
        d = self.flow.rollback()
        if not was_terminal:
            assert self.flow.outcome is Outcome.ROLLED_BACK
        self._record(d)

    @rule()
    def abort(self) -> None:
        was_terminal = self.flow.terminal
        d = self.flow.abort()
        if not was_terminal:
            assert self.flow.outcome is Outcome.ABORTED, "a manual abort must always win"
        self._record(d)

    @invariant()
    def weights_are_a_split(self) -> None:
        w = self.flow.weights
        assert set(w) == {"v1", "v2"}
        assert abs(sum(w.values()) - 100.0) < 1e-9

    @invariant()
    def rollback_restores_the_baseline_exactly(self) -> None:
        if self.flow.outcome in (Outcome.ROLLED_BACK, Outcome.ABORTED):
            assert dict(self.flow.weights) == BASELINE_ONLY
            assert self.final is not None
            assert dict(self.final.weights) == BASELINE_ONLY

    @invariant()
    def terminal_iff_outcome(self) -> None:
        assert self.flow.terminal == (self.flow.outcome is not Outcome.RUNNING)


TestCanaryMachine = CanaryMachine.TestCase
TestCanaryMachine.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)


class RollbackMachine(RuleBasedStateMachine):
    """Rollback plans restore the exact previous split or reach the target, and then stop deciding."""

    def __init__(self) -> None:
        super().__init__()
        self.plan: RollbackPlan | None = None
        self.final: Decision | None = None
        self.t = 0.0

    @initialize(mode=st.sampled_from(list(RollbackMode)), split=st.integers(0, 100), verify=st.integers(0, 3))
    def setup(self, mode: RollbackMode, split: int, verify: int) -> None:
        self.before = {"v2": float(split), "v1": float(100 - split)}
        self.plan = RollbackPlan(
            RollbackConfig(
                from_version="v2",
                to_version="v1",
                weights=self.before,
                mode=mode,
                pre_checks=("artifact", "schema"),
                post_checks=(SLO(name="availability", objective=0.95),),
                verify_windows=verify,
            )
        )

    def _record(self, d: Decision) -> None:
        if self.final is not None:
            assert d is self.final
        elif d.terminal:
            self.final = d

    @rule(errors=st.sampled_from([0, 0, 200]))
    def observe(self, errors: int) -> None:
        assert self.plan is not None
        vw = VersionWindow(requests=1000, errors=errors)
        self._record(self.plan.observe(Window(start=self.t, end=self.t + 10, versions={"v1": vw})))
        self.t += 10

    @precondition(lambda self: self.plan is not None and self.plan.phase.value == "validating")
    @rule(name=st.sampled_from(["artifact", "schema"]), ok=st.booleans())
    def check(self, name: str, ok: bool) -> None:
        assert self.plan is not None
        self._record(self.plan.report_check(name, ok))

    @rule()
    def execution_fails(self) -> None:
        assert self.plan is not None
        self._record(self.plan.execution_failed("apply failed"))

    @rule()
    def abort(self) -> None:
        assert self.plan is not None
        was_terminal = self.plan.terminal
        self._record(self.plan.abort())
        if not was_terminal:
            assert self.plan.outcome is Outcome.ABORTED

    @invariant()
    def outcomes_have_exact_weights(self) -> None:
        if self.plan is None:
            return
        outcome = self.plan.outcome
        if outcome in (Outcome.ROLLED_FORWARD, Outcome.ABORTED):
            assert dict(self.plan.weights) == self.before
        if outcome is Outcome.ROLLED_BACK:
            assert dict(self.plan.weights) == {"v1": 100.0, "v2": 0.0}
        if self.plan.backup is not None:
            assert dict(self.plan.backup) == self.before

    @invariant()
    def emergency_never_waits_for_checks(self) -> None:
        if self.plan is not None and self.plan.config.mode is RollbackMode.EMERGENCY:
            assert self.plan.phase.value != "validating"


TestRollbackMachine = RollbackMachine.TestCase
TestRollbackMachine.settings = settings(max_examples=80, stateful_step_count=20, deadline=None)
