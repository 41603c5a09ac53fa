"""An always-valid test that one arm beats another, stratified by window.

Each window is a 2x2 table: arm x or y, and whether an observation is an *event* (a request that
succeeded, for error rates; a value on the good side of the window's pooled median, for sample
metrics). Given the window's allocation ``(n_x, n_y)`` and its total number of events ``m``, the
number of events in arm x is hypergeometric when the two arms are exchangeable within the window,
whatever rule chose the allocation from earlier windows (Thompson sampling, epsilon-greedy) and
however the traffic drifts from one window to the next. For an odds ratio ``psi`` the likelihood
ratio of Fisher's noncentral hypergeometric distribution to the central one,

    LR_w(psi) = psi^k / E_0[psi^K],

has conditional mean 1 under that null, so the product over windows, averaged over a fixed grid
of ``psi > 1``, is a test martingale: it ever reaches ``1 / alpha`` with probability at most
``alpha`` (Ville's inequality). This is the conditional likelihood of stratified 2x2 tables
(Mantel & Haenszel 1959; Cox 1958) made an e-process as in Turner, Ly & Grünwald (2024), "Generic
E-variables for exact sequential k-sample tests that allow for optional stopping", J. Statist.
Plann. Inference 230:106116, and Grünwald, de Heide & Koolen (2024), "Safe testing", JRSS B
86:1091-1128. A decision after a fixed number of windows is a special case of stopping, so adaptive
allocation and shared trends keep the false-winner rate at ``alpha``.

Where a window's table is large (more than :data:`EXACT_SUPPORT` possible counts) the normaliser
is replaced by an upper bound, the binomial one of sampling with replacement (Hoeffding 1963,
"Probability inequalities for sums of bounded random variables", JASA 58:13-30, theorem 4:
``E f(K)`` of a convex ``f`` is larger with replacement). That factor's mean is at most 1, so the
product stays a supermartingale: still valid, and conservative by up to half the evidence of the
window when half its observations are events.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln

__all__ = [
    "EXACT_SUPPORT",
    "LOG_ODDS_GRID",
    "StratifiedOddsTest",
    "log_normaliser_bound",
    "median_split",
    "noncentral_log_normaliser",
]

FloatArray = npt.NDArray[np.float64]

LOG_ODDS_GRID = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)
"""The log odds ratios the e-process mixes over with equal weight: from a 1% to a 7-fold change in odds."""

EXACT_SUPPORT = 400
"""Tables with more possible counts than this use :func:`log_normaliser_bound` instead of the exact sum."""


def noncentral_log_normaliser(n_x: int, n_y: int, m: int, log_psi: FloatArray) -> FloatArray:
    """``log E_0[psi^K]`` for ``K ~ Hypergeometric(n_x of n_x + n_y, m drawn)``, for each ``log psi``."""
    k = np.arange(max(0, m - n_y), min(n_x, m) + 1, dtype=np.float64)
    log_pmf = (
        gammaln(n_x + 1.0)
        - gammaln(k + 1.0)
        - gammaln(n_x - k + 1.0)
        + gammaln(n_y + 1.0)
        - gammaln(m - k + 1.0)
        - gammaln(n_y - m + k + 1.0)
        - (gammaln(n_x + n_y + 1.0) - gammaln(m + 1.0) - gammaln(n_x + n_y - m + 1.0))
    )
    terms = log_pmf[None, :] + log_psi[:, None] * k[None, :]
    top = terms.max(axis=1)
    out: FloatArray = top + np.log(np.exp(terms - top[:, None]).sum(axis=1))
    return out


def log_normaliser_bound(n_x: int, n_y: int, m: int, log_psi: FloatArray) -> FloatArray:
    """An upper bound of :func:`noncentral_log_normaliser`: the smaller of the two binomial ones.

    ``K`` is the number of arm x's ``n_x`` draws that are events, or of the ``m`` events that fall
    in arm x; drawn with replacement it is Binomial(``n_x``, ``m / N``) or Binomial(``m``,
    ``n_x / N``), whose ``E[psi^K]`` bounds the hypergeometric one (Hoeffding 1963, theorem 4).
    """
    big = n_x + n_y
    psi = np.exp(log_psi)
    by_arm = n_x * np.log1p(m / big * (psi - 1.0))
    by_events = m * np.log1p(n_x / big * (psi - 1.0))
    out: FloatArray = np.minimum(by_arm, by_events)
    return out


class StratifiedOddsTest:
    """The e-process that arm x's events are more likely than arm y's, window by window."""

    __slots__ = ("_log_e", "_log_psi", "_max_e", "events_x", "events_y", "total_x", "total_y", "windows")

    def __init__(self) -> None:
        self._log_psi = np.asarray(LOG_ODDS_GRID)
        self._log_e = np.zeros(self._log_psi.size)
        self._max_e = 1.0
        self.windows = 0
        self.events_x = self.events_y = self.total_x = self.total_y = 0

    def add(self, events_x: int, total_x: int, events_y: int, total_y: int) -> float:
        """Add one window's table; returns the e-value so far."""
        self.windows += 1
        self.events_x += events_x
        self.events_y += events_y
        self.total_x += total_x
        self.total_y += total_y
        m = events_x + events_y
        if total_x and total_y and 0 < m < total_x + total_y:
            support = min(total_x, m) - max(0, m - total_y) + 1
            exact = support <= EXACT_SUPPORT
            norm = (noncentral_log_normaliser if exact else log_normaliser_bound)(
                total_x, total_y, m, self._log_psi
            )
            self._log_e += self._log_psi * events_x - norm
            self._max_e = max(self._max_e, self.e_value)
        return self.e_value

    @property
    def e_value(self) -> float:
        """The mixture e-value now (1 before any informative window)."""
        top = float(self._log_e.max())
        return math.exp(top) * float(np.mean(np.exp(self._log_e - top)))

    @property
    def p_value(self) -> float:
        """The always-valid p-value: one over the largest e-value seen."""
        return min(1.0, 1.0 / self._max_e)

    @property
    def odds_ratio(self) -> float:
        """The pooled (unstratified) odds ratio of events, x against y, for reporting."""
        a, b = self.events_x, self.total_x - self.events_x
        c, d = self.events_y, self.total_y - self.events_y
        if b * c == 0:
            return math.inf if a * d else math.nan
        return (a * d) / (b * c)


def median_split(x: FloatArray, y: FloatArray, *, below: bool) -> tuple[int, int, int, int]:
    """One window's table for a sample metric: values strictly on the good side of the pooled median.

    ``below=True`` counts values below the median (lower is better); ties with the median count
    as non-events, which keeps the split a function of the pooled values only.
    """
    median = float(np.median(np.concatenate([x, y]))) if x.size + y.size else 0.0
    kx = int(np.count_nonzero(x < median if below else x > median))
    ky = int(np.count_nonzero(y < median if below else y > median))
    return kx, int(x.size), ky, int(y.size)
