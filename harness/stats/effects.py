"""Effect sizes: how large a difference is, as opposed to whether it is significant."""

from __future__ import annotations

import enum
import math

import numpy as np
import numpy.typing as npt

from harness._checks import within

__all__ = ["EffectSize", "cles", "cliffs_delta", "effect_size", "mean_ratio", "quantile_ratio"]

FloatArray = npt.NDArray[np.float64]


class EffectSize(enum.Enum):
    """Which effect size a judge compares with its allowed increase / decrease."""

    MEAN_RATIO = "mean_ratio"
    MEDIAN_RATIO = "median_ratio"
    P90_RATIO = "p90_ratio"
    P95_RATIO = "p95_ratio"
    P99_RATIO = "p99_ratio"
    CLES = "cles"


def _ratio(a: float, b: float) -> float:
    if b == 0:
        return 1.0 if a == 0 else math.copysign(math.inf, a)
    return a / b


def mean_ratio(x: FloatArray, y: FloatArray) -> float:
    """mean(x) / mean(y) (1.0 when both are 0)."""
    return _ratio(float(np.mean(x)), float(np.mean(y)))


def quantile_ratio(x: FloatArray, y: FloatArray, q: float) -> float:
    """quantile(x, q) / quantile(y, q) for q in [0, 1]."""
    within("q", q, "[0, 1]", "0.95 for p95", what="a quantile")
    return _ratio(float(np.quantile(x, q)), float(np.quantile(y, q)))


def cles(x: FloatArray, y: FloatArray) -> float:
    """Common-language effect size: P(X > Y) + P(X = Y) / 2, in O((n + m) log m)."""
    ys = np.sort(np.asarray(y, dtype=np.float64))
    xs = np.asarray(x, dtype=np.float64)
    below = np.searchsorted(ys, xs, side="left")
    at = np.searchsorted(ys, xs, side="right") - below
    return float((below.sum() + 0.5 * at.sum()) / (xs.size * ys.size))


def cliffs_delta(x: FloatArray, y: FloatArray) -> float:
    """Cliff's delta, P(X > Y) - P(X < Y) = 2 CLES - 1, in [-1, 1]."""
    return 2.0 * cles(x, y) - 1.0


_QUANTILES = {
    EffectSize.MEDIAN_RATIO: 0.5,
    EffectSize.P90_RATIO: 0.9,
    EffectSize.P95_RATIO: 0.95,
    EffectSize.P99_RATIO: 0.99,
}


def effect_size(kind: EffectSize, x: FloatArray, y: FloatArray) -> float:
    """The effect size ``kind`` of candidate ``x`` against baseline ``y``."""
    if kind is EffectSize.MEAN_RATIO:
        return mean_ratio(x, y)
    if kind is EffectSize.CLES:
        return cles(x, y)
    return quantile_ratio(x, y, _QUANTILES[kind])
