"""A Toxiproxy-compatible HTTP API over a :class:`ProxyRegistry` (aiohttp).

Status codes, bodies and defaults follow Toxiproxy 2.12 (see the recorded transcript), so every
existing Toxiproxy client drives it unchanged. Where Toxiproxy accepts nonsense (negative rates,
misspelt attributes) this API answers 400 with a message naming the field. Additions: ``seed``
in ``/version``, ``GET /proxies/{name}/connections``, and ``toxics`` inside ``/populate``.

``serve_api()`` runs the API and its proxies on a background thread and returns an
:class:`ApiServer` (a context manager); ``start_api()`` runs them on the current event loop.

A client connection that sends no complete request for ``idle_timeout`` seconds (15 by default,
counted from the connection or its last response) is closed, and a request body that does not
arrive within ``idle_timeout`` is a 408: a slow or silent client cannot hold descriptors.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web

from harness._checks import positive
from harness._version import __version__
from harness.clock import Clock
from harness.errors import UsageError
from harness.faults.backend import Toxiproxy
from harness.faults.proxy import format_address
from harness.faults.registry import ProxyRegistry, require_object
from harness.faults.toxics import Stream, ToxicError
from harness.seeding import Seeds

__all__ = [
    "DEFAULT_API_PORT",
    "DEFAULT_IDLE_TIMEOUT",
    "TOXIPROXY_VERSION",
    "ApiServer",
    "RunningApi",
    "build_app",
    "serve_api",
    "start_api",
]

DEFAULT_API_PORT = 8474
TOXIPROXY_VERSION = "2.12.0"
"""The Toxiproxy API version this server speaks (reported in ``/version``)."""

_MAX_BODY = 1 << 20
DEFAULT_IDLE_TIMEOUT = 15.0
"""Seconds an API connection may stay silent (or send a partial request) before it is closed."""
_REGISTRY = web.AppKey("registry", ProxyRegistry)
_BODY_TIMEOUT = web.AppKey("body_timeout", float)
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_request_ids = itertools.count(1)


def _json(payload: Any, status: int = 200) -> web.Response:
    body = json.dumps(payload, separators=(",", ":"))
    return web.Response(status=status, body=body.encode(), content_type="application/json")


def _error(message: str, status: int) -> web.Response:
    body = json.dumps({"error": message, "status": status}, separators=(",", ":")) + "\n"
    response = web.Response(status=status, body=body.encode())
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


async def _body(request: web.Request) -> Any:
    seconds = request.app[_BODY_TIMEOUT]
    try:
        async with asyncio.timeout(seconds):
            raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ToxicError(f"request body too large; the limit is {_MAX_BODY} bytes", status=413) from None
    except TimeoutError:
        raise ToxicError(f"request body not received within {seconds:g} s", status=408) from None
    if not raw.strip():
        raise ToxicError("bad request body: EOF")
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ToxicError(f"bad request body: {exc}") from None


@web.middleware
async def _middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    if request.headers.get("User-Agent", "").startswith("Mozilla/"):
        refused = web.Response(status=403, body=b"User agent not allowed\n")
        refused.headers["Content-Type"] = "text/plain; charset=utf-8"
        refused.headers["X-Content-Type-Options"] = "nosniff"
        refused.headers["X-Toxiproxy-Request-Id"] = f"harness{next(_request_ids):012d}"
        return refused
    response: web.StreamResponse
    try:
        response = await handler(request)
    except web.HTTPMethodNotAllowed:
        return web.Response(status=405, body=b"")
    except web.HTTPNotFound:
        response = web.Response(status=404, body=b"404 page not found\n")
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
    except ToxicError as exc:
        response = _error(exc.message, exc.status)
    response.headers["X-Toxiproxy-Request-Id"] = f"harness{next(_request_ids):012d}"
    return response


def _registry(request: web.Request) -> ProxyRegistry:
    return request.app[_REGISTRY]


async def _version(request: web.Request) -> web.Response:
    body = json.dumps({"version": TOXIPROXY_VERSION, "seed": _registry(request).seed, "server": __version__})
    response = web.Response(body=(body + "\n").encode())
    response.headers["Content-Type"] = "application/json;charset=utf-8"
    return response


async def _list_proxies(request: web.Request) -> web.Response:
    return _json({p.name: p.to_json() for p in _registry(request).all()})


async def _create_proxy(request: web.Request) -> web.Response:
    body = require_object(await _body(request), "toxiproxy.Proxy")
    proxy = await _registry(request).create(body)
    return _json(proxy.to_json(), status=201)


async def _populate(request: web.Request) -> web.Response:
    try:
        body = await _body(request)
        result = await _registry(request).populate(body)
    except ToxicError as exc:
        return _json({"error": exc.message, "status": exc.status, "proxies": None}, status=exc.status)
    proxies = [p.to_json() for p in result.proxies] or None
    if result.error is not None:
        payload = {"error": result.error.message, "status": result.error.status, "proxies": proxies}
        return _json(payload, status=result.error.status)
    return _json({"proxies": proxies}, status=201)


async def _get_proxy(request: web.Request) -> web.Response:
    return _json(_registry(request).get(request.match_info["proxy"]).to_json())


async def _update_proxy(request: web.Request) -> web.Response:
    registry = _registry(request)
    registry.get(request.match_info["proxy"])
    body = require_object(await _body(request), "toxiproxy.Proxy")
    proxy = await registry.update(request.match_info["proxy"], body)
    return _json(proxy.to_json())


async def _delete_proxy(request: web.Request) -> web.Response:
    await _registry(request).delete(request.match_info["proxy"])
    return web.Response(status=204)


async def _connections(request: web.Request) -> web.Response:
    proxy = _registry(request).get(request.match_info["proxy"])
    return _json([c.to_json() for c in proxy.connections()])


async def _list_toxics(request: web.Request) -> web.Response:
    proxy = _registry(request).get(request.match_info["proxy"])
    return _json([t.to_json() for t in proxy.toxics()])


async def _add_toxic(request: web.Request) -> web.Response:
    registry = _registry(request)
    registry.get(request.match_info["proxy"])
    toxic = registry.add_toxic(request.match_info["proxy"], await _body(request))
    return _json(toxic.to_json())


async def _get_toxic(request: web.Request) -> web.Response:
    toxic = _registry(request).get_toxic(request.match_info["proxy"], request.match_info["toxic"])
    return _json(toxic.to_json())


async def _update_toxic(request: web.Request) -> web.Response:
    registry = _registry(request)
    registry.get_toxic(request.match_info["proxy"], request.match_info["toxic"])
    toxic = registry.update_toxic(
        request.match_info["proxy"], request.match_info["toxic"], await _body(request)
    )
    return _json(toxic.to_json())


async def _delete_toxic(request: web.Request) -> web.Response:
    _registry(request).remove_toxic(request.match_info["proxy"], request.match_info["toxic"])
    return web.Response(status=204)


async def _reset(request: web.Request) -> web.Response:
    await _registry(request).reset()
    return web.Response(status=204)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


async def _metrics(request: web.Request) -> web.Response:
    lines = [
        "# HELP chaos_harness_proxy_bytes_total Bytes carried by a fault proxy, by direction.",
        "# TYPE chaos_harness_proxy_bytes_total counter",
    ]
    proxies = _registry(request).all()
    for proxy in proxies:
        for direction in Stream:
            labels = f'proxy="{_label(proxy.name)}",direction="{direction.value}"'
            lines.append(f"chaos_harness_proxy_bytes_total{{{labels}}} {proxy.bytes_total(direction)}")
    lines += [
        "# HELP chaos_harness_proxy_connections Open connections through a fault proxy.",
        "# TYPE chaos_harness_proxy_connections gauge",
    ]
    lines += [
        f'chaos_harness_proxy_connections{{proxy="{_label(p.name)}"}} {len(p.connections())}' for p in proxies
    ]
    response = web.Response(body=("\n".join(lines) + "\n").encode())
    response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
    return response


def build_app(registry: ProxyRegistry, *, idle_timeout: float = DEFAULT_IDLE_TIMEOUT) -> web.Application:
    """The aiohttp application serving ``registry``; bodies must arrive within ``idle_timeout``."""
    app = web.Application(middlewares=[_middleware], client_max_size=_MAX_BODY)
    app[_REGISTRY] = registry
    app[_BODY_TIMEOUT] = positive("idle_timeout", idle_timeout, "for example 15.0", unit="seconds")
    r = app.router
    r.add_get("/version", _version, allow_head=False)
    r.add_get("/metrics", _metrics, allow_head=False)
    r.add_get("/proxies", _list_proxies, allow_head=False)
    r.add_post("/proxies", _create_proxy)
    r.add_post("/populate", _populate)
    r.add_post("/reset", _reset)
    r.add_get("/proxies/{proxy}", _get_proxy, allow_head=False)
    r.add_post("/proxies/{proxy}", _update_proxy)
    r.add_patch("/proxies/{proxy}", _update_proxy)
    r.add_delete("/proxies/{proxy}", _delete_proxy)
    r.add_get("/proxies/{proxy}/connections", _connections, allow_head=False)
    r.add_get("/proxies/{proxy}/toxics", _list_toxics, allow_head=False)
    r.add_post("/proxies/{proxy}/toxics", _add_toxic)
    r.add_get("/proxies/{proxy}/toxics/{toxic}", _get_toxic, allow_head=False)
    r.add_post("/proxies/{proxy}/toxics/{toxic}", _update_toxic)
    r.add_patch("/proxies/{proxy}/toxics/{toxic}", _update_toxic)
    r.add_delete("/proxies/{proxy}/toxics/{toxic}", _delete_toxic)
    return app


@dataclass(slots=True)
class RunningApi:
    """An API being served on the current loop; ``await stop()`` closes it and its proxies."""

    registry: ProxyRegistry
    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8474``."""
        return f"http://{format_address(self.host, self.port)}"

    async def stop(self) -> None:
        """Stop serving and close every proxy."""
        await self.runner.cleanup()
        await self.registry.close()


