"""The live engine: the same flows and expectations against the user's real system.

A live run starts the system under test (:mod:`.live_stack`: shared services such as
redis-server, one fault proxy per (traffic group, dependency), one instance of each version's
service per group; or attaches to running ones), drives the scenario's load profile at
``live.rate`` through the open-model driver (``harness.load.OpenModelDriver``, coordinated
omission corrected) with real requests (:mod:`.live_traffic`, :mod:`.live_versions`), closes
windows and lets the flow decide (:mod:`.live_control`), and carries faults out in the proxies
(:mod:`.live_faults`). Everything it started is stopped on every exit path, and service logs go to
``logs``.

Every request is routed through the run's :class:`~harness.rollout.Router`, seeded as in the
simulated engine, in schedule order and under its window's weights, so the journal's routing,
fault, proxy and decision events replay with the seed (:attr:`RunResult.replay_digest`); measured
latencies naturally differ. Everything reads time and waits through one injected
:class:`~harness.clock.Clock`: the system clock by default, or a :class:`~harness.clock.VirtualClock`,
on whose :class:`~harness.clock.VirtualTimeLoop` a run with callable versions takes no wall time and
the same seed gives the same journal.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from harness.clock import Clock, SystemClock, VirtualClock
from harness.errors import InvalidConfig
from harness.load import DriverConfig, DriverResult, OpenModelDriver
from harness.mode import Mode
from harness.scenario.control import Progress, flow_router
from harness.scenario.faults import FaultEffects, ended_by
from harness.scenario.flows import FlowDriver, build_driver
from harness.scenario.live_control import LiveControl
from harness.scenario.live_faults import LiveFaults
from harness.scenario.live_profile import traffic_profile
from harness.scenario.live_services import Notify
from harness.scenario.live_stack import LiveStack
from harness.scenario.live_traffic import LiveTraffic
from harness.scenario.live_versions import CallableVersion, HttpVersion, LiveVersion, build_versions
from harness.scenario.model import SHADOW_SECONDARY, FlowKind, LiveSpec, Scenario
from harness.scenario.modes import check_mode
from harness.scenario.record import RunRecord
from harness.scenario.requests import RequestMaker
from harness.scenario.result import RunResult
from harness.seeding import Seeds

__all__ = ["LiveEngine"]

_T = TypeVar("_T")


def _run_on(clock: Clock, main: Coroutine[Any, Any, _T]) -> _T:
    """Run ``main`` on a loop of ``clock``: a virtual-time loop for a virtual clock."""
    if isinstance(clock, VirtualClock):
        return clock.run(main)
    return asyncio.run(main)


class LiveEngine:
    """Runs one scenario against the real system, timed by ``clock`` (the system clock by default).

    ``logs`` is the folder for the services' logs (default: a temporary folder removed afterwards;
    a failed start quotes the log's tail either way); ``notify`` is told when each service is ready.
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        *,
        clock: Clock | None = None,
        logs: Path | None = None,
        notify: Notify | None = None,
    ) -> None:
        if scenario.live is None:
            raise InvalidConfig(
                f"scenario {scenario.name!r} has no live section; add for example "
                "live: {window: 2s, rate: 200} to run it in live mode (each scenario window then "
                "takes 2 s of real time)."
            )
        check_mode(scenario, Mode.LIVE)
        self.live: LiveSpec = scenario.live
        self.scenario = scenario.compressed()
        self.seed = seed
        self.clock: Clock = clock or SystemClock()
        self.logs = logs
        self.notify = notify
        self.seeds = Seeds(seed).child(f"scenario/{scenario.name}")
        self.record = RunRecord(self.scenario, seed, Mode.LIVE)
        self.driver: FlowDriver = build_driver(self.scenario, self.seeds.child("flow"))
        self.secondary = SHADOW_SECONDARY if self.scenario.flow.kind is FlowKind.SHADOW else None
        self.router = flow_router(self.driver, self.seeds.int_seed("router"), self.secondary)
        if self.scenario.services and isinstance(self.clock, VirtualClock):
            raise InvalidConfig(
                "services are real processes that answer in real time; run them on the system clock "
                "(virtual time is for callable versions)."
            )
        self.stack: LiveStack | None = None
        self.versions: dict[str, LiveVersion] = {}
        self.faults: LiveFaults | None = None
        self.traffic: LiveTraffic | None = None
        if not self.scenario.services:
            self._assemble({})  # callables and attached URLs: nothing to start first

    def _effects(self) -> dict[str, FaultEffects]:
        """In-process fault windows per group: callables only (HTTP versions get proxy toxics)."""
        sc = self.scenario
        effects = {}
        for group, version in sc.live_groups.items():
            mine: tuple[Any, ...] = ()
            if isinstance(self.versions[group], CallableVersion):
                mine = tuple(
                    f for f in sc.faults if f.target == version and (f.groups is None or group in f.groups)
                )
            effects[group] = FaultEffects(mine)
        return effects

    def _assemble(self, urls: dict[str, str]) -> None:
        """Versions, the request path, the faults and the control loop, once addresses are known."""
        sc = self.scenario
        self.versions = build_versions(sc, self.seeds, self.clock, urls)
        self.traffic = LiveTraffic(
            router=self.router,
            versions=self.versions,
            effects=self._effects(),
            requests=RequestMaker(sc.traffic.mix, self.seeds.child("requests")),
            clock=self.clock,
            fault_rng=self.seeds.stream("faults"),
            max_mirrors=self.live.connections,
            window=sc.window,
            secondary=self.secondary,
        )
        self.faults = LiveFaults(
            sc,
            dependency_proxies=self.stack.proxies if self.stack is not None else {},
            version_proxies={g: v.proxy for g, v in self.versions.items() if isinstance(v, HttpVersion)},
            journal=self.record.journal,
        )
        self.control = LiveControl(
            clock=self.clock,
            record=self.record,
            driver=self.driver,
            router=self.router,
            traffic=self.traffic,
            switch_fault=self.faults.switch,
            abort=self._abort,
        )

    async def _abort(self, t: float) -> None:
        """The flow aborted at ``t``: remove every fault, in the proxies and in-process."""
        assert self.faults is not None
        assert self.traffic is not None
        await self.faults.clear(t, "the flow aborted")
        self.traffic.effects = {
            g: FaultEffects(ended_by(e.faults, t)) for g, e in self.traffic.effects.items()
        }

    def _load(self) -> OpenModelDriver:
        assert self.traffic is not None
        config = DriverConfig(
            profile=traffic_profile(self.scenario.traffic, self.scenario.duration),
            connections=self.live.connections,
            seed=self.seeds.int_seed("arrivals"),
        )
        return OpenModelDriver(config, self.traffic, clock=self.clock)

    # -- the run ------------------------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> RunResult:
        """Run for ``live`` time (the compressed scenario's duration) and check the expectations."""
        if self.logs is not None or not self.scenario.services:
            return _run_on(self.clock, self._run(progress, self.logs or Path(".")))
        with tempfile.TemporaryDirectory(prefix="harness-live-") as folder:
            return _run_on(self.clock, self._run(progress, Path(folder)))

    async def _run(self, progress: Progress | None, logs: Path) -> RunResult:
        self.record.begin()
        try:
            if self.scenario.services:
                self.stack = LiveStack(self.scenario, self.seeds, self.clock, logs, self.notify)
                await self.stack.start()
                self._assemble(self.stack.urls)
            assert self.traffic is not None
            try:
                for version in self.versions.values():
                    await version.start()
                load = await self._drive(progress)
            finally:
                await self.traffic.aclose()
                for version in self.versions.values():
                    await version.close()
        finally:
            if self.stack is not None:
                await self.stack.stop()
        if self.traffic.fatal is not None:
            raise self.traffic.fatal
        return self._finish(load)

    def _finish(self, load: DriverResult) -> RunResult:
        assert self.traffic is not None
        traffic = self.traffic
        traffic.journal_routes(self.record.journal)
        return self.record.finish(
            self.driver.outcome(),
            sequence_digest=traffic.sequence.hexdigest(),
            routes=traffic.routes,
            driver_valid=load.valid,
            achieved_rate=load.achieved_rate,
            corrected_p99=load.corrected.p99,
            mirrors_started=traffic.mirrors.mirrored,
            mirrors_dropped=traffic.mirrors.dropped,
            mirror_timeouts=traffic.mirrors.timeouts,
            out_of_order=len(traffic.out_of_order),
        )

    async def _drive(self, progress: Progress | None) -> DriverResult:
        """Load, windows and fault windows together from one origin; then let mirrors finish."""
        assert self.traffic is not None
        load = self._load()
        origin = self.traffic.origin = self.clock.now()
        result, _, _ = await asyncio.gather(
            load.run(), self.control.windows(origin, progress), self.control.faults(origin)
        )
        await self.traffic.drain()
        return result
