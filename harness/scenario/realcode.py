"""The real-code engine: the user's callables and ASGI apps on one virtual-time loop, per request.

Where :class:`~harness.scenario.engine.SimulatedEngine` draws a window's outcomes from models in
one vectorised step, this engine runs the user's code. Every arrival (drawn from the traffic
profile with the same seeded streams) is scheduled on the run's
:class:`~harness.runtime.SimulationLoop` at its virtual time and becomes a task: routed by the
run's :class:`~harness.rollout.Router`, carried out (and mirrored) by a
:class:`~harness.rollout.MirrorPool`, served by a :class:`~harness.scenario.real_versions.RealVersion`.
Requests overlap, contend for the app's locks and connection pools, time out and retry exactly as
they would in production, and the clock only moves when every task waits, so an hour of traffic
takes seconds and a seed replays the same run.

Dependencies are simulated (:mod:`harness.scenario.sim_dependencies`) with their fault windows,
and reach the app through its own clients, so its own timeouts, retries, breakers and fallbacks
are what is tested. At each window's end the shared control step runs (the flow decides, the
router is steered), and the journal gets each version's requests digest (every request's
latency, outcome and response, hashed) and each dependency's calls and faults: the determinism
check compares those. A refused real-world call or a broken adapter stops the run as a usage error.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from harness.clock import VirtualClock
from harness.errors import HarnessError, InvalidConfig
from harness.mode import Mode
from harness.rollout.contract import Exchange
from harness.rollout.mirror import Handler, MirrorConfig, MirrorOutcome, MirrorPool
from harness.runtime import ContractBroken, RealWorldGuard, SimulatedNetwork, SimulationLoop
from harness.scenario.control import Progress, close_window, flow_router, window_bounds
from harness.scenario.faults import FaultEffects
from harness.scenario.flow_drivers import ShadowDriver
from harness.scenario.flows import FlowDriver, build_driver
from harness.scenario.model import RequestKind, Scenario
from harness.scenario.real_versions import (
    AsgiVersion,
    CallableVersion,
    ModelVersion,
    RealVersion,
    RunClock,
    Served,
    scoped_env,
)
from harness.scenario.record import RunRecord
from harness.scenario.requests import RequestMaker
from harness.scenario.result import RunResult
from harness.scenario.services import Outcomes
from harness.scenario.sim_dependencies import SimulatedDependencies, expand
from harness.seeding import Seeds

__all__ = ["MIRROR_TIMEOUT", "RealCodeEngine"]

MIRROR_TIMEOUT = 10.0
"""Virtual seconds a mirrored call may take before it is cut off and counted as failed."""
_MAX_MIRRORS = 1024
_SHUTDOWN_GRACE = 60.0

Job = tuple[dict[str, Any], RequestKind]


def _body_text(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=lambda o: type(o).__qualname__)


@dataclass(slots=True)
class _Bucket:
    """One version's requests since the last window closed, and the running digest of them."""

    latencies: list[float] = field(default_factory=list)
    failed: list[bool] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    digest: Any = field(default_factory=hashlib.sha256)

    def add(self, served: Served, arrival: float) -> None:
        self.latencies.append(served.latency)
        self.failed.append(served.failed)
        if served.error is not None:
            self.errors[served.error] += 1
        line = (
            f"{arrival:.9f}|{served.latency:.9f}|{served.error}|{served.status}|{_body_text(served.body)}\n"
        )
        self.digest.update(line.encode())

    def outcomes(self) -> Outcomes:
        return Outcomes(
            latencies=np.asarray(self.latencies, dtype=float), errors=np.asarray(self.failed, dtype=bool)
        )

    def summary(self) -> dict[str, object]:
        return {
            "requests": len(self.latencies),
            "errors": dict(sorted(self.errors.items())),
            "digest": self.digest.hexdigest(),
        }


@dataclass(slots=True)
class _Tally:
    versions: dict[str, _Bucket] = field(default_factory=dict)
    user: _Bucket = field(default_factory=_Bucket)

    def add(self, version: str, served: Served, arrival: float, *, user: bool) -> None:
        bucket = self.versions.get(version)
        if bucket is None:
            bucket = self.versions[version] = _Bucket()
        bucket.add(served, arrival)
        if user:
            self.user.latencies.append(served.latency)
            self.user.failed.append(served.failed)

    def cut(self) -> tuple[dict[str, Outcomes], Outcomes, dict[str, dict[str, object]]]:
        versions, user = self.versions, self.user
        self.versions, self.user = {}, _Bucket()
        served = {name: b.outcomes() for name, b in sorted(versions.items())}
        return served, user.outcomes(), {name: b.summary() for name, b in sorted(versions.items())}


