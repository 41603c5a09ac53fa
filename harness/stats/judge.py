"""A Kayenta-style canary judge that tests each metric's tolerance on the effect the user named.

Each metric is classified PASS, HIGH, LOW or NO_DATA. A sample metric is HIGH only when the
one-sided ``1 - alpha`` lower confidence bound of its configured effect (mean ratio by default;
median, p90, p95, p99 ratio; or CLES) is above ``allowed_increase``: the null hypothesis is that
the candidate is inside the tolerance (:mod:`harness.stats.tolerance`). LOW likewise with the
upper bound below ``allowed_decrease``; ``Direction.EITHER`` gives each side ``alpha / 2``. A p95
allowance is thus tested on the p95, so a tail-only regression with an unchanged median is
caught, and a candidate inside the allowance is flagged at most ``alpha`` of the time. A count
metric (errors of requests) tests the error-rate ratio with the exact conditional test. Kayenta's
rank-only classifier passed spinnaker/spinnaker#6278, a canary of seven 100s and three 1s against
ten 1s (a 70-fold mean increase); here it is HIGH. The Mann-Whitney CLES and the Hodges-Lehmann
shift are still reported as the location effect.
Metric classifications roll up into weighted group scores and a 0-100 score with pass and
marginal thresholds, as in Kayenta; a HIGH/LOW critical metric fails the whole judgement.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from harness._checks import Interval, integer, invalid, non_negative, one_of, within
from harness.errors import InvalidConfig
from harness.stats.effects import EffectSize
from harness.stats.proportions import rate_ratio
from harness.stats.ranks import hodges_lehmann_estimate, u_test_sorted
from harness.stats.ratios import RatioPivot
from harness.stats.tolerance import Direction, EffectTest, ToleranceResult, effect_test, judge_tolerance
from harness.stats.verdict import Verdict

__all__ = [
    "CanaryJudge",
    "Classification",
    "Counts",
    "Direction",
    "JudgeConfig",
    "JudgeResult",
    "MetricConfig",
    "MetricResult",
    "NanStrategy",
    "judge_metric",
    "mann_whitney_judge",
]

FloatArray = npt.NDArray[np.float64]
_SHIFT_POINTS = 1000


class NanStrategy(enum.Enum):
    """What to do with NaN samples: drop them or count them as 0."""

    REMOVE = "remove"
    REPLACE = "replace"


class Classification(enum.Enum):
    """One metric's classification (Kayenta's Pass, High, Low, Nodata)."""

    PASS = "pass"  # noqa: S105 - a classification, not a password
    HIGH = "high"
    LOW = "low"
    NO_DATA = "no_data"


@dataclass(frozen=True, slots=True)
class Counts:
    """Events out of a total, for rate metrics (errors of requests)."""

    events: int
    total: int

    def __post_init__(self) -> None:
        if self.total < 0 or not 0 <= self.events <= self.total:
            raise InvalidConfig(
                f"Counts(events={self.events!r}, total={self.total!r}) needs 0 <= events <= total.",
                field="events",
                value=self.events,
            )


def _check_effect_limits(name: str, effect: EffectSize, up: float, down: float) -> None:
    if effect is EffectSize.CLES:
        if not 0.0 < down <= 0.5 <= up < 1.0:
            raise InvalidConfig(
                f"metric {name!r}: with effect=cles allowed_decrease={down!r} and allowed_increase={up!r} "
                "are probabilities P(candidate > baseline); need 0 < allowed_decrease <= 0.5 <= "
                "allowed_increase < 1 (e.g. 0.44 and 0.56).",
                field="allowed_increase",
                value=up,
            )
    elif not 0.0 <= down <= 1.0 <= up:
        raise InvalidConfig(
            f"metric {name!r}: allowed_decrease={down!r}, allowed_increase={up!r} are ratios "
            "candidate/baseline; need 0 <= allowed_decrease <= 1 <= allowed_increase (1.1 allows +10%).",
            field="allowed_increase",
            value=up,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricConfig:
    """How one metric is judged.

    ``allowed_increase`` / ``allowed_decrease`` are the tolerance: the effect the candidate may
    have and still pass (ratios for the ratio effects, probabilities for CLES); the metric fails
    only when a confidence bound of the effect lies beyond them. ``outlier_iqr`` removes values
    beyond that many IQRs outside the quartiles (Tukey fences) from both samples before testing;
    ``None`` keeps them.
    """

    name: str
    direction: Direction = Direction.INCREASE
    effect: EffectSize = EffectSize.MEAN_RATIO
    allowed_increase: float = 1.1
    allowed_decrease: float = 0.9
    critical: bool = False
    nan_strategy: NanStrategy = NanStrategy.REMOVE
    outlier_iqr: float | None = None
    group: str = "default"
    min_samples: int = 10

    def __post_init__(self) -> None:
        if not self.name:
            raise invalid("name", self.name, "a non-empty string", "name the metric, e.g. 'latency'")
        for attr, kind in (("direction", Direction), ("effect", EffectSize), ("nan_strategy", NanStrategy)):
            value = one_of(f"{self.name}.{attr}", getattr(self, attr), kind)
            object.__setattr__(self, attr, value)
        _check_effect_limits(self.name, self.effect, self.allowed_increase, self.allowed_decrease)
        if self.outlier_iqr is not None:
            fix = f"1.5 or 3.0 are usual, or None (metric {self.name!r})"
            within("outlier_iqr", self.outlier_iqr, "(0, inf]", fix)
        integer(
            "min_samples",
            self.min_samples,
            f"samples per side before metric {self.name!r} is judged",
            at_least=1,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgeConfig:
    """Metrics, group weights, per-metric level ``alpha`` and the score thresholds (0-100)."""

    metrics: tuple[MetricConfig, ...]
    group_weights: Mapping[str, float] = field(default_factory=dict)
    alpha: float = 0.05
    pass_threshold: float = 95.0
    marginal_threshold: float = 75.0
    shift_estimate: bool = True  # also report the location effect (HL shift, Mann-Whitney CLES)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", tuple(self.metrics))
        if not self.metrics:
            raise InvalidConfig(
                "JudgeConfig.metrics is empty; configure at least one MetricConfig.", field="metrics"
            )
        names = [m.name for m in self.metrics]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InvalidConfig(
                f"metric names {dupes} appear more than once; each metric is judged once.",
                field="metrics",
                value=dupes,
            )
        within("alpha", self.alpha, "(0, 0.5)", "e.g. 0.05")
        within(
            "pass_threshold",
            self.pass_threshold,
            "[0, 100]",
            "the score a canary needs to pass",
            what="a score",
        )
        fix = "a score at or above it is MARGINAL rather than FAIL"
        within(
            "marginal_threshold",
            self.marginal_threshold,
            Interval(0.0, self.pass_threshold, False, False),
            fix,
            what="a score",
        )
        self._check_groups()

    def _check_groups(self) -> None:
        groups = {m.group for m in self.metrics}
        unknown = sorted(set(self.group_weights) - groups)
        if unknown:
            raise InvalidConfig(
                f"group_weights names unknown groups {unknown}; known groups: {sorted(groups)}.",
                field="group_weights",
                value=unknown,
            )
        for group, weight in self.group_weights.items():
            non_negative(f"group_weights[{group!r}]", weight, "a group's share of the score")
        object.__setattr__(self, "group_weights", MappingProxyType(dict(self.group_weights)))

    def weight(self, group: str) -> float:
        """The weight of ``group`` (1.0 when not configured)."""
        return float(self.group_weights.get(group, 1.0))


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricResult:
    """One metric's classification and every statistic that produced it.

    ``effect_size`` is the estimate of the configured effect; ``low`` and ``high`` its one-sided
    confidence bounds at ``level`` (``alpha``, or ``alpha / 2`` per side for ``Direction.EITHER``);
    ``p_value`` the p-value of the tolerance test that decided (see
    :attr:`ToleranceResult.p_value`); ``message`` says all of it in words.
    """

    name: str
    group: str
    classification: Classification
    critical: bool
    effect: EffectSize | None
    effect_size: float
    p_value: float
    alpha: float
    allowed_increase: float
    allowed_decrease: float
    low: float = math.nan
    high: float = math.nan
    level: float = math.nan
    method: str = ""
    shift: float = math.nan
    cles: float = math.nan
    n_candidate: int = 0
    n_baseline: int = 0
    candidate_mean: float = math.nan
    baseline_mean: float = math.nan
    message: str = ""

    @property
    def bound(self) -> float:
        """The bound compared with the allowance that decided (the upper one for LOW)."""
        return self.high if self.classification is Classification.LOW else self.low

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN as None)."""
        out: dict[str, Any] = {}
        for name in self.__slots__:
            v = getattr(self, name)
            if isinstance(v, enum.Enum):
                v = v.value
            elif isinstance(v, float) and not math.isfinite(v):
                v = None if math.isnan(v) else str(v)
            out[name] = v
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgeResult:
    """The judgement: score 0-100, verdict, per-group scores and per-metric results."""

    score: float
    verdict: Verdict
    group_scores: Mapping[str, float]
    metrics: tuple[MetricResult, ...]
    pass_threshold: float
    marginal_threshold: float

    def metric(self, name: str) -> MetricResult:
        """The result of metric ``name``."""
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "score": self.score,
            "verdict": self.verdict.value,
            "group_scores": dict(self.group_scores),
            "metrics": [m.to_dict() for m in self.metrics],
            "pass_threshold": self.pass_threshold,
            "marginal_threshold": self.marginal_threshold,
        }


