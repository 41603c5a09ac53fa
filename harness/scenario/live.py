"""The live engine: the same flows and expectations against real callables or HTTP services.

Load comes from the open-model driver (``harness.load.OpenModelDriver``) at the scenario's
``live.rate``. Each request goes through the run's :class:`~harness.rollout.Router`, seeded as in
the simulated engine, so the sequence of routing choices replays (and, on a fixed split, matches
the simulated engine's request for request). Versions are real (:mod:`.live_versions`); the
request path (:mod:`.live_traffic`) calls them and tallies outcomes; the control loop
(:mod:`.live_control`) closes windows, lets the flow decide and switches fault windows.

Everything reads time and waits through one injected :class:`~harness.clock.Clock`: the system
clock by default, or a :class:`~harness.clock.VirtualClock`, on whose
:class:`~harness.clock.VirtualTimeLoop` a run with callable versions takes no wall time and the
same seed gives the same journal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from harness.clock import Clock, SystemClock, VirtualClock
from harness.errors import InvalidConfig
from harness.load import ConstantArrival, DriverConfig, DriverResult, OpenModelDriver
from harness.mode import Mode
from harness.scenario.control import Progress, flow_router
from harness.scenario.faults import FaultEffects
from harness.scenario.flows import FlowDriver, build_driver
from harness.scenario.live_control import LiveControl
from harness.scenario.live_traffic import LiveTraffic
from harness.scenario.live_versions import CallableVersion, LiveVersion, build_versions
from harness.scenario.model import LiveSpec, Scenario
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
    """Runs one scenario against real versions, timed by ``clock`` (the system clock by default)."""

    def __init__(self, scenario: Scenario, seed: int, *, clock: Clock | None = None) -> None:
        if scenario.live is None:
            raise InvalidConfig(
                f"scenario {scenario.name!r} has no live section; add for example "
                "live: {window: 2s, rate: 200} to run it in live mode (each scenario window then "
                "takes 2 s of real time)."
            )
        self.live: LiveSpec = scenario.live
        self.scenario = scenario.compressed()
        self.seed = seed
        self.clock: Clock = clock or SystemClock()
        self.seeds = Seeds(seed).child(f"scenario/{scenario.name}")
        self.record = RunRecord(self.scenario, seed, Mode.LIVE)
        self.driver: FlowDriver = build_driver(self.scenario, self.seeds.child("flow"))
        self.router = flow_router(self.driver, self.seeds.int_seed("router"))
        self.versions = build_versions(self.scenario, self.seeds, self.clock)
        self.traffic = LiveTraffic(
            router=self.router,
            versions=self.versions,
            effects=self._effects(),
            requests=RequestMaker(self.scenario.traffic.mix, self.seeds.child("requests")),
            clock=self.clock,
            fault_rng=self.seeds.stream("faults"),
            max_mirrors=self.live.connections,
        )
        self.control = LiveControl(
            clock=self.clock,
            record=self.record,
            driver=self.driver,
            router=self.router,
            tally=self.traffic.tally,
            switch_fault=self._switch_fault,
        )

    def _effects(self) -> dict[str, FaultEffects]:
        """In-process fault windows per version: callables only (HTTP versions get proxy toxics)."""
        return {
            name: FaultEffects(
                tuple(f for f in self.scenario.faults if f.target == name)
                if isinstance(version, CallableVersion)
                else ()
            )
            for name, version in self.versions.items()
        }

    async def _switch_fault(self, index: int, on: bool) -> None:
        fault = self.scenario.faults[index]
        version: LiveVersion = self.versions[fault.target]
        await version.apply(fault, index, on)

    def _load(self) -> OpenModelDriver:
        config = DriverConfig(
            profile=ConstantArrival(rate=self.scenario.traffic.rate, duration=self.scenario.duration),
            connections=self.live.connections,
            seed=self.seeds.int_seed("arrivals"),
        )
        return OpenModelDriver(config, self.traffic, clock=self.clock)

    # -- the run ------------------------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> RunResult:
        """Run for ``live`` time (the compressed scenario's duration) and check the expectations."""
        return _run_on(self.clock, self._run(progress))

    async def _run(self, progress: Progress | None) -> RunResult:
        self.record.begin()
        try:
            for version in self.versions.values():
                await version.start()
            load = await self._drive(progress)
        finally:
            await self.traffic.aclose()
            for version in self.versions.values():
                await version.close()
        if self.traffic.fatal is not None:
            raise self.traffic.fatal
        return self.record.finish(
            self.driver.outcome(),
            sequence_digest=self.traffic.sequence.hexdigest(),
            routes=self.traffic.routes,
            driver_valid=load.valid,
            achieved_rate=load.achieved_rate,
            mirrors_started=self.traffic.mirrors.mirrored,
            mirrors_dropped=self.traffic.mirrors.dropped,
            mirror_timeouts=self.traffic.mirrors.timeouts,
        )

    async def _drive(self, progress: Progress | None) -> DriverResult:
        """Load, windows and fault windows together from one origin; then let mirrors finish."""
        load = self._load()
        origin = self.traffic.origin = self.clock.now()
        result, _, _ = await asyncio.gather(
            load.run(), self.control.windows(origin, progress), self.control.faults(origin)
        )
        await self.traffic.drain()
        return result
