"""The interval of one metric's change, from the best evidence both sides have.

Rounds inside one run share that run's state, so the run is the unit (Kalibera & Jones,
"Rigorous benchmarking in reasonable time", ISMM 2013); the methods are in
:mod:`harness.stats.runs`. In order of preference:

1. interleaved runs (``Pairing.PAIRED``, as many runs per side, two or more): the paired t interval
   of the pairs' run medians, which cancels the drift both runs of a pair shared;
2. two or more runs on each side: Welch's t interval of the run medians;
3. two or more runs on one side and one on the other (a stored baseline of several runs against
   one new run): the pooled t interval, the measured side's run-to-run variance standing for both;
4. one run per side and a known run-to-run noise (stated, or 0 for a seeded simulation): the
   within-run interval widened to also hold the known-noise normal interval;
5. one run per side, noise unknown: the within-run interval alone. It cannot tell a change from
   the difference between two runs, so its basis is :attr:`Basis.ONE_RUN` and a change beyond the
   threshold is inconclusive, never a regression.

The within-run interval is Hodges-Lehmann with a Mann-Whitney interval on rounds (the paired
Wilcoxon version for ``Pairing.PAIRED`` rounds), the conservative summary rule when only median,
IQR and rounds are known, and the point itself for single numbers.

A relative rule is judged on the log scale (the ratio of the geometric means of run medians) when
every run median is positive; otherwise, and for absolute rules, on the values themselves (a
relative change is then the difference over the baseline's mean run median).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from harness.gate.metrics import Evidence, Metric
from harness.stats.ranks import hodges_lehmann
from harness.stats.runs import known_noise_shift, paired_t_shift, pooled_t_shift, welch_t_shift
from harness.stats.shifts import Shift, median_interval_from_summary, paired_hodges_lehmann

__all__ = ["Basis", "ChangeInterval", "Pairing", "change_interval", "noise_to_decide", "within_run_shift"]


class Pairing(enum.StrEnum):
    """Whether run (or sample) ``i`` of the current side was measured next to ``i`` of the baseline.

    ``PAIRED`` (interleaved A/B runs) judges the pair-by-pair differences, which cancels drift
    both runs of a pair shared; ``INDEPENDENT`` compares the two sides as wholes.
    """

    INDEPENDENT = "independent"
    PAIRED = "paired"


class Basis(enum.StrEnum):
    """What an interval knows about run-to-run differences, and so what it can decide."""

    RUNS = "runs"
    """Two or more runs on a side: run-to-run differences are measured; the runs are the unit."""
    KNOWN_NOISE = "known noise"
    """One run per side and a run-to-run noise known from elsewhere (stated, or 0 when exact)."""
    ONE_RUN = "one run"
    """One run per side and nothing known about run-to-run noise: a change cannot be decided."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeInterval:
    """The change ``current - baseline`` with its interval, in the rule's units, and its basis."""

    estimate: float
    low: float
    high: float
    method: str
    basis: Basis


def _relative(value: float, base: float) -> float:
    if base != 0:
        return value / abs(base)
    if value == 0 or math.isnan(value):
        return 0.0
    return math.copysign(math.inf, value)


def _evidence(baseline: Metric, current: Metric) -> Evidence:
    order = [Evidence.SINGLE, Evidence.SUMMARY, Evidence.SAMPLES]
    return min(baseline.evidence, current.evidence, key=order.index)


def within_run_shift(baseline: Metric, current: Metric, confidence: float, pairing: Pairing) -> Shift:
    """The change ``current - baseline`` with its interval from the rounds of one run per side."""
    evidence = _evidence(baseline, current)
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


def _run_values(metric: Metric) -> np.ndarray:
    return np.asarray(metric.runs if metric.runs else (metric.median,), dtype=float)


def _on_log_scale(relative: bool, *values: np.ndarray) -> bool:
    return relative and all(bool(np.all(v > 0)) for v in values)


def _run_shift(b: np.ndarray, c: np.ndarray, pairing: Pairing, confidence: float) -> Shift:
    if pairing is Pairing.PAIRED and b.size == c.size:
        return paired_t_shift(list(c), list(b), confidence=confidence)
    if b.size >= 2 and c.size >= 2:
        return welch_t_shift(list(c), list(b), confidence=confidence)
    return pooled_t_shift(list(c), list(b), confidence=confidence)


