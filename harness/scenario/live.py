"""The live engine: the same flows and expectations against real callables or HTTP services.

Load comes from the open-model driver (``harness.load.OpenModelDriver``) at the scenario's
``live.rate``; each request is routed by the flow's current weights with a seeded stream, so the
sequence of routing choices replays. Callable versions run on the real event loop (async handlers
concurrently; sync handlers in a thread); HTTP versions are reached through a ``FaultProxy`` on
127.0.0.1, whose toxics carry out the scenario's fault windows (latency, reset_peer for errors,
disabling the proxy for an outage). Versions' own faults on callables are applied in-process.
Windows close on the wall clock; the flow observes each one and its decisions move traffic.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from harness.clock import SystemClock
from harness.errors import InvalidConfig
from harness.journal import Journal
from harness.load import ConstantArrival, DriverConfig, OpenModelDriver
from harness.rollout.contract import Decision, VersionWindow, Window
from harness.scenario.engine import Progress, record_points
from harness.scenario.expectations import UserWindow, check_expectations, journal_expectations
from harness.scenario.faults import FaultEffects, fault_timeline
from harness.scenario.flows import FlowDriver, build_driver
from harness.scenario.imports import resolve_callable
from harness.scenario.model import FaultKind, FaultSpec, Scenario
from harness.scenario.requests import RequestMaker
from harness.scenario.result import RunResult, VersionPoint
from harness.scenario.services import Outcomes
from harness.seeding import Seeds

__all__ = ["LiveEngine"]

Handler = Callable[[dict[str, Any]], Any]


@dataclass(slots=True)
class _Bucket:
    latencies: list[float] = field(default_factory=list)
    failed: list[bool] = field(default_factory=list)

    def add(self, latency: float, failed: bool) -> None:
        self.latencies.append(latency)
        self.failed.append(failed)

    def outcomes(self) -> Outcomes:
        return Outcomes(
            latencies=np.asarray(self.latencies, dtype=float), errors=np.asarray(self.failed, dtype=bool)
        )


class _LiveVersion:
    """One version reachable for real: ``call(request)`` raises on failure."""

    name: str

    async def call(self, request: dict[str, Any]) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        """Release connections and proxies."""


class _CallableVersion(_LiveVersion):
    def __init__(self, name: str, target: str, rng: random.Random) -> None:
        self.name = name
        handler = resolve_callable(target)(rng, SystemClock())
        if not callable(handler):
            raise InvalidConfig(f"callable {target!r} returned {handler!r}, not a request handler")
        self.handler: Handler = handler

    async def call(self, request: dict[str, Any]) -> Any:
        result = self.handler(request)
        if isinstance(result, Awaitable):
            return await result
        return result


class _HttpVersion(_LiveVersion):
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
        import aiohttp

        await self.proxy.start()
        self._proxied = urlunsplit(self._parts._replace(netloc=self.proxy.listen))
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def call(self, request: dict[str, Any]) -> Any:
        async with self._session.get(self._proxied, params={"item": request["item"]}) as resp:
            body = await resp.read()
            if resp.status >= 400:
                raise RuntimeError(f"HTTP {resp.status}")
            return body

    async def apply(self, fault: FaultSpec, index: int, on: bool) -> None:
        """Carry a fault window out with the proxy's toxics (an outage disables the proxy)."""
        from harness.faults import Toxic

        name = f"scenario-fault-{index}"
        if not on:
            if fault.kind is FaultKind.OUTAGE and not self.proxy.enabled:
                await self.proxy.enable()
            for suffix in ("latency", "reset"):
                if self.proxy.get_toxic(f"{name}-{suffix}") is not None:
                    self.proxy.remove_toxic(f"{name}-{suffix}")
            return
        if fault.kind is FaultKind.OUTAGE:
            await self.proxy.disable()
            return
        if fault.kind in (FaultKind.LATENCY, FaultKind.BROWNOUT) and fault.latency > 0:
            toxicity = 1.0 if fault.kind is FaultKind.BROWNOUT else fault.rate
            self.proxy.add_toxic(
                Toxic.make(
                    "latency", name=f"{name}-latency", toxicity=toxicity, latency=round(fault.latency * 1000)
                )
            )
        if fault.kind in (FaultKind.ERRORS, FaultKind.BROWNOUT):
            self.proxy.add_toxic(
                Toxic.make("reset_peer", name=f"{name}-reset", toxicity=fault.rate, timeout=0)
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        await self.proxy.stop()


class _ScenarioTarget:
    """The driver's target: route each request by the flow's weights and call that version."""

    def __init__(self, engine: LiveEngine) -> None:
        self.engine = engine

    async def open(self, connections: int) -> None:
        """Nothing to prepare; versions are started by the engine."""

    async def send(self) -> tuple[bool, str]:
        """One user request (and its mirror, if the flow mirrors)."""
        return await self.engine.request()

    async def close(self) -> None:
        """Versions are closed by the engine."""


class LiveEngine:
    """Runs one scenario against real services on the system clock."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        if scenario.live is None:
            raise InvalidConfig(
                f"scenario {scenario.name!r} has no live section; add for example "
                "live: {duration: 30s, window: 2s, rate: 200} to run it in live mode."
            )
        self.original = scenario
        self.scenario = scenario.compressed()
        self.seed = seed
        self.seeds = Seeds(seed).child(f"scenario/{scenario.name}/live")
        self.journal = Journal(meta={"scenario": scenario.name, "seed": seed, "mode": "live"})
        self.driver: FlowDriver = build_driver(self.scenario, self.seeds.child("flow"))
        self.router = self.seeds.stream("router")
        self.sequence = hashlib.sha256()
        self.versions = self._build_versions()
        # HTTP versions get their faults from the proxy's toxics; callables get them in-process.
        self.effects = {
            name: FaultEffects(
                tuple(f for f in self.scenario.faults if f.target == name)
                if isinstance(self.versions[name], _CallableVersion)
                else ()
            )
            for name in self.scenario.versions
        }
        self.requests = RequestMaker(self.scenario.traffic.mix, self.seeds.child("requests"))
        self.fault_rng = self.seeds.stream("faults")
        self.mirror_rng = self.seeds.stream("mirror")
        self.routes: list[str] = []
        self.buckets: dict[str, _Bucket] = {}
        self.user = _Bucket()
        self.origin = 0.0
        self.counter = 0
        self.points: dict[str, list[VersionPoint]] = {name: [] for name in self.scenario.versions}
        self.user_windows: list[UserWindow] = []
        self.decisions: list[Decision] = []
        self.mirrors: set[asyncio.Future[None]] = set()

    def _build_versions(self) -> dict[str, _LiveVersion]:
        out: dict[str, _LiveVersion] = {}
        for name, spec in self.scenario.versions.items():
            if spec.callable is not None:
                out[name] = _CallableVersion(
                    name, spec.callable.target, self.seeds.stream(f"callable/{name}")
                )
            elif spec.http is not None:
                out[name] = _HttpVersion(name, spec.http.url, self.seeds.int_seed(f"proxy/{name}"))
            else:
                raise InvalidConfig(
                    f"version {name!r} is a model; live mode needs callable or http versions "
                    "(run model scenarios in simulated mode)."
                )
        deps = {f.target for f in self.scenario.faults} - set(self.scenario.versions)
        if deps or self.scenario.resilience is not None:
            raise InvalidConfig(
                "dependency faults and the resilience block are simulated-mode features; in live mode "
                "target faults at versions."
            )
        return out

    # -- requests -----------------------------------------------------------------------------------

    def _pick(self) -> str:
        weights = {n: w for n, w in self.driver.weights().items() if w > 0}
        u = self.router.random()
        total = sum(weights.values())
        acc = 0.0
        for name in sorted(weights):
            acc += weights[name] / total
            if u < acc:
                return name
        return sorted(weights)[-1]

    async def _call(self, name: str, request: dict[str, Any], t: float) -> tuple[float, bool]:
        effects = self.effects[name]
        start = time.monotonic()
        failed = False
        try:
            delay = effects.added_latency(t)
            if delay > 0:
                await asyncio.sleep(delay)
            p_fail = effects.failure_probability(t)
            if p_fail and self.fault_rng.random() < p_fail:
                raise RuntimeError(f"injected {name} fault")
            await self.versions[name].call(request)
        except Exception:  # noqa: BLE001 - a failed request is an outcome
            failed = True
        return time.monotonic() - start, failed

    async def request(self) -> tuple[bool, str]:
        """Serve one user request; record per-version and user-facing outcomes."""
        t = time.monotonic() - self.origin
        self.counter += 1
        request = self.requests.request(int(self.requests.draw(1)[0]))
        name = self._pick()
        self.routes.append(name)
        self.sequence.update(f"{self.counter}:{name};".encode())
        mirror = self.driver.mirror()
        if mirror is not None and self.mirror_rng.random() < mirror[1]:
            # Fire and forget: the mirror never delays or fails the user's request.
            task = asyncio.ensure_future(self._mirrored(mirror[0], request, t))
            self.mirrors.add(task)
            task.add_done_callback(self.mirrors.discard)
        latency, failed = await self._call(name, request, t)
        self._bucket(name).add(latency, failed)
        self.user.add(latency, failed)
        return (not failed), ("error" if failed else "ok")

    async def _mirrored(self, name: str, request: dict[str, Any], t: float) -> None:
        latency, failed = await self._call(name, request, t)
        self._bucket(name).add(latency, failed)

    def _bucket(self, name: str) -> _Bucket:
        return self.buckets.setdefault(name, _Bucket())

    # -- windows and faults -------------------------------------------------------------------------

    async def _windows(self, progress: Progress | None) -> None:
        sc = self.scenario
        start = 0.0
        while start < sc.duration - 1e-9:
            end = min(start + sc.window, sc.duration)
            await asyncio.sleep(max(0.0, self.origin + end - time.monotonic()))
            self._close_window(start, end)
            if progress is not None:
                progress(end, sc.duration)
            start = end

    def _close_window(self, start: float, end: float) -> None:
        weights = dict(self.driver.weights())
        buckets, self.buckets = self.buckets, {}
        user, self.user = self.user, _Bucket()
        served = {name: b.outcomes() for name, b in buckets.items()}
        self.user_windows.append(
            UserWindow(
                start, end, len(user.latencies), sum(user.failed), np.asarray(user.latencies, dtype=float)
            )
        )
        record_points(self.journal, self.points, (start, end), served, weights)
        self.driver.record_traffic(served)
        window = Window(
            start=start,
            end=end,
            versions={
                n: VersionWindow(requests=o.requests, errors=int(o.errors.sum()), latencies=o.latencies)
                for n, o in served.items()
            },
            exchanges=self.driver.exchanges(start, end, served),
        )
        decision = self.driver.observe(window)
        if decision is not None:
            self.decisions.append(decision)
            self.journal.record(end, "decision", f"flow/{self.driver.kind.value}", **decision.to_dict())

    async def _faults(self) -> None:
        http = {n: v for n, v in self.versions.items() if isinstance(v, _HttpVersion)}
        for event in fault_timeline(self.scenario.faults, self.scenario.duration):
            await asyncio.sleep(max(0.0, self.origin + event.t - time.monotonic()))
            index = int(event.data["index"])
            fault = self.scenario.faults[index]
            version = http.get(fault.target)
            if version is not None:
                await version.apply(fault, index, event.kind == "fault.on")

    # -- the run ------------------------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> RunResult:
        """Run in real time (``live.duration`` seconds) and check the expectations."""
        return asyncio.run(self._run(progress))

    async def _run(self, progress: Progress | None) -> RunResult:
        sc = self.scenario
        for event in fault_timeline(sc.faults, sc.duration):
            self.journal.append(event)
        self.journal.record(0.0, "run.start", "engine", scenario=sc.name, seed=self.seed, mode="live")
        for version in self.versions.values():
            if isinstance(version, _HttpVersion):
                await version.start()
        config = DriverConfig(
            profile=ConstantArrival(rate=sc.traffic.rate, duration=sc.duration),
            connections=self.original.live.connections if self.original.live else 64,
            seed=self.seeds.int_seed("arrivals"),
        )
        load = OpenModelDriver(config, _ScenarioTarget(self))
        self.origin = time.monotonic()
        try:
            result, _, _ = await asyncio.gather(load.run(), self._windows(progress), self._faults())
            if self.mirrors:
                await asyncio.wait(self.mirrors, timeout=10)
        finally:
            for task in self.mirrors:
                task.cancel()
            for version in self.versions.values():
                await version.close()
        outcome = self.driver.outcome()
        expectations = check_expectations(sc, self.user_windows, outcome, None)
        sequence = self.sequence.hexdigest()
        journal_expectations(
            self.journal,
            sc.duration,
            expectations,
            sequence_digest=sequence,
            driver_valid=result.valid,
            achieved_rate=result.achieved_rate,
        )
        return RunResult(
            scenario=sc,
            seed=self.seed,
            mode="live",
            journal=self.journal,
            expectations=expectations,
            outcome=outcome,
            points=self.points,
            user_windows=self.user_windows,
            decisions=self.decisions,
            sequence_digest=sequence,
            routes=tuple(self.routes),
        )
