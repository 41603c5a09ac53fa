"""What the swarm costs and what it buys: scaling from 1 to 2 workers, per-run overhead, client memory.

Three measurements on the bundled model scenarios (the two ``sample-*`` scenarios run real Python
callables for ~9 s a run and are left out unless ``--all``), each on a fresh local cluster
(``swarm_client``: a scheduler process and worker processes) started before the clock starts:

1. **Scaling**: the same runs (every scenario at ``--seeds`` seeds) on 1 worker process, then on
   2; runs per second of each and the ratio (target: >= 1.7x on this 2-core machine).
2. **Overhead** per run of the swarm (scheduling, shipping the batch, collecting the records) at
   the default batch size and at one seed per task: ``(wall x workers - sum of run times) / sum``
   on 1 worker, where run times are measured on the worker around each run (target: < 5% at the
   default batch size).
3. **Memory**: ``--memory-seeds`` seeds (default 10,000) of the fastest bundled scenario on 2
   workers, with the client's RSS sampled as results stream in (target: flat).

    .venv/bin/python benchmarks/bench_swarm.py [--seeds 20] [--memory-seeds 10000] [--all]

The machine is shared: compare figures printed by one invocation, not across invocations.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import psutil

from harness.swarm import SeedRange, SwarmProgress, load_swarm_scenarios, run_swarm, swarm_client

ROOT = Path(__file__).resolve().parents[1]
FASTEST = ROOT / "scenarios" / "rollback-lineage.yaml"


def _paths(include_callables: bool) -> list[Path]:
    paths = sorted((ROOT / "scenarios").glob("*.yaml"))
    return paths if include_callables else [p for p in paths if not p.name.startswith("sample-")]


def _swarm(paths: list[Path], seeds: SeedRange, workers: int, batch: int | None) -> tuple[float, float, int]:
    """(wall seconds, sum of run seconds on the workers, runs) of one swarm on a fresh cluster."""
    scenarios = load_swarm_scenarios(paths, max_failure_rate=0.5)
    with swarm_client(workers=workers) as client:
        result = run_swarm(client, scenarios, seeds, batch=batch)
    return result.seconds, sum(s.seconds for s in result.scenarios), result.runs


def scaling(paths: list[Path], seeds: SeedRange) -> None:
    one = _swarm(paths, seeds, 1, None)
    two = _swarm(paths, seeds, 2, None)
    rate1, rate2 = one[2] / one[0], two[2] / two[0]
    print(f"scaling: {one[2]} runs ({len(paths)} scenarios x seeds {seeds})")
    print(f"  1 worker : {one[0]:7.1f} s  {rate1:7.2f} runs/s")
    print(f"  2 workers: {two[0]:7.1f} s  {rate2:7.2f} runs/s")
    print(f"  ratio    : {rate2 / rate1:.2f}x (target >= 1.7x)")


def overhead(paths: list[Path], seeds: SeedRange) -> None:
    print(f"overhead per run on 1 worker ({len(paths)} scenarios x seeds {seeds}):")
    for label, batch in (("default batch (~1 s/task)", None), ("1 seed per task", 1)):
        wall, work, runs = _swarm(paths, seeds, 1, batch)
        share = (wall - work) / work
        per_run = (wall - work) / runs * 1000
        print(f"  {label:26s}: wall {wall:7.1f} s, runs {work:7.1f} s -> {share:6.1%} ({per_run:.1f} ms/run)")
    print("  target: < 5% at the default batch size")


def _rss_mib() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def memory(seeds: SeedRange) -> None:
    """Client RSS as results stream in; the scheduler's RSS beside it (Dask's per-task history)."""
    samples: list[tuple[int, float, float]] = []
    marks = {len(seeds) * k // 10 for k in range(1, 11)}
    scenarios = load_swarm_scenarios([FASTEST], max_failure_rate=0.5)
    with swarm_client(workers=2) as client:

        def sample(p: SwarmProgress) -> None:
            if p.done >= min(marks, default=p.total + 1):
                marks.discard(min(marks))
                samples.append((p.done, _rss_mib(), client.run_on_scheduler(_rss_mib)))

        before = _rss_mib()
        start = time.perf_counter()
        result = run_swarm(client, scenarios, seeds, progress=sample)
        elapsed = time.perf_counter() - start
    print(f"memory: {result.runs} runs of {FASTEST.name} on 2 workers in {elapsed:.0f} s")
    print(f"  client RSS before the first task: {before:.1f} MiB")
    for done, rss, scheduler in samples:
        print(f"  after {done:>7} runs: client {rss:7.1f} MiB, scheduler process {scheduler:7.1f} MiB")
    if samples:
        client_growth = samples[-1][1] - samples[0][1]
        scheduler_growth = samples[-1][2] - samples[0][2]
        print(
            f"  growth from 10% to 100% of the runs: client {client_growth:+.1f} MiB (target: flat), "
            f"scheduler {scheduler_growth:+.1f} MiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds per scenario for scaling and overhead")
    parser.add_argument("--memory-seeds", type=int, default=10_000)
    parser.add_argument("--all", action="store_true", help="include the sample-* callable scenarios")
    parser.add_argument("--skip", nargs="*", default=(), choices=("scaling", "overhead", "memory"))
    args = parser.parse_args()
    paths = _paths(args.all)
    seeds = SeedRange(1, args.seeds)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if "scaling" not in args.skip:
        scaling(paths, seeds)
    if "overhead" not in args.skip:
        overhead(paths, seeds)
    if "memory" not in args.skip:
        memory(SeedRange(1, args.memory_seeds))
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
