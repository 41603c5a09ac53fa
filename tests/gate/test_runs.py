"""The run is the unit: several runs per side, one run with a known noise, or inconclusive."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.gate import Basis, Change, Metric, Rule, compare, pool_runs
from harness.gate.baseline import Baseline
from harness.gate.intervals import noise_to_decide
from harness.gate.synthetic import NoisyMachine
from tests.gate.factories import sample_set

OFFSETS = NoisyMachine(drift=0.0, run_offset=0.05)


def _side(rng: np.random.Generator, runs: int, slowdown: float = 0.0) -> Baseline:
    return pool_runs([sample_set(OFFSETS.run(rng, slowdown)) for _ in range(runs)], name="side")


def test_one_run_per_side_without_noise_is_inconclusive_not_a_regression() -> None:
    """A 30% slowdown within one run per side: beyond the threshold, yet not decidable: exit 0."""
    rng = np.random.default_rng(1)
    result = compare(_side(rng, 1), _side(rng, 1, 0.30))
    (c,) = result.comparisons
    assert (c.verdict, c.basis) == (Change.INCONCLUSIVE, Basis.ONE_RUN)
    assert c.low > 0, "the within-run interval alone would call it significant"
    assert (result.passed, result.exit_code) == (True, 0)
    assert result.inconclusive == (c,)


def test_one_run_per_side_alarms_only_beyond_the_stated_noise() -> None:
    """With noise 5% stated, a change must exceed about z * 5% * sqrt(2) = 18% at 99% to alarm."""
    base = sample_set(np.linspace(1.0, 1.01, 30))
    small = compare(base, sample_set(np.linspace(1.12, 1.13, 30)), noise=0.05).comparisons[0]
    large = compare(base, sample_set(np.linspace(1.30, 1.31, 30)), noise=0.05).comparisons[0]
    assert (small.verdict, small.basis) == (Change.UNCHANGED, Basis.KNOWN_NOISE)
    assert small.low < 0 < small.high
    assert large.verdict is Change.REGRESSION
    assert large.method == "hodges-lehmann + noise 5%"


def test_noise_to_decide_is_where_the_stated_noise_turns_the_verdict() -> None:
    """Just under the printed level the change regresses; just over it, it does not."""
    base, cur = sample_set(np.linspace(1.0, 1.01, 30)), sample_set(np.linspace(1.30, 1.31, 30))
    level = noise_to_decide(base.metrics["bench"], cur.metrics["bench"], 0.99)
    assert level == pytest.approx(np.log(1.305 / 1.005) / (2.5758293 * np.sqrt(2)), rel=1e-3)
    assert compare(base, cur, noise=level * 0.99).regressions
    assert not compare(base, cur, noise=level * 1.01).regressions


def test_several_runs_per_side_use_welch_on_log_run_medians() -> None:
    """Five runs per side: the runs are the unit and the interval says so."""
    rng = np.random.default_rng(2)
    (c,) = compare(_side(rng, 5), _side(rng, 5, 0.30)).comparisons
    assert c.method == "welch t on log run medians (5 vs 5 runs)"
    assert (c.verdict, c.basis) == (Change.REGRESSION, Basis.RUNS)
    assert c.current.count == 5 * OFFSETS.rounds


def test_run_offsets_are_not_mistaken_for_a_change() -> None:
    """Runs 5% apart from each other, every round precise: a 4% difference of means is noise."""
    rng = np.random.default_rng(3)
    offsets = [0.96, 1.05, 0.99, 1.02, 1.07, 1.03, 1.09, 1.01, 1.06, 1.04]

    def side(factors: list[float]) -> Baseline:
        return pool_runs([sample_set(f * rng.normal(1.0, 0.001, 30)) for f in factors], name="s")

    pooled = compare(
        sample_set(np.concatenate([f * np.ones(30) for f in offsets[:5]])),
        sample_set(np.concatenate([f * np.ones(30) for f in offsets[5:]])),
        [Rule.parse("1%")],
        noise=0.0,
    ).comparisons[0]
    assert pooled.low > 0, "rounds taken as independent call it significant"
    (c,) = compare(side(offsets[:5]), side(offsets[5:]), [Rule.parse("1%")]).comparisons
    assert c.verdict is Change.UNCHANGED
    assert c.low < 0 < c.high


def test_one_new_run_against_a_stored_baseline_of_several_uses_its_measured_noise() -> None:
    """The baseline's five runs measure the run-to-run variance; one current run is judged with it."""
    rng = np.random.default_rng(4)
    base = _side(rng, 5)
    (c,) = compare(base, _side(rng, 1, 0.60)).comparisons
    assert c.method == "pooled t on log run medians (1 vs 5 runs)"
    assert (c.verdict, c.basis) == (Change.REGRESSION, Basis.RUNS)
    (same,) = compare(base, _side(rng, 1)).comparisons
    assert same.verdict is Change.UNCHANGED


def test_a_saved_baseline_keeps_each_runs_median(tmp_path: Path) -> None:
    """Run medians survive the file, so a later comparison still has the runs as units."""
    rng = np.random.default_rng(5)
    side = _side(rng, 4)
    again = Baseline.load(side.save(tmp_path / "base.json"))
    assert again.metrics["bench"].runs == pytest.approx(side.metrics["bench"].runs, rel=1e-8)
    assert again.metrics["bench"].run_count == 4


def test_pooling_keeps_a_metric_only_when_every_run_has_it() -> None:
    """A benchmark one of the runs did not measure is left out of that side."""
    full = Baseline(metrics={"a": Metric(name="a", median=1.0), "b": Metric(name="b", median=2.0)})
    part = Baseline(metrics={"a": Metric(name="a", median=1.1)})
    pooled = pool_runs([full, part, full], name="cur")
    assert list(pooled.metrics) == ["a"]
    assert pooled.metrics["a"].runs == (1.0, 1.1, 1.0)
    assert not compare(full, pooled).passed, "b is missing from the current side"


def test_identical_simulated_runs_are_exact() -> None:
    """Several runs that repeat exactly (a seeded simulation) give the point as the interval."""
    runs = [Baseline(metrics={"p99": Metric(name="p99", median=0.2, noise=0.0)}) for _ in range(3)]
    slower = [Baseline(metrics={"p99": Metric(name="p99", median=0.25, noise=0.0)}) for _ in range(3)]
    (c,) = compare(pool_runs(runs, name="a"), pool_runs(slower, name="b")).comparisons
    assert (c.low, c.change, c.high) == pytest.approx((0.25, 0.25, 0.25))
    assert c.verdict is Change.REGRESSION
