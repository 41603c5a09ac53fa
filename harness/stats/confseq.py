"""Confidence sequences for a Bernoulli rate and for a quantile: bounds that hold at every sample size.

For ``t`` Bernoulli(``p``) trials with ``s`` successes and a prior ``pi`` fixed in advance, the
mixture likelihood ratio ``M_t(p) = integral L_t(p') dpi(p') / L_t(p)`` is a martingale of mean 1
under ``p``; by Ville's inequality it ever reaches ``1 / alpha`` with probability at most
``alpha``. So ``{p : M_t(p) < 1 / alpha}``, the rates whose likelihood is at least ``alpha`` times
the marginal likelihood, covers ``p`` at every ``t`` at once (Robbins 1970, "Statistical methods
related to the law of the iterated logarithm"; Howard, Ramdas, McAuliffe & Sekhon 2021,
"Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Statist. 49:1055-1080,
section 3.3, the beta-binomial mixture). The prior here is a mixture of Beta distributions, so the
marginal likelihood is a sum of Beta functions: exact for any number of trials, however few
successes (no variance is estimated, so an arm without errors is not "certain"). Either end of
the two-sided sequence is a one-sided bound at the same level.

A quantile's sequence follows from the rate's (Howard & Ramdas 2022, "Sequential estimation of
quantiles with applications to A/B-testing and best-arm identification", Bernoulli 28:1704-1728):
the number of values at or below the true ``q`` quantile is Binomial(``t``, at least ``q``), so the
counts the rate sequence excludes at ``p = q`` give order statistics that bound the quantile at
every ``t``; with ties the bounds stay valid (each side is checked on the count that errs safe).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
from scipy.special import betaln

__all__ = ["BetaMixture", "quantile_bounds", "quantile_ranks", "rate_bounds"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_RATE_CENTRES = (1e-4, 1e-3, 1e-2, 1e-1, 0.5)
_CONCENTRATIONS = (1e2, 1e3, 1e4, 1e5)


@dataclass(frozen=True)
class BetaMixture:
    """Equal-weight mixture of ``Beta(c r, (1 - c) r)`` priors over centres ``c`` and concentrations ``r``.

    A component is tightest after about ``r`` trials; four concentrations from 100 to 100,000
    keep the bounds within a few percent of the best single one from a hundred trials to a
    million, for the price of ``log 4`` in the threshold.
    """

    centres: tuple[float, ...]
    concentrations: tuple[float, ...] = _CONCENTRATIONS

    @classmethod
    def for_rates(cls) -> BetaMixture:
        """A prior for an unknown rate: centres 0.01%, 0.1%, 1%, 10% and 50%."""
        return cls(_RATE_CENTRES)

    @classmethod
    def for_quantile(cls, q: float) -> BetaMixture:
        """A prior centred on ``q``, for the count of values at or below the ``q`` quantile."""
        return cls((q,))

    @cached_property
    def _components(self) -> tuple[tuple[float, float, float], ...]:
        return tuple(
            (c * r, (1.0 - c) * r, _betaln(c * r, (1.0 - c) * r))
            for c in self.centres
            for r in self.concentrations
        )

    def log_marginal(self, s: float, t: float) -> float:
        """``log integral p^s (1 - p)^(t - s) dpi(p)``."""
        terms = [_betaln(a + s, b + t - s) - norm for a, b, norm in self._components]
        top = max(terms)
        return top + math.log(math.fsum(math.exp(x - top) for x in terms) / len(terms))

    @cached_property
    def _arrays(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        comps = np.asarray(self._components)
        return comps[:, :1], comps[:, 1:2], comps[:, 2:]

    def log_marginals(self, s: FloatArray, t: float) -> FloatArray:
        """:meth:`log_marginal` for an array of success counts at once."""
        a, b, norm = self._arrays
        terms = betaln(a + s, b + (t - s)) - norm
        top = terms.max(axis=0)
        out: FloatArray = top + np.log(np.exp(terms - top).mean(axis=0))
        return out


def _betaln(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _log_lik(s: float, t: float, p: float) -> float:
    out = 0.0
    if s > 0:
        out += s * math.log(p) if p > 0 else -math.inf
    if t - s > 0:
        out += (t - s) * math.log1p(-p) if p < 1 else -math.inf
    return out


def _root(s: float, t: float, level: float, toward: float, start: float) -> float:
    """Newton's method for the rate where the log-likelihood falls to ``level``, from outside the set.

    The log-likelihood is concave, so every Newton step from a point outside the set (below
    ``level``) lands outside it again, closer to the root: the result errs on the wide side.
    ``toward`` is the end of ``[0, 1]`` beyond the root; ``start`` is any point between the two.
    """
    x = start
    while _log_lik(s, t, x) >= level:  # not outside yet: move toward the end
        x = 0.5 * (x + toward)
        if abs(x - toward) < 1e-300:
            return toward
    for _ in range(100):
        slope = (s / x if s else 0.0) - ((t - s) / (1.0 - x) if t > s else 0.0)
        step = (_log_lik(s, t, x) - level) / slope
        nxt = x - step
        if not 0.0 < nxt < 1.0 or _log_lik(s, t, nxt) >= level:
            break  # rounding reached the root
        if abs(nxt - x) <= 1e-12 * x:
            return nxt
        x = nxt
    return x


def rate_bounds(
    successes: int, trials: int, alpha: float, prior: BetaMixture, *, low: bool = True, high: bool = True
) -> tuple[float, float]:
    """The ``(low, high)`` ends of the ``1 - alpha`` confidence sequence for a rate at this ``t``.

    ``low=False`` / ``high=False`` skip an end that is not needed (it is returned as 0 / 1).
    """
    if trials == 0:
        return 0.0, 1.0
    s, t = float(successes), float(trials)
    level = prior.log_marginal(s, t) + math.log(alpha)
    p_hat = s / t
    spread = 2.0 * math.sqrt(2.0 * max(_log_lik(s, t, p_hat) - level, 0.0) * p_hat * (1 - p_hat) / t)
    lower = 0.0 if s == 0 or not low else _root(s, t, level, 0.0, max(p_hat - spread, 0.5 * p_hat))
    upper = 1.0 if s == t or not high else _root(s, t, level, 1.0, min(p_hat + spread, 0.5 * (1.0 + p_hat)))
    return lower, upper


def _excluded(prior: BetaMixture, counts: FloatArray, t: int, q: float, alpha: float) -> BoolArray:
    """For each count of ``t``, whether the sequence at ``p = q`` excludes it (ratio >= 1 / alpha)."""
    log_lik_q = counts * math.log(q) + (t - counts) * math.log1p(-q)
    out: BoolArray = prior.log_marginals(counts, t) - log_lik_q >= -math.log(alpha)
    return out


def _boundary(prior: BetaMixture, t: int, q: float, alpha: float, side: int) -> int | None:
    """The excluded count nearest ``t q`` on one side (``side=-1`` below, ``+1`` above), if any.

    The mixture ratio is convex in the count with its minimum near ``t q``, so the excluded counts
    on each side form a run reaching out to 0 (or ``t``): a coarse grid of counts finds the
    bracket, then every count inside it is checked.
    """
    centre, spread = t * q, math.sqrt(t * q * (1.0 - q)) + 1.0
    grid = [min(max(round(centre + side * spread * k / 2), 0), t) for k in range(33)]
    grid.append(0 if side < 0 else t)
    coarse = np.array(sorted(set(grid), reverse=side < 0), dtype=np.float64)  # from the centre out
    hit = _excluded(prior, coarse, t, q, alpha)
    if not hit.any():
        return None
    first = int(np.argmax(hit))
    if first == 0:
        return int(coarse[0])
    inner, outer = int(coarse[first - 1]), int(coarse[first])
    between = np.arange(inner, outer + side, side, dtype=np.float64)
    return int(between[int(np.argmax(_excluded(prior, between, t, q, alpha)))])


def quantile_ranks(
    t: int, q: float, alpha: float, prior: BetaMixture, *, low: bool = True, high: bool = True
) -> tuple[int | None, int | None]:
    """0-based ranks of the order statistics bounding the ``q`` quantile after ``t`` values.

    The lower bound is the value of rank ``low`` (None: too few values to bound it from below, or
    ``low=False``), the upper bound the value of rank ``high`` (likewise).
    """
    if t == 0:
        return None, None
    below = _boundary(prior, t, q, alpha, -1) if low else None
    above = _boundary(prior, t, q, alpha, +1) if high else None
    return below, (above - 1 if above is not None else None)


def quantile_bounds(values: FloatArray, q: float, alpha: float, prior: BetaMixture) -> tuple[float, float]:
    """``(low, high)`` of the ``1 - alpha`` confidence sequence for the ``q`` quantile at this ``t``.

    ``values`` need not be sorted (two order statistics are selected); ``low`` is ``-inf`` and
    ``high`` ``inf`` while there are too few values to bound that side.
    """
    low_rank, high_rank = quantile_ranks(values.size, q, alpha, prior)
    ranks = [r for r in (low_rank, high_rank) if r is not None]
    part = np.partition(values, ranks) if ranks else values
    low = float(part[low_rank]) if low_rank is not None else -math.inf
    high = float(part[high_rank]) if high_rank is not None else math.inf
    return low, high
