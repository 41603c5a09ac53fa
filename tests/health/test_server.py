"""The health endpoint: JSON report, liveness, readiness and Prometheus metrics over loopback HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from harness.errors import InvalidConfig
from harness.health import CallableCheck, HealthMonitor, HealthStatus, PrometheusSink
from harness.servers import serve_health
from harness.servers.health import health_app

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def get(session: aiohttp.ClientSession, url: str, *, seconds: float = 5) -> tuple[int, str]:
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=seconds)) as response:
        return response.status, await response.text()


async def test_health_endpoint_reflects_the_latest_report() -> None:
    """/health serves the report (200 while usable, 503 when unhealthy); /ready follows; /live is 200."""
    state = {"db": HealthStatus.HEALTHY}
    monitor = HealthMonitor()
    monitor.register(CallableCheck("db", lambda: state["db"]))
    async with await serve_health(monitor) as server, aiohttp.ClientSession() as session:
        assert server.url.startswith("http://127.0.0.1:")
        async with session.get(f"{server.url}/health") as response:
            assert response.status == 200
            body = await response.json()
        assert body["status"] == "healthy"
        assert body["checks"]["db"]["status"] == "healthy"
        state["db"] = HealthStatus.DEGRADED
        await monitor.run_round()
        assert (await get(session, f"{server.url}/health"))[0] == 200
        state["db"] = HealthStatus.UNHEALTHY
        await monitor.run_round()
        assert (await get(session, f"{server.url}/health"))[0] == 503
        status, text = await get(session, f"{server.url}/health/ready")
        assert status == 503
        assert '"unhealthy": ["db"]' in text
        assert (await get(session, f"{server.url}/health/live"))[0] == 200
        assert (await get(session, f"{server.url}/metrics"))[0] == 404


async def test_metrics_endpoint_serves_the_prometheus_sink() -> None:
    """With a PrometheusSink, /metrics serves its exposition."""
    sink = PrometheusSink()
    monitor = HealthMonitor(sink=sink)
    monitor.register(CallableCheck("db", lambda: True))
    await monitor.run_round()
    async with await serve_health(monitor, metrics=sink) as server, aiohttp.ClientSession() as session:
        status, text = await get(session, f"{server.url}/metrics")
    assert status == 200
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"harness_health_score", "harness_health_check_status"} <= names


async def test_bad_port_is_a_usage_error() -> None:
    """An out-of-range port is refused with the value."""
    with pytest.raises(InvalidConfig, match="port=70000"):
        await serve_health(HealthMonitor(), port=70000)


async def test_concurrent_requests_before_the_first_round_share_one_round() -> None:
    """100 requests at once before any round: one round runs and every request gets its report."""
    arrived = 0
    everyone_in = asyncio.Event()
    probes = 0

    async def slow_check() -> bool:
        nonlocal probes
        probes += 1
        await everyone_in.wait()
        return True

    @web.middleware
    async def count_arrivals(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal arrived
        arrived += 1
        if arrived == 100:
            everyone_in.set()  # the check resumes only after this request, too, waits for a report
        return await handler(request)

    monitor = HealthMonitor()
    monitor.register(CallableCheck("db", slow_check))
    app = health_app(monitor)
    app.middlewares.append(count_arrivals)
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        answers = await asyncio.gather(
            *(get(session, str(server.make_url("/health")), seconds=60) for _ in range(100))
        )
    assert probes == 1
    assert {status for status, _ in answers} == {200}
    assert {json.loads(text)["round"] for _, text in answers} == {1}
