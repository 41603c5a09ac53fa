"""How often the candidate exceeds the baseline, with the Brunner-Munzel test of any level of it.

The common-language effect size ``p = P(candidate > baseline) + P(candidate = baseline) / 2`` is
estimated from mid-ranks; its standard error comes from the placements of each sample among the
other's, which needs neither equal variances nor equal shapes (Brunner & Munzel 2000, "The
nonparametric Behrens-Fisher problem: asymptotic theory and a small-sample approximation",
Biometrical Journal 42:17-25). ``(p_hat - p0) / se`` is referred to Student's t with
Welch-Satterthwaite degrees of freedom; at ``p0 = 1/2`` it is ``scipy.stats.brunnermunzel``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import stdtr, stdtrit
from scipy.stats import rankdata

__all__ = ["DominancePivot", "dominance_pivot"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class DominancePivot:
    """The estimate of ``P(candidate > baseline)`` (ties half), its standard error and degrees of freedom."""

    estimate: float
    se: float
    dof: float
    method: str = "Brunner-Munzel"

    def _t(self, p0: float) -> float:
        diff = self.estimate - p0
        if self.se == 0:
            return 0.0 if diff == 0 else math.copysign(math.inf, diff)
        return diff / self.se

    def p_above(self, p0: float) -> float:
        """One-sided p-value of ``H0: P(candidate > baseline) <= p0``."""
        return float(stdtr(self.dof, -self._t(p0)))

    def p_below(self, p0: float) -> float:
        """One-sided p-value of ``H0: P(candidate > baseline) >= p0``."""
        return float(stdtr(self.dof, self._t(p0)))

    def lower(self, alpha: float, *, at: float | None = None) -> float:
        """The one-sided ``1 - alpha`` lower bound (at least 0)."""
        del at  # the degrees of freedom do not depend on the value tested
        return max(0.0, self.estimate + float(stdtrit(self.dof, alpha)) * self.se)

    def upper(self, alpha: float, *, at: float | None = None) -> float:
        """The one-sided ``1 - alpha`` upper bound (at most 1)."""
        del at
        return min(1.0, self.estimate - float(stdtrit(self.dof, alpha)) * self.se)


def dominance_pivot(candidate: FloatArray, baseline: FloatArray) -> DominancePivot:
    """Brunner-Munzel's estimate and standard error for two samples of at least two values each."""
    nx, ny = baseline.size, candidate.size
    both = rankdata(np.concatenate([baseline, candidate]))
    rx, ry = both[:nx], both[nx:]
    px = rx - rankdata(baseline)
    py = ry - rankdata(candidate)
    sx = float(np.sum((px - px.mean()) ** 2)) / (nx - 1)
    sy = float(np.sum((py - py.mean()) ** 2)) / (ny - 1)
    estimate = (float(ry.mean()) - float(rx.mean())) / (nx + ny) + 0.5
    spread = nx * sx + ny * sy
    den = (nx * sx) ** 2 / (nx - 1) + (ny * sy) ** 2 / (ny - 1)
    dof = spread * spread / den if den > 0 else math.inf
    return DominancePivot(estimate=estimate, se=math.sqrt(spread) / (nx * ny), dof=dof)
