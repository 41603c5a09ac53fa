"""Versions of a real-code simulation: the user's callables and ASGI apps (and models) as loop tasks.

Each request is served by :meth:`RealVersion.serve` inside its own task on the run's
:class:`~harness.runtime.SimulationLoop`, so the version's code awaits whatever it likes (locks,
queues, ``asyncio.timeout``, its Redis and HTTP clients) on virtual time. What happened is a
:class:`Served`: the latency on the run's clock, whether the request failed and with which
exception type or status, and the response (for shadow comparison and the run's request digest).

Callables keep the factory contract ``make(rng, clock) -> handler`` (``make(rng, clock, deps)``
receives each dependency's address too). The ``clock`` is a :class:`RunClock`: ``await
clock.sleep(s)`` is ``asyncio.sleep`` on virtual time, ``clock.now()`` the loop's time; a *sync*
handler runs as if on a worker thread of its own: its ``clock.sleep_sync(s)`` adds ``s`` to that
request's latency without holding the loop, as before.
"""

from __future__ import annotations

import abc
import asyncio
import importlib
import inspect
import json
import math
import os
import random
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.runtime import AsgiApp, FailurePolicy
from harness.scenario.imports import resolve_callable
from harness.scenario.live_versions import request_path, wire_request
from harness.scenario.model import AsgiSpec, CallableSpec, LatencySpec, ModelSpec, RequestKind

__all__ = [
    "AsgiVersion",
    "CallableVersion",
    "ModelVersion",
    "RealVersion",
    "RunClock",
    "Served",
    "fresh_import",
    "sample_latency",
    "scoped_env",
]


@dataclass(frozen=True, slots=True)
class Served:
    """One request's outcome: latency (virtual seconds), failure and its type, status and response."""

    latency: float
    failed: bool
    error: str | None = None
    status: int | None = None
    body: Any = None


