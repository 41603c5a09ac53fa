"""Canary rollout as a sans-IO controller, in the manner of Argo Rollouts with Kayenta-style judging.

Steps run in order: :class:`SetWeight` moves traffic, :class:`Pause` holds (for a duration, or until
:meth:`CanaryFlow.approve`), :class:`Analysis` pools windows into measurements and judges each one
(candidate vs baseline with the :class:`~harness.stats.CanaryJudge`, and the candidate against SLOs).
A measurement is successful, failed, inconclusive (marginal score) or an error (no data from the
metric source); as in Argo, more failures than ``failure_limit`` roll back, more inconclusives than
``inconclusive_limit`` pause for a human, more consecutive errors than ``consecutive_error_limit``
roll back. Dry-run metrics are judged and reported but never act. After the last step the candidate
is promoted; with ``fast_rollback_window`` the baseline is kept warm that long and an SLO breach or a
manual rollback returns traffic at once.

False rollbacks are controlled by ``alpha``, the chance that a candidate inside every tolerance
(and meeting every SLO) is rolled back anywhere in the canary. Each judged metric tests its
tolerance on its own effect (:mod:`harness.stats.tolerance`), and each SLO check tests whether the
candidate's bad-event rate is shown above the error budget (:func:`~harness.rollout._analysis.slo_test`);
every one of these tests gets an equal share of the budget (Bonferroni): ``(alpha -
sequential.alpha) / ((metrics + SLOs) x measurements + SLOs watched after promotion)``. With
``sequential`` set, an always-valid one-sided test of each judged metric's tolerance
(:class:`~harness.stats.SequentialTest`: a quantile effect or the error rate) is updated every
analysed window and rolls back as soon as one shows the candidate outside its tolerance, without
waiting for the measurement; ``sequential.alpha`` is split between those metrics and taken out of
``alpha``. The level of every test is in its reason.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace

from harness._checks import integer, within
from harness.errors import InvalidConfig
from harness.rollout._analysis import (
    COUNT_METRICS,
    Pool,
    SloWatch,
    judge_reasons,
    known_metrics,
    samples_of,
    slo_test,
    weights_of,
)
from harness.rollout.contract import Action, Decision, Outcome, Reason, Window
from harness.slo import SLO
from harness.stats import (
    CanaryJudge,
    Direction,
    JudgeConfig,
    MetricConfig,
    SequentialConfig,
    SequentialTest,
)
from harness.stats.sequential import monitorable
from harness.stats.verdict import Verdict

__all__ = ["Analysis", "CanaryConfig", "CanaryFlow", "CanaryPhase", "Pause", "SetWeight", "Step"]


@dataclass(frozen=True, slots=True)
class SetWeight:
    """Send ``weight`` percent of traffic to the candidate."""

    weight: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 100.0:
            raise InvalidConfig(
                f"SetWeight(weight={self.weight!r}) is outside 0-100; weights are percents.",
                field="weight",
                value=self.weight,
            )


@dataclass(frozen=True, slots=True)
class Pause:
    """Hold for ``duration`` seconds of run time, or until approved when ``duration`` is None."""

    duration: float | None = None

    def __post_init__(self) -> None:
        if self.duration is not None:
            fix = "or None: the Pause then waits for approve()"
            within("duration", self.duration, "[0, inf]", fix, unit="seconds")


@dataclass(frozen=True, slots=True)
class Analysis:
    """Judge ``measurements`` measurements, each pooling ``windows`` consecutive windows."""

    windows: int = 1
    measurements: int = 1

    def __post_init__(self) -> None:
        integer("windows", self.windows, "an Analysis step judges at least one window", at_least=1)
        integer("measurements", self.measurements, "an Analysis step measures at least once", at_least=1)


Step = SetWeight | Pause | Analysis
"""One step of a canary plan."""


class CanaryPhase(enum.Enum):
    """Where the canary is."""

    PROGRESSING = "progressing"
    PAUSED = "paused"
    WATCHING = "watching"
    DONE = "done"


@dataclass(frozen=True, slots=True, kw_only=True)
class CanaryConfig:
    """A canary: which versions, the steps, how analysis judges and when it gives up."""

    baseline: str
    candidate: str
    steps: tuple[Step, ...]
    judge: JudgeConfig | None = None
    slos: tuple[SLO, ...] = ()
    alpha: float | None = 0.05
    failure_limit: int = 0
    inconclusive_limit: int = 0
    consecutive_error_limit: int = 4
    dry_run: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    fast_rollback_window: float = 0.0
    sequential: SequentialConfig | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "slos", tuple(self.slos))
        object.__setattr__(self, "dry_run", tuple(self.dry_run))
        if not self.baseline or not self.candidate or self.baseline == self.candidate:
            raise InvalidConfig(
                f"baseline={self.baseline!r} and candidate={self.candidate!r} must be two "
                "different version names.",
                field="candidate",
                value=self.candidate,
            )
        if not self.steps:
            raise InvalidConfig(
                "steps is empty; e.g. (SetWeight(10), Analysis(windows=3), SetWeight(50), "
                "Analysis(windows=3)).",
                field="steps",
            )
        self._check_limits()
        self._check_metrics()

    def _check_limits(self) -> None:
        for name in ("failure_limit", "inconclusive_limit", "consecutive_error_limit"):
            integer(name, getattr(self, name), "0: the first one acts", at_least=0)
        if self.alpha is not None:
            within("alpha", self.alpha, "(0, 0.5)", "or None to use judge.alpha per metric")
        if self.sequential is not None and self.alpha is not None and not self.sequential.alpha < self.alpha:
            raise InvalidConfig(
                f"sequential.alpha={self.sequential.alpha!r} must be below alpha={self.alpha!r}: the "
                "sequential monitor spends part of the canary's false-rollback budget (e.g. 0.01 of 0.05).",
                field="sequential",
                value=self.sequential.alpha,
            )
        fix = "how soon after a weight change errors roll back at once"
        within("fast_rollback_window", self.fast_rollback_window, "[0, inf]", fix, unit="seconds")

    def _check_metrics(self) -> None:
        has_analysis = any(isinstance(s, Analysis) for s in self.steps)
        if has_analysis and self.judge is None and not self.slos:
            raise InvalidConfig(
                "an Analysis step needs a judge or at least one SLO to judge with.", field="judge"
            )
        known = known_metrics(self.metrics)
        judged = [m.name for m in self.judge.metrics] if self.judge else []
        unknown = sorted(set(judged) - known)
        if unknown:
            raise InvalidConfig(
                f"judge metrics {unknown} are not in the windows; known: {sorted(known)}. "
                "Declare extra metrics in CanaryConfig.metrics.",
                field="judge",
                value=unknown,
            )
        targets = set(judged) | {s.name for s in self.slos}
        stray = sorted(set(self.dry_run) - targets)
        if stray:
            raise InvalidConfig(
                f"dry_run names {stray} are neither judge metrics nor SLOs; known: {sorted(targets)}.",
                field="dry_run",
                value=stray,
            )
        self._check_sequential()

    def _check_sequential(self) -> None:
        if self.sequential is None:
            return
        watched = _watched(self)
        if not watched:
            raise InvalidConfig(
                "sequential needs at least one acting judge metric to watch; drop sequential or add "
                "MetricConfig(name='latency', effect=EffectSize.P95_RATIO).",
                field="sequential",
            )
        means = [m.name for m in watched if not monitorable(m, counts=m.name in COUNT_METRICS)]
        if means:
            raise InvalidConfig(
                f"sequential cannot watch {means}: their effect is a mean or CLES, which has no "
                "always-valid bound for unbounded data; judge them with a quantile effect "
                "(median_ratio, p95_ratio) or list them in dry_run.",
                field="sequential",
                value=means,
            )

    @property
    def measurements(self) -> int:
        """Measurements over the whole canary."""
        return sum(s.measurements for s in self.steps if isinstance(s, Analysis))


def _watched(cfg: CanaryConfig) -> tuple[MetricConfig, ...]:
    """The judge metrics that act (not dry-run)."""
    if cfg.judge is None:
        return ()
    return tuple(m for m in cfg.judge.metrics if m.name not in cfg.dry_run)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Levels:
    """The level of each test in a canary: its share of the false-rollback budget."""

    judge: float  # each judged metric, each measurement
    slo: float  # each SLO check, each measurement, and each SLO watch after promotion
    sequential: float  # each always-valid metric test


def _levels(cfg: CanaryConfig) -> _Levels:
    acting_slos = [s for s in cfg.slos if s.name not in cfg.dry_run]
    watched = _watched(cfg)
    per_metric_alpha = cfg.judge.alpha if cfg.judge is not None else 0.05
    seq_alpha = cfg.sequential.alpha if cfg.sequential is not None else 0.0
    sequential = seq_alpha / max(len(watched), 1)
    if cfg.alpha is None:
        return _Levels(judge=per_metric_alpha, slo=per_metric_alpha, sequential=sequential)
    watches = len(acting_slos) if cfg.fast_rollback_window > 0 else 0
    tests = (len(watched) + len(acting_slos)) * max(cfg.measurements, 1) + watches
    share = (cfg.alpha - seq_alpha) / max(tests, 1)
    return _Levels(judge=share, slo=share, sequential=sequential)


def _sub_judge(judge: JudgeConfig, metrics: tuple[MetricConfig, ...], alpha: float) -> CanaryJudge | None:
    if not metrics:
        return None
    groups = {m.group for m in metrics}
    weights = {g: w for g, w in judge.group_weights.items() if g in groups}
    return CanaryJudge(replace(judge, metrics=metrics, group_weights=weights, alpha=alpha))


def _split_judge(cfg: CanaryConfig, level: float) -> tuple[CanaryJudge | None, CanaryJudge | None]:
    """The acting judge (at its share of the budget) and the dry-run judge."""
    if cfg.judge is None:
        return None, None
    dry = tuple(m for m in cfg.judge.metrics if m.name in cfg.dry_run)
    return _sub_judge(cfg.judge, _watched(cfg), level), _sub_judge(cfg.judge, dry, cfg.judge.alpha)


class CanaryFlow:
    """The canary controller: feed it windows with :meth:`observe`, act on the decisions."""

    def __init__(self, config: CanaryConfig) -> None:
        self.config = config
        self.levels = _levels(config)
        self._judge, self._dry_judge = _split_judge(config, self.levels.judge)
        self._step = 0
        self._weight = 0.0
        self._phase = CanaryPhase.PROGRESSING
        self._outcome = Outcome.RUNNING
        self._manual_pause = False
        self._resume_phase = CanaryPhase.PROGRESSING
        self._approved = False
        self._step_started: float | None = None
        self._pool = Pool()
        self._measured = 0
        self._failures = 0
        self._inconclusive = 0
        self._consecutive_errors = 0
        self._promoted_at: float | None = None
        self._final: Decision | None = None
        self.history: list[Decision] = []
        self._sequential = _sequential_tests(config, self.levels.sequential)
        self._watches: dict[str, SloWatch] = {}

    # -- state -------------------------------------------------------------------------------
    @property
    def weights(self) -> Mapping[str, float]:
        """Current percent per version."""
        return weights_of(self.config.baseline, self.config.candidate, self._weight)

    @property
    def outcome(self) -> Outcome:
        """RUNNING, PROMOTED, ROLLED_BACK or ABORTED."""
        return self._outcome

    @property
    def phase(self) -> CanaryPhase:
        """Progressing, paused, watching (fast-rollback window) or done."""
        return self._phase

    @property
    def terminal(self) -> bool:
        """True once the canary has finished; nothing is decided afterwards."""
        return self._final is not None

    @property
    def promoted(self) -> bool:
        """True when the candidate was promoted."""
        return self._outcome is Outcome.PROMOTED

    @property
    def rolled_back(self) -> bool:
        """True when the canary rolled back (automatically or by a manual abort)."""
        return self._outcome in (Outcome.ROLLED_BACK, Outcome.ABORTED)

    @property
    def step_index(self) -> int:
        """Index of the current step."""
        return self._step

    # -- manual gates ------------------------------------------------------------------------
    def pause(self, reason: str = "manual pause") -> Decision:
        """Hold traffic where it is until :meth:`approve` (or :meth:`resume`)."""
        if self.terminal:
            return self._final  # type: ignore[return-value]
        self._hold()
        return self._emit(Action.PAUSE, [_manual("pause", reason)])

    def _hold(self) -> None:
        if self._phase is not CanaryPhase.PAUSED:
            self._resume_phase = self._phase
        self._manual_pause = True
        self._phase = CanaryPhase.PAUSED

    def approve(self) -> Decision:
        """Resume after a pause; an indefinite Pause step completes."""
        if self.terminal:
            return self._final  # type: ignore[return-value]
        self._manual_pause = False
        self._approved = True
        self._inconclusive = 0
        if self._phase is CanaryPhase.PAUSED:
            self._phase = self._resume_phase
        return self._emit(Action.CONTINUE, [_manual("approve", "approved")])

    resume = approve

    def abort(self, reason: str = "manual abort") -> Decision:
        """Stop now and send all traffic back to the baseline. Always wins over a running canary."""
        if self.terminal:
            return self._final  # type: ignore[return-value]
        return self._finish(Outcome.ABORTED, Action.ABORT, [_manual("abort", reason)])

    def rollback(self, reason: str = "manual rollback") -> Decision:
        """Roll back now (also inside the fast-rollback window after promotion)."""
        if self.terminal:
            return self._final  # type: ignore[return-value]
        return self._finish(Outcome.ROLLED_BACK, Action.ROLLBACK, [_manual("rollback", reason)])

    # -- observation -------------------------------------------------------------------------
    def observe(self, window: Window) -> Decision:
        """Take one window's observations and decide what to do next."""
        if self._final is not None:
            return self._final
        if self._manual_pause:
            return self._emit(Action.PAUSE, [_manual("pause", "waiting for approve()")], t=window.end)
        if self._phase is CanaryPhase.WATCHING:
            return self._watch(window)
        step = self.config.steps[self._step]
        if self._step_started is None:
            self._step_started = window.start
        if isinstance(step, SetWeight):
            self._weight = step.weight
            reason = Reason(
                metric="step",
                statistic="set_weight",
                value=step.weight,
                threshold=None,
                verdict=Verdict.INFO,
                message=f"step {self._step}",
            )
            return self._advance(Action.SET_WEIGHT, [reason], window.end)
        if isinstance(step, Pause):
            return self._pause_step(step, window)
        return self._analyse(step, window)

    def _pause_step(self, step: Pause, window: Window) -> Decision:
        started = self._step_started if self._step_started is not None else window.start
        elapsed = window.end - started
        if (step.duration is None and self._approved) or (
            step.duration is not None and elapsed >= step.duration
        ):
            reason = Reason(
                metric="step",
                statistic="paused_for",
                value=elapsed,
                threshold=step.duration,
                verdict=Verdict.PASS,
                message="pause complete",
            )
            return self._advance(Action.CONTINUE, [reason], window.end)
        reason = Reason(
            metric="step",
            statistic="paused_for",
            value=elapsed,
            threshold=step.duration,
            verdict=Verdict.INFO,
            message="waiting for approve()" if step.duration is None else "",
        )
        return self._emit(Action.PAUSE, [reason], t=window.end)

    def _analyse(self, step: Analysis, window: Window) -> Decision:
        self._pool.add(window, (self.config.baseline, self.config.candidate))
        monitor = self._monitor(window)
        if any(r.verdict is Verdict.FAIL for r in monitor):
            return self._finish(Outcome.ROLLED_BACK, Action.ROLLBACK, monitor, window.end)
        if self._pool.windows < step.windows:
            return self._emit(Action.CONTINUE, monitor, t=window.end)
        reasons, verdict = self._measure()
        reasons = [*monitor, *reasons]
        self._pool = Pool()
        self._measured += 1
        return self._after_measurement(step, verdict, reasons, window.end)

    def _monitor(self, window: Window) -> list[Reason]:
        """Update the always-valid tests with this window; FAIL once one shows a metric outside its tolerance.

        A test only looks for harmful changes, and the direction is the one recorded when it
        rejected, never the sign of a later estimate.
        """
        cand, base = window.version(self.config.candidate), window.version(self.config.baseline)
        reasons = []
        for metric, test in self._sequential.items():
            if metric in COUNT_METRICS:
                test.update_counts(cand.errors, cand.requests, base.errors, base.requests)
            else:
                test.update(samples_of(cand, metric), samples_of(base, metric))
            low = test.direction is Direction.DECREASE
            reasons.append(
                Reason(
                    metric=metric,
                    statistic="always_valid_bound",
                    value=test.high if low else test.low,
                    threshold=test.metric.allowed_decrease if low else test.metric.allowed_increase,
                    verdict=Verdict.FAIL if test.rejected else Verdict.PASS,
                    message=test.sentence(),
                )
            )
        return reasons

    def _measure(self) -> tuple[list[Reason], Verdict]:
        cfg = self.config
        verdicts: list[Verdict] = []
        reasons: list[Reason] = []
        if self._judge is not None:
            names = self._judge.metric_names
            result = self._judge.judge(
                self._pool.data(cfg.candidate, names), self._pool.data(cfg.baseline, names)
            )
            reasons.extend(judge_reasons(result))
            verdicts.append(
                {
                    Verdict.PASS: Verdict.PASS,
                    Verdict.MARGINAL: Verdict.INCONCLUSIVE,
                    Verdict.FAIL: Verdict.FAIL,
                    Verdict.NO_DATA: Verdict.ERROR,
                }[result.verdict]
            )
        if self._dry_judge is not None:
            names = self._dry_judge.metric_names
            dry = self._dry_judge.judge(
                self._pool.data(cfg.candidate, names), self._pool.data(cfg.baseline, names)
            )
            reasons.extend(judge_reasons(dry, dry_run=True))
        candidate = self._pool.window(cfg.candidate)
        for slo in cfg.slos:
            r = slo_test(slo, candidate, self.levels.slo, dry_run=slo.name in cfg.dry_run)
            reasons.append(r)
            if slo.name not in cfg.dry_run:
                verdicts.append(Verdict.ERROR if r.verdict is Verdict.NO_DATA else r.verdict)
        return reasons, _combine(verdicts)

    def _after_measurement(
        self, step: Analysis, verdict: Verdict, reasons: list[Reason], t: float
    ) -> Decision:
        cfg = self.config
        self._consecutive_errors = self._consecutive_errors + 1 if verdict is Verdict.ERROR else 0
        self._failures += verdict is Verdict.FAIL
        self._inconclusive += verdict is Verdict.INCONCLUSIVE
        counters = [
            _limit("failed_measurements", self._failures, cfg.failure_limit),
            _limit("inconclusive_measurements", self._inconclusive, cfg.inconclusive_limit),
            _limit("consecutive_errors", self._consecutive_errors, cfg.consecutive_error_limit),
        ]
        reasons = [*reasons, *counters]
        if self._failures > cfg.failure_limit or self._consecutive_errors > cfg.consecutive_error_limit:
            return self._finish(Outcome.ROLLED_BACK, Action.ROLLBACK, reasons, t)
        if self._inconclusive > cfg.inconclusive_limit:
            self._hold()
            return self._emit(Action.PAUSE, reasons, t=t)
        if self._measured >= step.measurements:
            self._measured = 0
            return self._advance(Action.CONTINUE, reasons, t)
        return self._emit(Action.CONTINUE, reasons, t=t)

    def _advance(self, action: Action, reasons: list[Reason], t: float) -> Decision:
        self._step += 1
        self._step_started = None
        self._approved = False
        if self._step < len(self.config.steps):
            return self._emit(action, reasons, t=t)
        return self._promote(reasons, t)

    def _promote(self, reasons: list[Reason], t: float) -> Decision:
        self._weight = 100.0
        reasons = [
            *reasons,
            Reason(
                metric="canary",
                statistic="steps_completed",
                value=float(self._step),
                threshold=float(len(self.config.steps)),
                verdict=Verdict.PASS,
            ),
        ]
        if self.config.fast_rollback_window > 0:
            self._phase = CanaryPhase.WATCHING
            self._promoted_at = t
            return self._emit(Action.PROMOTE, reasons, t=t)
        return self._finish(Outcome.PROMOTED, Action.PROMOTE, reasons, t)

    def _watch(self, window: Window) -> Decision:
        candidate = window.version(self.config.candidate)
        reasons = []
        for slo in self.config.slos:
            watch = self._watches.setdefault(slo.name, SloWatch(slo, self.levels.slo))
            reasons.append(watch.observe(candidate, dry_run=slo.name in self.config.dry_run))
        if any(r.verdict is Verdict.FAIL for r in reasons):
            reasons.append(
                Reason(
                    metric="canary",
                    statistic="fast_rollback",
                    value=window.end - (self._promoted_at or 0),
                    threshold=self.config.fast_rollback_window,
                    verdict=Verdict.FAIL,
                    message="SLO breached inside the fast-rollback window",
                )
            )
            return self._finish(Outcome.ROLLED_BACK, Action.ROLLBACK, reasons, window.end)
        if window.end - (self._promoted_at or 0.0) >= self.config.fast_rollback_window:
            return self._finish(Outcome.PROMOTED, Action.COMPLETE, reasons, window.end)
        return self._emit(Action.CONTINUE, reasons, t=window.end)

    # -- decisions ---------------------------------------------------------------------------
    def _emit(
        self, action: Action, reasons: list[Reason], *, t: float | None = None, terminal: bool = False
    ) -> Decision:
        decision = Decision(
            action=action, weights=self.weights, reasons=tuple(reasons), terminal=terminal, t=t
        )
        self.history.append(decision)
        return decision

    def _finish(
        self, outcome: Outcome, action: Action, reasons: list[Reason], t: float | None = None
    ) -> Decision:
        if outcome is not Outcome.PROMOTED:
            self._weight = 0.0
        self._outcome = outcome
        self._phase = CanaryPhase.DONE
        self._final = self._emit(action, reasons, t=t, terminal=True)
        return self._final


def _sequential_tests(cfg: CanaryConfig, level: float) -> dict[str, SequentialTest]:
    """One always-valid test of each acting judge metric's tolerance, at its share of the level."""
    if cfg.sequential is None:
        return {}
    per_metric = replace(cfg.sequential, alpha=level)
    return {m.name: SequentialTest(m, per_metric, counts=m.name in COUNT_METRICS) for m in _watched(cfg)}


def _manual(statistic: str, message: str) -> Reason:
    return Reason(
        metric="manual",
        statistic=statistic,
        value=None,
        threshold=None,
        verdict=Verdict.INFO,
        message=message,
    )


def _limit(name: str, count: int, limit: int) -> Reason:
    return Reason(
        metric="analysis",
        statistic=name,
        value=float(count),
        threshold=float(limit),
        verdict=Verdict.FAIL if count > limit else Verdict.PASS,
    )


def _combine(verdicts: list[Verdict]) -> Verdict:
    for v in (Verdict.FAIL, Verdict.ERROR, Verdict.INCONCLUSIVE):
        if v in verdicts:
            return v
    return Verdict.PASS if verdicts else Verdict.ERROR