def _clean(values: object, cfg: MetricConfig) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    nan = ~np.isfinite(arr)
    if nan.any():
        arr = arr[~nan] if cfg.nan_strategy is NanStrategy.REMOVE else np.where(nan, 0.0, arr)
    return arr


def _drop_outliers(arr: FloatArray, k: float) -> FloatArray:
    if arr.size < 4:
        return arr
    q1, q3 = np.quantile(arr, [0.25, 0.75])
    iqr = q3 - q1
    kept: FloatArray = arr[(arr >= q1 - k * iqr) & (arr <= q3 + k * iqr)]
    return kept


def _thin(sorted_arr: FloatArray) -> FloatArray:
    if sorted_arr.size <= _SHIFT_POINTS:
        return sorted_arr
    idx = np.round(np.linspace(0, sorted_arr.size - 1, _SHIFT_POINTS)).astype(np.int64)
    return sorted_arr[idx]


_CLASSIFICATION = {
    Direction.INCREASE: Classification.HIGH,
    Direction.DECREASE: Classification.LOW,
    None: Classification.PASS,
}


def _base(cfg: MetricConfig, alpha: float, effect: EffectSize | None, n_x: int, n_y: int) -> dict[str, Any]:
    return {
        "name": cfg.name,
        "group": cfg.group,
        "critical": cfg.critical,
        "effect": effect,
        "alpha": alpha,
        "allowed_increase": cfg.allowed_increase,
        "allowed_decrease": cfg.allowed_decrease,
        "n_candidate": n_x,
        "n_baseline": n_y,
    }


