"""The live request path: route each request the load driver sends, call the version, tally it.

:class:`LiveTraffic` is the open-model driver's target. Per request it builds the payload (the
scenario's request mix), takes the router's decision (version, and whether the flow's mirror gets
a copy), and has a :class:`~harness.rollout.MirrorPool` carry it out: the routed version serves
the user, a mirror runs in the background within bounds (at most ``live.connections`` in flight,
:data:`MIRROR_TIMEOUT` each) and never delays or fails the user's request. Every call is timed on
the engine's clock, with a callable's fault windows applied in-process first, and lands in the
:class:`Tally` that the control loop cuts into windows. The sequence of routing choices is hashed
so a run's routing can be compared with another's.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.clock import Clock
from harness.rollout.mirror import MirrorConfig, MirrorOutcome, MirrorPool
from harness.rollout.router import Router
from harness.runtime.failures import ContractBroken
from harness.scenario.faults import FaultEffects
from harness.scenario.live_versions import LiveVersion
from harness.scenario.requests import RequestMaker
from harness.scenario.services import Outcomes

__all__ = ["MIRROR_TIMEOUT", "LiveTraffic", "Tally"]

MIRROR_TIMEOUT = 10.0
"""Seconds a mirrored call may take before it is cut off and counted as a failed call."""

Served = tuple[float, bool]
"""One call's latency (seconds on the engine's clock) and whether it failed."""


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


@dataclass(slots=True)
class Tally:
    """Outcomes since the last window closed: per version (mirrors included) and as users saw them."""

    versions: dict[str, _Bucket] = field(default_factory=dict)
    user: _Bucket = field(default_factory=_Bucket)

    def add(self, version: str, served: Served, *, user: bool) -> None:
        """Count one call by ``version``; ``user`` when it answered a user (not a mirror)."""
        self.versions.setdefault(version, _Bucket()).add(*served)
        if user:
            self.user.add(*served)

    def cut(self) -> tuple[dict[str, Outcomes], Outcomes]:
        """Each version's outcomes and the users' since the last cut; then start afresh."""
        versions, user = self.versions, self.user
        self.versions, self.user = {}, _Bucket()
        return {name: b.outcomes() for name, b in versions.items()}, user.outcomes()


class LiveTraffic:
    """The load driver's target: one user request per ``send``, routed and served for real."""

    def __init__(
        self,
        *,
        router: Router,
        versions: Mapping[str, LiveVersion],
        effects: Mapping[str, FaultEffects],
        requests: RequestMaker,
        clock: Clock,
        fault_rng: random.Random,
        max_mirrors: int,
    ) -> None:
        self.router = router
        self.versions = versions
        self.effects = effects
        self.requests = requests
        self.clock = clock
        self.fault_rng = fault_rng
        self.tally = Tally()
        self.mirrors = MirrorPool(
            MirrorConfig(max_concurrency=max_mirrors, timeout=MIRROR_TIMEOUT), on_mirror=self._mirrored
        )
        self.handlers = {name: functools.partial(self._call, name) for name in versions}
        self.origin = 0.0
        self.fatal: ContractBroken | None = None
        self.routes: list[str] = []
        self.sequence = hashlib.sha256()

    async def open(self, connections: int) -> None:
        """Nothing to prepare; versions are started by the engine."""

    async def send(self) -> tuple[bool, str]:
        """One user request (and its mirror, if the flow mirrors)."""
        request = self.requests.request(int(self.requests.draw(1)[0]))
        route = self.router.decide()
        self.routes.append(route.version)
        self.sequence.update(f"{len(self.routes)}:{route.version};".encode())
        served: Served = await self.mirrors.serve(route, request, self.handlers)
        self.tally.add(route.version, served, user=True)
        failed = served[1]
        return (not failed), ("error" if failed else "ok")

    async def close(self) -> None:
        """Versions are closed by the engine."""

    async def _call(self, name: str, request: dict[str, Any]) -> Served:
        """Call ``name`` with its fault windows applied; latency on the clock, failure as an outcome."""
        clock, effects = self.clock, self.effects[name]
        start = clock.now()
        t = start - self.origin
        try:
            delay = effects.added_latency(t)
            if delay > 0:
                await clock.sleep(delay)
            p_fail = effects.failure_probability(t)
            if p_fail and self.fault_rng.random() < p_fail:
                return clock.now() - start, True
            await self.versions[name].call(request)
        except Exception as exc:  # noqa: BLE001 - a failed request is an outcome, unless the adapter broke
            self._classify(name, exc)
            return clock.now() - start, True
        return clock.now() - start, False

    def _classify(self, name: str, exc: Exception) -> None:
        """Keep the first contract break (the engine stops the run with it); failures are outcomes."""
        try:
            self.versions[name].policy.check(name, exc)
        except ContractBroken as broken:
            if self.fatal is None:
                self.fatal = broken

    def _mirrored(self, outcome: MirrorOutcome[Served]) -> None:
        if outcome.timed_out:
            self.tally.add(outcome.shadow_version, (MIRROR_TIMEOUT, True), user=False)
        elif outcome.shadow is not None:
            self.tally.add(outcome.shadow_version, outcome.shadow, user=False)

    async def drain(self) -> None:
        """Wait for mirrors in flight (each bounded by :data:`MIRROR_TIMEOUT`)."""
        await self.mirrors.drain()

    async def aclose(self) -> None:
        """Cancel mirrors still in flight."""
        await self.mirrors.aclose()
