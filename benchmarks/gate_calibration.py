"""Operating characteristics of ``harness gate``, side by side with pytest-benchmark's compare-fail rule.

Seeded synthetic benchmarks (:class:`harness.gate.synthetic.NoisyMachine`): 30 rounds per run,
4% log-normal jitter per round, 8% of rounds 1.3-3x slower (pauses), a per-run log-normal offset
with standard deviation 0, 2 or 5% (what differs between two processes running the same code:
memory layout, warm-up), and in the last two cases a machine drift of 5% (AR(1), decorrelating
over 60 rounds: CPU frequency, neighbours). Separate runs each see their own stretch of drift;
interleaved runs A B B A ... share one, which pairing cancels.

For each case and each way of running, ``--draws`` A/A comparisons and ``--draws`` comparisons with
every round 20% slower, judged by ``harness.gate.compare`` with the default rule (10%, 99%
interval):

* ``1 run per side``: no noise known, so a change is at most *inconclusive*; the coverage shown
  is the within-run interval's, which is why one run cannot decide;
* ``1 run per side, --noise 5%``: the run-to-run noise stated;
* ``1 run vs 5-run baseline``: a stored baseline of five runs against one new run (pooled t);
* ``5 runs per side``: Welch t on log run medians;
* ``5 interleaved pairs``, ``10 interleaved pairs``: ``harness gate --ab ... --runs 5`` (or the
  default 10), the paired t on the pairs.

Columns: A/A alarms (the gate fails), A/A inconclusive, +20% caught, +20% inconclusive, coverage
of the 99% interval of the +20% change, and pytest-benchmark's ``--benchmark-compare-fail=median:10%``
(its own ``PercentageRegressionCheck``) on the same data: each side's one run, or all rounds of a
side's runs pooled. Every rate has a 95% Wilson interval. Targets: coverage >= 97% with 5 runs per
side under 5% offsets; A/A alarms <= 2% with one run per side under 5% offsets; a 20% slowdown
caught >= 90% with 5 runs per side.

Run: ``.venv/bin/python benchmarks/gate_calibration.py [--draws 1000] [--workers K | --scheduler
tcp://HOST:PORT]``; with ``--workers`` (a local Dask cluster) or ``--scheduler`` (a running one) the
batches run on the cluster through ``harness.swarm.swarm_map``, with the same table (every batch has
its own seed). ``calibrate_gate(map=...)`` takes any callable that maps a function over the batches
and returns the results in order: a process pool's ``map``, or ``swarm_map(client)``.
"""

from __future__ import annotations

import argparse
import builtins
import enum
import importlib
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pytest_benchmark.utils import parse_compare_fail

from harness.gate import Baseline, Change, GateResult, Metric, compare, compare_interleaved, pool_runs
from harness.gate.synthetic import NoisyMachine
from harness.stats import wilson_interval

SEED = 1300
"""Batch ``b`` of case ``k`` and condition ``c`` (0 A/A, 1 slower) draws from
``numpy.random.default_rng([SEED, k, c, b])``."""
SLOWDOWN = 0.20
RUN_COUNT = 5
STATED_NOISE = 0.05
PEER_RULE = "median:10%"
METRIC = "bench"


@dataclass(frozen=True, slots=True)
class Case:
    """The machine: the run-to-run offset and the machine drift (standard deviations of logs)."""

    offset: float
    drift: float = 0.0

    def describe(self) -> str:
        """``offset 5%, drift 5%``."""
        return f"offset {self.offset:.0%}, drift {self.drift:.0%}"


CASES = (Case(0.0), Case(0.02), Case(0.05), Case(0.02, 0.05), Case(0.05, 0.05))


class Way(enum.Enum):
    """How the two sides were run and what the gate was told."""

    ONE_RUN = "1 run per side"
    ONE_RUN_NOISE = "1 run per side, --noise 5%"
    STORED = f"1 run vs {RUN_COUNT}-run baseline"
    RUNS = f"{RUN_COUNT} runs per side"
    PAIRS = f"{RUN_COUNT} interleaved pairs"
    PAIRS_10 = "10 interleaved pairs"


@dataclass(frozen=True, slots=True)
class Batch:
    """``draws`` comparisons of one case and one condition (A/A or the slowdown)."""

    case: Case
    case_index: int
    slowdown: float
    index: int
    draws: int
    seed: int = SEED

    def rng(self) -> np.random.Generator:
        """The batch's own random stream."""
        return np.random.default_rng([self.seed, self.case_index, int(self.slowdown > 0), self.index])


@dataclass(slots=True)
class Counts:
    """Outcomes of one way of running over some draws of one condition."""

    n: int = 0
    alarms: int = 0
    inconclusive: int = 0
    covered: int = 0
    peer_alarms: int = 0

    def add(self, other: Counts) -> None:
        """Fold another tally of the same case into this one."""
        self.n += other.n
        self.alarms += other.alarms
        self.inconclusive += other.inconclusive
        self.covered += other.covered
        self.peer_alarms += other.peer_alarms