def _no_data(base: dict[str, Any], message: str) -> MetricResult:
    return MetricResult(
        classification=Classification.NO_DATA, effect_size=math.nan, p_value=math.nan, message=message, **base
    )


def _tested(cfg: MetricConfig, test: EffectTest, quantity: str, alpha: float) -> ToleranceResult:
    return judge_tolerance(
        test,
        quantity=quantity,
        direction=cfg.direction,
        allowed_increase=cfg.allowed_increase,
        allowed_decrease=cfg.allowed_decrease,
        alpha=alpha,
    )


def _from_tolerance(t: ToleranceResult, base: dict[str, Any], **extra: Any) -> MetricResult:
    return MetricResult(
        classification=_CLASSIFICATION[t.exceeded],
        effect_size=t.estimate,
        p_value=t.p_value,
        low=t.low,
        high=t.high,
        level=t.level,
        method=t.method,
        message=t.sentence(),
        **base,
        **extra,
    )


def _judge_samples(
    cfg: MetricConfig, x_raw: object, y_raw: object, alpha: float, shift: bool
) -> MetricResult:
    x, y = _clean(x_raw, cfg), _clean(y_raw, cfg)
    if cfg.outlier_iqr is not None:
        x, y = _drop_outliers(x, cfg.outlier_iqr), _drop_outliers(y, cfg.outlier_iqr)
    base = _base(cfg, alpha, cfg.effect, int(x.size), int(y.size))
    if min(x.size, y.size) < max(cfg.min_samples, 2):
        return _no_data(base, f"fewer than min_samples={max(cfg.min_samples, 2)} values")
    test = effect_test(cfg.effect, x, y)
    if isinstance(test, RatioPivot) and not test.baseline > 0 <= test.candidate:
        return _no_data(
            base,
            f"{cfg.effect.value} needs a positive baseline and a non-negative candidate "
            f"(got {test.baseline:.4g} and {test.candidate:.4g}); use effect=cles for signed metrics",
        )
    return _from_tolerance(
        _tested(cfg, test, cfg.effect.value.replace("_", " "), alpha),
        base,
        candidate_mean=float(x.mean()),
        baseline_mean=float(y.mean()),
        **(_location(x, y) if shift else {}),
    )


def _location(x: FloatArray, y: FloatArray) -> dict[str, float]:
    """The location effect: Hodges-Lehmann shift and Mann-Whitney CLES.

    The shift uses at most 1,000 evenly spaced order statistics per sample.
    """
    xs, ys = np.sort(x), np.sort(y)
    return {"shift": hodges_lehmann_estimate(_thin(xs), _thin(ys)), "cles": u_test_sorted(xs, ys).cles}


def _judge_counts(cfg: MetricConfig, x: Counts, y: Counts, alpha: float) -> MetricResult:
    base = _base(cfg, alpha, None, x.total, y.total)
    if min(x.total, y.total) < cfg.min_samples or min(x.total, y.total) == 0:
        return _no_data(base, f"fewer than min_samples={cfg.min_samples} requests")
    test = rate_ratio(x.events, x.total, y.events, y.total)
    return _from_tolerance(
        _tested(cfg, test, "error-rate ratio", alpha),
        base,
        candidate_mean=test.rate_x,
        baseline_mean=test.rate_y,
        shift=test.rate_x - test.rate_y,
    )


