"""Champion-challenger: split traffic, compare outcomes, optionally allocate adaptively.

The champion (current version) and one or more challengers share traffic. Each window updates per
arm statistics of the outcome ``metric`` (``error_rate`` from counts, or a per-request sample
metric). Allocation is fixed, Thompson sampling (weights follow each arm's posterior probability of
being best) or epsilon-greedy, always with a floor per live arm; guardrail metrics eject a
challenger whose guardrail is significantly worse than the champion's by more than the allowed
ratio. After ``windows`` windows a challenger is promoted only if it beats the champion at the
configured confidence (Bonferroni over challengers); otherwise the champion stays. Every decision
reports each arm's probability of being best and the regret so far.

The decision is valid under adaptive allocation and drifting traffic because it never pools
windows: each window is a 2x2 table of the challenger and the champion against an event (a request
that succeeded, for ``error_rate``; a value on the good side of the window's pooled median, for a
sample metric), and :class:`~harness.stats.stratified.StratifiedOddsTest` multiplies the windows'
exact conditional likelihood ratios into an e-process. Pooled tests after Thompson sampling or
epsilon-greedy allocation claimed 6-9% false winners at a nominal 5%, and 31% / 16% when both arms
shared a traffic trend, because the arm given more traffic late was judged on the late traffic.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from harness._checks import integer, invalid, one_of, probability, within
from harness.errors import InvalidConfig
from harness.rollout._analysis import COUNT_METRICS, Pool, known_metrics, samples_of
from harness.rollout.contract import Action, Decision, Outcome, Reason, Window
from harness.rollout.router import validate_weights
from harness.stats import Alternative, proportion_test, u_test
from harness.stats.stratified import StratifiedOddsTest, median_split
from harness.stats.verdict import Verdict

__all__ = ["Allocation", "ChampionChallengerConfig", "ChampionChallengerFlow", "Goal", "Guardrail"]


class Allocation(enum.Enum):
    """How traffic is split between arms as evidence accumulates."""

    FIXED = "fixed"
    THOMPSON = "thompson"
    EPSILON_GREEDY = "epsilon_greedy"


class Goal(enum.Enum):
    """Whether lower or higher values of the outcome metric are better."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"


