"""The live request path: route each request the load driver sends, call the version, tally it.

:class:`LiveTraffic` is the open-model driver's target. The driver tells it which request of the
schedule it sends and when it was due (:class:`~harness.load.ScheduledTarget`); the request then
waits until the flow has decided the window before the one it is due in, and until every earlier
request has been routed. So the router's seeded draws are taken in schedule order under the
weights of the request's own window, however the driver's workers and the control loop
interleave: two runs with one seed route every request alike (the *routing* journal events).

Per request it builds the payload (the scenario's request mix), takes the router's decision
(group, and whether the flow's mirrors get a copy), and has a
:class:`~harness.rollout.MirrorPool` carry it out: the routed group serves the user, mirrors run in
the background within bounds (at most ``live.connections`` in flight, :data:`MIRROR_TIMEOUT`
each; excess mirrors are dropped and counted) and never delay or fail the user's request. For a
shadow flow each mirrored request goes to the candidate and to a second instance of the primary,
and the three real responses become one :class:`~harness.rollout.Exchange` (Diffy's triple). Every
call is timed on the engine's clock, with a callable's fault windows applied in-process first,
and lands in the :class:`Tally` that the control loop cuts into windows.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.clock import Clock
from harness.journal import Journal
from harness.rollout.contract import Exchange
from harness.rollout.mirror import MirrorConfig, MirrorOutcome, MirrorPool
from harness.rollout.router import Router
from harness.runtime.failures import ContractBroken
from harness.scenario.faults import FaultEffects
from harness.scenario.live_versions import LiveVersion
from harness.scenario.requests import RequestMaker
from harness.scenario.services import Outcomes

__all__ = ["MIRROR_TIMEOUT", "TURN_TIMEOUT", "LiveTraffic", "Tally"]

MIRROR_TIMEOUT = 10.0
"""Seconds a mirrored call may take before it is cut off and counted as a failed call."""
TURN_TIMEOUT = 1.0
"""Seconds a request waits for the one before it to be routed before it goes anyway (journaled)."""

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
    """Outcomes since the last window closed: per group (mirrors included) and as users saw them."""

    versions: dict[str, _Bucket] = field(default_factory=dict)
    user: _Bucket = field(default_factory=_Bucket)

    def add(self, version: str, served: Served, *, user: bool) -> None:
        """Count one call by ``version``; ``user`` when it answered a user (not a mirror)."""
        self.versions.setdefault(version, _Bucket()).add(*served)
        if user:
            self.user.add(*served)

    def cut(self) -> tuple[dict[str, Outcomes], Outcomes]:
        """Each group's outcomes and the users' since the last cut; then start afresh."""
        versions, user = self.versions, self.user
        self.versions, self.user = {}, _Bucket()
        return {name: b.outcomes() for name, b in versions.items()}, user.outcomes()


@dataclass(slots=True)
class _WindowRoutes:
    first: int
    last: int
    counts: Counter[str]
    digest: Any  # hashlib object


@dataclass(frozen=True, slots=True)
class _Call:
    """What a version's handler returns to the mirror pool: the response and how it went."""

    served: Served
    response: Any


def _as_response(call: _Call | None, error: BaseException | None) -> Any:
    if call is None:
        return {"error": type(error).__name__ if error is not None else "dropped"}
    if call.served[1]:
        return {"error": "failed"}
    return call.response


