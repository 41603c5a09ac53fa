"""Which Hodges-Lehmann interval to keep: coverage of the true shift, agreement with R, and width.

Two intervals for the shift ``candidate - baseline`` were in the tree:

* **R's** (``harness.stats.hodges_lehmann``, R's ``wilcox.test(conf.int=TRUE)``): order statistics
  of the pairwise differences at ``qwilcox`` ranks (exact, small samples without ties), else where
  the continuity- and tie-corrected normal approximation puts them;
* **the former gate interval**: normal approximation of the rank without continuity or tie
  correction, ``k = floor(nm/2 - z sqrt(nm(n+m+1)/12))``, interval ``[D(k+1), D(nm-k)]``, whatever
  the sample size.

For seeded pairs of samples with a known shift (normal, log-normal, and log-normal rounded so
that a third of the values tie) the script reports how often each 95% and 99% interval covers the
shift (the target is the nominal level, a little above is the price of exactness), and, on the
first 200 pairs of two sizes, the percentile-bootstrap interval of the estimate (1,000 resamples)
as an independent yardstick for coverage and width. Last, on 80 seeded pairs of 60 vs 70 values (half
rounded to one decimal, so tied), it counts how often each large-sample interval equals the one
R's own algorithm finds (``uniroot`` on the continuity- and tie-corrected statistic, transcribed
over scipy as in ``tests/stats/test_ranks.py``).

Run: ``.venv/bin/python benchmarks/hl_interval_calibration.py [--reps 1000]``
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtri
from scipy.stats import rankdata

from harness.stats import RankMethod, hodges_lehmann

Sampler = Callable[[np.random.Generator, int], np.ndarray]
SHIFT = 0.25

DISTRIBUTIONS: dict[str, Sampler] = {
    "normal": lambda rng, n: rng.normal(0.0, 1.0, n),
    "log-normal": lambda rng, n: rng.lognormal(0.0, 0.75, n),
    "rounded log-normal (ties)": lambda rng, n: np.round(rng.lognormal(0.0, 0.75, n), 1),
}
SIZES = ((6, 6), (12, 10), (30, 30), (100, 120), (256, 256))
BOOTSTRAPPED = ((12, 10), (30, 30))


def former_gate_interval(
    candidate: np.ndarray, baseline: np.ndarray, confidence: float
) -> tuple[float, float]:
    """The interval the gate used before it called ``harness.stats``."""
    n, m = baseline.size, candidate.size
    diffs = np.sort(np.subtract.outer(candidate, baseline).ravel())
    total = n * m
    z = float(ndtri(1.0 - (1.0 - confidence) / 2.0))
    k = math.floor(total / 2.0 - z * math.sqrt(n * m * (n + m + 1) / 12.0))
    if k < 0:
        return -math.inf, math.inf
    return float(diffs[k]), float(diffs[total - k - 1])


def bootstrap_interval(
    candidate: np.ndarray, baseline: np.ndarray, confidence: float, rng: np.random.Generator, resamples: int
) -> tuple[float, float]:
    """Percentile bootstrap of the Hodges-Lehmann estimate (both samples resampled)."""
    estimates = np.empty(resamples)
    for i in range(resamples):
        c = rng.choice(candidate, candidate.size)
        b = rng.choice(baseline, baseline.size)
        estimates[i] = np.median(np.subtract.outer(c, b))
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(estimates, [tail, 1.0 - tail])
    return float(low), float(high)


def _r_wdiff(x: np.ndarray, y: np.ndarray, d: float, zq: float) -> float:
    """R's ``wilcox.test`` ``wdiff(d, zq)`` for a two-sided interval (``correct = TRUE``)."""
    n, m = x.size, y.size
    shifted = np.concatenate([x - d, y])
    _, counts = np.unique(shifted, return_counts=True)
    dz = rankdata(shifted)[:n].sum() - n * (n + 1) / 2 - n * m / 2
    sigma = math.sqrt(n * m / 12 * ((n + m + 1) - (counts**3 - counts).sum() / ((n + m) * (n + m - 1))))
    return (dz - np.sign(dz) * 0.5) / sigma - zq


