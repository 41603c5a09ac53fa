"""Operating characteristics of the rollout statistics: the calibration matrix, and how long it takes.

Every row of ``harness.rollout.calibration.CASES`` (one judgement, a canary with or without the
sequential monitor, champion-challenger fixed or adaptive, stationary or trending) runs ``--runs``
times from its own seeded streams; the table gives the observed rate with its 95% Clopper-Pearson
interval, the target and whether it is met, and the CPU seconds per row. The gate's rows come from
``benchmarks/gate_calibration.py`` (``calibrate_gate``) when it is there.

    .venv/bin/python benchmarks/calibration.py [--runs 400] [--seed 20261203] [--no-gate]
        [--workers K | --scheduler tcp://HOST:PORT]

With ``--workers K`` (a local Dask cluster) or ``--scheduler tcp://HOST:PORT`` (a running one) the
batches of both tables go through ``harness.swarm.swarm_map``: the same rows, computed on the cluster.

``calibrate(map=...)`` takes any callable that maps a function over the batches and returns the
results in order: ``builtins.map`` (default), a process pool's ``map``, or for Dask
``lambda f, batches: client.gather(client.map(f, list(batches)))``. The rows do not depend on it.

Targets: A/A and inside-the-tolerance rows at most alpha = 5% (Clopper-Pearson interval reaching
it); power rows at least their target; the whole matrix in under 5 minutes of CPU on one core.
"""

from __future__ import annotations

import argparse
import builtins
import importlib
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from harness.rollout.calibration import CASES, SEED, Case, Row, calibration_matrix, format_matrix
from harness.swarm import swarm_mapper


def calibrate(
    cases: Sequence[Case] = CASES,
    *,
    runs: int = 400,
    seed: int = SEED,
    batch: int = 50,
    map: Callable[..., Iterable[Any]] = builtins.map,
) -> list[Row]:
    """The matrix's rows: ``runs`` seeded runs of every case, spread by ``map`` in batches of ``batch``."""
    return calibration_matrix(cases, runs=runs, seed=seed, batch=batch, map=map)


def _gate_section(draws: int, mapper: Callable[..., Iterable[Any]]) -> str:
    """The gate's rows in their own table, or a note when the gate calibration is not there."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # by name, so Dask workers import it
    try:
        gate = importlib.import_module("benchmarks.gate_calibration")
    except ImportError as exc:  # pragma: no cover - depends on the checkout
        return f"gate: skipped ({exc})"
    if not hasattr(gate, "calibrate_gate"):
        return "gate: skipped (benchmarks/gate_calibration.py has no calibrate_gate)"
    rows = gate.calibrate_gate(draws=draws, map=mapper)
    lines = [str(gate.format_table(rows))]
    if hasattr(gate, "targets"):
        lines += ["targets:", *gate.targets(rows)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400, help="runs per row")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--no-gate", action="store_true", help="leave out the gate's rows")
    parser.add_argument("--gate-draws", type=int, default=1000, help="comparisons per gate row and condition")
    parser.add_argument("--workers", type=int, default=None, help="run on a local Dask cluster of K workers")
    parser.add_argument("--scheduler", default=None, help="run on the Dask cluster at tcp://HOST:PORT")
    args = parser.parse_args()
    started, cpu = time.perf_counter(), time.process_time()
    with swarm_mapper(workers=args.workers, scheduler=args.scheduler) as mapper:
        rows = calibrate(runs=args.runs, seed=args.seed, map=mapper)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        gate = None if args.no_gate else _gate_section(args.gate_draws, mapper)
    print(
        f"rollout calibration: {args.runs} runs per row, alpha 0.05; run r of a row draws from "
        f"Seeds({args.seed}).numpy('calibration/<section>/<case>/<requests>/r'); "
        f"rate [95% Clopper-Pearson interval]"
    )
    print(format_matrix(rows))
    missed = [r for r in rows if r.met is False]
    print(f"targets: {sum(r.met is True for r in rows)} met, {len(missed)} missed")
    for r in missed:
        print(f"  MISSED {r.case.section} / {r.case.name} at {r.case.requests:,d}: {r.rate:.3f}")
    print(f"{len(rows)} rows x {args.runs} runs took {cpu:.0f} s of CPU on one core ({elapsed:.0f} s wall)")
    if gate is not None:
        print()
        print(gate)


if __name__ == "__main__":
    main()
