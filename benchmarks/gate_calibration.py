"""Calibration of ``harness gate`` against pytest-benchmark's ``--benchmark-compare-fail`` on the
same seeded synthetic data.

The data come from :class:`harness.gate.synthetic.NoisyMachine`: per-round jitter, pauses that
make 8% of rounds 1.3-3x slower, and a slowly wandering machine state (10% log-normal drift by
default, 2% on the "quiet" profile). For every condition the script draws ``--runs`` comparisons
and reports how often each method fails the build:

* *separate runs*: a baseline run and a current run with independent drift (two CI jobs);
  ours = ``compare()`` with the default rule (10%, 99% interval) and with a 5% rule; pytest-benchmark =
  ``median:5%`` (the flag as usually written) and ``median:10%`` (same threshold as ours), applied
  with pytest-benchmark's own ``PercentageRegressionCheck``;
* *interleaved*: ``--pairs`` runs per side alternating A B B A ... (what ``harness gate --ab``
  does); ours = ``compare_interleaved()`` (pooled rounds checked pair by pair); pytest-benchmark =
  its rule on the medians of all rounds of each side (it has no interleaved mode).

Rows: A/A (false alarms; target at most 1%), 10% and 20% slowdowns (detection; target at least
90% for 20%). It also prints the size of a pytest-benchmark JSON with raw data vs our baseline,
and how long one ``compare()`` takes.

Run: ``.venv/bin/python benchmarks/gate_calibration.py [--runs 200] [--pairs 10]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pytest_benchmark.utils import parse_compare_fail

from harness.gate import Baseline, Metric, Rule, compare, compare_interleaved
from harness.gate.synthetic import NoisyMachine

PROFILES = {
    "noisy": NoisyMachine(),
    "quiet": NoisyMachine(drift=0.02),
    "few-rounds": NoisyMachine(rounds=5, outlier_rate=0.2, drift=0.02),
    "few-rounds-fast-drift": NoisyMachine(rounds=5, outlier_rate=0.2, drift=0.10, drift_rounds=10),
}
COLUMNS = ("ours 10%", "ours 5%", "pb median:5%", "pb median:10%")
FIVE = [Rule.parse("5%")]
SLOWDOWNS = {"A/A": 0.0, "+10%": 0.10, "+20%": 0.20}


def _set(values: list[float] | np.ndarray) -> Baseline:
    return Baseline(metrics={"bench": Metric.from_samples("bench", [float(v) for v in values], unit="s")})


def _pb(expression: str) -> Callable[[np.ndarray, np.ndarray], bool]:
    check = parse_compare_fail(expression)

    def fails(base: np.ndarray, cur: np.ndarray) -> bool:
        return bool(check.fails({"median": float(np.median(cur))}, {"median": float(np.median(base))}))

    return fails


PB5, PB10 = _pb("median:5%"), _pb("median:10%")


def separate(machine: NoisyMachine, slowdown: float, runs: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    counts = dict.fromkeys(COLUMNS, 0)
    for _ in range(runs):
        base, cur = machine.run(rng), machine.run(rng, slowdown)
        counts["ours 10%"] += not compare(_set(base), _set(cur)).passed
        counts["ours 5%"] += not compare(_set(base), _set(cur), FIVE).passed
        counts["pb median:5%"] += PB5(base, cur)
        counts["pb median:10%"] += PB10(base, cur)
    return {k: v / runs for k, v in counts.items()}


def interleaved(machine: NoisyMachine, slowdown: float, runs: int, pairs: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    counts = dict.fromkeys(COLUMNS, 0)
    for _ in range(runs):
        runs_a, runs_b = machine.interleaved(rng, pairs, slowdown)
        a, b = [_set(r) for r in runs_a], [_set(r) for r in runs_b]
        counts["ours 10%"] += not compare_interleaved(a, b).passed
        counts["ours 5%"] += not compare_interleaved(a, b, FIVE).passed
        pooled_a, pooled_b = np.concatenate(runs_a), np.concatenate(runs_b)
        counts["pb median:5%"] += PB5(pooled_a, pooled_b)
        counts["pb median:10%"] += PB10(pooled_a, pooled_b)
    return {k: v / runs for k, v in counts.items()}


def _row(label: str, rates: dict[str, float]) -> str:
    return f"  {label:<28}" + "".join(f"{rates[k] * 100:>16.1f}%" for k in rates)


def _sizes() -> tuple[int, int]:
    raw = np.random.default_rng(0).lognormal(-7, 0.2, 200_000)
    doc = {
        "benchmarks": [
            {"name": "t", "fullname": "t.py::t", "stats": {"data": raw.tolist(), "rounds": raw.size}}
        ]
    }
    with tempfile.TemporaryDirectory() as tmp:
        raw_path = Path(tmp) / "bench.json"
        raw_path.write_text(json.dumps(doc))
        saved = Baseline.load(raw_path).save(Path(tmp) / "baseline.json")
        return raw_path.stat().st_size, saved.stat().st_size


def _compare_cost() -> float:
    rng = np.random.default_rng(1)
    a, b = _set(rng.lognormal(0, 0.1, 100_000)), _set(rng.lognormal(0, 0.1, 100_000))
    times = []
    for _ in range(30):
        start = time.perf_counter()
        compare(a, b)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="comparisons per condition")
    parser.add_argument("--pairs", type=int, default=10, help="runs per side in interleaved mode")
    args = parser.parse_args()
    header = f"  {'fails the build':<28}" + "".join(f"{k:>17}" for k in COLUMNS)
    for profile, machine in PROFILES.items():
        print(f"\n{profile} machine: {machine.rounds} rounds/run, drift {machine.drift:.0%}, ", end="")
        print(f"{machine.outlier_rate:.0%} outlier rounds; {args.runs} comparisons per row")
        print(header)
        for index, (label, slowdown) in enumerate(SLOWDOWNS.items()):
            print(_row(f"separate runs, {label}", separate(machine, slowdown, args.runs, seed=100 + index)))
        for index, (label, slowdown) in enumerate(SLOWDOWNS.items()):
            rates = interleaved(machine, slowdown, args.runs, args.pairs, seed=200 + index)
            print(_row(f"interleaved x{args.pairs}, {label}", rates))
    raw, ours = _sizes()
    print(f"\nfile size for 200,000 timings: pytest-benchmark JSON {raw / 1e6:.1f} MB, ", end="")
    print(f"our baseline {ours / 1e3:.1f} kB")
    cost = _compare_cost() * 1e3
    print(f"compare() of two 100,000-sample metrics (compacted to 256): median {cost:.2f} ms")


if __name__ == "__main__":
    main()