def _runs_interval(
    baseline: Metric, current: Metric, relative: bool, confidence: float, pairing: Pairing
) -> ChangeInterval:
    b, c = _run_values(baseline), _run_values(current)
    log = _on_log_scale(relative, b, c)
    shift = (
        _run_shift(np.log(b), np.log(c), pairing, confidence)
        if log
        else _run_shift(b, c, pairing, confidence)
    )
    ends = _mapped(shift, _to_rule_units(log=log, relative=relative, base=float(b.mean())))
    counts = f"{c.size} pairs" if shift.method == "paired t" else f"{c.size} vs {b.size} runs"
    scale = "log run medians" if log else "run medians"
    return ChangeInterval(
        estimate=ends.estimate,
        low=ends.low,
        high=ends.high,
        method=f"{shift.method} on {scale} ({counts})",
        basis=Basis.RUNS,
    )


def _to_rule_units(*, log: bool, relative: bool, base: float) -> Callable[[float], float]:
    """From the scale a shift was computed on to the rule's: a fraction of the baseline, or units."""
    if log:
        return math.expm1
    if relative:
        return lambda value: _relative(value, base)
    return float


def _mapped(shift: Shift, to_rule_units: Callable[[float], float]) -> Shift:
    return Shift(
        estimate=to_rule_units(shift.estimate),
        low=to_rule_units(shift.low),
        high=to_rule_units(shift.high),
        method=shift.method,
    )


def _noise_interval(
    baseline: Metric, current: Metric, relative: bool, noise: float, confidence: float
) -> Shift:
    """The known-noise normal interval for one run per side, in the rule's units."""
    b, c = baseline.median, current.median
    log = _on_log_scale(relative, np.array([b, c]))
    if log:
        shift = known_noise_shift([math.log(c)], [math.log(b)], noise=noise, confidence=confidence)
    else:
        shift = known_noise_shift([c], [b], noise=noise * abs(b), confidence=confidence)
    return _mapped(shift, _to_rule_units(log=log, relative=relative, base=b))


def _known_noise(baseline: Metric, current: Metric, stated: float | None) -> float | None:
    if stated is not None:
        return stated
    if baseline.noise is None or current.noise is None:
        return None
    return max(baseline.noise, current.noise)


def change_interval(
    baseline: Metric,
    current: Metric,
    *,
    relative: bool,
    confidence: float,
    pairing: Pairing = Pairing.INDEPENDENT,
    noise: float | None = None,
) -> ChangeInterval:
    """The change of ``current`` over ``baseline`` with its ``confidence`` interval.

    ``relative`` gives it as a fraction of the baseline (0.12 = +12%), else in the metric's unit.
    ``noise`` is a stated run-to-run standard deviation (a fraction of a run's median) that
    overrides what the metrics know; it matters only with one run per side.
    """
    if baseline.run_count >= 2 or current.run_count >= 2:
        return _runs_interval(baseline, current, relative, confidence, pairing)
    within = _mapped(
        within_run_shift(baseline, current, confidence, pairing),
        _to_rule_units(log=False, relative=relative, base=baseline.median),
    )
    known = _known_noise(baseline, current, noise)
    if known is None or known == 0:
        basis = Basis.ONE_RUN if known is None else Basis.KNOWN_NOISE
        return ChangeInterval(
            estimate=within.estimate, low=within.low, high=within.high, method=within.method, basis=basis
        )
    wide = _noise_interval(baseline, current, relative, known, confidence)
    return ChangeInterval(
        estimate=within.estimate,
        low=min(within.low, wide.low),
        high=max(within.high, wide.high),
        method=f"{within.method} + noise {known * 100:g}%",
        basis=Basis.KNOWN_NOISE,
    )


def noise_to_decide(baseline: Metric, current: Metric, confidence: float) -> float | None:
    """The largest run-to-run noise under which one run per side shows this change at ``confidence``.

    The known-noise interval of the log ratio is ``ln(c / b) +- z * noise * sqrt(2)``; it excludes
    zero when ``noise < |ln(c / b)| / (z * sqrt(2))``. ``None`` when a median is not positive.
    """
    b, c = baseline.median, current.median
    if b <= 0 or c <= 0:
        return None
    z = float(ndtri(1.0 - (1.0 - confidence) / 2.0))
    return abs(math.log(c / b)) / (z * math.sqrt(2.0))