def r_interval(x: np.ndarray, y: np.ndarray, confidence: float) -> tuple[float, float]:
    """Where R's ``uniroot`` puts the two-sided interval (the ends of the difference range if beyond)."""
    z = float(ndtri(1.0 - (1.0 - confidence) / 2.0))
    lo, hi = float(x.min() - y.max()), float(x.max() - y.min())
    ends = []
    for zq in (z, -z):
        if _r_wdiff(x, y, lo, zq) <= 0:
            ends.append(lo)
        elif _r_wdiff(x, y, hi, zq) >= 0:
            ends.append(hi)
        else:
            ends.append(float(brentq(lambda d, zq=zq: _r_wdiff(x, y, d, zq), lo, hi, xtol=1e-10)))
    return ends[0], ends[1]


def agreement_with_r(pairs: int = 80) -> dict[str, int]:
    """How many of ``pairs`` large-sample 95% intervals equal R's, per method."""
    agree = {"R": 0, "former gate": 0}
    for seed in range(pairs):
        rng = np.random.default_rng(seed)
        x, y = rng.normal(0.2, 1.0, 60), rng.normal(0.0, 1.0, 70)
        if seed % 2:
            x, y = np.round(x, 1), np.round(y, 1)
        truth = r_interval(x, y, 0.95)
        ours = hodges_lehmann(x, y, confidence=0.95, method=RankMethod.ASYMPTOTIC)
        for method, ends in (("R", (ours.low, ours.high)), ("former gate", former_gate_interval(x, y, 0.95))):
            agree[method] += all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(ends, truth, strict=True))
    return agree


def _row(name: str, covered: dict[str, int], widths: dict[str, list[float]]) -> str:
    cells = []
    for method in ("R", "former gate", "bootstrap"):
        if not widths.get(method):
            cells.append("-")
            continue
        finite = [w for w in widths[method] if math.isfinite(w)]
        width = f"{np.median(finite):.3f}" if finite else "inf"
        cells.append(f"{100.0 * covered[method] / len(widths[method]):6.1f}% w {width:>6s}")
    return f"  {name:38s}" + "".join(f"{c:>20s}" for c in cells)


def run_case(
    sampler: Sampler,
    *,
    size: tuple[int, int],
    confidence: float,
    reps: int,
    rng: np.random.Generator,
    boot: tuple[int, int],
) -> tuple[dict[str, int], dict[str, list[float]]]:
    """Coverage counts and interval widths of every method over ``reps`` sample pairs.

    ``boot = (pairs, resamples)``: the first ``pairs`` sample pairs also get a bootstrap interval.
    """
    covered = {"R": 0, "former gate": 0, "bootstrap": 0}
    widths: dict[str, list[float]] = {"R": [], "former gate": [], "bootstrap": []}
    for rep in range(reps):
        candidate, baseline = sampler(rng, size[0]) + SHIFT, sampler(rng, size[1])
        ours = hodges_lehmann(candidate, baseline, confidence=confidence)
        ends = {
            "R": (ours.low, ours.high),
            "former gate": former_gate_interval(candidate, baseline, confidence),
        }
        if rep < boot[0]:
            ends["bootstrap"] = bootstrap_interval(candidate, baseline, confidence, rng, boot[1])
        for method, (low, high) in ends.items():
            covered[method] += low <= SHIFT <= high
            widths[method].append(high - low)
    return covered, widths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples per interval")
    parser.add_argument("--bootstrap-reps", type=int, default=200, help="sample pairs given a bootstrap")
    args = parser.parse_args()
    for confidence in (0.95, 0.99):
        print(f"\n{confidence:.0%} intervals, true shift {SHIFT}: coverage and median width")
        print(f"  {'case':38s}{'R / harness.stats':>20s}{'former gate':>20s}{'bootstrap':>20s}")
        for dist, sampler in DISTRIBUTIONS.items():
            for n, m in SIZES:
                rng = np.random.default_rng([n, m, round(confidence * 100), len(dist)])
                boot = (args.bootstrap_reps if (n, m) in BOOTSTRAPPED else 0, args.bootstrap)
                covered, widths = run_case(
                    sampler, size=(n, m), confidence=confidence, reps=args.reps, rng=rng, boot=boot
                )
                print(_row(f"{dist}, {n} vs {m}", covered, widths))
    agree = agreement_with_r()
    print(f"\nlarge-sample 95% intervals equal to R's uniroot result, of 80: {agree}")


if __name__ == "__main__":
    main()
