"""The calibration matrix: its rows do not depend on how the runs are spread, and its targets hold.

The slow test reruns a reduced matrix from seeds the published benchmark does not use.
"""

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pytest
from scipy.stats import binomtest

from harness.rollout.calibration import (
    CASES,
    SEED,
    Bound,
    Target,
    calibration_matrix,
    clopper_pearson,
    format_matrix,
    tail_sigma,
)
from harness.rollout.simulate import VersionModel
from harness.seeding import Seeds

JUDGE_ROWS = [c for c in CASES if c.section == "judge"]


def _reversed_map(f: Callable[[Any], Any], jobs: Iterable[Any]) -> list[Any]:
    """A map that computes the jobs last to first (as a pool might) and returns them in order."""
    items = list(jobs)
    return [f(j) for j in reversed(items)][::-1]


def test_rows_do_not_depend_on_the_map_or_the_batch_size() -> None:
    """builtins.map in batches of 10 and a reordering map in batches of 7 give the same counts."""
    plain = calibration_matrix(JUDGE_ROWS, runs=20, seed=5, batch=10)
    spread = calibration_matrix(JUDGE_ROWS, runs=20, seed=5, batch=7, map=_reversed_map)
    assert [(r.events, r.runs) for r in plain] == [(r.events, r.runs) for r in spread]
    assert all(r.runs == 20 for r in plain)


def test_table_names_every_case_with_its_interval_and_target() -> None:
    """Each row prints its case, rate, Clopper-Pearson interval, target and whether it is met."""
    rows = calibration_matrix(JUDGE_ROWS[:1], runs=10, seed=5, batch=10)
    text = format_matrix(rows)
    low, high = rows[0].interval
    assert JUDGE_ROWS[0].name in text
    assert f"[{low:.3f}, {high:.3f}]" in text
    assert "<= 0.05" in text


def test_clopper_pearson_matches_scipy_and_targets_allow_binomial_slack() -> None:
    """The interval is scipy's exact one; a target fails only when the interval is on the wrong side."""
    ci = binomtest(7, 100).proportion_ci(method="exact")
    assert clopper_pearson(7, 100) == pytest.approx((ci.low, ci.high))
    assert Target(Bound.AT_MOST, 0.05).met(8, 100)  # 8% of 100: interval reaches 5%
    assert not Target(Bound.AT_MOST, 0.05).met(15, 100)
    assert Target(Bound.AT_LEAST, 0.95).met(93, 100)
    assert not Target(Bound.AT_LEAST, 0.95).met(80, 100)


def test_tail_sigma_widens_the_p95_by_the_factor_and_keeps_the_median() -> None:
    """A log-normal with tail_sigma(0.5, 1.2) has the same median and a p95 1.2 times larger."""
    rng = Seeds(6).numpy("tail-sigma")
    base = VersionModel().latencies(rng, 400_000)
    wide = VersionModel(latency_sigma=tail_sigma(0.5, 1.2)).latencies(rng, 400_000)
    for q, ratio in ((0.5, 1.0), (0.95, 1.2)):
        assert np.quantile(wide, q) / np.quantile(base, q) == pytest.approx(ratio, rel=0.01)


REDUCED = {
    ("judge", "A/A p95, 2,000 vs 2,000"),
    ("judge", "tail-only p95 +20%, 2,000 vs 2,000"),
    ("judge", "3% slower, 5% allowed, 10,000 vs 10,000"),
    ("judge", "error ratio 1.2, 1.25 allowed, 50,000 each"),
    ("canary", "A/A"),
    ("canary", "uniform +10%"),
    ("canary", "tail-only p95 +20%"),
    ("canary", "error 1% -> 2%"),
    ("canary", "A/A errors 0.1%, arms 5/95"),
    ("canary", "A/A SLO 99% met exactly"),
    ("canary+monitor", "A/A steps 10/50/90"),
    ("champion", "A/A latency, thompson, trending"),
    ("champion", "A/A error_rate, thompson, trending"),
    ("champion", "A/A error_rate, epsilon_greedy, trending"),
}


@pytest.mark.slow
def test_a_reduced_matrix_meets_its_targets_with_other_seeds() -> None:
    """A/A and inside-the-tolerance rows at most alpha, power rows at least their target."""
    cases = [c for c in CASES if (c.section, c.name) in REDUCED and c.target is not None]
    rows = calibration_matrix(cases, runs=150, seed=SEED + 1, batch=50)
    print(format_matrix(rows))
    assert len({(c.section, c.name) for c in cases}) == len(REDUCED)
    assert [r.case.name for r in rows if r.met is False] == []