class RunClock:
    """The clock handed to callable factories in a real-code run (a :class:`~harness.clock.Clock`)."""

    __slots__ = ("_collecting", "_elapsed", "virtual")

    def __init__(self, virtual: VirtualClock) -> None:
        self.virtual = virtual
        self._collecting = False
        self._elapsed = 0.0

    def now(self) -> float:
        """The loop's virtual time (plus what a running sync handler has spent so far)."""
        return self.virtual.now() + self._elapsed

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep`` on virtual time."""
        await asyncio.sleep(max(0.0, seconds))

    def sleep_sync(self, seconds: float) -> None:
        """In a sync handler, time that request spends; elsewhere, the loop is held (time passes for all)."""
        if seconds <= 0:
            return
        if self._collecting:
            self._elapsed += seconds
        else:
            self.virtual.advance(seconds)

    def begin_sync(self) -> None:
        """A synchronous call starts: collect its ``sleep_sync`` time."""
        self._collecting, self._elapsed = True, 0.0

    def end_sync(self) -> float:
        """The synchronous call ended: the time its ``sleep_sync`` calls spent."""
        spent = self._elapsed
        self._collecting, self._elapsed = False, 0.0
        return spent


def sample_latency(spec: LatencySpec, rng: random.Random) -> float:
    """One latency from ``spec`` (seconds), drawn with ``rng``."""
    if spec.kind == "fixed":
        return spec.value
    if spec.kind == "uniform":
        return rng.uniform(spec.low, spec.high)
    if spec.kind == "normal":
        return max(0.0, rng.gauss(spec.mean, spec.std))
    return spec.median * math.exp(spec.sigma * rng.gauss(0.0, 1.0))


class RealVersion(abc.ABC):
    """One version served on the run's loop."""

    name: str

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Prepare to serve (an ASGI app's lifespan startup)."""

    @abc.abstractmethod
    async def serve(self, request: dict[str, Any], kind: RequestKind) -> Served:
        """Serve one request; raises only :class:`~harness.runtime.ContractBroken`."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Stop serving (an ASGI app's lifespan shutdown)."""


class CallableVersion(RealVersion):
    """A factory's handler (sync or async) called once per request."""

    def __init__(
        self, name: str, spec: CallableSpec, rng: random.Random, clock: RunClock, deps: Mapping[str, str]
    ) -> None:
        self.name = name
        self.clock = clock
        factory = resolve_callable(spec.target)
        self.policy = FailurePolicy.for_adapter(factory, spec.failures)
        try:
            if "deps" in _parameters(factory):
                handler = factory(rng, clock, deps=dict(deps))
            else:
                handler = factory(rng, clock)
        except TypeError as exc:
            raise InvalidConfig(
                f"callable {spec.target!r} must be a factory make(rng, clock) -> handler ({exc})"
            ) from None
        if not callable(handler):
            raise InvalidConfig(f"callable {spec.target!r} returned {handler!r}, not a request handler")
        self.handler: Callable[[dict[str, Any]], Any] = handler

    async def serve(self, request: dict[str, Any], kind: RequestKind) -> Served:
        """Call the handler; its exceptions are failures or contract breaks (see the policy)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        clock = self.clock
        try:
            clock.begin_sync()
            try:
                result = self.handler(request)
            finally:
                spent = clock.end_sync()
            if spent > 0:
                await asyncio.sleep(spent)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:  # noqa: BLE001 - classified: a failed request, or a broken contract
            kind_name = self.policy.check(self.name, exc)
            return Served(loop.time() - start, True, kind_name)
        return Served(loop.time() - start, False, body=result)


def _parameters(factory: Callable[..., Any]) -> Mapping[str, inspect.Parameter]:
    try:
        return inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return {}


@contextmanager
def scoped_env(env: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``env`` applied for the block, put back as it was on exit."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def fresh_import(target: str) -> Any:
    """Import ``"package.module:attr"`` afresh: the module's package is dropped from ``sys.modules`` first.

    Module-level state (clients, caches, settings read from the environment) then starts clean in
    every run, as it would in a new process.
    """
    module_name, _, _ = target.partition(":")
    package = module_name.rpartition(".")[0] or module_name
    if package == "harness":
        package = module_name
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    return resolve_callable(target)


def _encode(request: dict[str, Any], kind: RequestKind) -> tuple[str, list[tuple[bytes, bytes]], bytes]:
    """The request as live mode sends it (:func:`wire_request`): path with its query, headers, body."""
    wire = wire_request(kind, request)
    path = request_path(kind, request) or "/"
    params = wire.get("params")
    if params:
        path += ("&" if "?" in path else "?") + urlencode(params)
    headers = [(k.lower().encode(), str(v).encode()) for k, v in wire["headers"].items()]
    body = b""
    if "json" in wire:
        body = json.dumps(wire["json"], separators=(",", ":")).encode()
        if not any(k == b"content-type" for k, _ in headers):
            headers.append((b"content-type", b"application/json"))
    headers.append((b"host", b"app.sim"))
    return path, headers, body


class AsgiVersion(RealVersion):
    """An ASGI 3 app, imported afresh with its ``env`` and served in process."""

    def __init__(self, name: str, spec: AsgiSpec, env: Mapping[str, str]) -> None:
        self.name = name
        self.env = dict(env)
        with scoped_env(self.env):
            app = fresh_import(spec.app)
        self.app = AsgiApp(app)
        self.policy = FailurePolicy.declaring(spec.failures)

    async def start(self) -> None:
        """The app's lifespan startup, with its environment."""
        with scoped_env(self.env):
            await self.app.startup()

    async def serve(self, request: dict[str, Any], kind: RequestKind) -> Served:
        """One HTTP request; a 5xx or an exception out of the app is a failed request."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        path, headers, body = _encode(request, kind)
        response = await self.app.request(kind.method.value, path, headers, body)
        latency = loop.time() - start
        if response.error is not None:
            return Served(latency, True, self.policy.check(self.name, response.error), response.status)
        if response.status >= 500:
            return Served(latency, True, f"HTTP {response.status}", response.status, response.json())
        return Served(latency, False, None, response.status, response.json())

    async def close(self) -> None:
        """The app's lifespan shutdown."""
        await self.app.shutdown()


class ModelVersion(RealVersion):
    """A model version served per request on the loop (for scenarios that mix models and real code)."""

    def __init__(self, name: str, spec: ModelSpec, rng: random.Random) -> None:
        self.name = name
        self.spec = spec
        self.rng = rng
        self.body = dict(spec.response.fields)

    async def serve(self, request: dict[str, Any], kind: RequestKind) -> Served:
        """Wait the model's latency (scaled by the request kind); fail at its error rate."""
        latency = sample_latency(self.spec.latency, self.rng) * kind.latency_factor
        failed = self.spec.error_rate > 0 and self.rng.random() < self.spec.error_rate
        await asyncio.sleep(latency)
        if failed:
            return Served(latency, True, "ModelError")
        return Served(latency, False, body=self.body)
