"""Real-code simulation throughput: simulated requests per wall-clock second, and an hour in seconds.

    python benchmarks/bench_realcode.py [--repeat 3] [--hour]

Cases (median of ``--repeat`` seeded runs, simulated requests per second of wall time):

- ``asgi: realistic app``: a Starlette app (router, JSON body, one Redis read through
  ``redis.asyncio`` on a simulated Redis, one downstream call through ``httpx`` to a simulated
  service) at 500 requests/s of virtual time for 60 s. Target: 10,000/s per core.
- ``asgi: shop``: the shipped shop example (cache-aside, a refresher task) at 50 req/s.
- ``callable: minimal`` and ``callable: sample service (async)``: the callables of
  ``bench_scenario.py``, now one task each on the loop. Design target: 50,000/s.

``--hour`` also runs the shop's Redis-outage canary for one simulated hour at 50 req/s (180,000
requests) and prints the wall time and the speed-up over real time (target: under 30 s, >= 100x).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from harness.scenario import load_scenario, parse_scenario, run_scenario  # noqa: E402

REALISTIC = """
name: bench-asgi
description: a realistic ASGI app, one Redis read and one downstream call per request
duration: 60s
window: 10s
dependencies:
  redis: {kind: redis, latency: {kind: fixed, value: 500us}}
  prices:
    kind: http
    latency: {kind: fixed, value: 5ms}
    simulate: {callable: {target: "realcode_app:prices"}}
versions:
  app:
    asgi:
      app: "realcode_app:app"
      env: {REDIS_URL: "${deps.redis.url}", PRICES_URL: "${deps.prices.url}"}
traffic:
  rate: 500
  mix: [{name: quote, method: POST, path: "/quote/{item}"}]
flow: {stable: app}
"""

CALLABLE = """
name: bench-callable
description: a callable version at 500 requests per second for 60 s
duration: 60s
window: 10s
versions:
  v1: {{callable: {{target: "{target}"}}}}
traffic: {{rate: 500}}
"""

SHOP = ROOT / "harness" / "examples" / "scenarios" / "shop-canary-redis-outage.yaml"


def _rate(scenario: object, repeat: int) -> tuple[float, int]:
    rates, requests = [], 0
    for seed in range(repeat):
        start = time.perf_counter()
        result = run_scenario(scenario, seed=seed)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        requests = int(result.summary()["user_requests"])
        rates.append(requests / elapsed)
    return statistics.median(rates), requests


def _hour() -> None:
    bundled = load_scenario(SHOP)
    traffic = bundled.traffic.model_copy(update={"rate": 50.0})  # the bundled file runs 25 req/s
    scenario = bundled.model_copy(update={"duration": 3600.0, "traffic": traffic})
    start = time.perf_counter()
    result = run_scenario(scenario, seed=1)
    elapsed = time.perf_counter() - start
    requests = int(result.summary()["user_requests"])
    verdict = "meets" if elapsed < 30 else "MISSES"
    print(
        f"  one simulated hour of the shop at 50 req/s: {requests:,} requests in {elapsed:.1f} s wall, "
        f"{3600 / elapsed:,.0f}x real time (target < 30 s, >= 100x: {verdict}); passed={result.passed}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--hour", action="store_true", help="also time one simulated hour of the shop")
    args = parser.parse_args()
    bundled = load_scenario(SHOP)
    quiet = bundled.expectations.model_copy(update={"steady_state": []})  # its probes measure the faults
    shop = bundled.model_copy(update={"duration": 120.0, "faults": [], "expectations": quiet})
    cases = [
        ("asgi: realistic app", parse_scenario(REALISTIC), 10_000),
        ("asgi: shop example", shop, 10_000),
        ("callable: minimal", parse_scenario(CALLABLE.format(target="bench_scenario:minimal")), 50_000),
        (
            "callable: sample service (async)",
            parse_scenario(CALLABLE.format(target="harness.examples.scenario_versions:good_async")),
            50_000,
        ),
    ]
    print(f"simulated requests per wall-clock second, median of {args.repeat} seeded runs")
    for label, scenario, target in cases:
        rate, requests = _rate(scenario, args.repeat)
        verdict = "meets" if rate >= target else "MISSES"
        print(f"  {label:34} {rate:>10,.0f} req/s  ({requests:,} requests/run; target {target:,}: {verdict})")
    if args.hour:
        _hour()


if __name__ == "__main__":
    main()
