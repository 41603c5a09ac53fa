"""Interleaved A/B runner: order, pairing and timing on a virtual clock."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.gate import ABConfig, Baseline, Change, Metric, Rule, compare_interleaved, run_ab
from harness.gate.ab import WALL_TIME


def test_order_is_balanced() -> None:
    """A B B A A B B A: each side goes first equally often."""
    assert "".join(ABConfig(baseline="a", current="b", runs=4).order()) == "ABBAABBA"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"baseline": "", "current": "b"}, "baseline command is empty"),
        ({"baseline": "a 'unclosed", "current": "b"}, "cannot be split"),
        ({"baseline": "a", "current": "b", "runs": 1}, r"runs=1"),
        ({"baseline": "a", "current": "b", "timeout": 0}, "timeout=0"),
    ],
)
def test_bad_config(kwargs: dict[str, object], message: str) -> None:
    """Bad A/B settings fail at construction, quoting the value."""
    with pytest.raises(InvalidConfig, match=message):
        ABConfig(**kwargs)  # type: ignore[arg-type]


def test_wall_time_of_commands_on_a_virtual_clock(tmp_path: Path) -> None:
    """Without {out} the command is timed; a 25% slower B regresses, judged pair by pair."""
    clock = VirtualClock()
    ran: list[str] = []
    drift = iter([1.0, 1.0, 1.3, 1.3, 0.9, 0.9, 1.1, 1.1] * 2)

    def runner(argv: Sequence[str], timeout: float) -> None:
        ran.append(argv[0])
        factor = next(drift)
        clock.advance(factor * (1.25 if argv[0] == "new" else 1.0))

    outcome = run_ab(
        ABConfig(baseline="old --x", current="new --x", runs=8), tmp_path, runner=runner, clock=clock
    )
    assert ran == ["old", "new", "new", "old"] * 4
    assert len(outcome.baseline_runs) == len(outcome.current_runs) == 8
    assert outcome.current_runs[0].metrics[WALL_TIME].median == 1.25
    result = compare_interleaved(outcome.baseline_runs, outcome.current_runs)
    assert not result.passed
    (c,) = result.regressions
    assert c.method == "paired t on log run medians (8 pairs)"
    assert c.change == pytest.approx(0.25), "the drift between pairs cancels"


def _run(values: list[float]) -> Baseline:
    return Baseline(metrics={"t": Metric.from_samples("t", values, unit="s")})


def test_drift_in_a_few_pairs_is_not_a_regression() -> None:
    """Two B runs hit by a load burst move the pooled rounds but not the pair-by-pair estimate."""
    rng = np.random.default_rng(4)
    runs_a = [_run(list(rng.normal(1.0, 0.01, 30))) for _ in range(10)]
    runs_b = [_run(list(rng.normal(1.0 if i >= 2 else 3.0, 0.01, 30))) for i in range(10)]
    result = compare_interleaved(runs_a, runs_b, [Rule.parse("1%")])
    assert result.passed


def test_consistent_slowdown_in_every_pair_regresses() -> None:
    """A 5% slowdown in every pair fails a 2% rule; every round is kept, each run's median judged."""
    rng = np.random.default_rng(5)
    runs_a = [_run(list(rng.normal(1.0, 0.02, 30))) for _ in range(10)]
    runs_b = [_run(list(rng.normal(1.05, 0.02, 30))) for _ in range(10)]
    (c,) = compare_interleaved(runs_a, runs_b, [Rule.parse("2%")]).regressions
    assert c.current.count == 300
    assert len(c.current.runs) == 10


def test_run_offsets_widen_the_paired_interval() -> None:
    """Each run off by its own few percent: rounds agree within a run, the pairs do not.

    Pooled rounds would call a 3% change significant; the pairs show it is within the runs' spread.
    """
    rng = np.random.default_rng(6)
    offsets = rng.normal(0, 0.05, 20)
    runs_a = [_run(list(np.exp(offsets[i]) * rng.normal(1.0, 0.001, 30))) for i in range(5)]
    runs_b = [_run(list(np.exp(offsets[5 + i]) * rng.normal(1.03, 0.001, 30))) for i in range(5)]
    (c,) = compare_interleaved(runs_a, runs_b, [Rule.parse("1%")]).comparisons
    assert c.low < 0 < c.high
    assert c.verdict is Change.UNCHANGED


def test_interleaved_needs_matching_run_counts() -> None:
    """Unequal sides are a usage error."""
    with pytest.raises(InvalidConfig, match="same number"):
        compare_interleaved([_run([1.0, 2.0])] * 3, [_run([1.0, 2.0])] * 2)
