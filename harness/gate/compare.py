"""The decision: does ``current`` regress against ``baseline``?

A metric regresses under a rule only when all three hold:

1. the estimated change in the worse direction is larger than the rule's threshold,
2. it is statistically significant: the ``1 - alpha`` confidence interval of the change lies
   entirely on the worse side of zero, and
3. the interval accounts for run-to-run differences: the runs are the unit (two or more runs on a
   side, or interleaved pairs), or the run-to-run noise is known (stated, stored, or zero for a
   seeded simulation).

With one run per side and no known noise, a change that passes 1 and 2 is
:attr:`Change.INCONCLUSIVE`: one run per side cannot tell it from the difference between two runs
of the same code. :mod:`harness.gate.intervals` picks the interval; :mod:`harness.stats` computes it.
A metric the baseline has and the current results lack fails the comparison unless missing metrics
are allowed.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from harness._checks import non_negative, one_of, within
from harness.errors import InvalidConfig
from harness.gate.baseline import Baseline
from harness.gate.intervals import Basis, Pairing, change_interval
from harness.gate.metrics import Better, Metric
from harness.gate.rules import DEFAULT_RULES, Rule

__all__ = [
    "DEFAULT_ALPHA",
    "Change",
    "GateResult",
    "MetricComparison",
    "Pairing",
    "check_compatible",
    "compare",
    "compare_metric",
    "deciding",
    "matching_rules",
    "notes_on",
]

DEFAULT_ALPHA = 0.01
"""Two-sided: a 99% interval, so at most 0.5% of unchanged metrics look significantly worse."""


def _json_float(value: float) -> float | None:
    return value if math.isfinite(value) else None


class Change(enum.StrEnum):
    """What happened to one metric: a significant change beyond its threshold, or none.

    ``INCONCLUSIVE``: beyond the threshold within one run per side, with nothing known about how
    much two runs of the same code differ; it never fails the gate by itself.
    """

    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    UNCHANGED = "unchanged"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricComparison:
    """One metric judged under one rule; ``change``, ``low``, ``high`` are in the rule's units.

    For a relative rule they are fractions of the baseline (0.12 = +12%); for an absolute rule, the
    metric's unit. Positive means the metric went up. ``basis`` says what the interval knows about
    run-to-run differences, and so whether ``verdict`` could be decided.
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
    basis: Basis

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
            "basis": self.basis.value,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class GateResult:
    """Every comparison, plus the metrics only one side has and notes about the comparison.

    A metric in ``missing`` (in the baseline, not in the current results) fails the comparison
    unless ``allow_missing``: a benchmark that stopped running is not a pass.
    """

    comparisons: tuple[MetricComparison, ...]
    missing: tuple[str, ...] = ()
    new: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    alpha: float = DEFAULT_ALPHA
    allow_missing: bool = False

    @property
    def regressions(self) -> tuple[MetricComparison, ...]:
        """The comparisons that failed."""
        return tuple(c for c in self.comparisons if c.verdict is Change.REGRESSION)

    @property
    def inconclusive(self) -> tuple[MetricComparison, ...]:
        """The comparisons one run per side could not decide."""
        return tuple(c for c in self.comparisons if c.verdict is Change.INCONCLUSIVE)

    @property
    def missing_failed(self) -> bool:
        """True when the baseline has metrics the current results lack and that is not allowed."""
        return bool(self.missing) and not self.allow_missing

    @property
    def passed(self) -> bool:
        """True when nothing regressed and nothing is missing (or missing metrics are allowed)."""
        return not self.regressions and not self.missing_failed

    @property
    def exit_code(self) -> int:
        """0 when passed, 1 otherwise (the CLI's finding code); inconclusive alone is 0."""
        return 0 if self.passed else 1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary for bots and dashboards (non-finite bounds become ``null``)."""
        return {
            "passed": self.passed,
            "alpha": self.alpha,
            "comparisons": [c.to_dict() for c in self.comparisons],
            "inconclusive": [c.name for c in self.inconclusive],
            "missing": list(self.missing),
            "allow_missing": self.allow_missing,
            "new": list(self.new),
            "notes": list(self.notes),
        }


def compare_metric(
    baseline: Metric,
    current: Metric,
    rule: Rule,
    alpha: float = DEFAULT_ALPHA,
    *,
    pairing: Pairing = Pairing.INDEPENDENT,
    noise: float | None = None,
) -> MetricComparison:
    """Judge one metric under one rule.

    ``Pairing.PAIRED`` compares run ``i`` with run ``i`` (sample ``i`` with sample ``i`` when each
    side is one run); ``noise`` states the run-to-run noise (see :func:`compare`).
    """
    threshold = rule.threshold_in(baseline.name, baseline.unit)
    interval = change_interval(
        baseline, current, relative=rule.relative, confidence=1.0 - alpha, pairing=pairing, noise=noise
    )
    change, low, high = interval.estimate, interval.low, interval.high
    direction = rule.direction or baseline.direction
    verdict = _verdict(change, low, high, threshold, direction)
    if verdict is not Change.UNCHANGED and interval.basis is Basis.ONE_RUN:
        verdict = Change.INCONCLUSIVE
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
        method=interval.method,
        rule=rule,
        basis=interval.basis,
    )


def _verdict(change: float, low: float, high: float, threshold: float, direction: Better) -> Change:
    sign = 1.0 if direction is Better.LOWER else -1.0
    worse, worse_low, worse_high = sign * change, min(sign * low, sign * high), max(sign * low, sign * high)
    if worse > threshold and worse_low > 0:
        return Change.REGRESSION
    if worse < -threshold and worse_high < 0:
        return Change.IMPROVEMENT
    return Change.UNCHANGED


def matching_rules(name: str, rules: Sequence[Rule]) -> list[Rule]:
    """The rules that apply to metric ``name`` (the default rule when none does)."""
    return [r for r in rules if r.matches(name)] or list(DEFAULT_RULES)


def deciding(results: Sequence[MetricComparison]) -> MetricComparison:
    """The comparison that decides a metric: its first regression under any rule, else its first
    inconclusive one, else the first."""
    for verdict in (Change.REGRESSION, Change.INCONCLUSIVE):
        found = next((r for r in results if r.verdict is verdict), None)
        if found is not None:
            return found
    return results[0]


@dataclass(frozen=True, slots=True)
class _How:
    rules: Sequence[Rule]
    alpha: float
    pairing: Pairing
    noise: float | None


def _judge(baseline: Metric, current: Metric, how: _How) -> MetricComparison:
    return deciding(
        [
            compare_metric(baseline, current, rule, how.alpha, pairing=how.pairing, noise=how.noise)
            for rule in matching_rules(baseline.name, how.rules)
        ]
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
    noise: float | None = None,
    allow_missing: bool = False,
) -> GateResult:
    """Compare every metric both sides have; ``InvalidConfig`` if they share none or units differ.

    Each side is one run or several pooled runs (:func:`harness.gate.runs.pool_runs`).
    ``Pairing.PAIRED`` (interleaved A/B runs, run ``i`` of each side measured next to each other)
    uses the paired t interval of run medians. ``noise`` states the run-to-run standard deviation
    of a run's median as a fraction (0.05 for 5%) for metrics measured once per side; without it
    (and without a noise the metrics carry) such a change beyond the threshold is inconclusive.
    ``allow_missing`` lets metrics of the baseline be absent from the current results.
    """
    within("alpha", alpha, "(0, 0.5)", "0.01 is the default")
    if noise is not None:
        non_negative("noise", noise, "the run-to-run standard deviation of a run's median, e.g. 0.05")
    how = _How(rules, alpha, one_of("pairing", pairing, Pairing), noise)
    common = sorted(set(baseline.metrics) & set(current.metrics))
    check_compatible(baseline, current, common)
    return GateResult(
        comparisons=tuple(_judge(baseline.metrics[n], current.metrics[n], how) for n in common),
        missing=tuple(sorted(set(baseline.metrics) - set(current.metrics))),
        new=tuple(sorted(set(current.metrics) - set(baseline.metrics))),
        notes=notes_on(baseline, current),
        alpha=alpha,
        allow_missing=allow_missing,
    )