class LiveTraffic:
    """The load driver's target: one user request per ``send_scheduled``, routed and served for real."""

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
        window: float,
        secondary: str | None = None,
    ) -> None:
        self.router = router
        self.versions = versions
        self.effects = dict(effects)
        self.requests = requests
        self.clock = clock
        self.fault_rng = fault_rng
        self.window = window
        self.secondary = secondary
        self.tally = Tally()
        self.mirrors = MirrorPool(
            MirrorConfig(max_concurrency=max_mirrors, timeout=MIRROR_TIMEOUT), on_mirror=self._mirrored
        )
        self.handlers = {name: functools.partial(self._call, name) for name in versions}
        self.origin = 0.0
        self.fatal: ContractBroken | None = None
        self.routes: list[str] = []
        self.sequence = hashlib.sha256()
        self.closed = 0  # windows whose decision has been taken
        self._closed_changed = asyncio.Event()
        self._turn = 0
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self.out_of_order: list[int] = []
        self._window_routes: dict[int, _WindowRoutes] = {}
        self._pairs: dict[int, dict[str, MirrorOutcome[_Call]]] = {}
        self._exchanges: list[Exchange] = []

    async def open(self, connections: int) -> None:
        """Nothing to prepare; versions are started by the engine."""

    async def close(self) -> None:
        """Versions are closed by the engine."""

    async def send(self) -> tuple[bool, str]:
        """A request outside any schedule: routed as the next one."""
        return await self.send_scheduled(self._turn, self.clock.now() - self.origin)

    # -- ordering --------------------------------------------------------------------------------

    def window_closed(self, index: int) -> None:
        """The flow has decided window ``index`` (and steered the router): its successors may route."""
        self.closed = max(self.closed, index + 1)
        self._closed_changed.set()
        self._closed_changed = asyncio.Event()

    async def _after_window(self, index: int) -> None:
        while self.closed < index:
            await self._closed_changed.wait()

    async def _my_turn(self, number: int) -> None:
        if number <= self._turn:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[number] = waiter
        try:
            async with asyncio.timeout(TURN_TIMEOUT):
                await waiter
        except TimeoutError:
            self.out_of_order.append(number)
        finally:
            self._waiting.pop(number, None)

    def _pass_turn(self, number: int) -> None:
        self._turn = max(self._turn, number + 1)
        waiter = self._waiting.get(self._turn)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the request -----------------------------------------------------------------------------

    async def send_scheduled(self, number: int, intended: float) -> tuple[bool, str]:
        """Request ``number`` of the schedule, due ``intended`` seconds into the run."""
        window = int(intended // self.window)
        await self._after_window(window)
        await self._my_turn(number)
        try:
            request = self.requests.request(int(self.requests.draw(1)[0]))
            route = self.router.decide()
            self._note_route(number, window, route.version)
        finally:
            self._pass_turn(number)
        call: _Call = await self.mirrors.serve(route, request, self.handlers)
        self.tally.add(route.version, call.served, user=True)
        failed = call.served[1]
        return (not failed), ("error" if failed else "ok")

    def _note_route(self, number: int, window: int, version: str) -> None:
        self.routes.append(version)
        self.sequence.update(f"{len(self.routes)}:{version};".encode())
        routes = self._window_routes.get(window)
        if routes is None:
            routes = self._window_routes[window] = _WindowRoutes(number, number, Counter(), hashlib.sha256())
        routes.last = number
        routes.counts[version] += 1
        routes.digest.update(f"{number}:{version};".encode())

    def journal_routes(self, journal: Journal) -> None:
        """One ``routing`` event per window: the requests routed, per group, and a hash of the choices."""
        for index in sorted(self._window_routes):
            routes = self._window_routes[index]
            journal.record(
                index * self.window,
                "routing",
                "router",
                window=index,
                first=routes.first,
                last=routes.last,
                counts=dict(sorted(routes.counts.items())),
                sha256=routes.digest.hexdigest(),
            )

    async def _call(self, name: str, request: dict[str, Any]) -> _Call:
        """Call ``name`` with its in-process fault windows applied; failure is an outcome."""
        clock, effects = self.clock, self.effects[name]
        start = clock.now()
        t = start - self.origin
        try:
            delay = effects.added_latency(t)
            if delay > 0:
                await clock.sleep(delay)
            p_fail = effects.failure_probability(t)
            if p_fail and self.fault_rng.random() < p_fail:
                return _Call((clock.now() - start, True), None)  # an injected fault: a failed request
            response = await self.versions[name].call(request)
        except Exception as exc:  # noqa: BLE001 - a failed request is an outcome, unless the adapter broke
            self._classify(name, exc)
            return _Call((clock.now() - start, True), None)
        return _Call((clock.now() - start, False), response)

    def _classify(self, name: str, exc: Exception) -> None:
        """Keep the first contract break (the engine stops the run with it); failures are outcomes."""
        try:
            self.versions[name].policy.check(name, exc)
        except ContractBroken as broken:
            if self.fatal is None:
                self.fatal = broken

    # -- mirrors ---------------------------------------------------------------------------------

    def _mirrored(self, outcome: MirrorOutcome[_Call]) -> None:
        if outcome.timed_out:
            self.tally.add(outcome.shadow_version, (MIRROR_TIMEOUT, True), user=False)
        elif outcome.shadow is not None:
            self.tally.add(outcome.shadow_version, outcome.shadow.served, user=False)
        if self.secondary is not None:
            self._pair(outcome)

    def _pair(self, outcome: MirrorOutcome[_Call]) -> None:
        """Join the candidate's and the secondary's mirrors of one request into an exchange."""
        pair = self._pairs.setdefault(outcome.request_number, {})
        pair[outcome.shadow_version] = outcome
        if len(pair) < 2:
            return
        del self._pairs[outcome.request_number]
        secondary = pair.pop(self.secondary or "")
        [candidate] = pair.values()
        self._exchanges.append(
            Exchange(
                primary=_as_response(candidate.primary, candidate.primary_error),
                secondary=_as_response(secondary.shadow, secondary.shadow_error),
                candidate=_as_response(candidate.shadow, candidate.shadow_error),
                request_id=str(outcome.request_number),
            )
        )

    def take_exchanges(self) -> tuple[Exchange, ...]:
        """The exchanges completed since the last call; unpaired mirrors older than them are dropped."""
        out, self._exchanges = tuple(self._exchanges), []
        if len(self._pairs) > 10_000:
            self._pairs.clear()
        return out

    async def drain(self) -> None:
        """Wait for mirrors in flight (each bounded by :data:`MIRROR_TIMEOUT`)."""
        await self.mirrors.drain()

    async def aclose(self) -> None:
        """Cancel mirrors still in flight."""
        await self.mirrors.aclose()
