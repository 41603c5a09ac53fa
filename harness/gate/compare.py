"""The decision: does ``current`` regress against ``baseline``?

A metric regresses under a rule only when both hold:

1. the estimated change in the worse direction is larger than the rule's threshold, and
2. it is statistically significant: the ``1 - alpha`` confidence interval of the change lies
   entirely on the worse side of zero.

The estimate and interval come from the best evidence both sides have, computed by
:mod:`harness.stats`: Hodges-Lehmann with a Mann-Whitney interval on samples (paired
Hodges-Lehmann with a Wilcoxon signed-rank interval for interleaved A/B rounds); the conservative
summary rule when only median, IQR and rounds are known; and for single numbers (a seeded
simulated run's summary, exact by construction) the threshold alone.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from harness._checks import one_of, within
from harness.errors import InvalidConfig
from harness.gate.baseline import Baseline
from harness.gate.metrics import Better, Evidence, Metric
from harness.gate.rules import DEFAULT_RULES, Rule
from harness.stats.ranks import hodges_lehmann
from harness.stats.shifts import Shift, median_interval_from_summary, paired_hodges_lehmann

__all__ = [
    "DEFAULT_ALPHA",
    "Change",
    "GateResult",
    "MetricComparison",
    "Pairing",
    "check_compatible",
    "compare",
    "compare_metric",
    "first_regression",
    "matching_rules",
    "notes_on",
]

DEFAULT_ALPHA = 0.01
"""Two-sided: a 99% interval, so at most 0.5% of unchanged metrics look significantly worse."""


def _json_float(value: float) -> float | None:
    return value if math.isfinite(value) else None


class Change(enum.StrEnum):
    """What happened to one metric: a significant change beyond its threshold, or none."""

    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    UNCHANGED = "unchanged"


class Pairing(enum.StrEnum):
    """Whether sample ``i`` of the current side was measured next to sample ``i`` of the baseline.

    ``PAIRED`` (interleaved A/B rounds) judges the pair-by-pair differences, which cancels drift
    both runs of a pair shared; ``INDEPENDENT`` compares the two samples as wholes.
    """

    INDEPENDENT = "independent"
    PAIRED = "paired"


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricComparison:
    """One metric judged under one rule; ``change``, ``low``, ``high`` are in the rule's units.

    For a relative rule they are fractions of the baseline median (0.12 = +12%); for an absolute
    rule, the metric's unit. Positive means the metric went up.
    """

    name: str
    unit: str
    direction: Better
    verdict: Change
    baseline: Metric
    current: Metric
    change: float
    low: float
    high: float
    method: str
    rule: Rule

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero."""
        return self.low > 0 or self.high < 0

    def to_dict(self) -> dict[str, Any]:
        """This comparison as JSON-ready values."""
        return {
            "name": self.name,
            "unit": self.unit,
            "direction": self.direction.value,
            "verdict": self.verdict.value,
            "baseline_median": self.baseline.median,
            "current_median": self.current.median,
            "change": _json_float(self.change),
            "low": _json_float(self.low),
            "high": _json_float(self.high),
            "relative": self.rule.relative,
            "threshold": self.rule.describe(),
            "method": self.method,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class GateResult:
    """Every comparison, plus the metrics only one side has and notes about the comparison."""

    comparisons: tuple[MetricComparison, ...]
    missing: tuple[str, ...] = ()
    new: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    alpha: float = DEFAULT_ALPHA

    @property
    def regressions(self) -> tuple[MetricComparison, ...]:
        """The comparisons that failed."""
        return tuple(c for c in self.comparisons if c.verdict is Change.REGRESSION)

    @property
    def passed(self) -> bool:
        """True when nothing regressed."""
        return not self.regressions

    @property
    def exit_code(self) -> int:
        """0 when nothing regressed, 1 otherwise (the CLI's finding code)."""
        return 0 if self.passed else 1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary for bots and dashboards (non-finite bounds become ``null``)."""
        return {
            "passed": self.passed,
            "alpha": self.alpha,
            "comparisons": [c.to_dict() for c in self.comparisons],
            "missing": list(self.missing),
            "new": list(self.new),
            "notes": list(self.notes),
        }


def _evidence(baseline: Metric, current: Metric) -> Evidence:
    order = [Evidence.SINGLE, Evidence.SUMMARY, Evidence.SAMPLES]
    return min(baseline.evidence, current.evidence, key=order.index)


def _absolute_shift(baseline: Metric, current: Metric, alpha: float, pairing: Pairing) -> Shift:
    """The change ``current - baseline`` with its ``1 - alpha`` interval."""
    evidence, confidence = _evidence(baseline, current), 1.0 - alpha
    paired = pairing is Pairing.PAIRED and len(baseline.samples) == len(current.samples)
    if evidence is Evidence.SAMPLES and paired:
        return paired_hodges_lehmann(current.samples, baseline.samples, confidence=confidence)
    if evidence is Evidence.SAMPLES:
        return hodges_lehmann(current.samples, baseline.samples, confidence=confidence)
    if evidence is Evidence.SUMMARY:
        return median_interval_from_summary(
            candidate_median=current.median,
            candidate_iqr=current.iqr,
            candidate_count=current.count,
            baseline_median=baseline.median,
            baseline_iqr=baseline.iqr,
            baseline_count=baseline.count,
            confidence=confidence,
        )
    delta = current.median - baseline.median
    return Shift(estimate=delta, low=delta, high=delta, method="threshold only")


def _relative(value: float, base: float) -> float:
    if base != 0:
        return value / abs(base)
    if value == 0 or math.isnan(value):
        return 0.0
    return math.copysign(math.inf, value)


def compare_metric(
    baseline: Metric,
    current: Metric,
    rule: Rule,
    alpha: float = DEFAULT_ALPHA,
    *,
    pairing: Pairing = Pairing.INDEPENDENT,
) -> MetricComparison:
    """Judge one metric under one rule; ``Pairing.PAIRED`` compares sample ``i`` with sample ``i``."""
    shift = _absolute_shift(baseline, current, alpha, pairing)
    change, low, high = shift.estimate, shift.low, shift.high
    if rule.relative:
        change, low, high = (_relative(v, baseline.median) for v in (change, low, high))
    direction = rule.direction or baseline.direction
    sign = 1.0 if direction is Better.LOWER else -1.0
    worse, worse_low, worse_high = sign * change, min(sign * low, sign * high), max(sign * low, sign * high)
    threshold = rule.threshold_in(baseline.name, baseline.unit)
    if worse > threshold and worse_low > 0:
        verdict = Change.REGRESSION
    elif worse < -threshold and worse_high < 0:
        verdict = Change.IMPROVEMENT
    else:
        verdict = Change.UNCHANGED
    return MetricComparison(
        name=baseline.name,
        unit=baseline.unit,
        direction=direction,
        verdict=verdict,
        baseline=baseline,
        current=current,
        change=change,
        low=low,
        high=high,
        method=shift.method,
        rule=rule,
    )


def matching_rules(name: str, rules: Sequence[Rule]) -> list[Rule]:
    """The rules that apply to metric ``name`` (the default rule when none does)."""
    return [r for r in rules if r.matches(name)] or list(DEFAULT_RULES)


def first_regression(results: Sequence[MetricComparison]) -> MetricComparison:
    """The comparison that decides a metric: its first regression under any rule, else the first."""
    return next((r for r in results if r.verdict is Change.REGRESSION), results[0])


def _judge(
    baseline: Metric, current: Metric, rules: Sequence[Rule], alpha: float, pairing: Pairing
) -> MetricComparison:
    matching = matching_rules(baseline.name, rules)
    return first_regression(
        [compare_metric(baseline, current, rule, alpha, pairing=pairing) for rule in matching]
    )


def _some(names: Iterable[str]) -> str:
    listed = sorted(names)
    return ", ".join(listed[:3]) + (" ..." if len(listed) > 3 else "")


def check_compatible(baseline: Baseline, current: Baseline, common: list[str]) -> None:
    """Raise ``InvalidConfig`` when the two sides share no metric or disagree on a unit."""
    if not common:
        raise InvalidConfig(
            f"{baseline.name or 'baseline'} ({baseline.source}) and {current.name or 'current'} "
            f"({current.source}) have no metric in common: baseline has {_some(baseline.metrics)}; "
            f"current has {_some(current.metrics)}. Compare results of the same suite or scenario."
        )
    for name in common:
        b, c = baseline.metrics[name], current.metrics[name]
        if b.unit != c.unit:
            raise InvalidConfig(
                f"metric {name!r} is in {b.unit or 'no unit'} in the baseline but {c.unit or 'no unit'} "
                "in the current results; they cannot be compared."
            )


def notes_on(baseline: Baseline, current: Baseline) -> tuple[str, ...]:
    """Caveats of a comparison: different machines, different package versions."""
    notes = []
    differing = sorted(
        k for k in set(baseline.machine) & set(current.machine) if baseline.machine[k] != current.machine[k]
    )
    if differing:
        notes.append(f"measured on different machines ({', '.join(differing)} differ); expect extra noise.")
    if (
        baseline.package_version
        and current.package_version
        and baseline.package_version != current.package_version
    ):
        notes.append(f"package version {baseline.package_version} -> {current.package_version}.")
    return tuple(notes)


def compare(
    baseline: Baseline,
    current: Baseline,
    rules: Sequence[Rule] = (),
    *,
    alpha: float = DEFAULT_ALPHA,
    pairing: Pairing | str = Pairing.INDEPENDENT,
) -> GateResult:
    """Compare every metric both sides have; ``InvalidConfig`` if they share none or units differ.

    ``Pairing.PAIRED`` (interleaved A/B results, sample ``i`` of each side from adjacent runs) uses
    the paired Hodges-Lehmann estimate and the Wilcoxon signed-rank interval.
    """
    within("alpha", alpha, "(0, 0.5)", "0.01 is the default")
    how = one_of("pairing", pairing, Pairing)
    common = sorted(set(baseline.metrics) & set(current.metrics))
    check_compatible(baseline, current, common)
    comparisons = tuple(_judge(baseline.metrics[n], current.metrics[n], rules, alpha, how) for n in common)
    return GateResult(
        comparisons=comparisons,
        missing=tuple(sorted(set(baseline.metrics) - set(current.metrics))),
        new=tuple(sorted(set(current.metrics) - set(baseline.metrics))),
        notes=notes_on(baseline, current),
        alpha=alpha,
    )
