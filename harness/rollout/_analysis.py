"""Shared analysis pieces of the flows: pooling windows, judgements and SLO tests as reasons.

An SLO check inside a canary is a test, not a comparison of the observed compliance with the
objective: it fails only when the candidate's bad-event rate is shown above the SLO's error budget
(exact one-sided binomial test, :func:`slo_test`; an always-valid confidence sequence while a
promoted candidate is watched, :class:`SloWatch`), at a level the canary takes out of its
false-rollback budget. A candidate that truly meets its SLO is then rolled back for it at most at
that level, however close to the objective it runs. :func:`slo_reason` is the plain observed check
(a rollback's post-validation).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from harness.rollout.contract import Reason, VersionWindow, Window
from harness.slo import SLO
from harness.stats import Classification, Counts, JudgeResult, MetricResult
from harness.stats.confseq import BetaMixture, rate_bounds
from harness.stats.proportions import rate_exceeds
from harness.stats.verdict import Verdict

__all__ = [
    "COUNT_METRICS",
    "SAMPLE_BUILTINS",
    "Pool",
    "SloWatch",
    "judge_reasons",
    "known_metrics",
    "samples_of",
    "slo_reason",
    "slo_test",
    "weights_of",
]

COUNT_METRICS = frozenset({"error_rate"})
_EMPTY = np.empty(0)
SAMPLE_BUILTINS = frozenset({"latency"})


class Pool:
    """Concatenates the observations of some windows, per version."""

    __slots__ = ("_arrays", "_counts", "_moments", "windows")

    def __init__(self) -> None:
        self._arrays: dict[str, dict[str, list[np.ndarray]]] = {}
        self._counts: dict[str, list[int]] = {}
        self._moments: dict[tuple[str, str], tuple[int, float, float]] = {}
        self.windows = 0

    def add(self, window: Window, versions: Iterable[str]) -> None:
        """Add ``window``'s observations of ``versions``."""
        self.windows += 1
        for name in versions:
            vw = window.version(name)
            counts = self._counts.setdefault(name, [0, 0])
            counts[0] += vw.requests
            counts[1] += vw.errors
            arrays = self._arrays.setdefault(name, {})
            for metric, values in (("latency", vw.latencies), *vw.metrics.items()):
                arrays.setdefault(metric, []).append(values)
                n, total, squares = self._moments.get((name, metric), (0, 0.0, 0.0))
                self._moments[name, metric] = (
                    n + int(values.size),
                    total + float(values.sum()),
                    squares + float(np.dot(values, values)),
                )

    def requests(self, name: str) -> int:
        """Requests pooled for ``name``."""
        return self._counts.get(name, [0, 0])[0]

    def errors(self, name: str) -> int:
        """Errors pooled for ``name``."""
        return self._counts.get(name, [0, 0])[1]

    def values(self, name: str, metric: str) -> np.ndarray:
        """The pooled sample array of ``metric`` for ``name`` (concatenated once, then kept)."""
        parts = self._arrays.get(name, {}).get(metric, [])
        if len(parts) > 1:
            parts[:] = [np.concatenate(parts)]
        return parts[0] if parts else np.empty(0)

    def moments(self, name: str, metric: str) -> tuple[int, float, float]:
        """Count, mean and sample variance of the pooled ``metric`` (NaN mean / variance when too few)."""
        n, total, squares = self._moments.get((name, metric), (0, 0.0, 0.0))
        mean = total / n if n else math.nan
        var = max(squares - total * mean, 0.0) / (n - 1) if n > 1 else math.nan
        return n, mean, var

    def data(self, name: str, metrics: Iterable[str]) -> dict[str, object]:
        """Judge input for ``name``: Counts for count metrics, arrays for sample metrics."""
        out: dict[str, object] = {}
        for metric in metrics:
            if metric in COUNT_METRICS:
                out[metric] = Counts(self.errors(name), self.requests(name))
            else:
                out[metric] = self.values(name, metric)
        return out

    def window(self, name: str) -> VersionWindow:
        """The pooled observations of ``name`` as one VersionWindow."""
        metrics = {m: self.values(name, m) for m in self._arrays.get(name, {}) if m != "latency"}
        return VersionWindow(
            requests=self.requests(name),
            errors=self.errors(name),
            latencies=self.values(name, "latency"),
            metrics=metrics,
        )


_CLASS_VERDICT = {
    Classification.PASS: Verdict.PASS,
    Classification.HIGH: Verdict.FAIL,
    Classification.LOW: Verdict.FAIL,
    Classification.NO_DATA: Verdict.NO_DATA,
}


def _metric_reasons(m: MetricResult, dry_run: bool) -> list[Reason]:
    verdict = Verdict.INFO if dry_run else _CLASS_VERDICT[m.classification]
    prefix = "dry-run: " if dry_run else ""
    effect = m.effect.value if m.effect is not None else "rate_ratio"
    low = m.classification is Classification.LOW
    limit = m.allowed_decrease if low else m.allowed_increase
    return [
        Reason(
            metric=m.name,
            statistic=effect,
            value=m.effect_size,
            threshold=limit,
            verdict=verdict,
            message=prefix + m.message,
        ),
        Reason(
            metric=m.name,
            statistic=f"{effect}_{'upper' if low else 'lower'}_bound",
            value=m.bound,
            threshold=limit,
            verdict=verdict,
            message=f"{prefix}{m.classification.value}; {100 * (1 - m.level):.4g}% one-sided bound "
            f"({m.method}); candidate={m.candidate_mean:.6g} baseline={m.baseline_mean:.6g} "
            f"shift={m.shift:.6g} n={m.n_candidate}/{m.n_baseline}",
        ),
        Reason(
            metric=m.name,
            statistic="p_value",
            value=m.p_value,
            threshold=m.level,
            verdict=verdict,
            message=f"{prefix}one-sided test of the tolerance",
        ),
    ]