@dataclass(frozen=True, slots=True, kw_only=True)
class Guardrail:
    """Eject a challenger whose ``metric`` (mean, or rate) exceeds the champion's by ``max_ratio``.

    Ejection also needs a one-sided test at ``alpha``, so noise alone does not eject an arm.
    """

    metric: str
    max_ratio: float = 1.5
    alpha: float = 0.01
    min_samples: int = 100

    def __post_init__(self) -> None:
        fix = f"1.5 ejects an arm 50% worse than the champion (guardrail {self.metric!r})"
        within("max_ratio", self.max_ratio, "[1, inf]", fix)
        within("alpha", self.alpha, "(0, 0.5)", f"the false-ejection rate of guardrail {self.metric!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ChampionChallengerConfig:
    """Arms, outcome metric and goal, allocation policy, guardrails and the decision rule."""

    champion: str
    challengers: tuple[str, ...]
    metric: str = "error_rate"
    goal: Goal = Goal.MINIMIZE
    confidence: float = 0.95
    allocation: Allocation = Allocation.FIXED
    weights: Mapping[str, float] = field(default_factory=dict)
    epsilon: float = 0.1
    min_weight: float = 5.0
    guardrails: tuple[Guardrail, ...] = ()
    windows: int = 10
    min_samples: int = 100
    metrics: tuple[str, ...] = ()
    seed: int = 0
    draws: int = 4000

    def __post_init__(self) -> None:
        object.__setattr__(self, "challengers", tuple(self.challengers))
        object.__setattr__(self, "guardrails", tuple(self.guardrails))
        object.__setattr__(self, "goal", one_of("goal", self.goal, Goal))
        object.__setattr__(self, "allocation", one_of("allocation", self.allocation, Allocation))
        arms = self.arms
        if not self.challengers or len(set(arms)) != len(arms):
            raise InvalidConfig(
                f"champion={self.champion!r}, challengers={self.challengers!r}: need at least "
                "one challenger and distinct names.",
                field="challengers",
                value=self.challengers,
            )
        if self.weights:
            w = validate_weights(self.weights)
            if set(w) != set(arms):
                raise InvalidConfig(
                    f"weights name {sorted(w)} but the arms are {sorted(arms)}.",
                    field="weights",
                    value=sorted(w),
                )
        self._check_numbers()
        known = known_metrics(self.metrics)
        unknown = sorted({self.metric, *(g.metric for g in self.guardrails)} - known)
        if unknown:
            raise InvalidConfig(
                f"metrics {unknown} are not in the windows; known: {sorted(known)}. Declare "
                "extra metrics in ChampionChallengerConfig.metrics.",
                field="metric",
                value=unknown,
            )

    def _check_numbers(self) -> None:
        within("confidence", self.confidence, "(0.5, 1)", "e.g. 0.95")
        probability("epsilon", self.epsilon, "the share of traffic spread evenly to keep exploring")
        if not 0.0 <= self.min_weight * len(self.arms) <= 100.0:
            arms = len(self.arms)
            raise invalid(
                "min_weight",
                self.min_weight,
                f"in [0, {100 / arms:g}]",
                f"per arm x {arms} arms exceeds 100%",
            )
        integer("windows", self.windows, "windows before the flow decides", at_least=1)
        integer("min_samples", self.min_samples, "samples per arm before it is judged", at_least=1)
        integer("draws", self.draws, "Monte Carlo draws for the win probabilities", at_least=100)

    @property
    def arms(self) -> tuple[str, ...]:
        """Champion first, then the challengers."""
        return (self.champion, *self.challengers)


class ChampionChallengerFlow:
    """The champion-challenger controller."""

    def __init__(self, config: ChampionChallengerConfig) -> None:
        self.config = config
        arms = config.arms
        self._weights = dict(config.weights) if config.weights else {a: 100.0 / len(arms) for a in arms}
        self._active = set(arms)
        self._pool = Pool()
        self._served: dict[str, int] = dict.fromkeys(arms, 0)
        self._rng = np.random.default_rng(config.seed)
        self._windows = 0
        self._outcome = Outcome.RUNNING
        self._winner: str | None = None
        self._final: Decision | None = None
        self._tests = {arm: StratifiedOddsTest() for arm in config.challengers}
        self.ejected: dict[str, str] = {}

    @property
    def weights(self) -> Mapping[str, float]:
        """Current percent per arm."""
        return dict(self._weights)

    @property
    def outcome(self) -> Outcome:
        """RUNNING, PROMOTED (a challenger won) or RETAINED (the champion stays)."""
        return self._outcome

    @property
    def winner(self) -> str | None:
        """The arm that serves after the decision (None while running)."""
        return self._winner

    @property
    def terminal(self) -> bool:
        """True once decided."""
        return self._final is not None

    # -- statistics ----------------------------------------------------------------------------
    def _is_count(self, metric: str) -> bool:
        return metric in COUNT_METRICS

    def estimate(self, arm: str, metric: str | None = None) -> float:
        """Point estimate of ``metric`` (default: the outcome metric) for ``arm``."""
        metric = metric or self.config.metric
        if self._is_count(metric):
            n = self._pool.requests(arm)
            return self._pool.errors(arm) / n if n else math.nan
        return self._pool.moments(arm, metric)[1]

    def _posterior_draws(self, arm: str) -> np.ndarray:
        metric, draws = self.config.metric, self.config.draws
        if self._is_count(metric):
            n, k = self._pool.requests(arm), self._pool.errors(arm)
            a, b = 1.0 + k, 1.0 + n - k
            if min(a, b) < 50:
                return self._rng.beta(a, b, draws)
            # Beta(a, b) is normal to within sampling error here, and ten times cheaper to draw.
            sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
            return self._rng.normal(a / (a + b), sd, draws)
        n, mean, var = self._pool.moments(arm, metric)
        if n < 2:
            return self._rng.normal(0.0, 1e12, draws)
        return self._rng.normal(mean, math.sqrt(var / n), draws)

    def probability_of_best(self) -> dict[str, float]:
        """Posterior probability that each live arm is best (Monte Carlo, seeded)."""
        arms = [a for a in self.config.arms if a in self._active]
        samples = np.vstack([self._posterior_draws(a) for a in arms])
        best = samples.argmin(axis=0) if self.config.goal is Goal.MINIMIZE else samples.argmax(axis=0)
        counts = np.bincount(best, minlength=len(arms))
        return {a: float(c) / samples.shape[1] for a, c in zip(arms, counts, strict=True)}

    def regret(self) -> float:
        """Expected outcome lost by not always serving the best arm (e.g. extra errors)."""
        est = {a: self.estimate(a) for a in self.config.arms}
        finite = [v for v in est.values() if not math.isnan(v)]
        if not finite:
            return 0.0
        best = min(finite) if self.config.goal is Goal.MINIMIZE else max(finite)
        return float(sum(self._served[a] * abs(v - best) for a, v in est.items() if not math.isnan(v)))

    # -- allocation ----------------------------------------------------------------------------
    def _allocate(self, p_best: Mapping[str, float]) -> None:
        cfg = self.config
        live = [a for a in cfg.arms if a in self._active]
        if cfg.allocation is Allocation.FIXED:
            return  # the configured split stays; ejected arms are zeroed by the caller
        if cfg.allocation is Allocation.THOMPSON:
            raw = {a: p_best.get(a, 0.0) for a in live}
        else:
            best = self._best(live)
            raw = {a: cfg.epsilon / len(live) + (1.0 - cfg.epsilon) * (a == best) for a in live}
        total = sum(raw.values()) or 1.0
        share = {a: v / total for a, v in raw.items()}
        floor = min(cfg.min_weight, 100.0 / len(live))
        free = 100.0 - floor * len(live)
        weights = {a: floor + free * share[a] for a in live}
        self._weights = {a: weights.get(a, 0.0) for a in cfg.arms}

    def _best(self, arms: list[str]) -> str:
        est = {a: self.estimate(a) for a in arms}
        known = {a: v for a, v in est.items() if not math.isnan(v)}
        if not known:
            return arms[0]
        pick = min if self.config.goal is Goal.MINIMIZE else max
        return pick(known, key=lambda a: known[a])

    # -- guardrails ----------------------------------------------------------------------------
    def _guard(self, arm: str, g: Guardrail) -> Reason | None:
        champion = self.config.champion
        if self._is_count(g.metric):
            n_a, n_c = self._pool.requests(arm), self._pool.requests(champion)
            if min(n_a, n_c) < g.min_samples:
                return None
            res = proportion_test(
                self._pool.errors(arm), n_a, self._pool.errors(champion), n_c, alternative=Alternative.GREATER
            )
            ratio, p = res.ratio, res.p_value
        else:
            x, y = self._pool.values(arm, g.metric), self._pool.values(champion, g.metric)
            if min(x.size, y.size) < g.min_samples:
                return None
            ratio = float(x.mean() / y.mean()) if y.mean() else math.inf
            p = u_test(x, y).p_greater
        bad = ratio > g.max_ratio and p < g.alpha
        return Reason(
            metric=g.metric,
            statistic=f"guardrail_ratio[{arm}]",
            value=ratio,
            threshold=g.max_ratio,
            verdict=Verdict.FAIL if bad else Verdict.PASS,
            message=f"p={p:.3g} (alpha {g.alpha:g})",
        )

    def _check_guardrails(self) -> list[Reason]:
        reasons = []
        for arm in [a for a in self.config.challengers if a in self._active]:
            for g in self.config.guardrails:
                r = self._guard(arm, g)
                if r is None:
                    continue
                reasons.append(r)
                if r.verdict is Verdict.FAIL:
                    self._active.discard(arm)
                    self.ejected[arm] = f"guardrail {g.metric}"
                    break
        return reasons

    # -- decision ------------------------------------------------------------------------------
    def _table(self, window: Window, arm: str) -> tuple[int, int, int, int]:
        """This window's 2x2 table of ``arm`` against the champion: events are good outcomes."""
        cfg = self.config
        a, c = window.version(arm), window.version(cfg.champion)
        if self._is_count(cfg.metric):
            good = cfg.goal is Goal.MINIMIZE  # successes are the good event when errors are minimised
            ka = a.requests - a.errors if good else a.errors
            kc = c.requests - c.errors if good else c.errors
            return ka, a.requests, kc, c.requests
        x, y = samples_of(a, cfg.metric), samples_of(c, cfg.metric)
        return median_split(x, y, below=cfg.goal is Goal.MINIMIZE)

    def _compare(self, arm: str, level: float) -> Reason:
        cfg, champion = self.config, self.config.champion
        test = self._tests[arm]
        enough = min(test.total_x, test.total_y) >= cfg.min_samples
        p = test.p_value if enough else 1.0
        event = "success" if self._is_count(cfg.metric) else "good side of the window median"
        return Reason(
            metric=cfg.metric,
            statistic=f"p_value[{arm} vs {champion}]",
            value=p,
            threshold=level,
            verdict=Verdict.PASS if p < level else Verdict.INCONCLUSIVE,
            message=f"{arm}={self.estimate(arm):.6g} {champion}={self.estimate(champion):.6g}; "
            f"always-valid p={p:.3g} (e-value {test.e_value:.4g}) from {test.windows} windows stratified "
            f"by window, odds of a {event} {test.odds_ratio:.4g}x the champion's"
            + ("" if enough else f"; fewer than min_samples={cfg.min_samples}"),
        )

    def _status(self, p_best: Mapping[str, float]) -> list[Reason]:
        reasons = [
            Reason(
                metric=self.config.metric,
                statistic=f"probability_of_best[{a}]",
                value=p,
                threshold=None,
                verdict=Verdict.INFO,
                message=f"estimate {self.estimate(a):.6g}",
            )
            for a, p in p_best.items()
        ]
        reasons.append(
            Reason(
                metric=self.config.metric,
                statistic="regret",
                value=self.regret(),
                threshold=None,
                verdict=Verdict.INFO,
            )
        )
        return reasons

    def observe(self, window: Window) -> Decision:
        """Add one window; re-allocate, eject on guardrails, and decide at the end."""
        if self._final is not None:
            return self._final
        self._windows += 1
        self._pool.add(window, self.config.arms)
        for arm in self.config.challengers:
            if arm in self._active:
                self._tests[arm].add(*self._table(window, arm))
        for arm in self.config.arms:
            self._served[arm] += window.version(arm).requests
        reasons = self._check_guardrails()
        p_best = self.probability_of_best()
        reasons += self._status(p_best)
        if not self._active - {self.config.champion}:
            return self._decide(reasons, window.end)
        if self._windows >= self.config.windows:
            return self._decide(reasons, window.end)
        before = dict(self._weights)
        self._allocate(p_best)
        for arm in self.ejected:
            self._weights[arm] = 0.0
        self._renormalise()
        action = Action.SET_WEIGHT if self._weights != before else Action.CONTINUE
        return Decision(action=action, weights=self.weights, reasons=tuple(reasons), t=window.end)

    def _renormalise(self) -> None:
        total = sum(self._weights.values())
        self._weights = {a: 100.0 * w / total for a, w in self._weights.items()}

    def _decide(self, reasons: list[Reason], t: float) -> Decision:
        live = [a for a in self.config.challengers if a in self._active]
        level = (1.0 - self.config.confidence) / len(self.config.challengers)
        comparisons = [self._compare(a, level) for a in live]
        reasons = [*reasons, *comparisons]
        winners = [a for a, r in zip(live, comparisons, strict=True) if r.verdict is Verdict.PASS]
        if winners:
            self._winner = self._best(winners)
            self._outcome = Outcome.PROMOTED
            action = Action.PROMOTE
        else:
            self._winner = self.config.champion
            self._outcome = Outcome.RETAINED
            action = Action.COMPLETE
        self._weights = {a: 100.0 if a == self._winner else 0.0 for a in self.config.arms}
        self._final = Decision(
            action=action, weights=self.weights, reasons=tuple(reasons), terminal=True, t=t
        )
        return self._final
