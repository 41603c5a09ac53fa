"""Operating characteristics of the canary, measured by seeded simulation, and how long that takes.

Each scenario runs ``--runs`` canaries (default 1,000) from independent seeded streams: 10-second
windows of 10,000 requests, latency samples of up to 2,000 per version, steps 20% (3 windows of
analysis) then 50% (3 windows), judged on p95 latency (allowed +5%) and error rate (allowed
+25%) with a flow-level alpha of 5% (Bonferroni over metrics and measurements). A last scenario
peeks at the always-valid sequential test after each of 30 windows of A/A data.

    .venv/bin/python benchmarks/calibration.py [--runs 1000] [--seed 11] [--workers K | --scheduler ADDR]

With ``--workers K`` (a local Dask cluster) or ``--scheduler tcp://HOST:PORT`` (a running one) the
rollout runs go through ``harness.swarm.swarm_map``: the same counts, computed on the cluster.

Targets: A/A false rollbacks <= 5% (within binomial error); 10% p95 regression and 1% -> 2% error
regression rolled back in >= 95% of runs; the 1,000-run calibration in under a minute.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import time
from collections.abc import Iterator

from harness.rollout import (
    Analysis,
    CanaryConfig,
    CanaryFlow,
    Outcome,
    SetWeight,
    VersionModel,
    calibrate,
)
from harness.seeding import Seeds
from harness.stats import EffectSize, JudgeConfig, MetricConfig, SequentialConfig, SequentialTest

ALPHA = 0.05


def canary(sequential: SequentialConfig | None = None) -> CanaryFlow:
    """The calibrated canary configuration (optionally with the always-valid monitor)."""
    judge = JudgeConfig(
        metrics=(
            MetricConfig(name="latency", effect=EffectSize.P95_RATIO, allowed_increase=1.05),
            MetricConfig(name="error_rate", allowed_increase=1.25, min_samples=100),
        ),
        shift_estimate=False,
    )
    steps = (SetWeight(20), Analysis(windows=3), SetWeight(50), Analysis(windows=3))
    return CanaryFlow(
        CanaryConfig(
            baseline="v1", candidate="v2", steps=steps, judge=judge, alpha=ALPHA, sequential=sequential
        )
    )


def _interval(p: float, n: int) -> str:
    half = 1.96 * math.sqrt(max(p * (1 - p), 1e-12) / n)
    return f"[{max(p - half, 0):.3f}, {min(p + half, 1):.3f}]"


def sequential_aa(runs: int, seed: int) -> float:
    """Share of A/A runs in which the always-valid p-value ever fell to alpha (30 peeks each)."""
    rng = Seeds(seed).numpy("calibration/sequential")
    hits = 0
    for _ in range(runs):
        test = SequentialTest(SequentialConfig(alpha=ALPHA))
        for _ in range(30):
            test.update(rng.lognormal(-3, 0.5, 500), rng.lognormal(-3, 0.5, 500))
        hits += test.rejected
    return hits / runs


@contextlib.contextmanager
def _mapper(workers: int | None, scheduler: str | None) -> Iterator[object]:
    """The built-in ``map``, or ``swarm_map`` on a Dask cluster when one is asked for."""
    if workers is None and scheduler is None:
        yield map
        return
    from harness.swarm import swarm_client, swarm_map

    with swarm_client(workers=workers, scheduler=scheduler) as client:
        yield swarm_map(client, batch=50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--requests", type=int, default=10_000, help="requests per 10-second window")
    parser.add_argument(
        "--sequential", type=float, default=None, help="also monitor with always-valid tests at this alpha"
    )
    parser.add_argument("--workers", type=int, default=None, help="run on a local Dask cluster of K workers")
    parser.add_argument("--scheduler", default=None, help="run on the Dask cluster at tcp://HOST:PORT")
    args = parser.parse_args()
    with _mapper(args.workers, args.scheduler) as mapper:
        _report(args, mapper)


def _report(args: argparse.Namespace, mapper: object) -> None:
    baseline = VersionModel()
    scenarios = {
        "A/A (false rollback)": VersionModel(),
        "p95 latency +10%": VersionModel(latency_factor=1.10),
        "error rate 1% -> 2%": VersionModel(error_rate=0.02),
    }
    total = 0.0
    for name, candidate in scenarios.items():
        t0 = time.perf_counter()
        models = {"v1": baseline, "v2": candidate}
        monitor = None if args.sequential is None else SequentialConfig(alpha=args.sequential)
        op = calibrate(
            functools.partial(canary, monitor),
            models,
            runs=args.runs,
            seed=args.seed,
            requests=args.requests,
            map=mapper,  # type: ignore[arg-type]
        )
        elapsed = time.perf_counter() - t0
        total += elapsed
        rate = op.rate(Outcome.ROLLED_BACK)
        print(
            f"{name:22s} @{args.requests} req/window: rolled back {rate:.3f} {_interval(rate, args.runs)} "
            f"over {args.runs} runs, {op.mean_windows:.1f} windows/run, {elapsed:.1f} s"
        )
    t0 = time.perf_counter()
    peeked = sequential_aa(args.runs, args.seed)
    print(
        f"{'sequential A/A peeks':22s} rejected {peeked:.3f} {_interval(peeked, args.runs)} "
        f"over {args.runs} runs x 30 peeks, {time.perf_counter() - t0:.1f} s"
    )
    print(f"canary calibration total {total:.1f} s (target: each 1,000-run scenario < 60 s)")


if __name__ == "__main__":
    main()