def judge_reasons(result: JudgeResult, *, dry_run: bool = False) -> list[Reason]:
    """Per-metric reasons (p-value and effect size) and the score of a judgement."""
    reasons: list[Reason] = []
    for m in result.metrics:
        reasons.extend(_metric_reasons(m, dry_run))
    if not dry_run:
        reasons.append(
            Reason(
                metric="judge",
                statistic="score",
                value=result.score,
                threshold=result.pass_threshold,
                verdict=result.verdict,
                message=f"marginal threshold {result.marginal_threshold:g}",
            )
        )
    return reasons


def slo_reason(slo: SLO, vw: VersionWindow, *, dry_run: bool = False) -> Reason:
    """Whether ``vw`` meets ``slo`` (NO_DATA without requests)."""
    if vw.requests == 0:
        return Reason(
            metric=slo.name,
            statistic="compliance",
            value=math.nan,
            threshold=slo.objective,
            verdict=Verdict.INFO if dry_run else Verdict.NO_DATA,
            message="no requests",
        )
    bad = slo.bad_events(requests=vw.requests, errors=vw.errors, latencies=vw.latencies)
    st = slo.status(good=vw.requests - bad, total=vw.requests)
    verdict = Verdict.PASS if st.met else Verdict.FAIL
    return Reason(
        metric=slo.name,
        statistic="compliance",
        value=st.compliance,
        threshold=slo.objective,
        verdict=Verdict.INFO if dry_run else verdict,
        message=("dry-run: " if dry_run else "") + f"{slo.kind.value} SLO over {vw.requests} requests",
    )


def samples_of(vw: VersionWindow, metric: str) -> np.ndarray:
    """A window's samples of a sample metric: ``latency`` or a declared one (empty when absent)."""
    if metric in SAMPLE_BUILTINS:
        return vw.latencies
    return vw.metrics.get(metric, _EMPTY)


def known_metrics(extra: Iterable[str]) -> frozenset[str]:
    """Metric names a window can carry: the built-ins plus declared extras."""
    return COUNT_METRICS | SAMPLE_BUILTINS | frozenset(extra)


def weights_of(baseline: str, candidate: str, weight: float) -> Mapping[str, float]:
    """Two-version split with ``weight`` percent on the candidate."""
    return {baseline: 100.0 - weight, candidate: weight}


def _no_requests(slo: SLO, dry_run: bool) -> Reason:
    return Reason(
        metric=slo.name,
        statistic="compliance",
        value=math.nan,
        threshold=slo.objective,
        verdict=Verdict.INFO if dry_run else Verdict.NO_DATA,
        message="no requests",
    )


def slo_test(slo: SLO, vw: VersionWindow, level: float, *, dry_run: bool = False) -> Reason:
    """FAIL when ``vw``'s bad-event rate is shown above ``slo``'s error budget at ``level``.

    The exact one-sided binomial test of ``H0: bad rate <= 1 - objective``: observed compliance
    below the objective alone is not enough.
    """
    if vw.requests == 0:
        return _no_requests(slo, dry_run)
    bad = slo.bad_events(requests=vw.requests, errors=vw.errors, latencies=vw.latencies)
    p = rate_exceeds(bad, vw.requests, slo.error_budget)
    failed = p < level
    return Reason(
        metric=slo.name,
        statistic="compliance",
        value=1.0 - bad / vw.requests,
        threshold=slo.objective,
        verdict=Verdict.INFO if dry_run else (Verdict.FAIL if failed else Verdict.PASS),
        message=("dry-run: " if dry_run else "")
        + f"{slo.kind.value} SLO over {vw.requests} requests: {bad:.6g} bad; exact binomial p={p:.3g} "
        f"{'<' if failed else '>='} level {level:.3g} for an error budget of {slo.error_budget:.4g}",
    )


class SloWatch:
    """An always-valid watch of one SLO over consecutive windows (a beta-binomial confidence sequence).

    FAIL once the lower bound of the bad-event rate, valid at every window at once, is above the
    SLO's error budget: a candidate meeting the SLO fails it with probability at most ``level``
    however long it is watched.
    """

    __slots__ = ("_bad", "_prior", "_total", "level", "slo")

    def __init__(self, slo: SLO, level: float) -> None:
        self.slo = slo
        self.level = level
        self._prior = BetaMixture.for_rates()
        self._bad = 0
        self._total = 0

    def observe(self, vw: VersionWindow, *, dry_run: bool = False) -> Reason:
        """Add one window of the watched version; the reason FAILs once the SLO is shown missed."""
        if vw.requests == 0 and self._total == 0:
            return _no_requests(self.slo, dry_run)
        bad = self.slo.bad_events(requests=vw.requests, errors=vw.errors, latencies=vw.latencies)
        self._bad += round(bad)
        self._total += vw.requests
        low, _ = rate_bounds(self._bad, self._total, self.level, self._prior)
        failed = low > self.slo.error_budget
        return Reason(
            metric=self.slo.name,
            statistic="compliance",
            value=1.0 - self._bad / self._total,
            threshold=self.slo.objective,
            verdict=Verdict.INFO if dry_run else (Verdict.FAIL if failed else Verdict.PASS),
            message=("dry-run: " if dry_run else "")
            + f"watched over {self._total} requests: bad-event rate >= {low:.4g} (always valid, level "
            f"{self.level:.3g}) {'>' if failed else '<='} error budget {self.slo.error_budget:.4g}",
        )
