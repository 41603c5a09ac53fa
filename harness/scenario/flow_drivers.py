"""Drivers for the four rollout flows: canary, shadow, champion-challenger and rollback."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

from harness.rollout import (
    Analysis,
    CanaryConfig,
    CanaryFlow,
    ChampionChallengerConfig,
    ChampionChallengerFlow,
    ExperimentConfig,
    ExperimentFlow,
    Goal,
    HarmBudget,
    RollbackConfig,
    RollbackPlan,
    SetWeight,
    ShadowConfig,
    ShadowFlow,
)
from harness.rollout.contract import Decision, Exchange, Outcome, Window
from harness.scenario.flows import FlowDriver, FlowOutcome
from harness.scenario.model import FlowKind, ModelSpec, ResponseSpec, Scenario
from harness.scenario.services import Outcomes
from harness.seeding import Seeds
from harness.slo import SLO
from harness.stats import EffectSize, JudgeConfig, MetricConfig

__all__ = ["CanaryDriver", "ChampionDriver", "ExperimentDriver", "RollbackDriver", "ShadowDriver", "build"]


class _Controller(Protocol):
    """What a driver feeds: a rollout controller that decides window by window."""

    @property
    def terminal(self) -> bool: ...

    def observe(self, window: Window) -> Decision: ...


class _ControllerDriver(FlowDriver):
    """Shared bookkeeping: remember when the controller reached its terminal decision."""

    def __init__(self) -> None:
        self.decided_at: float | None = None

    def _note(self, decision: Decision) -> Decision:
        if decision.terminal and self.decided_at is None:
            self.decided_at = decision.t
        return decision

    def _feed(self, flow: _Controller, window: Window) -> Decision | None:
        """``flow``'s decision on ``window``; None once it has reached its terminal decision."""
        if flow.terminal:
            return None
        return self._note(flow.observe(window))


class CanaryDriver(_ControllerDriver):
    """Steps of weight, each followed by an analysis of p95 latency and error rate."""

    kind = FlowKind.CANARY

    def __init__(self, scenario: Scenario) -> None:
        super().__init__()
        spec, flow = scenario.flow.canary, scenario.flow
        assert flow.candidate is not None
        steps: list[SetWeight | Analysis] = []
        for weight in spec.steps:
            if weight >= 100.0:
                break
            steps += [SetWeight(weight), Analysis(windows=spec.analysis_windows)]
        judge = _judge(spec.max_latency_increase, spec.max_error_rate_ratio, alpha=0.05)
        self.flow = CanaryFlow(
            CanaryConfig(
                baseline=flow.stable,
                candidate=flow.candidate,
                steps=tuple(steps),
                judge=judge,
                alpha=spec.alpha,
                consecutive_error_limit=spec.consecutive_error_limit,
            )
        )

    def weights(self) -> Mapping[str, float]:
        """The canary's current split."""
        return self.flow.weights

    def observe(self, window: Window) -> Decision | None:
        """Feed the canary until it promotes or rolls back."""
        return self._feed(self.flow, window)

    def outcome(self) -> FlowOutcome:
        """Promoted, rolled back, or still running at the end of the scenario."""
        return FlowOutcome(
            kind=self.kind.value,
            finished=self.flow.terminal,
            promoted=self.flow.promoted,
            rolled_back=self.flow.rolled_back,
            decided_at=self.decided_at,
            details={"outcome": self.flow.outcome.value, "step": self.flow.step_index},
        )


