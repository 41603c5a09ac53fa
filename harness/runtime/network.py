"""The simulated network of one run: which hosts are simulated dependencies, and the client seams.

Each dependency gets a simulated address under the ``.sim`` domain (``redis://redis.sim:6379/0``,
``http://downstream.sim``); the app reads it from its environment or settings, exactly as it
reads a real address. While :class:`SimulatedNetwork` is entered, two client seams are routed:

- ``redis.asyncio``: a connection pool whose host is a simulated Redis gets connections to that
  run's fakeredis server (:class:`~harness.runtime.redis.SimulatedConnection`);
- ``httpx``: ``httpx.AsyncHTTPTransport`` (the transport every ``httpx.AsyncClient`` uses unless
  given another) answers requests to a simulated HTTP host in memory
  (:class:`~harness.runtime.http.SimulatedHttp`).

A client pointed at any other host is refused (:class:`~harness.runtime.guard.ForbiddenCall`),
and so is the synchronous ``httpx.Client``, which would block the event loop. Both seams are put
back on exit, on every exit path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import redis.asyncio.connection as redis_connection

from harness.runtime.guard import RealWorldGuard
from harness.runtime.http import SimulatedHttp
from harness.runtime.redis import SimulatedRedis

__all__ = ["SIM_DOMAIN", "SimulatedNetwork", "simulated_host"]

SIM_DOMAIN = "sim"
"""Simulated dependencies live under this top-level domain: ``redis.sim``, ``downstream.sim``."""


def simulated_host(name: str) -> str:
    """The host name of dependency ``name``."""
    return f"{name.lower()}.{SIM_DOMAIN}"


class SimulatedNetwork:
    """Simulated Redis and HTTP dependencies by host, and the client seams routed to them."""

    def __init__(self, guard: RealWorldGuard) -> None:
        self.guard = guard
        self.redis: dict[str, SimulatedRedis] = {}
        self.http: dict[str, SimulatedHttp] = {}
        self._undo: list[Callable[[], None]] = []

    def add_redis(self, dependency: SimulatedRedis) -> str:
        """Serve ``dependency`` at its simulated address; returns the URL."""
        host = simulated_host(dependency.name)
        self.redis[host] = dependency
        return f"redis://{host}:6379/0"

    def add_http(self, dependency: SimulatedHttp) -> str:
        """Serve ``dependency`` at its simulated address; returns the URL."""
        host = simulated_host(dependency.name)
        self.http[host] = dependency
        return f"http://{host}"

    def _known(self) -> str:
        urls = [f"redis://{h}" for h in sorted(self.redis)] + [f"http://{h}" for h in sorted(self.http)]
        return ", ".join(urls) or "none declared"

    def __enter__(self) -> SimulatedNetwork:
        network = self
        make_connection = redis_connection.ConnectionPool.make_connection
        handle = httpx.AsyncHTTPTransport.handle_async_request

        def routed_connection(pool: Any) -> Any:
            host = pool.connection_kwargs.get("host")
            simulated = network.redis.get(host) if isinstance(host, str) else None
            if simulated is None:
                raise network.guard.refuse(
                    f"a Redis connection to {host or pool.connection_kwargs.get('path')!r}",
                    f"it is not a simulated dependency; simulated: {network._known()}",
                )
            return simulated.connection(**pool.connection_kwargs)

        async def routed_request(transport: Any, request: httpx.Request) -> httpx.Response:
            simulated = network.http.get(request.url.host)
            if simulated is None:
                raise network.guard.refuse(
                    f"an HTTP request to {request.url.host!r}",
                    f"it is not a simulated dependency; simulated: {network._known()}",
                )
            return await simulated.handle(request)

        def sync_request(transport: Any, request: httpx.Request) -> httpx.Response:
            raise network.guard.refuse(
                "httpx.Client (synchronous)",
                "it would block the event loop; use httpx.AsyncClient, which is routed to simulated "
                "dependencies",
            )

        self._set(redis_connection.ConnectionPool, "make_connection", routed_connection, make_connection)
        self._set(httpx.AsyncHTTPTransport, "handle_async_request", routed_request, handle)
        self._set(httpx.HTTPTransport, "handle_request", sync_request, httpx.HTTPTransport.handle_request)
        return self

    def _set(self, owner: type, name: str, value: Any, original: Any) -> None:
        setattr(owner, name, value)
        self._undo.append(lambda: setattr(owner, name, original))

    def __exit__(self, *exc: object) -> None:
        while self._undo:
            self._undo.pop()()