@dataclass(frozen=True, slots=True)
class Rate:
    """``k`` of ``n`` with its 95% Wilson interval."""

    k: int
    n: int

    @property
    def value(self) -> float:
        return self.k / self.n if self.n else float("nan")

    def interval(self) -> tuple[float, float]:
        ci = wilson_interval(self.k, self.n)
        return ci.low, ci.high

    def __str__(self) -> str:
        low, high = self.interval()
        return f"{self.value * 100:5.1f}% [{low * 100:4.1f}, {high * 100:5.1f}]"


@dataclass(frozen=True, slots=True)
class GateRow:
    """One row of the table: a way of running in one case."""

    way: Way
    case: Case
    aa: Counts
    slow: Counts

    def cells(self) -> dict[str, Rate]:
        """Each column as a rate with its Wilson interval."""
        return {
            "A/A alarms": Rate(self.aa.alarms, self.aa.n),
            "A/A inconclusive": Rate(self.aa.inconclusive, self.aa.n),
            "+20% caught": Rate(self.slow.alarms, self.slow.n),
            "+20% inconclusive": Rate(self.slow.inconclusive, self.slow.n),
            "99% CI covers +20%": Rate(self.slow.covered, self.slow.n),
            "peer A/A alarms": Rate(self.aa.peer_alarms, self.aa.n),
            "peer +20% caught": Rate(self.slow.peer_alarms, self.slow.n),
        }


@dataclass(slots=True)
class _Tally:
    by_way: dict[Way, Counts] = field(default_factory=lambda: {way: Counts() for way in Way})


_PEER = parse_compare_fail(PEER_RULE)


def _peer_fails(base: Iterable[np.ndarray], cur: Iterable[np.ndarray]) -> bool:
    """pytest-benchmark's check on the medians of all rounds of each side."""
    medians = (float(np.median(np.concatenate(list(side)))) for side in (base, cur))
    base_median, cur_median = medians
    return bool(_PEER.fails({"median": cur_median}, {"median": base_median}))


def _result_set(rounds: np.ndarray) -> Baseline:
    return Baseline(metrics={METRIC: Metric.from_samples(METRIC, rounds.tolist(), unit="s")})


def _record(counts: Counts, result: GateResult, slowdown: float, peer: bool) -> None:
    (c,) = result.comparisons
    counts.n += 1
    counts.alarms += c.verdict is Change.REGRESSION
    counts.inconclusive += c.verdict is Change.INCONCLUSIVE
    counts.covered += c.low <= slowdown <= c.high
    counts.peer_alarms += peer


def _separate(machine: NoisyMachine, rng: np.random.Generator, slowdown: float, tally: _Tally) -> None:
    base_runs = [machine.run(rng) for _ in range(RUN_COUNT)]
    cur_runs = [machine.run(rng, slowdown) for _ in range(RUN_COUNT)]
    base_sets, cur_sets = [_result_set(r) for r in base_runs], [_result_set(r) for r in cur_runs]
    one_peer = _peer_fails(base_runs[:1], cur_runs[:1])
    stored = pool_runs(base_sets, name="baseline")
    judged = {
        Way.ONE_RUN: (compare(base_sets[0], cur_sets[0]), one_peer),
        Way.ONE_RUN_NOISE: (compare(base_sets[0], cur_sets[0], noise=STATED_NOISE), one_peer),
        Way.STORED: (compare(stored, cur_sets[0]), _peer_fails(base_runs, cur_runs[:1])),
        Way.RUNS: (compare(stored, pool_runs(cur_sets, name="current")), _peer_fails(base_runs, cur_runs)),
    }
    for way, (result, peer) in judged.items():
        _record(tally.by_way[way], result, slowdown, peer)


def _interleaved(
    machine: NoisyMachine, rng: np.random.Generator, slowdown: float, pairs: int, counts: Counts
) -> None:
    runs_a, runs_b = machine.interleaved(rng, pairs, slowdown)
    result = compare_interleaved([_result_set(r) for r in runs_a], [_result_set(r) for r in runs_b])
    _record(counts, result, slowdown, _peer_fails(runs_a, runs_b))


def run_batch(batch: Batch) -> dict[Way, Counts]:
    """Draw and judge one batch; module-level and picklable, so any executor can run it."""
    machine = NoisyMachine(drift=batch.case.drift, run_offset=batch.case.offset)
    rng, tally = batch.rng(), _Tally()
    for _ in range(batch.draws):
        _separate(machine, rng, batch.slowdown, tally)
        _interleaved(machine, rng, batch.slowdown, RUN_COUNT, tally.by_way[Way.PAIRS])
        _interleaved(machine, rng, batch.slowdown, 10, tally.by_way[Way.PAIRS_10])
    return tally.by_way


