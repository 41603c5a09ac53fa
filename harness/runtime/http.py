"""A simulated HTTP downstream, served in memory to the user's own ``httpx.AsyncClient``.

The run's :class:`~harness.runtime.network.SimulatedNetwork` answers every request an
``httpx.AsyncClient`` sends to a simulated host (``http://downstream.sim``) with
:meth:`SimulatedHttp.handle` instead of a socket. What serves it is a :data:`Serve` function: an
in-process ASGI app (:func:`asgi_server`), a Python handler (:func:`handler_server`), or a model
the scenario layer builds. Latency is virtual time drawn from a seeded stream, and the fault
windows act as a real network or server would:

- ``outage``: ``httpx.ConnectError`` (connection refused), at once;
- ``errors``: a rate of requests get ``503 Service Unavailable``;
- ``brownout``: every request is ``latency`` slower and a rate get 503;
- ``latency``: a rate of requests are ``latency`` slower;
- ``reset``: a rate of requests fail with ``httpx.RemoteProtocolError`` (the peer closed the
  connection without answering);
- ``timeout``: a rate of requests get no answer until the fault window ends.

The client's own read timeout (``httpx.Timeout``, from the request's ``timeout`` extension) is
honoured on virtual time and raises ``httpx.ReadTimeout``, so the user's timeout and retry code
runs as it would against a real server. ``httpx`` is the supported client.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from harness.runtime.asgi import AsgiApp
from harness.runtime.schedule import DependencyCounters, DependencyFaultKind, FaultTimeline

__all__ = ["Serve", "SimulatedHttp", "asgi_server", "handler_server", "json_response"]

Serve = Callable[[httpx.Request], Awaitable[httpx.Response]]
"""Answers one request (the simulated service behind a host)."""
Latency = Callable[[], float]


def json_response(status: int, body: Any) -> httpx.Response:
    """A JSON response."""
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )


def asgi_server(app: AsgiApp) -> Serve:
    """Serve requests with an in-process ASGI app (an exception out of it is a 500 response)."""

    async def serve(request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        headers = [(k.lower(), v) for k, v in request.headers.raw]
        response = await app.request(request.method, request.url.raw_path.decode(), headers, body)
        return httpx.Response(response.status, headers=list(response.headers), content=response.body)

    return serve


def _request_dict(request: httpx.Request) -> dict[str, Any]:
    body = request.content
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = body.decode("utf-8", "replace")
    return {
        "method": request.method,
        "path": request.url.path,
        "query": dict(request.url.params),
        "headers": dict(request.headers),
        "json": payload,
    }


def handler_server(handler: Callable[[Mapping[str, Any]], Any]) -> Serve:
    """Serve requests with a Python handler: it takes a request dict and returns a JSON-able body.

    The dict has ``method``, ``path``, ``query``, ``headers`` and ``json``; the handler may be
    async. A ``(status, body)`` tuple sets the status; an exception is a 500 naming its type.
    """

    async def serve(request: httpx.Request) -> httpx.Response:
        await request.aread()
        try:
            result = handler(_request_dict(request))
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:  # noqa: BLE001 - a simulated server's failure is a 500, as a real one's
            return json_response(500, {"error": type(exc).__name__})
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], int):
            return json_response(result[0], result[1])
        return json_response(200, result)

    return serve


class SimulatedHttp:
    """One simulated HTTP dependency of one run: what serves it, its latency and fault windows."""

    def __init__(
        self,
        name: str,
        *,
        serve: Serve,
        timeline: FaultTimeline,
        rng: random.Random,
        now: Callable[[], float],
        latency: Latency | None = None,
    ) -> None:
        self.name = name
        self.serve = serve
        self.timeline = timeline
        self.rng = rng
        self.now = now
        self.latency = latency
        self.counters = DependencyCounters()

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` after its latency and faults, within the client's read timeout."""
        self.counters.calls += 1
        timeout = _read_timeout(request)
        try:
            async with asyncio.timeout(timeout):
                return await self._answer(request)
        except TimeoutError:
            raise httpx.ReadTimeout(
                f"timed out waiting for {self.name} (simulated)", request=request
            ) from None

    async def _answer(self, request: httpx.Request) -> httpx.Response:
        now = self.now()
        delay = self.latency() if self.latency is not None else 0.0
        failure: DependencyFaultKind | None = None
        hang_until = 0.0
        for fault in self.timeline.active(now):
            hit = fault.rate >= 1.0 or self.rng.random() < fault.rate
            if fault.kind is DependencyFaultKind.BROWNOUT:
                delay += fault.latency
            if not hit or failure is not None:
                continue
            if fault.kind is DependencyFaultKind.LATENCY:
                delay += fault.latency
            elif fault.kind is DependencyFaultKind.TIMEOUT:
                hang_until = max(hang_until, fault.end)
                self.counters.faults[fault.kind.value] += 1
            else:
                failure = fault.kind
                self.counters.faults[fault.kind.value] += 1
        if failure is DependencyFaultKind.OUTAGE:
            raise httpx.ConnectError("[Errno 111] Connection refused (simulated)", request=request)
        await asyncio.sleep(max(delay, hang_until - now))
        if failure is DependencyFaultKind.RESET:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if failure is not None:
            return json_response(503, {"error": "service unavailable (simulated fault)"})
        return await self.serve(request)


def _read_timeout(request: httpx.Request) -> float | None:
    timeouts = request.extensions.get("timeout")
    if not isinstance(timeouts, Mapping):
        return None
    value = timeouts.get("read")
    return float(value) if value is not None else None