class ShadowDriver(_ControllerDriver):
    """Mirror user traffic to the candidate; compare responses with a noise-cancelling secondary."""

    kind = FlowKind.SHADOW

    def __init__(self, scenario: Scenario, seeds: Seeds) -> None:
        super().__init__()
        flow, spec = scenario.flow, scenario.flow.shadow
        assert flow.candidate is not None
        self.stable, self.candidate = flow.stable, flow.candidate
        self.spec = spec
        self.responses = {name: _response_spec(scenario, name) for name in (self.stable, self.candidate)}
        stable_model = scenario.versions[self.stable].model
        self.stable_error_rate = stable_model.error_rate if stable_model is not None else 0.0
        self.rng = seeds.stream("shadow/responses")
        self.sequence = 0
        self.offered: list[Exchange] | None = None
        self.flow = ShadowFlow(
            ShadowConfig(
                primary=self.stable,
                candidate=self.candidate,
                ignore=tuple(spec.ignore),
                alpha=spec.alpha,
                min_exchanges=spec.min_exchanges,
                windows=spec.windows,
            )
        )

    def weights(self) -> Mapping[str, float]:
        """Users are served by the primary only."""
        return {self.stable: 100.0}

    def mirror(self) -> tuple[str, float] | None:
        """Mirror to the candidate until the comparison is decided."""
        return None if self.flow.terminal else (self.candidate, self.spec.mirror_fraction)

    def offer(self, exchange: Exchange) -> None:
        """A triple of real responses (a real-code run), used instead of modelled ones, up to the cap."""
        if self.offered is None:
            self.offered = []
        if len(self.offered) < self.spec.max_exchanges_per_window:
            self.offered.append(exchange)

    def exchanges(self, start: float, end: float, served: Mapping[str, Outcomes]) -> tuple[Exchange, ...]:
        """One (primary, secondary, candidate) triple per mirrored request, up to the per-window cap."""
        if self.offered is not None:
            offered, self.offered = tuple(self.offered), []
            return () if self.flow.terminal else offered
        mirrored = served.get(self.candidate)
        if mirrored is None or self.flow.terminal:
            return ()
        count = min(mirrored.errors.size, self.spec.max_exchanges_per_window)  # a sample when large
        out = []
        for i in range(count):
            self.sequence += 1
            failed = bool(mirrored.errors[i])
            out.append(
                Exchange(
                    primary=self._respond(self.stable, self.rng.random() < self.stable_error_rate),
                    secondary=self._respond(self.stable, self.rng.random() < self.stable_error_rate),
                    candidate=self._respond(self.candidate, failed),
                    request_id=str(self.sequence),
                )
            )
        return tuple(out)

    def _respond(self, version: str, failed: bool) -> dict[str, Any]:
        spec = self.responses[version]
        body: dict[str, Any] = {"status": "error"} if failed else dict(spec.fields)
        for name, (value, rate) in spec.diff.items():
            if self.rng.random() < rate and not failed:
                body[name] = value
        for name in spec.noisy:
            body[name] = self.rng.getrandbits(32)
        return body

    def observe(self, window: Window) -> Decision | None:
        """Count the window's exchanges; decide after the configured windows."""
        return self._feed(self.flow, window)

    def outcome(self) -> FlowOutcome:
        """Which fields the candidate changed beyond noise."""
        report = self.flow.report()
        return FlowOutcome(
            kind=self.kind.value,
            finished=self.flow.terminal,
            promoted=self.flow.outcome is Outcome.PASSED,
            decided_at=self.decided_at,
            detected_fields=sorted(r.field for r in report if r.regression),
            details={
                "outcome": self.flow.outcome.value,
                "exchanges": self.flow.exchanges,
                "fields": {
                    r.field: {"candidate": r.candidate_diffs, "noise": r.noise_diffs, "p": r.p_value}
                    for r in report
                },
            },
        )


def _response_spec(scenario: Scenario, version: str) -> ResponseSpec:
    model = scenario.versions[version].model
    return model.response if model is not None else ResponseSpec()


class ChampionDriver(_ControllerDriver):
    """Split traffic between champion and challenger; promote only on a significant win."""

    kind = FlowKind.CHAMPION_CHALLENGER

    def __init__(self, scenario: Scenario, seeds: Seeds) -> None:
        super().__init__()
        flow, spec = scenario.flow, scenario.flow.champion
        assert flow.candidate is not None
        declared = sorted(
            {m for v in scenario.versions.values() if v.model is not None for m in v.model.metrics}
        )
        self.flow = ChampionChallengerFlow(
            ChampionChallengerConfig(
                champion=flow.stable,
                challengers=(flow.candidate,),
                metric=spec.metric,
                goal=Goal.MINIMIZE if spec.direction == "lower" else Goal.MAXIMIZE,
                confidence=spec.confidence,
                weights={flow.stable: 100.0 - spec.split, flow.candidate: spec.split},
                windows=spec.windows,
                min_samples=spec.min_samples,
                metrics=tuple(declared),
                seed=seeds.int_seed("champion"),
            )
        )

    def weights(self) -> Mapping[str, float]:
        """The current split."""
        return self.flow.weights

    def observe(self, window: Window) -> Decision | None:
        """Feed the comparison until it decides."""
        return self._feed(self.flow, window)

    def outcome(self) -> FlowOutcome:
        """The challenger that won, if any."""
        promoted = self.flow.outcome is Outcome.PROMOTED
        return FlowOutcome(
            kind=self.kind.value,
            finished=self.flow.terminal,
            promoted=promoted,
            decided_at=self.decided_at,
            winner=self.flow.winner if promoted else None,
            details={
                "outcome": self.flow.outcome.value,
                "probability_of_best": self.flow.probability_of_best(),
                "regret": self.flow.regret(),
            },
        )


