"""A rollback as a sans-IO plan: back up, validate, execute, verify; roll forward if it fails.

``RollbackPlan`` moves from ``from_version`` (serving now) back to its target. It first backs
up the current split, then waits for the named pre-validation checks (an ``EMERGENCY`` rollback
skips them), then asks for all traffic on the target, then verifies the target against the
post-validation SLOs for ``verify_windows`` windows. If execution fails or verification fails, it
rolls forward: the backed-up split is restored exactly, and the migration path is walked back. A
manual :meth:`abort` before the end also restores the backup. Every step is in :attr:`history`.

The target is ``to_version`` when given. Given a ``lineage`` instead, the plan chooses it: the
newest production ancestor of ``from_version`` whose migration path has no breaking step
(:func:`~harness.rollout.targets.choose_rollback_target`); the candidates it passed over and why
are the first reasons of its decisions. With both, ``to_version`` is checked against the lineage
and its path recorded. When no target qualifies, the plan aborts at :meth:`start` and says why.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from harness._checks import integer, one_of
from harness.errors import InvalidConfig, UsageError
from harness.rollout._analysis import slo_reason
from harness.rollout.contract import Action, Decision, Outcome, Reason, Window
from harness.rollout.lineage import Lineage
from harness.rollout.paths import MigrationPath
from harness.rollout.router import validate_weights
from harness.rollout.targets import TargetChoice, choose_rollback_target
from harness.slo import SLO
from harness.stats.verdict import Verdict

__all__ = ["RollbackConfig", "RollbackEvent", "RollbackMode", "RollbackPhase", "RollbackPlan"]


class RollbackMode(enum.Enum):
    """NORMAL validates before executing; EMERGENCY executes at once."""

    NORMAL = "normal"
    EMERGENCY = "emergency"


class RollbackPhase(enum.Enum):
    """Where the plan is."""

    PLANNED = "planned"
    VALIDATING = "validating"
    VERIFYING = "verifying"
    DONE = "done"


@dataclass(frozen=True, slots=True, kw_only=True)
class RollbackConfig:
    """From which version to which (or the lineage to choose from), why, the split, the checks."""

    from_version: str
    weights: Mapping[str, float]
    to_version: str | None = None
    lineage: Lineage | None = None
    reason: str = ""
    mode: RollbackMode = RollbackMode.NORMAL
    pre_checks: tuple[str, ...] = ()
    post_checks: tuple[SLO, ...] = ()
    verify_windows: int = 1

    def __post_init__(self) -> None:
        if not self.from_version or self.to_version in ("", self.from_version):
            raise InvalidConfig(
                f"from_version={self.from_version!r} and to_version={self.to_version!r} must be "
                "two different version names.",
                field="to_version",
                value=self.to_version,
            )
        if self.to_version is None and self.lineage is None:
            raise InvalidConfig(
                "to_version=None: name the target, or pass lineage= so the plan chooses the newest "
                "production ancestor of from_version.",
                field="to_version",
            )
        if self.lineage is not None:
            self.lineage.node(self.from_version)
        object.__setattr__(self, "weights", MappingProxyType(validate_weights(self.weights)))
        object.__setattr__(self, "mode", one_of("mode", self.mode, RollbackMode))
        object.__setattr__(self, "pre_checks", tuple(self.pre_checks))
        object.__setattr__(self, "post_checks", tuple(self.post_checks))
        if len(set(self.pre_checks)) != len(self.pre_checks):
            raise InvalidConfig(f"pre_checks {self.pre_checks!r} repeat a name.", field="pre_checks")
        integer(
            "verify_windows", self.verify_windows, "windows watched after the rollback; 0 skips", at_least=0
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RollbackEvent:
    """One entry of a plan's history."""

    t: float | None
    phase: RollbackPhase
    event: str
    detail: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "t": self.t,
            "phase": self.phase.value,
            "event": self.event,
            "detail": self.detail,
            "data": dict(self.data),
        }


