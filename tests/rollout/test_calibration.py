"""Operating characteristics of the canary, measured by seeded simulation."""

import math

import pytest

from harness.rollout import CanaryFlow, Outcome, VersionModel, calibrate

from ._helpers import canary_config

ALPHA = 0.05


def _run(candidate: VersionModel, runs: int, seed: int = 11) -> float:
    """Rollback rate at 10,000 requests per window, every latency judged (no sample cap)."""
    op = calibrate(
        lambda: CanaryFlow(canary_config(alpha=ALPHA)),
        {"v1": VersionModel(), "v2": candidate},
        runs=runs,
        seed=seed,
        latency_sample=None,
    )
    assert sum(op.outcomes.values()) == runs
    return op.rate(Outcome.ROLLED_BACK)


@pytest.mark.slow
def test_a_a_canaries_roll_back_at_most_alpha() -> None:
    """1,000 A/A canaries: false rollbacks <= alpha within 3 binomial standard errors."""
    runs = 1000
    rate = _run(VersionModel(), runs)
    assert rate <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / runs)


def test_ten_percent_p95_regression_is_rolled_back() -> None:
    """A candidate 10% slower at p95 is rolled back in at least 95% of runs."""
    assert _run(VersionModel(latency_factor=1.10), 200, seed=12) >= 0.95


def test_error_rate_doubling_is_rolled_back() -> None:
    """An error-rate regression from 1% to 2% is rolled back in at least 95% of runs."""
    assert _run(VersionModel(error_rate=0.02), 200, seed=13) >= 0.95


@pytest.mark.slow
def test_sequential_monitoring_keeps_the_false_rollback_budget() -> None:
    """With the always-valid monitor taking 1% of the 5% budget, A/A canaries still roll back <= alpha."""
    from harness.stats import SequentialConfig

    runs = 400
    op = calibrate(
        lambda: CanaryFlow(canary_config(alpha=ALPHA, sequential=SequentialConfig(alpha=0.01))),
        {"v1": VersionModel(), "v2": VersionModel()},
        runs=runs,
        seed=14,
        requests=2000,
    )
    assert op.rate(Outcome.ROLLED_BACK) <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / runs)