def judge_metric(
    cfg: MetricConfig, candidate: object, baseline: object, *, alpha: float = 0.05, shift: bool = True
) -> MetricResult:
    """Classify one metric from the candidate's and baseline's data (arrays, or :class:`Counts`).

    ``shift=False`` skips the location effect (Hodges-Lehmann shift and Mann-Whitney CLES), the
    only part that sorts the samples.
    """
    if candidate is None or baseline is None:
        return MetricResult(
            name=cfg.name,
            group=cfg.group,
            classification=Classification.NO_DATA,
            critical=cfg.critical,
            effect=cfg.effect,
            effect_size=math.nan,
            p_value=math.nan,
            alpha=alpha,
            allowed_increase=cfg.allowed_increase,
            allowed_decrease=cfg.allowed_decrease,
            message="no data for this metric",
        )
    if isinstance(candidate, Counts) and isinstance(baseline, Counts):
        return _judge_counts(cfg, candidate, baseline, alpha)
    if isinstance(candidate, Counts) or isinstance(baseline, Counts):
        raise InvalidConfig(
            f"metric {cfg.name!r}: candidate and baseline must both be Counts or both arrays.", field=cfg.name
        )
    return _judge_samples(cfg, candidate, baseline, alpha, shift)


def mann_whitney_judge(
    candidate: object,
    baseline: object,
    *,
    name: str = "metric",
    direction: Direction | str = Direction.INCREASE,
    effect: EffectSize | str = EffectSize.MEAN_RATIO,
    allowed_increase: float = 1.1,
    allowed_decrease: float = 0.9,
    alpha: float = 0.05,
) -> MetricResult:
    """Judge one metric's tolerance at ``alpha`` (the Mann-Whitney CLES and HL shift are reported too).

    The decision is the tolerance test of ``effect`` (:mod:`harness.stats.tolerance`); the name
    stays from when a Mann-Whitney test decided.
    """
    cfg = MetricConfig(
        name=name,
        direction=one_of("direction", direction, Direction),
        effect=one_of("effect", effect, EffectSize),
        allowed_increase=allowed_increase,
        allowed_decrease=allowed_decrease,
        min_samples=1,
    )
    return judge_metric(cfg, candidate, baseline, alpha=alpha)


class CanaryJudge:
    """Scores a candidate against a baseline over the configured metrics (Kayenta's model)."""

    __slots__ = ("config",)

    def __init__(self, config: JudgeConfig) -> None:
        self.config = config

    @property
    def metric_names(self) -> tuple[str, ...]:
        """The configured metric names."""
        return tuple(m.name for m in self.config.metrics)

    def judge(self, candidate: Mapping[str, object], baseline: Mapping[str, object]) -> JudgeResult:
        """Classify every metric and roll the classifications up into a score and verdict."""
        c = self.config
        results = tuple(
            judge_metric(
                m, candidate.get(m.name), baseline.get(m.name), alpha=c.alpha, shift=c.shift_estimate
            )
            for m in c.metrics
        )
        return self._score(results)

    def _score(self, results: tuple[MetricResult, ...]) -> JudgeResult:
        c = self.config
        groups: dict[str, list[MetricResult]] = {}
        for r in results:
            if r.classification is not Classification.NO_DATA:
                groups.setdefault(r.group, []).append(r)
        group_scores = {
            g: 100.0 * sum(r.classification is Classification.PASS for r in rs) / len(rs)
            for g, rs in sorted(groups.items())
        }
        weight = sum(c.weight(g) for g in group_scores)
        if not group_scores or weight == 0:
            return JudgeResult(
                score=math.nan,
                verdict=Verdict.NO_DATA,
                group_scores=group_scores,
                metrics=results,
                pass_threshold=c.pass_threshold,
                marginal_threshold=c.marginal_threshold,
            )
        score = sum(c.weight(g) * s for g, s in group_scores.items()) / weight
        critical_failed = any(
            r.critical and r.classification in (Classification.HIGH, Classification.LOW) for r in results
        )
        if critical_failed:
            score = 0.0
        verdict = (
            Verdict.PASS
            if score >= c.pass_threshold
            else Verdict.MARGINAL
            if score >= c.marginal_threshold
            else Verdict.FAIL
        )
        return JudgeResult(
            score=score,
            verdict=verdict,
            group_scores=MappingProxyType(group_scores),
            metrics=results,
            pass_threshold=c.pass_threshold,
            marginal_threshold=c.marginal_threshold,
        )
