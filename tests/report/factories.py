"""Small builders of run reports for the report tests."""

from __future__ import annotations

import random

from harness.report import (
    DecisionReason,
    DecisionRecord,
    ExpectationResult,
    FaultSpan,
    RunReport,
    SeriesPoint,
)


def _series(
    rng: random.Random, weights: list[float], base_latency: float, error_rate: float
) -> list[SeriesPoint]:
    points = []
    for i, weight in enumerate(weights):
        requests = int(1000 * weight / 100)
        errors = sum(rng.random() < error_rate for _ in range(requests))
        p50 = base_latency * rng.uniform(0.9, 1.1) if requests else None
        points.append(
            SeriesPoint(
                t_start=i * 10.0,
                t_end=(i + 1) * 10.0,
                weight_percent=weight,
                requests=requests,
                errors=errors,
                error_rate=errors / requests if requests else 0.0,
                p50=p50,
                p95=None if p50 is None else p50 * 2,
                p99=None if p50 is None else p50 * 3.5,
            )
        )
    return points


def canary_report(*, seed: int = 7, passed: bool = False, scenario: str = "canary-redis-outage") -> RunReport:
    """A canary run with a fault window, three decisions and one failed expectation."""
    rng = random.Random(seed)
    canary_weights = [5.0, 5.0, 25.0, 25.0, 0.0, 0.0]
    return RunReport(
        scenario=scenario,
        description='Canary of v2 under a Redis outage <with markup & quotes">',
        seed=seed,
        duration=60.0,
        digest="ab" * 32,
        passed=passed,
        replay_command=f"harness run scenarios/{scenario}.yaml --seed {seed}",
        package_version="0.1.0",
        started_at="2026-11-22T01:00:00+00:00",
        expectations=[
            ExpectationResult(name="rollback within 30s", passed=True, observed=21.0, limit=30.0),
            ExpectationResult(
                name="stable p99 < 250ms",
                passed=passed,
                observed=0.31,
                limit=0.25,
                detail="p99 0.31 s > 0.25 s",
            ),
        ],
        series={
            "v1": _series(rng, [100 - w for w in canary_weights], 0.05, 0.01),
            "v2": _series(rng, canary_weights, 0.08, 0.2),
        },
        faults=[FaultSpan(start=15.0, end=35.0, target="redis", kind="latency")],
        decisions=[
            DecisionRecord(t=10.0, action="hold", weights={"v1": 95.0, "v2": 5.0}),
            DecisionRecord(t=20.0, action="increase", weights={"v1": 75.0, "v2": 25.0}),
            DecisionRecord(
                t=40.0,
                action="rollback",
                weights={"v1": 100.0, "v2": 0.0},
                reasons=[
                    DecisionReason(
                        metric="error_rate",
                        statistic="proportion z",
                        value=3.2,
                        threshold=2.33,
                        message="v2 error rate 20% vs 1%",
                        verdict="fail",
                    )
                ],
            ),
        ],
        summary={"v2.error_rate": 0.2, "v1.p99": 0.175, "throughput_rps": 100.0},
    )
