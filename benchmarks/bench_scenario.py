"""Simulated engine throughput: requests per second for model versions and for Python callables.

    python benchmarks/bench_scenario.py [--repeat 5]

Targets (DESIGN.md): at least 1,000,000 simulated requests/s for model services and 50,000/s
with Python callables on virtual time. Three callable cases are timed: a minimal handler that
only spends virtual time (the engine's own cost), and the sample checkout service's good version
synchronously and asynchronously (whose own work, a SHA-256 price lookup and several random
draws per request, is part of the figure).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.clock import Clock  # noqa: E402
from harness.scenario import parse_scenario, run_scenario  # noqa: E402

MODEL = """
name: bench-model
description: one model version at 50,000 requests per second for 10 minutes
duration: 10m
window: 10s
versions:
  v1: {model: {latency: {kind: lognormal, median: 20ms, sigma: 0.5}, error_rate: 0.01}}
traffic: {rate: 50000}
"""

CANARY = """
name: bench-canary
description: a canary between two model versions at 20,000 requests per second
duration: 10m
window: 10s
versions:
  v1: {model: {latency: {kind: lognormal, median: 20ms, sigma: 0.5}, error_rate: 0.01}}
  v2: {model: {latency: {kind: lognormal, median: 20ms, sigma: 0.5}, error_rate: 0.01}}
traffic: {rate: 20000}
flow: {kind: canary, stable: v1, candidate: v2}
"""

CALLABLE = """
name: bench-callable
description: a callable version at 500 requests per second for 10 minutes
duration: 10m
window: 10s
versions:
  v1: {{callable: {{target: "{target}"}}}}
traffic: {{rate: 500}}
"""


def minimal(rng: random.Random, clock: Clock) -> Any:
    """A handler that only spends 2-4 ms of virtual time: what the engine itself costs per call."""

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        clock.sleep_sync(0.002 + rng.random() * 0.002)
        return {"ok": True}

    return handle


def _rate(text: str, repeat: int) -> tuple[float, int]:
    scenario = parse_scenario(text)
    rates = []
    requests = 0
    for seed in range(repeat):
        start = time.perf_counter()
        result = run_scenario(scenario, seed=seed)
        elapsed = time.perf_counter() - start
        requests = int(result.summary()["user_requests"])
        rates.append(requests / elapsed)
    return statistics.median(rates), requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cases = [
        ("model version (vectorised)", MODEL, 1_000_000),
        ("canary, two model versions + judge", CANARY, 1_000_000),
        ("callable: minimal handler", CALLABLE.format(target="bench_scenario:minimal"), 50_000),
        (
            "callable: sample service (sync)",
            CALLABLE.format(target="harness.examples.scenario_versions:good"),
            50_000,
        ),
        (
            "callable: sample service (async)",
            CALLABLE.format(target="harness.examples.scenario_versions:good_async"),
            50_000,
        ),
    ]
    sys.path.insert(0, str(Path(__file__).parent))
    print(f"simulated requests per second, median of {args.repeat} seeded runs")
    for label, text, target in cases:
        rate, requests = _rate(text, args.repeat)
        verdict = "meets" if rate >= target else "MISSES"
        print(f"  {label:38} {rate:>12,.0f} req/s  ({requests:,} requests/run; target {target:,}: {verdict})")


if __name__ == "__main__":
    main()
