"""Error rates of the gate on seeded synthetic data from a noisy machine.

Interleaved A/B runs (10 per side; pooled rounds checked pair by pair): at most 1 false alarm
in 100 A/A pairs and at least 90% detection of a 20% slowdown. Separate runs on a quiet
machine: a 10% slowdown is caught against a 5% rule.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.gate import Rule, compare, compare_interleaved
from harness.gate.synthetic import NoisyMachine
from tests.gate.factories import QUIET, sample_set

NOISY = NoisyMachine()  # drift 10% per run: separate runs disagree by more than 10% one time in five
SHORT = NoisyMachine(rounds=5, outlier_rate=0.2, drift=0.10, drift_rounds=10)
PAIRS = 10


def _interleaved_alarm(rng: np.random.Generator, slowdown: float, machine: NoisyMachine = NOISY) -> bool:
    runs_a, runs_b = machine.interleaved(rng, PAIRS, slowdown)
    return not compare_interleaved([sample_set(r) for r in runs_a], [sample_set(r) for r in runs_b]).passed


def test_interleaved_a_a_false_alarms_at_most_one_in_100() -> None:
    """100 seeded A/A comparisons on the noisy machine: at most one fails."""
    rng = np.random.default_rng(20261122)
    alarms = sum(_interleaved_alarm(rng, 0.0) for _ in range(100))
    assert alarms <= 1


def test_interleaved_detects_a_20_percent_slowdown() -> None:
    """100 seeded comparisons with a 20% slowdown: at least 90 fail."""
    rng = np.random.default_rng(7)
    detected = sum(_interleaved_alarm(rng, 0.20) for _ in range(100))
    assert detected >= 90


def test_interleaved_short_runs_keep_both_targets() -> None:
    """Runs of 5 rounds with 20% outlier rounds: at most 1 false alarm in 100, at least 90% detection."""
    rng = np.random.default_rng(31)
    alarms = sum(_interleaved_alarm(rng, 0.0, SHORT) for _ in range(100))
    detected = sum(_interleaved_alarm(rng, 0.20, SHORT) for _ in range(100))
    assert alarms <= 1
    assert detected >= 90


@pytest.mark.parametrize("seed", range(5))
def test_separate_runs_quiet_machine_catch_10_percent(seed: int) -> None:
    """Without drift, a 10% slowdown between two runs fails a 5% rule (every seed tried)."""
    rng = np.random.default_rng(seed)
    assert not compare(
        sample_set(QUIET.run(rng)), sample_set(QUIET.run(rng, 0.10)), [Rule.parse("5%")]
    ).passed


def test_separate_runs_quiet_machine_a_a_passes() -> None:
    """Without drift, 100 A/A pairs of separate runs raise at most one alarm at the default 10%."""
    rng = np.random.default_rng(99)
    alarms = sum(
        not compare(sample_set(QUIET.run(rng)), sample_set(QUIET.run(rng))).passed for _ in range(100)
    )
    assert alarms <= 1
