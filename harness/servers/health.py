"""A health endpoint for a monitored process: JSON health, liveness, readiness and metrics.

``serve_health(monitor)`` starts an aiohttp server on 127.0.0.1 (an ephemeral port by default):

- ``GET /health``: the latest :class:`HealthReport` as JSON; 200 when HEALTHY or DEGRADED,
  503 when UNHEALTHY (as Spring Boot's actuator and Kubernetes probes expect). Before the
  first round, one round runs on demand; requests that arrive while it runs share it.
- ``GET /health/live``: 200 while the process serves requests.
- ``GET /health/ready``: 200 unless the latest report is UNHEALTHY (503).
- ``GET /metrics``: the Prometheus exposition of a :class:`PrometheusSink`, when given one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from harness._checks import integer
from harness.errors import InvalidConfig
from harness.health.status import HealthStatus

if TYPE_CHECKING:
    from aiohttp import web

    from harness.health.monitor import HealthMonitor, HealthReport
    from harness.health.sinks import PrometheusSink

__all__ = ["HealthServer", "health_app", "serve_health"]

_PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _code(status: HealthStatus) -> int:
    return 503 if status is HealthStatus.UNHEALTHY else 200


class _OnDemand:
    """The latest report, or the one round on demand that every waiting request shares."""

    __slots__ = ("_monitor", "_round")

    def __init__(self, monitor: HealthMonitor) -> None:
        self._monitor = monitor
        self._round: asyncio.Task[HealthReport] | None = None

    async def report(self) -> HealthReport:
        latest = self._monitor.latest
        if latest is not None:
            return latest
        if self._round is None:
            self._round = asyncio.ensure_future(self._monitor.run_round())
            self._round.add_done_callback(self._finished)
        return await asyncio.shield(self._round)  # a request that goes away leaves the round running

    def _finished(self, task: asyncio.Task[HealthReport]) -> None:
        self._round = None
        if not task.cancelled():
            task.exception()  # retrieved here too: every request that awaited it may have gone


def health_app(monitor: HealthMonitor, *, metrics: PrometheusSink | None = None) -> web.Application:
    """The aiohttp application serving ``monitor``'s health (and ``metrics``, if given)."""
    from aiohttp import web

    rounds = _OnDemand(monitor)

    async def health(request: web.Request) -> web.Response:
        report = await rounds.report()
        return web.json_response(report.as_dict(), status=_code(report.status))

    async def live(request: web.Request) -> web.Response:
        return web.json_response({"status": "up"})

    async def ready(request: web.Request) -> web.Response:
        report = await rounds.report()
        body = {"status": report.status.value, "score": report.score, "unhealthy": list(report.unhealthy)}
        return web.json_response(body, status=_code(report.status))

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/health/live", live)
    app.router.add_get("/health/ready", ready)
    if metrics is not None:

        async def scrape(request: web.Request) -> web.Response:
            return web.Response(
                body=metrics.exposition().encode(), headers={"Content-Type": _PROMETHEUS_TYPE}
            )

        app.router.add_get("/metrics", scrape)
    return app


@dataclass(slots=True)
class HealthServer:
    """A running health endpoint; ``close()`` (or ``async with``) stops it."""

    runner: Any
    host: str
    port: int

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:43123``."""
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        """Stop serving and release the port."""
        await self.runner.cleanup()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def serve_health(
    monitor: HealthMonitor,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    metrics: PrometheusSink | None = None,
) -> HealthServer:
    """Serve ``monitor`` over HTTP on ``host:port`` (0: an ephemeral port, see ``.port``)."""
    from aiohttp import web

    integer("port", port, "0 picks any free port", at_least=0, at_most=65535)
    runner = web.AppRunner(health_app(monitor, metrics=metrics), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise InvalidConfig(f"cannot serve health on {host}:{port}: {exc.strerror}.", value=port) from None
    bound = runner.addresses[0][1]
    return HealthServer(runner=runner, host=host, port=int(bound))