class RealCodeEngine:
    """Runs one scenario whose versions are the user's code, with one seed, on virtual time."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self._refuse_unsupported(scenario)
        self.scenario = scenario
        self.seed = seed
        self.seeds = Seeds(seed).child(f"scenario/{scenario.name}")
        self.record = RunRecord(scenario, seed, Mode.SIMULATED)
        self.driver: FlowDriver = build_driver(scenario, self.seeds.child("flow"))
        self.router = flow_router(self.driver, self.seeds.int_seed("router"))
        self.requests = RequestMaker(scenario.traffic.mix, self.seeds.child("requests"))
        self.clock = VirtualClock()
        self.run_clock = RunClock(self.clock)
        self.effects = {
            name: FaultEffects(tuple(f for f in scenario.faults if f.target == name))
            for name in scenario.versions
        }
        self._rng_traffic = self.seeds.numpy("traffic")
        self._rng_faults = self.seeds.stream("faults")
        self.tally = _Tally()
        self.origin = 0.0
        self.versions: dict[str, RealVersion] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self._fatal: HarnessError | None = None
        self.guard: RealWorldGuard | None = None

    @staticmethod
    def _refuse_unsupported(scenario: Scenario) -> None:
        http = sorted(name for name, v in scenario.versions.items() if v.http is not None)
        if http:
            raise InvalidConfig(
                f"versions {http} are HTTP services, which answer in real time; run this scenario with "
                "--mode live, or make them asgi versions to simulate them",
                field="versions",
            )
        if scenario.resilience is not None:
            raise InvalidConfig(
                "resilience: models a breaker and retries in front of a modelled dependency; with real "
                "code the service's own resilience runs: remove the block and declare the dependency "
                "under dependencies:",
                field="resilience",
            )

    # -- building ----------------------------------------------------------------------------------------

    def _build_version(self, name: str, addresses: Mapping[str, str]) -> RealVersion:
        spec = self.scenario.versions[name]
        if spec.callable is not None:
            env = {k: expand(v, addresses, name) for k, v in spec.callable.env.items()}
            with scoped_env(env):
                rng = self.seeds.stream(f"callable/{name}")
                return CallableVersion(name, spec.callable, rng, self.run_clock, addresses)
        if spec.asgi is not None:
            env = {k: expand(v, addresses, name) for k, v in spec.asgi.env.items()}
            return AsgiVersion(name, spec.asgi, env)
        assert spec.model is not None
        return ModelVersion(name, spec.model, self.seeds.stream(f"model/{name}"))

    def _handlers(self) -> dict[str, Handler]:
        handlers: dict[str, Handler] = {name: partial(self._call, name) for name in self.versions}
        if isinstance(self.driver, ShadowDriver):
            handlers[self.driver.candidate] = self._mirror_pair
        return handlers

    # -- the run -------------------------------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> RunResult:
        """Run the whole scenario on a fresh simulation loop and check its expectations."""
        guard = self.guard = RealWorldGuard(self.clock, self.seeds.stream("world"))
        with guard:
            loop = SimulationLoop(self.clock, guard)
            try:
                with SimulatedNetwork(guard) as network:
                    return loop.run_until_complete(self._main(network, progress))
            finally:
                _close_loop(loop)

    async def _main(self, network: SimulatedNetwork, progress: Progress | None) -> RunResult:
        loop = asyncio.get_running_loop()
        deps = SimulatedDependencies(
            self.scenario,
            self.seeds.child("dependencies"),
            network,
            now=lambda: loop.time() - self.origin,
            clock=self.run_clock,
        )
        self.versions = {name: self._build_version(name, deps.addresses) for name in self.scenario.versions}
        await deps.start()
        for version in self.versions.values():
            await version.start()
        self._check_fatal()
        self.origin = loop.time()
        self.record.begin()
        mirrors = MirrorPool(
            MirrorConfig(max_concurrency=_MAX_MIRRORS, timeout=MIRROR_TIMEOUT), on_mirror=self._mirrored
        )
        handlers = self._handlers()
        try:
            await self._windows(mirrors, handlers, deps, progress)
        finally:
            for task in list(self._inflight):
                task.cancel()
            await asyncio.gather(*self._inflight, return_exceptions=True)
            await mirrors.aclose()
        for version in reversed(self.versions.values()):
            await version.close()
        await deps.close()
        self._check_fatal()
        unhandled = dict(sorted(loop.unhandled.items())) if isinstance(loop, SimulationLoop) else {}
        return self.record.finish(self.driver.outcome(), unhandled_task_errors=unhandled)

    async def _windows(
        self,
        mirrors: MirrorPool,
        handlers: Mapping[str, Handler],
        deps: SimulatedDependencies,
        progress: Progress | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        duration = self.scenario.duration
        for start, end in window_bounds(duration, self.scenario.window):
            self._schedule(loop, start, end, mirrors, handlers)
            await asyncio.sleep(self.origin + end - loop.time())
            self._check_fatal()
            self._close(start, end, deps)
            if progress is not None:
                progress(end, duration)

    def _schedule(
        self,
        loop: asyncio.AbstractEventLoop,
        start: float,
        end: float,
        mirrors: MirrorPool,
        handlers: Mapping[str, Handler],
    ) -> None:
        """Draw the window's arrivals; only the next one is on the loop's timer heap at a time."""
        rate = self.scenario.traffic.rate_at((start + end) / 2, self.scenario.duration)
        n = int(self._rng_traffic.poisson(rate * (end - start)))
        times = np.sort(self._rng_traffic.uniform(start, end, n)).tolist()
        kinds = self.requests.draw(n).tolist()
        arrivals = iter(zip(times, kinds, strict=True))
        self._next_arrival(loop, arrivals, mirrors, handlers)

    def _next_arrival(
        self,
        loop: asyncio.AbstractEventLoop,
        arrivals: Iterator[tuple[float, int]],
        mirrors: MirrorPool,
        handlers: Mapping[str, Handler],
    ) -> None:
        nxt = next(arrivals, None)
        if nxt is not None:
            loop.call_at(self.origin + nxt[0], self._arrive, loop, nxt, arrivals, mirrors, handlers)

    def _arrive(
        self,
        loop: asyncio.AbstractEventLoop,
        arrival: tuple[float, int],
        arrivals: Iterator[tuple[float, int]],
        mirrors: MirrorPool,
        handlers: Mapping[str, Handler],
    ) -> None:
        t, kind = arrival
        task = loop.create_task(self._request(kind, t, mirrors, handlers))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        self._next_arrival(loop, arrivals, mirrors, handlers)

    async def _request(
        self, kind: int, arrival: float, mirrors: MirrorPool, handlers: Mapping[str, Handler]
    ) -> None:
        request = self.requests.request(kind)
        route = self.router.decide()
        job = (request, self.requests.kinds[kind], arrival)
        if route.shadows:
            served: Served = await mirrors.serve(route, job, handlers)
        else:
            served = await handlers[route.version](job)
        self.tally.add(route.version, served, arrival, user=True)

    async def _call(self, name: str, job: tuple[dict[str, Any], RequestKind, float]) -> Served:
        """Serve one request by ``name``, its version-level fault windows applied first."""
        request, kind, _ = job
        loop = asyncio.get_running_loop()
        effects = self.effects[name]
        t = loop.time() - self.origin
        delay = effects.added_latency(t) if effects.faults else 0.0
        if delay > 0:
            await asyncio.sleep(delay)
        p_fail = effects.failure_probability(t) if effects.faults else 0.0
        if p_fail and self._rng_faults.random() < p_fail:
            return Served(delay, True, "InjectedFault")
        try:
            served = await self.versions[name].serve(request, kind)
        except ContractBroken as exc:
            if self._fatal is None:
                self._fatal = exc
            return Served(loop.time() - self.origin - t, True, "ContractBroken")
        return replace(served, latency=served.latency + delay) if delay > 0 else served

    async def _mirror_pair(self, job: tuple[dict[str, Any], RequestKind, float]) -> tuple[Served, Served]:
        """A shadow's copy: the candidate and a second call to the stable version (the noise reference)."""
        assert isinstance(self.driver, ShadowDriver)
        candidate, secondary = await asyncio.gather(
            self._call(self.driver.candidate, job), self._call(self.driver.stable, job)
        )
        return candidate, secondary

    def _mirrored(self, outcome: MirrorOutcome[Any]) -> None:
        if not isinstance(self.driver, ShadowDriver):
            return
        arrival = 0.0
        if outcome.timed_out or outcome.shadow is None:
            failed = Served(MIRROR_TIMEOUT, True, "MirrorTimeout" if outcome.timed_out else "MirrorError")
            self.tally.add(outcome.shadow_version, failed, arrival, user=False)
            return
        candidate, secondary = outcome.shadow
        self.tally.add(outcome.shadow_version, candidate, arrival, user=False)
        primary: Served | None = outcome.primary
        if primary is None:
            return
        self.driver.offer(
            Exchange(
                primary=_fields(primary),
                secondary=_fields(secondary),
                candidate=_fields(candidate),
                request_id=str(outcome.request_number),
            )
        )

    def _check_fatal(self) -> None:
        if self._fatal is not None:
            raise self._fatal
        if self.guard is not None and self.guard.violation is not None:
            raise self.guard.violation

    def _close(self, start: float, end: float, deps: SimulatedDependencies) -> None:
        served, user, summaries = self.tally.cut()
        close_window(self.record, self.driver, self.router, (start, end), served=served, user=[user])
        journal = self.record.journal
        for name, summary in summaries.items():
            journal.record(start, "requests", f"version/{name}", **summary)
        for name, counts in deps.counters().items():
            journal.record(start, "dependency", f"dependency/{name}", **counts)


def _fields(served: Served) -> dict[str, Any]:
    """A response as the fields a shadow comparison diffs."""
    if served.failed:
        return {"error": served.error}
    body = served.body
    fields = dict(body) if isinstance(body, Mapping) else {"body": body}
    if served.status is not None:
        fields.setdefault("status", served.status)
    return fields


def _close_loop(loop: SimulationLoop) -> None:
    """Cancel what is left on the loop (background tasks the app did not stop), then close it."""
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=_SHUTDOWN_GRACE))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