class RollbackDriver(_ControllerDriver):
    """Deploy the candidate over a state store; when validation finds corruption, roll back.

    The store is a set of records each version writes on its requests. The candidate corrupts a
    fraction of what it writes (``corrupts_state``). At ``validate_after`` the driver counts
    corrupt records; past ``max_corrupt_fraction`` it starts a :class:`RollbackPlan` whose
    pre-check is the state backup, restores the backup, and lets the plan verify the target
    against an error-rate SLO before declaring the rollback done. The target is the stable
    version, or, when the scenario names a lineage, the one the plan chooses from it (a plan that
    finds none aborts, and the state is left as it is).
    """

    kind = FlowKind.ROLLBACK
    CHECK = "state-backup-restored"

    def __init__(self, scenario: Scenario, seeds: Seeds) -> None:
        super().__init__()
        flow, spec = scenario.flow, scenario.flow.rollback
        assert flow.candidate is not None
        self.stable, self.candidate, self.spec = flow.stable, flow.candidate, spec
        self.rng = seeds.stream("rollback/state")
        self.records = {f"record-{i}": f"{self.stable}:0" for i in range(spec.records)}
        self.backup: dict[str, str] | None = dict(self.records)
        self.models: dict[str, ModelSpec | None] = {n: v.model for n, v in scenario.versions.items()}
        self.split: dict[str, float] = {self.candidate: 100.0}
        self.plan: RollbackPlan | None = None
        self.validated_at: float | None = None
        self.corrupt_seen = 0
        self.restored: bool | None = None

    def weights(self) -> Mapping[str, float]:
        """The candidate serves until the plan moves traffic back."""
        return self.plan.weights if self.plan is not None else self.split

    def _write(self, served: Mapping[str, Outcomes]) -> None:
        keys = list(self.records)
        for name, outcome in served.items():
            model = self.models.get(name)
            corrupts = model.corrupts_state if model is not None else 0.0
            for _ in range(min(outcome.requests, 200)):
                key = keys[self.rng.randrange(len(keys))]
                bad = corrupts > 0 and self.rng.random() < corrupts
                self.records[key] = f"{name}:corrupt" if bad else f"{name}:ok"

    def corrupt_fraction(self) -> float:
        """Share of records holding corrupt values."""
        return sum(v.endswith(":corrupt") for v in self.records.values()) / len(self.records)

    def record_traffic(self, served: Mapping[str, Outcomes]) -> None:
        """The window's requests write to the store."""
        self._write(served)

    def observe(self, window: Window) -> Decision | None:
        """Validate once ``validate_after`` has passed; then drive the rollback plan."""
        if self.plan is None:
            if window.end < self.spec.validate_after or self.validated_at is not None:
                return None
            self.validated_at = window.end
            self.corrupt_seen = round(self.corrupt_fraction() * len(self.records))
            if self.corrupt_fraction() <= self.spec.max_corrupt_fraction:
                self.decided_at = window.end
                return None
            return self._start(window)
        if self.plan.terminal:
            return None
        return self._note(self.plan.observe(window))

    def _start(self, window: Window) -> Decision:
        lineage = self.spec.lineage_graph()
        plan = RollbackPlan(
            RollbackConfig(
                from_version=self.candidate,
                to_version=self.stable if lineage is None else None,
                lineage=lineage,
                weights=dict(self.split),
                reason=f"{self.corrupt_fraction():.1%} of records corrupt after {self.candidate} deployed",
                pre_checks=(self.CHECK,),
                post_checks=(SLO(name="stable-errors", objective=1.0 - self.spec.max_error_rate),),
                verify_windows=self.spec.verify_windows,
            )
        )
        self.plan = plan
        started = plan.start(window.end)
        if plan.terminal:
            return self._note(started)
        assert self.backup is not None
        self.records = dict(self.backup)
        self.restored = self.corrupt_fraction() == 0.0 and self.records == self.backup
        return plan.report_check(
            self.CHECK, self.restored, f"{len(self.backup)} records restored from backup", t=window.end
        )

    def outcome(self) -> FlowOutcome:
        """Rolled back (and verified) or not; whether the state matches the backup."""
        plan = self.plan
        rolled_back = plan is not None and plan.outcome is Outcome.ROLLED_BACK
        choice = None if plan is None else plan.choice
        return FlowOutcome(
            kind=self.kind.value,
            finished=plan is None or plan.terminal,
            promoted=plan is None and self.validated_at is not None,
            rolled_back=rolled_back,
            rolled_back_to=plan.target if plan is not None and rolled_back else None,
            decided_at=self.decided_at,
            state_restored=self.restored if rolled_back else False,
            details={
                "corrupt_records_found": self.corrupt_seen,
                "validated_at": self.validated_at,
                "plan": plan.to_dict() if plan is not None else None,
                "target": None
                if choice is None
                else {"chosen": choice.target, "reasons": list(choice.reasons)},
            },
        )


