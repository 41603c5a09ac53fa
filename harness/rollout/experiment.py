"""A ChAP-style chaos experiment as a sans-IO controller: control and experiment groups, one fault.

Netflix's Chaos Automation Platform (Basiri et al., "Automating chaos experiments in production",
ICSE-SEIP 2019) runs an experiment as a canary: a small share of traffic goes to a *control* group
and the same share to an *experiment* group of the same version, the fault reaches only the
experiment group's path, and the two are compared. :class:`ExperimentFlow` decides; the engine
routes and injects:

* every window, the experiment group's harm is tested against the budget
  (:class:`HarmBudget`): the error rate with a one-sided exact binomial test, the p99 with a
  distribution-free lower confidence bound (:func:`quantile_lower_bound`). A window demonstrably
  over budget aborts at once: the decision is ``ABORT``, all traffic goes back to the stable
  version, and the engine removes every fault. The per-window level is ``alpha / windows``
  (Bonferroni), so an experiment whose group is within budget aborts with probability at most
  ``alpha`` over its whole run;
* after ``windows`` windows the pooled experiment group is judged against the pooled control
  group with the calibrated :class:`~harness.stats.CanaryJudge`: ``PASSED`` when the fault did
  not hurt users beyond the allowances, ``REJECTED`` otherwise (or when there was no data).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness._checks import integer, invalid, non_negative, probability, within
from harness.rollout._analysis import Pool, judge_reasons
from harness.rollout.contract import Action, Decision, Outcome, Reason, VersionWindow, Window
from harness.stats import CanaryJudge, JudgeConfig
from harness.stats.verdict import Verdict

__all__ = [
    "ExperimentConfig",
    "ExperimentFlow",
    "HarmBudget",
    "budget_p_value",
    "quantile_lower_bound",
]

FloatArray = npt.NDArray[np.float64]


def budget_p_value(errors: int, requests: int, budget: float) -> float:
    """The p-value of "the error rate exceeds ``budget``": ``P(Binomial(requests, budget) >= errors)``.

    (:func:`harness.stats.exceeds_rate` is the same test as a decision at a level; the flow keeps
    the p-value to quote it in its reasons.)

    The one-sided exact binomial test (Clopper and Pearson 1934; ``scipy.stats.binomtest`` with
    ``alternative="greater"`` computes the same). A budget of 0 makes any error certain harm (p=0).
    """
    from scipy.stats import binom

    if requests == 0 or errors == 0:
        return 1.0
    if budget <= 0.0:
        return 0.0
    return float(binom.sf(errors - 1, requests, budget))


def quantile_lower_bound(values: FloatArray, q: float, confidence: float) -> float:
    """A lower confidence bound for the ``q`` quantile from a sample, distribution-free.

    The order statistic ``x_(r)`` with the largest ``r`` such that ``P(Binomial(n, q) >= r) >=
    confidence``: since ``P(x_(r) <= ξ_q) = P(Binomial(n, q) >= r)``, the bound is at or below the
    true quantile with probability at least ``confidence`` (Conover, *Practical Nonparametric
    Statistics*, 3rd ed., 1999, section 3.2). ``-inf`` when the sample is too small to bound it.
    """
    from scipy.stats import binom

    n = int(values.size)
    if n == 0:
        return -math.inf
    # P(Bin >= r) = sf(r - 1) falls as r grows; find the largest r with sf(r - 1) >= confidence.
    r_values = np.arange(1, n + 1)
    ok = binom.sf(r_values - 1, n, q) >= confidence
    if not ok.any():
        return -math.inf
    r = int(r_values[ok][-1])
    return float(np.partition(values, r - 1)[r - 1])


@dataclass(frozen=True, slots=True, kw_only=True)
class HarmBudget:
    """The harm users of the experiment group may see before the experiment is aborted."""

    error_rate: float | None = None  # highest error rate (fraction)
    p99: float | None = None  # highest p99 latency, seconds
    min_requests: int = 10  # a window with fewer experiment requests is not tested

    def __post_init__(self) -> None:
        if self.error_rate is None and self.p99 is None:
            raise invalid("error_rate", None, "set, or p99 set", "a budget bounds at least one of them")
        if self.error_rate is not None:
            probability("error_rate", self.error_rate, "e.g. 0.05 for 5%")
        if self.p99 is not None:
            non_negative("p99", self.p99, "e.g. 0.8", unit="seconds")
        integer("min_requests", self.min_requests, "requests a window needs to be tested", at_least=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExperimentConfig:
    """An experiment: the stable version, the two group names, the share, the budget and the judge."""

    stable: str
    budget: HarmBudget
    judge: JudgeConfig
    windows: int
    share: float = 5.0  # percent of traffic to each group
    alpha: float = 0.05  # false aborts over the whole experiment, at most
    control: str = "control"
    experiment: str = "experiment"

    def __post_init__(self) -> None:
        names = (self.stable, self.control, self.experiment)
        if len(set(names)) != 3 or not all(names):
            raise invalid("experiment", names, "three different group names", "stable, control, experiment")
        within("share", self.share, "(0, 50]", "percent of traffic to each group", what="a percent")
        integer("windows", self.windows, "windows before the verdict", at_least=1)
        within("alpha", self.alpha, "(0, 0.5)", "0.05 is the usual choice")


class ExperimentFlow:
    """Control vs experiment of one version; aborts on harm, judges at the end (see the module doc)."""

    def __init__(self, config: ExperimentConfig) -> None:
        self.config = config
        self.judge = CanaryJudge(config.judge)
        self.pool = Pool()
        self.observed = 0
        self._outcome = Outcome.RUNNING
        self.aborted_at: float | None = None

    @property
    def weights(self) -> Mapping[str, float]:
        """The split: ``share`` percent to each group while running, everything stable afterwards."""
        c = self.config
        if self.terminal:
            return {c.stable: 100.0, c.control: 0.0, c.experiment: 0.0}
        return {c.stable: 100.0 - 2 * c.share, c.control: c.share, c.experiment: c.share}

    @property
    def outcome(self) -> Outcome:
        """RUNNING, then ABORTED, PASSED or REJECTED."""
        return self._outcome

    @property
    def terminal(self) -> bool:
        """Whether the experiment has ended."""
        return self._outcome is not Outcome.RUNNING

    def observe(self, window: Window) -> Decision:
        """Test the window's harm (abort at once when over budget); judge after the last window."""
        if self.terminal:
            return Decision(action=Action.CONTINUE, weights=self.weights, terminal=True, t=window.end)
        self.observed += 1
        c = self.config
        harm = self.harm(window.version(c.experiment))
        if any(r.verdict is Verdict.FAIL for r in harm):
            self._outcome = Outcome.ABORTED
            self.aborted_at = window.end
            return Decision(
                action=Action.ABORT, weights=self.weights, reasons=harm, terminal=True, t=window.end
            )
        self.pool.add(window, (c.control, c.experiment))
        if self.observed < c.windows:
            return Decision(action=Action.CONTINUE, weights=self.weights, reasons=harm, t=window.end)
        return self._verdict(window.end)

    def harm(self, vw: VersionWindow) -> tuple[Reason, ...]:
        """The budget's tests on one window of the experiment group (FAIL: demonstrably over budget)."""
        c = self.config
        budget, level = c.budget, c.alpha / c.windows
        if vw.requests < budget.min_requests:
            return ()
        reasons = []
        if budget.error_rate is not None:
            p = budget_p_value(vw.errors, vw.requests, budget.error_rate)
            reasons.append(
                Reason(
                    metric="error_rate",
                    statistic="p_over_budget",
                    value=p,
                    threshold=level,
                    verdict=Verdict.FAIL if p < level else Verdict.PASS,
                    message=f"{vw.errors}/{vw.requests} errors in the experiment group; "
                    f"budget {budget.error_rate:.4g}",
                )
            )
        if budget.p99 is not None and vw.latencies.size:
            bound = quantile_lower_bound(vw.latencies, 0.99, 1.0 - level)
            reasons.append(
                Reason(
                    metric="latency",
                    statistic="p99_lower_bound",
                    value=bound,
                    threshold=budget.p99,
                    verdict=Verdict.FAIL if bound > budget.p99 else Verdict.PASS,
                    message=f"p99 of the experiment group is at least {bound:.4g}s "
                    f"with confidence {1 - level:.4g}; budget {budget.p99:.4g}s",
                )
            )
        return tuple(reasons)

    def _verdict(self, t: float) -> Decision:
        c = self.config
        metrics = self.judge.metric_names
        result = self.judge.judge(self.pool.data(c.experiment, metrics), self.pool.data(c.control, metrics))
        passed = result.verdict is Verdict.PASS
        self._outcome = Outcome.PASSED if passed else Outcome.REJECTED
        return Decision(
            action=Action.COMPLETE,
            weights=self.weights,
            reasons=tuple(judge_reasons(result)),
            terminal=True,
            t=t,
        )