async def start_api(
    host: str = "127.0.0.1",
    port: int = DEFAULT_API_PORT,
    *,
    seed: int = 0,
    clock: Clock | None = None,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
) -> RunningApi:
    """Serve the API on the running loop (port 0 picks a free port).

    Connections idle (or sending a partial request) for ``idle_timeout`` seconds are closed.
    """
    registry = ProxyRegistry(seed=Seeds(seed).seed, clock=clock)
    app = build_app(registry, idle_timeout=idle_timeout)
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        keepalive_timeout=idle_timeout,
        lingering_time=min(idle_timeout, 10.0),  # how long the unread rest of a body is awaited
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise UsageError(f"cannot serve the proxy API on {host}:{port}: {exc.strerror or exc}") from None
    server = site._server
    bound = server.sockets[0].getsockname() if isinstance(server, asyncio.Server) else (host, port)
    return RunningApi(registry, runner, str(bound[0]), int(bound[1]))


class ApiServer:
    """The API and its proxies on a background thread with its own event loop.

    ``serve_api()`` returns one already listening; ``close()`` (or leaving the ``with`` block)
    stops every proxy and the server, then joins the thread.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        seed: int,
        clock: Clock | None,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._api: RunningApi | None = None
        self._idle_timeout = idle_timeout
        self._thread = threading.Thread(target=self._main, args=(host, port, seed, clock), daemon=True)
        self._thread.name = "harness-proxy-api"
        self._thread.start()
        self._ready.wait()
        self._raise_failure()

    def _raise_failure(self) -> None:
        failure = self._failure
        if failure is not None:
            self._thread.join()
            raise failure

    def _main(self, host: str, port: int, seed: int, clock: Clock | None) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._api = self._loop.run_until_complete(
                start_api(host, port, seed=seed, clock=clock, idle_timeout=self._idle_timeout)
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
            self._failure = exc
            self._ready.set()
            self._loop.close()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    @property
    def url(self) -> str:
        """The base URL of the API."""
        assert self._api is not None
        return self._api.url

    @property
    def port(self) -> int:
        """The port the API listens on."""
        assert self._api is not None
        return self._api.port

    @property
    def registry(self) -> ProxyRegistry:
        """The proxies (touch them only through :meth:`call`, from this thread's loop)."""
        assert self._api is not None
        return self._api.registry

    def client(self, *, timeout: float = 10.0) -> Toxiproxy:
        """A :class:`Toxiproxy` client for this server."""
        return Toxiproxy(self.url, timeout=timeout)

    def call(self, coro: Awaitable[Any], timeout: float = 30.0) -> Any:
        """Run ``coro`` on the server's loop and return its result."""

        async def run() -> Any:
            return await coro

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def close(self) -> None:
        """Stop every proxy and the API, and join the thread (idempotent)."""
        if not self._thread.is_alive():
            return
        if self._api is not None:
            self.call(self._api.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    def __enter__(self) -> ApiServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = self.url if self._thread.is_alive() else "closed"
        return f"ApiServer({state})"


def serve_api(
    host: str = "127.0.0.1",
    port: int = DEFAULT_API_PORT,
    *,
    seed: int = 0,
    clock: Clock | None = None,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
) -> ApiServer:
    """Serve the Toxiproxy-compatible API on a background thread; returns once listening.

    Connections idle (or sending a partial request) for ``idle_timeout`` seconds are closed.
    """
    return ApiServer(host, port, seed=Seeds(seed).seed, clock=clock, idle_timeout=idle_timeout)
