"""The scenario's ``dependencies:`` as simulated services of one real-code run.

Each declared dependency becomes a :class:`~harness.runtime.SimulatedRedis` (a fresh fakeredis
server) or a :class:`~harness.runtime.SimulatedHttp` (served by its ``simulate:`` model, ASGI app
or callable) on the run's :class:`~harness.runtime.SimulatedNetwork`, with the scenario's fault
windows on it and its ``latency`` drawn from a stream of the run's seed. :func:`expand` fills
``${deps.NAME.url|host|port}`` and ``${version}`` in a version's ``env`` with the simulated addresses.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness.errors import InvalidConfig
from harness.runtime import (
    AsgiApp,
    DependencyFault,
    DependencyFaultKind,
    FaultTimeline,
    SimulatedHttp,
    SimulatedNetwork,
    SimulatedRedis,
    asgi_server,
    handler_server,
)
from harness.runtime.http import Serve, json_response
from harness.scenario.imports import resolve_callable
from harness.scenario.model import DependencyKind, DependencySpec, ModelSpec, Scenario, SimulateSpec
from harness.scenario.real_versions import RunClock, fresh_import, sample_latency
from harness.seeding import Seeds

__all__ = ["SimulatedDependencies", "expand", "timeline"]

_TEMPLATE = re.compile(r"\$\{([^}]*)\}")


def expand(text: str, addresses: Mapping[str, str], version: str) -> str:
    """``text`` with ``${deps.NAME.url|host|port}`` and ``${version}`` replaced; anything else is refused."""

    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "version":
            return version
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "deps" and parts[2] in {"url", "host", "port"}:
            url = addresses.get(parts[1])
            if url is None:
                raise InvalidConfig(
                    f"${{{key}}}: no dependency {parts[1]!r}; declared: {sorted(addresses) or 'none'}",
                    field="env",
                    value=text,
                )
            split = urlsplit(url)
            return {"url": url, "host": split.hostname or "", "port": str(split.port or 80)}[parts[2]]
        raise InvalidConfig(
            f"${{{key}}} is not available in simulated mode; "
            "use ${deps.NAME.url|host|port} or ${version}",
            field="env",
            value=text,
        )

    return _TEMPLATE.sub(one, text)


def timeline(scenario: Scenario, target: str) -> FaultTimeline:
    """The fault windows of ``target`` on virtual time."""
    return FaultTimeline.of(
        DependencyFault(
            kind=DependencyFaultKind(f.kind.value),
            start=f.at,
            end=min(f.at + f.duration, scenario.duration),
            rate=f.rate,
            latency=f.latency,
        )
        for f in scenario.faults
        if f.target == target
    )


def _model_server(spec: ModelSpec, rng: random.Random) -> Serve:
    body = dict(spec.response.fields)

    async def serve(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(sample_latency(spec.latency, rng))
        if spec.error_rate > 0 and rng.random() < spec.error_rate:
            return json_response(500, {"error": "model error"})
        return json_response(200, body)

    return serve


class SimulatedDependencies:
    """Every declared dependency of one run, served on ``network``; ``addresses`` by name."""

    def __init__(
        self,
        scenario: Scenario,
        seeds: Seeds,
        network: SimulatedNetwork,
        *,
        now: Callable[[], float],
        clock: RunClock,
    ) -> None:
        self.scenario = scenario
        self.seeds = seeds
        self.network = network
        self.now = now
        self.clock = clock
        self.addresses: dict[str, str] = {}
        self.apps: list[AsgiApp] = []
        self.redis: dict[str, SimulatedRedis] = {}
        self.http: dict[str, SimulatedHttp] = {}
        for name, spec in scenario.dependencies.items():
            self._add(name, spec)

    def _latency(self, name: str, spec: DependencySpec) -> Callable[[], float] | None:
        if spec.latency is None:
            return None
        latency, rng = spec.latency, self.seeds.stream(f"dependency/{name}/latency")
        return lambda: sample_latency(latency, rng)

    def _add(self, name: str, spec: DependencySpec) -> None:
        common: dict[str, Any] = {
            "timeline": timeline(self.scenario, name),
            "rng": self.seeds.stream(f"dependency/{name}/faults"),
            "now": self.now,
            "latency": self._latency(name, spec),
        }
        if spec.kind is DependencyKind.REDIS:
            redis = SimulatedRedis(name, **common)
            self.redis[name] = redis
            self.addresses[name] = self.network.add_redis(redis)
        elif spec.kind is DependencyKind.HTTP:
            http = SimulatedHttp(name, serve=self._server(name, spec.simulate), **common)
            self.http[name] = http
            self.addresses[name] = self.network.add_http(http)
        else:
            raise InvalidConfig(
                f"dependency {name!r} is {spec.kind.value}: simulated mode serves redis and http "
                "dependencies; run this scenario with --mode live",
                field=f"dependencies.{name}.kind",
                value=spec.kind.value,
            )

    def _server(self, name: str, simulate: SimulateSpec | None) -> Serve:
        if simulate is None:
            raise InvalidConfig(
                f"dependency {name!r} is http: simulated mode needs simulate: {{model: {{...}}}}, "
                "{asgi: {app: ...}} or {callable: {target: ...}} to serve it",
                field=f"dependencies.{name}.simulate",
            )
        rng = self.seeds.stream(f"dependency/{name}/server")
        if simulate.model is not None:
            return _model_server(simulate.model, rng)
        if simulate.asgi is not None:
            app = AsgiApp(fresh_import(simulate.asgi.app), host=f"{name}.sim")
            self.apps.append(app)
            return asgi_server(app)
        assert simulate.callable is not None
        return handler_server(resolve_callable(simulate.callable.target)(rng, self.clock))

    async def start(self) -> None:
        """Start the ASGI apps that serve dependencies (their lifespans)."""
        for app in self.apps:
            await app.startup()

    async def close(self) -> None:
        """Shut the ASGI apps that serve dependencies down."""
        for app in reversed(self.apps):
            await app.shutdown()

    def counters(self) -> dict[str, dict[str, object]]:
        """Calls and faults per dependency since the last call."""
        out = {name: r.counters.take() for name, r in self.redis.items()}
        out.update({name: h.counters.take() for name, h in self.http.items()})
        return dict(sorted(out.items()))
