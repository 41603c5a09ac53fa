"""Intervals whose unit is the run: t intervals on one value per run, and a known-noise interval.

Rounds measured inside one run (one process, one CI job) share that run's state: memory layout,
CPU frequency, what the neighbours were doing. They are not independent draws of the code's speed,
and an interval that treats them as independent covers far less than it claims as soon as runs
differ. Kalibera & Jones, "Rigorous benchmarking in reasonable time" (ISMM 2013), make the run
(an "execution") the unit of replication and summarise each run before comparing; these functions
take that one summary per run, typically each run's median on a log scale, so a difference of
means is the log of a ratio.

* :func:`welch_t_shift`: several runs per side, variances not assumed equal (Welch 1947,
  "The generalization of 'Student's' problem when several different population variances are
  involved", with Satterthwaite's 1946 degrees of freedom); ``scipy.stats.ttest_ind(equal_var=False)``.
* :func:`pooled_t_shift`: one side's run-to-run variance stands for both (Student 1908; the
  two-sample t with pooled variance). With one run on the other side this is the prediction
  interval for a new run (Hahn & Meeker, *Statistical Intervals*, 1991, section 4.7);
  ``scipy.stats.ttest_ind(equal_var=True)``.
* :func:`paired_t_shift`: interleaved runs, pair ``i`` ran next to each other (Student 1908, the
  paired t); ``scipy.stats.ttest_rel``.
* :func:`known_noise_shift`: one run per side with a run-to-run standard deviation known from
  elsewhere (a stored baseline, a statement): the normal interval with known variance.

Each returns a :class:`~harness.stats.shifts.Shift` of ``mean(candidate) - mean(baseline)``. When
every run of a side gave the same value (a seeded, deterministic run) the interval is the exact
point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri, stdtrit

from harness._checks import invalid, non_negative
from harness.stats.shifts import Shift, check_confidence

__all__ = ["known_noise_shift", "paired_t_shift", "pooled_t_shift", "welch_t_shift"]

FloatArray = npt.NDArray[np.float64]


def _runs(field: str, values: Sequence[float], at_least: int) -> FloatArray:
    data = np.asarray(values, dtype=float)
    if data.ndim != 1 or data.size < at_least:
        fix = "pass one value per run (each run's median, for example)"
        raise invalid(f"len({field})", int(data.size), f"at least {at_least}", fix)
    if not np.all(np.isfinite(data)):
        raise invalid(field, values, "finite numbers", "drop runs that produced no measurement")
    return data


def _t_interval(estimate: float, se: float, df: float, confidence: float, method: str) -> Shift:
    if se == 0.0:
        return Shift(estimate=estimate, low=estimate, high=estimate, method=method)
    half = float(stdtrit(df, 1.0 - (1.0 - confidence) / 2.0)) * se
    return Shift(estimate=estimate, low=estimate - half, high=estimate + half, method=method)


def welch_t_shift(
    candidate: Sequence[float], baseline: Sequence[float], *, confidence: float = 0.95
) -> Shift:
    """Welch's t interval for ``mean(candidate) - mean(baseline)``, two or more runs per side.

    Standard error ``sqrt(s_c^2 / n_c + s_b^2 / n_b)``; Welch-Satterthwaite degrees of freedom.
    Matches ``scipy.stats.ttest_ind(candidate, baseline, equal_var=False).confidence_interval``.
    """
    check_confidence(confidence)
    c, b = _runs("candidate", candidate, 2), _runs("baseline", baseline, 2)
    vc, vb = float(np.var(c, ddof=1)) / c.size, float(np.var(b, ddof=1)) / b.size
    se = math.sqrt(vc + vb)
    df = (vc + vb) ** 2 / (vc**2 / (c.size - 1) + vb**2 / (b.size - 1)) if se > 0 else math.inf
    estimate = float(c.mean() - b.mean())
    return _t_interval(estimate, se, df, confidence, "welch t")


def pooled_t_shift(
    candidate: Sequence[float], baseline: Sequence[float], *, confidence: float = 0.95
) -> Shift:
    """Student's t interval for ``mean(candidate) - mean(baseline)`` with a pooled variance.

    Needs three runs in all and two on at least one side; with one run on a side, the other side's
    run-to-run variance is the only estimate, and the interval is the prediction interval for a
    single new run. Matches ``scipy.stats.ttest_ind(candidate, baseline).confidence_interval``.
    """
    check_confidence(confidence)
    c, b = _runs("candidate", candidate, 1), _runs("baseline", baseline, 1)
    df = c.size + b.size - 2
    if df < 1:
        fix = "one side needs two runs to measure the run-to-run variance"
        raise invalid("runs", c.size + b.size, "at least 3 in all", fix)
    squares = float(np.sum((c - c.mean()) ** 2) + np.sum((b - b.mean()) ** 2))
    se = math.sqrt(squares / df * (1.0 / c.size + 1.0 / b.size))
    return _t_interval(float(c.mean() - b.mean()), se, df, confidence, "pooled t")


def paired_t_shift(
    candidate: Sequence[float], baseline: Sequence[float], *, confidence: float = 0.95
) -> Shift:
    """The paired t interval for the mean of ``candidate[i] - baseline[i]``, two or more pairs.

    Each difference cancels what the two runs of a pair shared (the machine's drift while they
    ran). Matches ``scipy.stats.ttest_rel(candidate, baseline).confidence_interval``.
    """
    check_confidence(confidence)
    c, b = _runs("candidate", candidate, 2), _runs("baseline", baseline, 2)
    if c.size != b.size:
        fix = "pair every candidate run with the baseline run next to it"
        raise invalid("len(baseline)", b.size, f"equal to len(candidate)={c.size}", fix)
    d = c - b
    se = float(np.std(d, ddof=1)) / math.sqrt(d.size)
    return _t_interval(float(d.mean()), se, d.size - 1, confidence, "paired t")


def known_noise_shift(
    candidate: Sequence[float], baseline: Sequence[float], *, noise: float, confidence: float = 0.95
) -> Shift:
    """The normal interval for ``mean(candidate) - mean(baseline)`` when each run's value has a
    known standard deviation ``noise`` (run to run): ``+- z * noise * sqrt(1/n_c + 1/n_b)``.

    The standard result for a difference of means with known variances (any statistics
    textbook, e.g. Casella & Berger, *Statistical Inference*, 2nd ed., section 9.2); the test
    checks it against ``scipy.stats.norm.interval``. ``noise=0`` is a deterministic measurement:
    the interval is the point.
    """
    check_confidence(confidence)
    non_negative("noise", noise, "the run-to-run standard deviation of one run's value, e.g. 0.05")
    c, b = _runs("candidate", candidate, 1), _runs("baseline", baseline, 1)
    estimate = float(c.mean() - b.mean())
    half = float(ndtri(1.0 - (1.0 - confidence) / 2.0)) * noise * math.sqrt(1.0 / c.size + 1.0 / b.size)
    return Shift(estimate=estimate, low=estimate - half, high=estimate + half, method="known noise")
