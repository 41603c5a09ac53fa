"""Peak memory of the simulated engine against the requests in one window.

    python benchmarks/window_memory.py [--seconds 2 20 200] [--rate 1000000] [--root CHECKOUT]

Each case is a scenario of one window of ``seconds`` at ``rate`` requests per second, one model
version, run in its own process; the figure is that process's peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) after the run, and the run's wall time. The
scenario of the bug report is ``--seconds 2000`` (2e9 requests in one window, which took 15 GiB
and died with MemoryError). ``--root`` runs another checkout's ``harness`` (for a before/after
comparison on one machine); a case that fails (MemoryError, killed) prints why.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASE = """
import resource, sys, time
sys.path.insert(0, {root!r})
from harness.scenario import parse_scenario, run_scenario
scenario = parse_scenario('''
name: one-window
description: one window of many requests
duration: {seconds}s
window: {seconds}s
traffic: {{rate: {rate}}}
versions:
  v1: {{model: {{latency: {{kind: lognormal, median: 10ms, sigma: 0.5}}, error_rate: 0.01}}}}
''')
start = time.perf_counter()
result = run_scenario(scenario, seed=1)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(result.user_windows[0].requests, peak, round(elapsed, 1))
"""


def _measure(root: Path, seconds: float, rate: float) -> str:
    code = CASE.format(root=str(root), seconds=seconds, rate=rate)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return f"failed (exit {proc.returncode}): {last}"
    requests, peak_kib, elapsed = proc.stdout.split()
    return f"{int(requests):>13,} requests  peak RSS {int(peak_kib) / 1024:8.0f} MiB  {elapsed:>6} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[2.0, 20.0, 200.0])
    parser.add_argument("--rate", type=float, default=1_000_000.0)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose harness to run")
    args = parser.parse_args()
    print(f"harness from {args.root}, {args.rate:,.0f} requests/s, one window per run")
    for seconds in args.seconds:
        print(f"window {seconds:>7g} s: {_measure(args.root, seconds, args.rate)}")


if __name__ == "__main__":
    main()
