"""Versions reachable for real in live mode: in-process callables, or HTTP services behind a proxy.

A callable version is the scenario's factory ``make(rng, clock) -> handler`` built with the live
engine's clock; async handlers run concurrently on the event loop, sync handlers run inline on
it (they hold the loop while they run). An HTTP version is reached through a ``FaultProxy`` on
127.0.0.1, whose toxics carry out the scenario's fault windows on that version: latency,
``reset_peer`` for errors, and disabling the proxy for an outage. A callable's faults are applied
in-process by the request path instead (:class:`~harness.scenario.faults.FaultEffects`).
"""

from __future__ import annotations

import abc
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from harness.clock import Clock, VirtualClock
from harness.errors import InvalidConfig
from harness.runtime.failures import FailurePolicy
from harness.scenario.imports import resolve_callable
from harness.scenario.model import FaultSpec, Scenario, ScenarioFaultKind
from harness.seeding import Seeds

__all__ = ["CallableVersion", "HttpVersion", "LiveVersion", "build_versions"]

Handler = Callable[[dict[str, Any]], Any]


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

    async def apply(self, fault: FaultSpec, index: int, on: bool) -> None:  # noqa: B027 - optional hook
        """Start (``on``) or end fault window ``index`` at the version (default: applied in-process)."""

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


class HttpVersion(LiveVersion):
    """GET ``url`` through a fault proxy on 127.0.0.1 (non-2xx answers are errors)."""

    def __init__(self, name: str, url: str, seed: int) -> None:
        from harness.faults import FaultProxy
        from harness.load.targets import ensure_loopback

        self.name = name
        ensure_loopback(url)
        self.url = url
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self.proxy = FaultProxy(f"version-{name}", f"{parts.hostname}:{port}", seed=seed)
        self._parts = parts
        self._session: Any = None
        self._proxied = self.url

    async def start(self) -> None:
        """Start the proxy and a client session to it."""
        import aiohttp

        await self.proxy.start()
        self._proxied = urlunsplit(self._parts._replace(netloc=self.proxy.listen))
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def call(self, request: dict[str, Any]) -> Any:
        """GET the version through the proxy with the request's item."""
        async with self._session.get(self._proxied, params={"item": request["item"]}) as resp:
            body = await resp.read()
            if resp.status >= 400:
                raise RuntimeError(f"HTTP {resp.status}")
            return body

    async def apply(self, fault: FaultSpec, index: int, on: bool) -> None:
        """Carry a fault window out with the proxy's toxics (an outage disables the proxy)."""
        if on:
            await self._fault_on(fault, f"scenario-fault-{index}")
        else:
            await self._fault_off(fault, f"scenario-fault-{index}")

    async def _fault_on(self, fault: FaultSpec, name: str) -> None:
        from harness.faults import Toxic

        if fault.kind is ScenarioFaultKind.OUTAGE:
            await self.proxy.disable()
            return
        if fault.kind in (ScenarioFaultKind.LATENCY, ScenarioFaultKind.BROWNOUT) and fault.latency > 0:
            toxicity = 1.0 if fault.kind is ScenarioFaultKind.BROWNOUT else fault.rate
            latency_ms = round(fault.latency * 1000)
            self.proxy.add_toxic(
                Toxic.make("latency", name=f"{name}-latency", toxicity=toxicity, latency=latency_ms)
            )
        if fault.kind in (ScenarioFaultKind.ERRORS, ScenarioFaultKind.BROWNOUT):
            self.proxy.add_toxic(
                Toxic.make("reset_peer", name=f"{name}-reset", toxicity=fault.rate, timeout=0)
            )

    async def _fault_off(self, fault: FaultSpec, name: str) -> None:
        if fault.kind is ScenarioFaultKind.OUTAGE and not self.proxy.enabled:
            await self.proxy.enable()
        for suffix in ("latency", "reset"):
            if self.proxy.get_toxic(f"{name}-{suffix}") is not None:
                self.proxy.remove_toxic(f"{name}-{suffix}")

    async def close(self) -> None:
        """Close the session and stop the proxy."""
        if self._session is not None:
            await self._session.close()
        await self.proxy.stop()


def _build(name: str, scenario: Scenario, seeds: Seeds, clock: Clock) -> LiveVersion:
    spec = scenario.versions[name]
    if spec.callable is not None:
        rng = seeds.stream(f"callable/{name}")
        return CallableVersion(name, spec.callable.target, rng, clock, spec.callable.failures)
    if spec.http is None:
        kind = "an ASGI app run in process" if spec.asgi is not None else "a model"
        raise InvalidConfig(
            f"version {name!r} is {kind}; live mode needs callable or http versions "
            "(run it in simulated mode, or serve the app and name its URL)."
        )
    if isinstance(clock, VirtualClock):
        raise InvalidConfig(
            f"version {name!r} is an HTTP service, which answers in real time; run it on the system "
            "clock (virtual time is for callable versions)."
        )
    return HttpVersion(name, spec.http.url, seeds.int_seed(f"proxy/{name}"))


def build_versions(scenario: Scenario, seeds: Seeds, clock: Clock) -> dict[str, LiveVersion]:
    """Every version of ``scenario`` as a live version; refuses what live mode cannot run."""
    versions = {name: _build(name, scenario, seeds, clock) for name in scenario.versions}
    deps = {f.target for f in scenario.faults} - set(scenario.versions)
    if deps or scenario.resilience is not None:
        raise InvalidConfig(
            "dependency faults and the resilience block are simulated-mode features; in live mode "
            "target faults at versions."
        )
    return versions