class ExperimentDriver(_ControllerDriver):
    """A ChAP-style experiment: control and experiment groups of the stable version, abort on harm."""

    kind = FlowKind.EXPERIMENT

    def __init__(self, scenario: Scenario) -> None:
        super().__init__()
        flow, spec = scenario.flow, scenario.flow.experiment
        windows = spec.windows or math.ceil(scenario.duration / scenario.window - 1e-9)
        self.flow = ExperimentFlow(
            ExperimentConfig(
                stable=flow.stable,
                share=spec.share,
                windows=windows,
                alpha=spec.alpha,
                budget=HarmBudget(error_rate=spec.abort.error_rate, p99=spec.abort.p99),
                judge=_judge(spec.max_latency_increase, spec.max_error_rate_ratio, alpha=spec.alpha / 2),
            )
        )

    def weights(self) -> Mapping[str, float]:
        """The experiment's split (everything stable once it ended)."""
        return self.flow.weights

    @property
    def aborted(self) -> bool:
        """Whether the experiment was aborted for harm."""
        return self.flow.outcome is Outcome.ABORTED

    def observe(self, window: Window) -> Decision | None:
        """Feed the experiment until it aborts or is judged."""
        if self.flow.terminal:
            return None
        return self._note(self.flow.observe(window))

    def outcome(self) -> FlowOutcome:
        """Passed, rejected, aborted (and when), or still running."""
        verdict = self.flow.outcome
        return FlowOutcome(
            kind=self.kind.value,
            finished=self.flow.terminal,
            promoted=verdict is Outcome.PASSED,
            aborted=self.aborted,
            decided_at=self.decided_at,
            details={"outcome": verdict.value, "windows": self.flow.observed},
        )


def _judge(max_latency_increase: float, max_error_rate_ratio: float, *, alpha: float) -> JudgeConfig:
    """Candidate vs baseline on p95 latency and error rate, within the scenario's allowances."""
    return JudgeConfig(
        metrics=(
            MetricConfig(
                name="latency", effect=EffectSize.P95_RATIO, allowed_increase=1.0 + max_latency_increase
            ),
            MetricConfig(name="error_rate", allowed_increase=max_error_rate_ratio, min_samples=100),
        ),
        alpha=alpha,
        shift_estimate=False,
    )


def build(scenario: Scenario, seeds: Seeds) -> FlowDriver:
    """The driver for ``scenario.flow.kind``; its randomness comes from ``seeds``."""
    kind = scenario.flow.kind
    if kind is FlowKind.CANARY:
        return CanaryDriver(scenario)
    if kind is FlowKind.SHADOW:
        return ShadowDriver(scenario, seeds)
    if kind is FlowKind.CHAMPION_CHALLENGER:
        return ChampionDriver(scenario, seeds)
    if kind is FlowKind.EXPERIMENT:
        return ExperimentDriver(scenario)
    return RollbackDriver(scenario, seeds)
