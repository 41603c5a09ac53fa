"""Statistics costs as a pytest-benchmark suite.

Run: ``.venv/bin/pytest benchmarks/test_stats_bench.py --benchmark-enable -p no:cacheprovider``
For the side-by-side comparison with scipy, brute force and hdrh run ``benchmarks/bench_stats.py``;
for the seeded calibration run ``benchmarks/calibration.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from harness.rollout import Outcome, VersionModel, calibrate
from harness.stats import (
    CanaryJudge,
    JudgeConfig,
    LatencyRecorder,
    MetricConfig,
    SequentialTest,
    mann_whitney,
    u_test,
)


@pytest.fixture(scope="module")
def samples() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {"x": rng.lognormal(0, 0.5, 10_000), "y": rng.lognormal(0.01, 0.5, 10_000)}


@pytest.mark.benchmark(group="judge")
def test_bench_judge_100_metrics_of_10k(benchmark: Any) -> None:
    """CanaryJudge over 100 metrics x 10,000 samples per side (target < 1 s)."""
    rng = np.random.default_rng(2)
    names = [f"m{i}" for i in range(100)]
    cand = {n: rng.lognormal(0, 0.5, 10_000) for n in names}
    base = {n: rng.lognormal(0, 0.5, 10_000) for n in names}
    judge = CanaryJudge(JudgeConfig(metrics=tuple(MetricConfig(name=n) for n in names)))
    result = benchmark(judge.judge, cand, base)
    assert len(result.metrics) == 100


@pytest.mark.benchmark(group="rank")
def test_bench_u_test_10k(benchmark: Any, samples: dict[str, np.ndarray]) -> None:
    """U and both one-sided p-values, 10,000 vs 10,000."""
    benchmark(u_test, samples["x"], samples["y"])


@pytest.mark.benchmark(group="rank")
def test_bench_mann_whitney_with_interval_10k(benchmark: Any, samples: dict[str, np.ndarray]) -> None:
    """U, p-value, exact HL shift and its 95% interval, 10,000 vs 10,000 (10^8 differences)."""
    benchmark(mann_whitney, samples["x"], samples["y"])


@pytest.mark.benchmark(group="histogram")
def test_bench_histogram_record_100k(benchmark: Any, samples: dict[str, np.ndarray]) -> None:
    """Recording 100,000 latencies (vectorised) and reading p99."""
    data = np.tile(samples["x"], 10)

    def run() -> float:
        h = LatencyRecorder()
        h.record_many(data)
        return h.quantile(0.99)

    benchmark(run)


@pytest.mark.benchmark(group="sequential")
def test_bench_sequential_update(benchmark: Any, samples: dict[str, np.ndarray]) -> None:
    """One window update of the always-valid test (10,000 per arm)."""
    test = SequentialTest()
    benchmark(test.update, samples["x"], samples["y"])


@pytest.mark.benchmark(group="calibration")
def test_bench_calibration_100_aa_canaries(benchmark: Any) -> None:
    """100 simulated A/A canaries (the 1,000-run calibration is ten of these; target < 60 s)."""
    from benchmarks.calibration import canary

    def run() -> float:
        op = calibrate(canary, {"v1": VersionModel(), "v2": VersionModel()}, runs=100, seed=3)
        return op.rate(Outcome.ROLLED_BACK)

    assert benchmark.pedantic(run, rounds=1, iterations=1) <= 0.15
