"""Shared analysis pieces of the flows: pooling windows and turning judgements into reasons."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from harness.rollout.contract import Reason, VersionWindow, Window
from harness.slo import SLO
from harness.stats import Classification, Counts, JudgeResult, MetricResult
from harness.stats.verdict import Verdict

__all__ = [
    "COUNT_METRICS",
    "SAMPLE_BUILTINS",
    "Pool",
    "judge_reasons",
    "known_metrics",
    "slo_reason",
    "weights_of",
]

COUNT_METRICS = frozenset({"error_rate"})
SAMPLE_BUILTINS = frozenset({"latency"})


class Pool:
    """Concatenates the observations of some windows, per version."""

    __slots__ = ("_arrays", "_counts", "windows")

    def __init__(self) -> None:
        self._arrays: dict[str, dict[str, list[np.ndarray]]] = {}
        self._counts: dict[str, list[int]] = {}
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
            arrays.setdefault("latency", []).append(vw.latencies)
            for metric, values in vw.metrics.items():
                arrays.setdefault(metric, []).append(values)

    def requests(self, name: str) -> int:
        """Requests pooled for ``name``."""
        return self._counts.get(name, [0, 0])[0]

    def errors(self, name: str) -> int:
        """Errors pooled for ``name``."""
        return self._counts.get(name, [0, 0])[1]

    def values(self, name: str, metric: str) -> np.ndarray:
        """The pooled sample array of ``metric`` for ``name``."""
        parts = self._arrays.get(name, {}).get(metric, [])
        return np.concatenate(parts) if parts else np.empty(0)

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
    limit = m.allowed_decrease if m.classification is Classification.LOW else m.allowed_increase
    return [
        Reason(
            metric=m.name,
            statistic="p_value",
            value=m.p_value,
            threshold=m.alpha,
            verdict=verdict,
            message=prefix + m.message,
        ),
        Reason(
            metric=m.name,
            statistic=effect,
            value=m.effect_size,
            threshold=limit,
            verdict=verdict,
            message=f"{prefix}{m.classification.value}; candidate={m.candidate_mean:.6g} "
            f"baseline={m.baseline_mean:.6g} shift={m.shift:.6g} n={m.n_candidate}/{m.n_baseline}",
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


def known_metrics(extra: Iterable[str]) -> frozenset[str]:
    """Metric names a window can carry: the built-ins plus declared extras."""
    return COUNT_METRICS | SAMPLE_BUILTINS | frozenset(extra)


def weights_of(baseline: str, candidate: str, weight: float) -> Mapping[str, float]:
    """Two-version split with ``weight`` percent on the candidate."""
    return {baseline: 100.0 - weight, candidate: weight}
