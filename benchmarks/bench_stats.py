"""Statistics throughput, side by side with the peers, interleaved in one process.

Cases (each timed per round, rounds interleaved in a shuffled order so machine load hits all alike):

* judge: ``CanaryJudge`` over 100 metrics of 10,000 samples per side (target: under 1 s), with and
  without the Hodges-Lehmann shift estimate;
* rank test: our Mann-Whitney U (U, both one-sided p-values) vs ``scipy.stats.mannwhitneyu``, on
  10,000 vs 10,000 samples;
* HL shift and interval: ours (exact, selection over the implicit difference matrix) on 2,000 vs
  2,000 vs the brute force (materialise and sort all 4,000,000 differences, what R does);
* histogram: recording 100,000 latencies into ``LatencyRecorder`` (our batching over ``hdrh``),
  vectorised and one ``record`` call per value, vs ``hdrh``'s ``HdrHistogram.record_value`` loop,
  and a p99 query each.

    .venv/bin/python benchmarks/bench_stats.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

import numpy as np
from hdrh.histogram import HdrHistogram
from scipy.stats import mannwhitneyu

from harness.stats import CanaryJudge, JudgeConfig, LatencyRecorder, MetricConfig, mann_whitney, u_test


def _cases() -> dict[str, Callable[[], object]]:
    rng = np.random.default_rng(20261122)
    names = [f"m{i}" for i in range(100)]
    cand = {n: rng.lognormal(0, 0.5, 10_000) for n in names}
    base = {n: rng.lognormal(0, 0.5, 10_000) for n in names}
    judge = CanaryJudge(JudgeConfig(metrics=tuple(MetricConfig(name=n) for n in names)))
    judge_fast = CanaryJudge(
        JudgeConfig(metrics=tuple(MetricConfig(name=n) for n in names), shift_estimate=False)
    )
    x, y = rng.lognormal(0, 0.5, 10_000), rng.lognormal(0.01, 0.5, 10_000)
    hx, hy = rng.lognormal(0, 0.5, 2000), rng.lognormal(0.01, 0.5, 2000)
    lat = rng.lognormal(-3, 1, 100_000)
    lat_us = (lat * 1e6).astype(np.int64)

    def hdr_record() -> object:
        h = HdrHistogram(1, 3_600_000_000, 3)
        for v in lat_us.tolist():
            h.record_value(v)
        return h.get_value_at_percentile(99)

    def ours_record() -> object:
        h = LatencyRecorder()
        h.record_many(lat)
        return h.quantile(0.99)

    def ours_record_each() -> object:
        h = LatencyRecorder()
        for v in lat.tolist():
            h.record(v)
        return h.quantile(0.99)

    def brute_hl() -> object:
        d = np.sort(np.subtract.outer(hx, hy).ravel())
        return float(np.median(d)), d[int(0.025 * d.size)], d[int(0.975 * d.size)]

    return {
        "judge 100x10k (with shift)": lambda: judge.judge(cand, base),
        "judge 100x10k (no shift)": lambda: judge_fast.judge(cand, base),
        "rank test ours 10k": lambda: u_test(x, y),
        "rank test scipy 10k": lambda: mannwhitneyu(x, y, method="asymptotic"),
        "HL+CI ours 2k": lambda: mann_whitney(hx, hy),
        "HL+CI brute 2k": brute_hl,
        "histogram ours 100k": ours_record,
        "histogram ours each 100k": ours_record_each,
        "histogram hdrh 100k": hdr_record,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    cases = _cases()
    times: dict[str, list[float]] = {k: [] for k in cases}
    order = list(cases)
    shuffle = random.Random(7)
    for _ in range(args.rounds):
        shuffle.shuffle(order)
        for name in order:
            t0 = time.perf_counter()
            cases[name]()
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    for name in cases:
        print(f"{name:32s} median {med[name] * 1e3:9.2f} ms")
    print(f"judge 100 metrics x 10,000 samples: {med['judge 100x10k (with shift)']:.3f} s (target < 1 s)")
    print(f"rank test ours/scipy: {med['rank test ours 10k'] / med['rank test scipy 10k']:.2f}x")
    print(f"HL+CI ours/brute force: {med['HL+CI ours 2k'] / med['HL+CI brute 2k']:.2f}x")
    hdr = med["histogram hdrh 100k"]
    print(f"histogram record ours/hdrh: {med['histogram ours 100k'] / hdr:.3f}x vectorised, ", end="")
    print(f"{med['histogram ours each 100k'] / hdr:.3f}x one call per value")


if __name__ == "__main__":
    main()
