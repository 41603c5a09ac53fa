"""Versions reachable for real in live mode: in-process callables, or HTTP services behind a proxy.

A callable version is the scenario's factory ``make(rng, clock) -> handler`` built with the live
engine's clock; async handlers run concurrently on the event loop, sync handlers run inline on
it (they hold the loop while they run). An HTTP version is reached through a ``FaultProxy`` on
127.0.0.1 (where faults on the version act, see :mod:`.live_faults`) with real requests: each
request kind's method, path, headers and payload (the query string for GET, HEAD and DELETE, a
JSON body otherwise), and its response check (status, JSON fields, substring). A response that
fails its check is an error; the parsed response is returned for shadow comparison.
"""

from __future__ import annotations

import abc
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from harness.clock import Clock, VirtualClock
from harness.errors import InvalidConfig
from harness.load.checks import CheckFailed, ResponseChecks
from harness.load.checks import check_response as check_load_response
from harness.runtime.failures import FailurePolicy
from harness.scenario.imports import resolve_callable
from harness.scenario.model import RequestKind, ResponseCheck, Scenario
from harness.seeding import Seeds

__all__ = [
    "CallableVersion",
    "CheckFailed",
    "HttpVersion",
    "LiveVersion",
    "build_versions",
    "check_response",
    "request_path",
    "wire_request",
]

Handler = Callable[[dict[str, Any]], Any]
_HARNESS_FIELDS = ("id", "endpoint")  # the request's number and kind: sent as headers, not as payload


class LiveVersion(abc.ABC):
    """One version reachable for real: ``call(request)`` raises on failure.

    ``policy`` says which of its exceptions are the service failing and which a broken adapter.
    """

    name: str
    policy: FailurePolicy = FailurePolicy()

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open what calls need (default: nothing)."""

    @abc.abstractmethod
    async def call(self, request: dict[str, Any]) -> Any:
        """Serve one request; raise if it failed."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and proxies (default: nothing)."""


class CallableVersion(LiveVersion):
    """The scenario's callable, built with the engine's clock and a seeded ``random.Random``."""

    def __init__(
        self, name: str, target: str, rng: random.Random, clock: Clock, failures: Sequence[str] = ()
    ) -> None:
        self.name = name
        factory = resolve_callable(target)
        self.policy = FailurePolicy.for_adapter(factory, failures)
        handler = factory(rng, clock)
        if not callable(handler):
            raise InvalidConfig(f"callable {target!r} returned {handler!r}, not a request handler")
        self.handler: Handler = handler

    async def call(self, request: dict[str, Any]) -> Any:
        """Call the handler; await it if it is async."""
        result = self.handler(request)
        if isinstance(result, Awaitable):
            return await result
        return result


def wire_request(kind: RequestKind, request: Mapping[str, Any]) -> dict[str, Any]:
    """aiohttp request arguments for ``request`` of ``kind``: method, headers, params or json."""
    payload = {k: v for k, v in request.items() if k not in _HARNESS_FIELDS}
    headers = {"x-request-id": str(request.get("id", "")), **kind.headers}
    out: dict[str, Any] = {"method": kind.method.value, "headers": headers}
    if kind.method.has_body:
        out["json"] = payload
    else:
        out["params"] = {k: _query_value(v) for k, v in payload.items() if _is_scalar(v)}
    return out


def request_path(kind: RequestKind, request: Mapping[str, Any]) -> str | None:
    """The kind's path, each ``{field}`` filled (URL-quoted) from the request; None without a path."""
    if kind.path is None or "{" not in kind.path:
        return kind.path
    return kind.path.format_map({k: quote(str(v), safe="") for k, v in request.items()})


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)


def _query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check_response(check: ResponseCheck | None, status: int, text: str) -> Any:
    """The parsed body (JSON if it parses, else the text); :class:`CheckFailed` if ``check`` fails."""
    checks = None
    if check is not None:
        status_ok = tuple(check.status) if check.status is not None else None
        checks = ResponseChecks(status=status_ok, json_fields=check.json_fields, contains=check.contains)
    return check_load_response(checks, status, text)


class HttpVersion(LiveVersion):
    """Real requests to ``url`` through a fault proxy on 127.0.0.1; a failed check is an error."""

    def __init__(self, name: str, url: str, seed: int, kinds: Sequence[RequestKind], clock: Clock) -> None:
        from harness.faults import FaultProxy
        from harness.load.targets import ensure_loopback

        self.name = name
        ensure_loopback(url)
        self.url = url
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self.proxy = FaultProxy(f"version-{name}", f"{parts.hostname}:{port}", seed=seed, clock=clock)
        self._parts = parts
        self._session: Any = None
        self._proxied = self.url
        self.kinds = {kind.name: kind for kind in kinds}

    async def start(self) -> None:
        """Start the proxy and a client session to it."""
        import aiohttp

        await self.proxy.start()
        self._proxied = urlunsplit(self._parts._replace(netloc=self.proxy.listen))
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    def _url(self, kind: RequestKind | None, request: Mapping[str, Any]) -> str:
        path = None if kind is None else request_path(kind, request)
        return self._proxied if path is None else self._proxied.rstrip("/") + path

    async def call(self, request: dict[str, Any]) -> Any:
        """Send ``request`` as its kind says; the checked, parsed response."""
        kind = self.kinds.get(str(request.get("endpoint")))
        args = wire_request(kind or RequestKind(name="request"), request)
        async with self._session.request(url=self._url(kind, request), **args) as resp:
            text = await resp.text(errors="replace")
            return check_response(kind.check if kind is not None else None, resp.status, text)

    async def close(self) -> None:
        """Close the session and stop the proxy."""
        if self._session is not None:
            await self._session.close()
        await self.proxy.stop()


def _build(
    name: str, version: str, scenario: Scenario, seeds: Seeds, *, clock: Clock, urls: Mapping[str, str]
) -> LiveVersion:
    spec = scenario.versions[version]
    if spec.callable is not None:
        rng = seeds.stream(f"callable/{name}")
        return CallableVersion(name, spec.callable.target, rng, clock, spec.callable.failures)
    if spec.http is None:
        kind = "an ASGI app run in process" if spec.asgi is not None else "a model"
        raise InvalidConfig(
            f"version {version!r} is {kind}; live mode needs callable or http versions "
            "(run it in simulated mode, or serve the app and name its URL)."
        )
    if isinstance(clock, VirtualClock):
        raise InvalidConfig(
            f"version {version!r} is an HTTP service, which answers in real time; run it on the system "
            "clock (virtual time is for callable versions)."
        )
    url = urls.get(name) or spec.http.url
    if url is None:
        raise InvalidConfig(
            f"group {name!r} has no address for version {version!r}; start its services first"
        )
    return HttpVersion(name, url, seeds.int_seed(f"proxy/{name}"), scenario.traffic.mix, clock)


def build_versions(
    scenario: Scenario, seeds: Seeds, clock: Clock, urls: Mapping[str, str] | None = None
) -> dict[str, LiveVersion]:
    """Every traffic group of ``scenario`` as a live version; ``urls`` are the started groups' addresses."""
    return {
        group: _build(group, version, scenario, seeds, clock=clock, urls=urls or {})
        for group, version in scenario.live_groups.items()
    }