class RollbackPlan:
    """The rollback controller (see the module docstring for the sequence)."""

    def __init__(self, config: RollbackConfig) -> None:
        self.config = config
        self.choice: TargetChoice | None = (
            None
            if config.lineage is None
            else choose_rollback_target(config.lineage, config.from_version, explicit=config.to_version)
        )
        """The target choice and its reasons (None when the target was given without a lineage)."""
        self._phase = RollbackPhase.PLANNED
        self._outcome = Outcome.RUNNING
        self._weights: dict[str, float] = dict(config.weights)
        self._backup: dict[str, float] | None = None
        self._checks: dict[str, bool] = {}
        self._verified = 0
        self._final: Decision | None = None
        self.history: list[RollbackEvent] = []

    @property
    def target(self) -> str | None:
        """Where the rollback goes (None: no version qualified; the plan aborts at start)."""
        return self.config.to_version if self.choice is None else self.choice.target

    @property
    def path(self) -> MigrationPath | None:
        """The migration path to the target, when chosen from a lineage."""
        return None if self.choice is None else self.choice.path

    @property
    def weights(self) -> Mapping[str, float]:
        """The split the plan wants now."""
        return dict(self._weights)

    @property
    def backup(self) -> Mapping[str, float] | None:
        """The backed-up split (None before :meth:`start`)."""
        return None if self._backup is None else dict(self._backup)

    @property
    def outcome(self) -> Outcome:
        """RUNNING, ROLLED_BACK, ROLLED_FORWARD or ABORTED."""
        return self._outcome

    @property
    def phase(self) -> RollbackPhase:
        """Current phase."""
        return self._phase

    @property
    def terminal(self) -> bool:
        """True once finished; nothing is decided afterwards."""
        return self._final is not None

    def _log(self, t: float | None, event: str, detail: str = "", **data: Any) -> None:
        self.history.append(RollbackEvent(t=t, phase=self._phase, event=event, detail=detail, data=data))

    def _target_weights(self) -> dict[str, float]:
        target = self.target
        assert target is not None
        names = set(self.config.weights) | {target}
        return {n: 100.0 if n == target else 0.0 for n in sorted(names)}

    def _target_reasons(self) -> list[Reason]:
        """Why this target: one reason per candidate considered (FAIL on the last when none qualified)."""
        if self.choice is None:
            return []
        last = len(self.choice.candidates) - 1
        return [
            Reason(
                metric="rollback",
                statistic="target",
                value=None,
                threshold=None,
                verdict=(
                    Verdict.PASS
                    if c.accepted
                    else Verdict.FAIL
                    if self.target is None and i == last
                    else Verdict.INFO
                ),
                message=c.reason,
            )
            for i, c in enumerate(self.choice.candidates)
        ]

    def start(self, t: float | None = None) -> Decision:
        """Back up the current split and begin (validating, or executing at once in EMERGENCY)."""
        if self._final is not None:
            return self._final
        if self._phase is not RollbackPhase.PLANNED:
            raise UsageError("this rollback plan has already started; create a new plan to roll back again.")
        self._backup = dict(self.config.weights)
        self._log(t, "backup", "current split saved", weights=self._backup)
        if self.choice is not None:
            head = self.choice.explain().splitlines()[0]
            self._log(t, "target", head, choice=self.choice.to_dict())
        if self.target is None:
            backup = self._backup_weights()
            return self._finish(Outcome.ABORTED, Action.ABORT, backup, self._target_reasons(), t)
        if self.config.mode is RollbackMode.EMERGENCY or not self.config.pre_checks:
            skipped = (
                "emergency: pre-validation skipped" if self.config.pre_checks else "no pre-validation checks"
            )
            return self._execute(
                t,
                [
                    Reason(
                        metric="rollback",
                        statistic="pre_validation",
                        value=None,
                        threshold=None,
                        verdict=Verdict.INFO,
                        message=skipped,
                    )
                ],
            )
        self._phase = RollbackPhase.VALIDATING
        self._log(t, "validate", f"waiting for {', '.join(self.config.pre_checks)}")
        return Decision(action=Action.PAUSE, weights=self.weights, reasons=tuple(self._target_reasons()), t=t)

    def report_check(self, name: str, ok: bool, detail: str = "", *, t: float | None = None) -> Decision:
        """Record a pre-validation check's result; a failure cancels the rollback (backup stays)."""
        if self._final is not None:
            return self._final
        if name not in self.config.pre_checks:
            raise InvalidConfig(
                f"check {name!r} is not a pre-check of this plan; known: "
                f"{', '.join(self.config.pre_checks) or 'none'}.",
                field="name",
                value=name,
            )
        if self._phase is not RollbackPhase.VALIDATING:
            raise UsageError(f"pre-check {name!r} reported in phase {self._phase.value}; call start() first.")
        self._checks[name] = ok
        self._log(t, "check", f"{name}: {'ok' if ok else 'failed'} {detail}".strip())
        reason = Reason(
            metric=name,
            statistic="pre_check",
            value=1.0 if ok else 0.0,
            threshold=1.0,
            verdict=Verdict.PASS if ok else Verdict.FAIL,
            message=detail,
        )
        if not ok:
            return self._finish(Outcome.ABORTED, Action.ABORT, self._backup_weights(), [reason], t)
        if all(self._checks.get(c) for c in self.config.pre_checks):
            return self._execute(t, [reason])
        return Decision(action=Action.PAUSE, weights=self.weights, reasons=(reason,), t=t)

    def _execute(self, t: float | None, reasons: list[Reason]) -> Decision:
        self._weights = self._target_weights()
        self._phase = RollbackPhase.VERIFYING
        reasons = [*self._target_reasons(), *reasons]
        path = {} if self.path is None else {"path": self.path.to_dict()}
        self._log(t, "execute", f"{self.config.from_version} -> {self.target}", weights=self._weights, **path)
        if self.config.verify_windows == 0:
            return self._finish(Outcome.ROLLED_BACK, Action.ROLLBACK, self._weights, reasons, t)
        return Decision(action=Action.ROLLBACK, weights=self.weights, reasons=tuple(reasons), t=t)

    def execution_failed(self, detail: str, *, t: float | None = None) -> Decision:
        """The driver could not apply the rollback: roll forward to the backup."""
        if self._final is not None:
            return self._final
        reason = Reason(
            metric="rollback",
            statistic="execution",
            value=0.0,
            threshold=1.0,
            verdict=Verdict.FAIL,
            message=detail,
        )
        return self._finish(Outcome.ROLLED_FORWARD, Action.SET_WEIGHT, self._backup_weights(), [reason], t)

    def observe(self, window: Window) -> Decision:
        """Drive the plan with one window: start it, wait for checks, or verify the target."""
        if self._final is not None:
            return self._final
        if self._phase is RollbackPhase.PLANNED:
            return self.start(window.end)
        if self._phase is RollbackPhase.VALIDATING:
            missing = [c for c in self.config.pre_checks if c not in self._checks]
            reason = Reason(
                metric="rollback",
                statistic="pending_checks",
                value=float(len(missing)),
                threshold=0.0,
                verdict=Verdict.INFO,
                message=", ".join(missing),
            )
            return Decision(action=Action.PAUSE, weights=self.weights, reasons=(reason,), t=window.end)
        return self._verify(window)

    def _verify(self, window: Window) -> Decision:
        assert self.target is not None  # a plan without a target ends at start()
        target = window.version(self.target)
        reasons = [slo_reason(s, target) for s in self.config.post_checks]
        if any(r.verdict is Verdict.FAIL for r in reasons):
            self._log(window.end, "verify", "post-validation failed; rolling forward")
            return self._finish(
                Outcome.ROLLED_FORWARD, Action.SET_WEIGHT, self._backup_weights(), reasons, window.end
            )
        self._verified += 1
        if self._verified >= self.config.verify_windows:
            return self._finish(Outcome.ROLLED_BACK, Action.COMPLETE, self._weights, reasons, window.end)
        return Decision(action=Action.CONTINUE, weights=self.weights, reasons=tuple(reasons), t=window.end)

    def abort(self, reason: str = "manual abort", *, t: float | None = None) -> Decision:
        """Stop and restore the backed-up split (or keep the current one before start)."""
        if self._final is not None:
            return self._final
        r = Reason(
            metric="manual",
            statistic="abort",
            value=None,
            threshold=None,
            verdict=Verdict.INFO,
            message=reason,
        )
        return self._finish(Outcome.ABORTED, Action.ABORT, self._backup_weights(), [r], t)

    def _backup_weights(self) -> dict[str, float]:
        return dict(self._backup if self._backup is not None else self.config.weights)

    def _finish(
        self,
        outcome: Outcome,
        action: Action,
        weights: Mapping[str, float],
        reasons: list[Reason],
        t: float | None,
    ) -> Decision:
        self._weights = dict(weights)
        self._outcome = outcome
        self._phase = RollbackPhase.DONE
        back: dict[str, Any] = {}
        if outcome is Outcome.ROLLED_FORWARD and self.path is not None:
            path_back = self.path.reversed()
            back["path_back"] = path_back.to_dict()
            reasons = [*reasons, _path_back_reason(path_back)]
        self._log(t, outcome.value, reasons[0].message if reasons else "", weights=self._weights, **back)
        self._final = Decision(
            action=action, weights=self.weights, reasons=tuple(reasons), terminal=True, t=t
        )
        return self._final

    def to_dict(self) -> dict[str, Any]:
        """The plan, its outcome and history, JSON-ready."""
        c = self.config
        return {
            "from": c.from_version,
            "to": self.target,
            "choice": None if self.choice is None else self.choice.to_dict(),
            "reason": c.reason,
            "mode": c.mode.value,
            "outcome": self._outcome.value,
            "backup": self._backup,
            "weights": self.weights,
            "history": [e.to_dict() for e in self.history],
        }


def _path_back_reason(path: MigrationPath) -> Reason:
    """The roll-forward walks the rollback's migration path back, step by step."""
    steps = "; ".join(s.describe() for s in path.steps) or "no migration"
    return Reason(
        metric="rollback",
        statistic="path_back",
        value=None,
        threshold=None,
        verdict=Verdict.INFO,
        message=f"rolling forward along {' -> '.join(path.versions)}: {steps}",
    )