def _batches(cases: Sequence[Case], draws: int, batch_size: int, seed: int) -> Iterator[Batch]:
    for case_index, case in enumerate(cases):
        for slowdown in (0.0, SLOWDOWN):
            for index, start in enumerate(range(0, draws, batch_size)):
                yield Batch(case, case_index, slowdown, index, min(batch_size, draws - start), seed)


def calibrate_gate(
    *,
    draws: int = 1000,
    batch_size: int = 100,
    seed: int = SEED,
    cases: Sequence[Case] = CASES,
    map: Callable[..., Iterable[Any]] = builtins.map,
) -> list[GateRow]:
    """The table's rows: every way of running in every case, ``draws`` comparisons per condition.

    ``map(run_batch, batches)`` does the work: ``builtins.map`` here, a process pool's or a Dask
    client's map elsewhere; every batch has its own seed, so the table does not depend on the order.
    """
    batches = list(_batches(cases, draws, batch_size, seed))
    totals = {(k, s > 0): _Tally() for k in range(len(cases)) for s in (0.0, SLOWDOWN)}
    for batch, result in zip(batches, map(run_batch, batches), strict=True):
        tally = totals[(batch.case_index, batch.slowdown > 0)]
        for way, counts in result.items():
            tally.by_way[way].add(counts)
    return [
        GateRow(way=way, case=case, aa=totals[(k, False)].by_way[way], slow=totals[(k, True)].by_way[way])
        for k, case in enumerate(cases)
        for way in Way
    ]


def format_table(rows: list[GateRow]) -> str:
    """The rows as a fixed-width table, one line per case and way of running."""
    columns = list(rows[0].cells())
    lines = [f"{'case (sd)':<22}{'way of running':<29}" + "".join(f"{c:>24}" for c in columns)]
    for row in rows:
        cells = "".join(f"{rate!s:>24}" for rate in row.cells().values())
        lines.append(f"{row.case.describe():<22}{row.way.value:<29}" + cells)
    return "\n".join(lines)


def _target(label: str, rate: Rate, *, at_least: float | None = None, at_most: float | None = None) -> str:
    met = (at_least is None or rate.value >= at_least) and (at_most is None or rate.value <= at_most)
    bound = f">= {at_least:.0%}" if at_least is not None else f"<= {at_most:.0%}"
    return f"  {'met ' if met else 'MISSED'} {label}: {rate} (target {bound})"


def targets(rows: list[GateRow]) -> list[str]:
    """The three gate targets, each with the measured rate."""
    at = {(row.way, row.case): row.cells() for row in rows}
    worst = Case(0.05)
    return [
        _target(
            "coverage, 5 runs per side, 5% offsets",
            at[(Way.RUNS, worst)]["99% CI covers +20%"],
            at_least=0.97,
        ),
        _target(
            "A/A alarms, 1 run per side, 5% offsets", at[(Way.ONE_RUN, worst)]["A/A alarms"], at_most=0.02
        ),
        _target(
            "A/A alarms, 1 run per side with --noise 5%, 5% offsets",
            at[(Way.ONE_RUN_NOISE, worst)]["A/A alarms"],
            at_most=0.02,
        ),
        _target(
            "+20% caught, 5 runs per side, 5% offsets", at[(Way.RUNS, worst)]["+20% caught"], at_least=0.90
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000, help="comparisons per condition and row")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--workers", type=int, default=None, help="run on a local Dask cluster of K workers")
    parser.add_argument("--scheduler", default=None, help="run on the Dask cluster at tcp://HOST:PORT")
    args = parser.parse_args()
    from harness.swarm import swarm_mapper

    started, cpu = time.perf_counter(), time.process_time()
    with swarm_mapper(workers=args.workers, scheduler=args.scheduler) as mapper:
        rows = calibrate_gate(draws=args.draws, seed=args.seed, map=mapper)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"harness gate calibration: {args.draws} A/A and {args.draws} +20% comparisons per row, "
        f"seeds numpy default_rng([{args.seed}, case, condition, batch]), default rule 10%, 99% intervals; "
        f"peer = pytest-benchmark {PEER_RULE}; [95% Wilson interval]"
    )
    print(format_table(rows))
    print("targets:")
    print("\n".join(targets(rows)))
    where = "in this process" if args.workers is None and args.scheduler is None else "in the client process"
    print(f"took {cpu:.0f} s of CPU {where} ({elapsed:.0f} s wall)")


if __name__ == "__main__":
    # Run as benchmarks.gate_calibration, so Dask workers (started in this folder's parent, the
    # project root) import the batch function and its types by name instead of unpickling copies.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    importlib.import_module("benchmarks.gate_calibration").main()
