"""Real code on virtual time: concurrency, timeouts, background tasks, and the app's own fallbacks."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import numpy as np
import pytest

from harness.clock import VirtualClock
from harness.runtime import RealWorldGuard, SimulationLoop
from harness.scenario import Scenario, parse_scenario, run_scenario
from harness.scenario.model import CallableSpec, RequestKind
from harness.scenario.real_versions import CallableVersion, RunClock, Served

KIND = RequestKind(name="request")


def _serve_at(target: str, arrivals: list[float]) -> list[Served]:
    """Serve one request per arrival time with the version of ``target``, concurrently on one loop."""
    clock = VirtualClock()
    guard = RealWorldGuard(clock, random.Random(1))
    with guard:
        loop = SimulationLoop(clock, guard)
        version = CallableVersion("v", CallableSpec(target=target), random.Random(2), RunClock(clock), {})

        async def one(at: float, number: int) -> Served:
            await asyncio.sleep(at)
            return await version.serve({"id": number}, KIND)

        async def main() -> list[Served]:
            return list(await asyncio.gather(*(one(at, i) for i, at in enumerate(arrivals))))

        try:
            return loop.run_until_complete(main())
        finally:
            loop.close()


def _scenario(target: str, rate: float = 20.0, duration: str = "30s", extra: str = "") -> Scenario:
    return parse_scenario(
        f"name: real\ndescription: real code\nduration: {duration}\nwindow: 10s\n"
        f"versions:\n  v1: {{callable: {{target: 'tests.runtime.apps.callables:{target}'}}}}\n"
        f"traffic: {{rate: {rate}}}\n{extra}"
    )


def test_two_requests_contending_for_a_lock_queue_on_virtual_time() -> None:
    """The second of two simultaneous requests waits for the first to release the lock."""
    first, second = _serve_at("tests.runtime.apps.callables:locked", [0.0, 0.0])
    assert (first.latency, second.latency) == (pytest.approx(0.1), pytest.approx(0.2))


def test_contention_shows_in_a_scenarios_tail() -> None:
    """At 20 req/s on a 100 ms lock, requests queue: the median is 100 ms, the tail well above."""
    result = run_scenario(_scenario("locked"), seed=5)
    p50s = [p.p50 for p in result.points["v1"] if p.p50 is not None]
    p99s = [p.p99 for p in result.points["v1"] if p.p99 is not None]
    assert min(p50s) >= 0.1
    assert max(p99s) > 0.3


def test_a_timeout_fires_inside_a_handler_and_is_recorded_by_type() -> None:
    """asyncio.timeout(50ms) around a 1 s sleep raises TimeoutError at 50 ms: a failed request."""
    results = _serve_at("tests.runtime.apps.callables:timing_out", [0.0, 0.0])
    assert [(r.failed, r.error) for r in results] == [(False, None), (True, "TimeoutError")]
    assert results[1].latency == pytest.approx(0.05)
    result = run_scenario(_scenario("timing_out"), seed=2)
    errors = [e for e in result.journal.of_kind("requests") if e.data["errors"]]
    assert errors
    assert set().union(*(e.data["errors"] for e in errors)) == {"TimeoutError"}


def test_a_background_task_runs_on_virtual_time() -> None:
    """A task started by the first request (t=0.5) ticks every second: 2 ticks by t=3, 9 by t=10."""
    arrivals = [0.5, 3.0, 10.0]
    results = _serve_at("tests.runtime.apps.callables:background", arrivals)
    assert [r.body["ticks"] for r in results] == [0, 2, 9]
    assert [r.body["now"] for r in results] == pytest.approx(arrivals)


def test_a_sync_handler_spends_its_sleep_without_holding_the_loop() -> None:
    """The sample service's sync version: sleep_sync is that request's latency (about 50-70 ms)."""
    sc = parse_scenario(
        "name: sync\ndescription: sync handler\nduration: 30s\n"
        "versions:\n  v1: {callable: {target: 'harness.examples.scenario_versions:slow'}}\n"
        "traffic: {rate: 50}\n"
    )
    result = run_scenario(sc, seed=1)
    p50 = np.median([p.p50 for p in result.points["v1"] if p.p50 is not None])
    assert 0.05 <= p50 <= 0.07


SHOP = """
name: shop
description: the shop under a fault
duration: {duration}
window: 10s
dependencies:
  redis: {{kind: redis, latency: {{kind: fixed, value: 1ms}}}}
  catalog:
    kind: http
    latency: {{kind: fixed, value: 10ms}}
    simulate: {{callable: {{target: "harness.examples.shop.catalog:make"}}}}
