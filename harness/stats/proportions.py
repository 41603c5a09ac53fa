"""Comparing two error rates: a pooled z-test, or Fisher's exact test when errors are sparse.

The exact path is ``scipy.stats.fisher_exact``; the z-test is the pooled two-proportion test
(Agresti, *Categorical Data Analysis*); the interval of the difference is Newcombe's hybrid score
interval from two Wilson intervals (Newcombe 1998, method 10).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from scipy.special import ndtr
from scipy.stats import fisher_exact

from harness._checks import one_of
from harness.errors import InvalidConfig
from harness.stats.binomial import wilson_interval
from harness.stats.ranks import Alternative
from harness.stats.shifts import check_confidence

__all__ = ["ProportionMethod", "ProportionResult", "proportion_test"]

_MIN_EXPECTED = 5.0


class ProportionMethod(enum.Enum):
    """How :func:`proportion_test` gets its p-value.

    ``EXACT``: Fisher's exact test; ``Z``: the pooled two-proportion z-test; ``AUTO``: the z-test
    when every expected cell count is at least 5, Fisher's otherwise.
    """

    AUTO = "auto"
    EXACT = "exact"
    Z = "z"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProportionResult:
    """Two error rates compared: estimates, difference with a Newcombe interval, p-value, method."""

    rate_x: float
    rate_y: float
    difference: float
    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    exact: bool
    alternative: Alternative


def _check_counts(errors: int, total: int, name: str) -> None:
    if total < 0 or not 0 <= errors <= total:
        raise InvalidConfig(
            f"{name}: errors={errors!r}, total={total!r}; need 0 <= errors <= total.",
            field=name,
            value=(errors, total),
        )


def _newcombe(kx: int, nx: int, ky: int, ny: int, confidence: float) -> tuple[float, float]:
    px, py = kx / nx, ky / ny
    x, y = wilson_interval(kx, nx, confidence=confidence), wilson_interval(ky, ny, confidence=confidence)
    lx, ux, ly, uy = x.low, x.high, y.low, y.high
    d = px - py
    return d - math.sqrt((px - lx) ** 2 + (uy - py) ** 2), d + math.sqrt((ux - px) ** 2 + (py - ly) ** 2)


def _fisher_p(kx: int, nx: int, ky: int, ny: int, alt: Alternative) -> float:
    table = [[kx, nx - kx], [ky, ny - ky]]
    return float(fisher_exact(table, alternative=alt.value).pvalue)


def _z_p(kx: int, nx: int, ky: int, ny: int, alt: Alternative) -> float:
    pooled = (kx + ky) / (nx + ny)
    se = math.sqrt(pooled * (1 - pooled) * (1 / nx + 1 / ny))
    if se == 0:
        return 1.0
    z = (kx / nx - ky / ny) / se
    if alt is Alternative.GREATER:
        return float(ndtr(-z))
    if alt is Alternative.LESS:
        return float(ndtr(z))
    return float(min(1.0, 2 * ndtr(-abs(z))))


def proportion_test(
    errors_x: int,
    total_x: int,
    errors_y: int,
    total_y: int,
    *,
    alternative: Alternative | str = Alternative.GREATER,
    confidence: float = 0.95,
    method: ProportionMethod | str = ProportionMethod.AUTO,
) -> ProportionResult:
    """Is the error rate of x (candidate) different from y's (baseline)?

    ``ProportionMethod.AUTO`` uses the pooled two-proportion z-test when every expected cell count
    is at least 5 and Fisher's exact test otherwise, so sparse errors (3 in 10,000) get an exact
    p-value. The default alternative is ``greater``: the candidate errs more.
    """
    _check_counts(errors_x, total_x, "x")
    _check_counts(errors_y, total_y, "y")
    alt = one_of("alternative", alternative, Alternative)
    how = one_of("method", method, ProportionMethod)
    check_confidence(confidence)
    if total_x == 0 or total_y == 0:
        raise InvalidConfig("both samples need at least one request to compare error rates.", field="total")
    k = errors_x + errors_y
    big = total_x + total_y
    expected = min(total_x * k / big, total_y * k / big, total_x * (big - k) / big, total_y * (big - k) / big)
    exact = how is ProportionMethod.EXACT or (how is ProportionMethod.AUTO and expected < _MIN_EXPECTED)
    p = (_fisher_p if exact else _z_p)(errors_x, total_x, errors_y, total_y, alt)
    rx, ry = errors_x / total_x, errors_y / total_y
    lo, hi = _newcombe(errors_x, total_x, errors_y, total_y, confidence)
    ratio = rx / ry if ry > 0 else (math.inf if rx > 0 else 1.0)
    return ProportionResult(
        rate_x=rx,
        rate_y=ry,
        difference=rx - ry,
        ratio=ratio,
        ci_low=lo,
        ci_high=hi,
        p_value=min(max(p, 0.0), 1.0),
        exact=exact,
        alternative=alt,
    )
