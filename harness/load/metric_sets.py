"""Two sets of metrics judged against each other: what ``harness judge`` compares.

A :class:`MetricSet` is one version's latency observations (seconds) and its error and request
counts over the same time range, measured by the harness, read from a JSON file, or queried from
Prometheus (:mod:`harness.load.prometheus`). :func:`judge_sets` runs the calibrated
:class:`~harness.stats.CanaryJudge` on them: p95 latency ratio and error rate, within allowances.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness._checks import invalid
from harness.errors import InvalidConfig
from harness.inputs import parse_json
from harness.stats import CanaryJudge, Counts, EffectSize, JudgeConfig, JudgeResult, MetricConfig

__all__ = ["JudgeAllowances", "MetricSet", "judge_sets", "read_metric_set"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSet:
    """One version's measurements over a time range."""

    latency: tuple[float, ...] = ()
    """Request latencies in seconds, one per request."""
    errors: int = 0
    """Requests that failed."""
    requests: int = 0
    """Requests answered (errors included)."""

    def __post_init__(self) -> None:
        if not 0 <= self.errors <= self.requests:
            raise invalid("errors", self.errors, f"in [0, requests={self.requests}]", "count failed requests")
        if any(not math.isfinite(v) or v < 0 for v in self.latency):
            raise InvalidConfig("latency values must be finite seconds >= 0", field="latency")

    def to_dict(self) -> dict[str, Any]:
        """The JSON file shape :func:`read_metric_set` reads."""
        return {"latency": list(self.latency), "errors": self.errors, "requests": self.requests}


def read_metric_set(path: Path) -> MetricSet:
    """A metric set from a JSON file ``{"latency": [seconds...], "errors": n, "requests": m}``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InvalidConfig(f"{path}: cannot read: {reason}", field="path", value=str(path)) from None
    data = parse_json(text, source=str(path))  # NaN, huge numbers and deep nesting: file:line, exit 2
    if not isinstance(data, dict) or set(data) - {"latency", "errors", "requests"}:
        raise InvalidConfig(
            f'{path}: a metric set is {{"latency": [seconds...], "errors": n, "requests": m}}', field="path"
        )
    try:
        return MetricSet(
            latency=tuple(float(v) for v in data.get("latency", ())),
            errors=int(data.get("errors", 0)),
            requests=int(data.get("requests", 0)),
        )
    except (TypeError, ValueError) as exc:
        raise InvalidConfig(f"{path}: {exc}", field="path") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgeAllowances:
    """How much worse the canary may be and still pass, and the judge's significance level."""

    max_latency_increase: float = 0.1
    """The p95 latency increase that still passes (0.1: +10%)."""
    max_error_rate_ratio: float = 1.25
    """The error rate ratio canary/baseline that still passes."""
    alpha: float = 0.05
    """Significance level per metric."""
    min_requests: int = 100
    """Requests per side before the error rate is judged."""

    def config(self) -> JudgeConfig:
        """The judge configuration (p95 latency ratio and error rate)."""
        return JudgeConfig(
            metrics=(
                MetricConfig(
                    name="latency",
                    effect=EffectSize.P95_RATIO,
                    allowed_increase=1.0 + self.max_latency_increase,
                ),
                MetricConfig(
                    name="error_rate",
                    allowed_increase=self.max_error_rate_ratio,
                    min_samples=self.min_requests,
                ),
            ),
            alpha=self.alpha,
            shift_estimate=False,
        )


def judge_sets(
    canary: MetricSet, baseline: MetricSet, allowances: JudgeAllowances | None = None
) -> JudgeResult:
    """The calibrated canary judge on two metric sets (candidate first, as everywhere in harness.stats)."""
    judge = CanaryJudge((allowances or JudgeAllowances()).config())

    def data(s: MetricSet) -> dict[str, object]:
        return {"latency": list(s.latency), "error_rate": Counts(events=s.errors, total=s.requests)}

    return judge.judge(data(canary), data(baseline))