versions:
  shop:
    asgi:
      app: "harness.examples.shop.app:app"
      env: {{REDIS_URL: "${{deps.redis.url}}", CATALOG_URL: "${{deps.catalog.url}}"{variant}}}
traffic:
  rate: 20
  mix:
    - {{name: product, method: GET, path: "/products/{{item}}"}}
faults:
  - {fault}
flow: {{stable: shop}}
"""


def _shop(fault: str, variant: str = "", duration: str = "60s") -> Scenario:
    return parse_scenario(SHOP.format(fault=fault, variant=variant, duration=duration))


def _errors(result: Any, start: float, end: float) -> int:
    return sum(w.errors for w in result.user_windows if start <= w.start < end)


def test_a_redis_outage_reaches_the_apps_fallback() -> None:
    """During the outage the shop reads through to the catalog: no user sees an error."""
    result = run_scenario(_shop("{kind: outage, target: redis, at: 20s, duration: 20s}"), seed=1)
    assert result.summary()["user_error_rate"] == 0.0
    redis = [e for e in result.journal.of_kind("dependency") if e.source == "dependency/redis"]
    assert any(e.data["faults"].get("outage") for e in redis if 20 <= e.t < 40)


def test_without_its_fallback_the_same_outage_fails_requests() -> None:
    """The no-fallback variant turns the same cache errors into failed requests, typed."""
    result = run_scenario(
        _shop("{kind: outage, target: redis, at: 20s, duration: 20s}", variant=", SHOP_VARIANT: no-fallback"),
        seed=1,
    )
    assert _errors(result, 20, 40) > 0
    assert _errors(result, 0, 20) == 0
    types = set().union(*(e.data["errors"] for e in result.journal.of_kind("requests")))
    assert types == {"HTTP 500"} or types <= {"HTTP 500", "redis.exceptions.ConnectionError"}


def test_readonly_redis_fails_only_writes_and_the_app_still_answers() -> None:
    """READONLY hits SET (the cache fill) and not GET: the app swallows it; users see no error."""
    result = run_scenario(_shop("{kind: readonly, target: redis, at: 10s, duration: 40s}"), seed=1)
    assert result.summary()["user_error_rate"] == 0.0
    redis = [e for e in result.journal.of_kind("dependency") if e.source == "dependency/redis"]
    assert sum(e.data["faults"].get("readonly", 0) for e in redis) > 0


def test_a_catalog_reset_storm_is_absorbed_by_retries() -> None:
    """Half the catalog's connections reset: the shop's retries (3 attempts) hide most of them."""
    result = run_scenario(_shop("{kind: reset, target: catalog, at: 0s, duration: 60s, rate: 0.5}"), seed=1)
    catalog = [e for e in result.journal.of_kind("dependency") if e.source == "dependency/catalog"]
    resets = sum(e.data["faults"].get("reset", 0) for e in catalog)
    assert resets > 10
    assert result.summary()["user_error_rate"] < 0.1


def test_a_catalog_timeout_window_trips_the_apps_own_timeout() -> None:
    """The catalog stops answering at the start (nothing cached yet): each of the shop's 3 attempts
    ends at its 200 ms timeout, with 20/40/80 ms backoffs, then a 503; later, all is served."""
    result = run_scenario(_shop("{kind: timeout, target: catalog, at: 0s, duration: 10s}"), seed=1)
    first = result.points["shop"][0]
    assert first.p99 == pytest.approx(3 * 0.2 + 0.02 + 0.04 + 0.08, abs=0.01)
    assert _errors(result, 0, 10) > 0
    assert _errors(result, 20, 60) == 0
