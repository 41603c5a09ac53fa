"""A virtual-time runtime for real code: the event loop, simulated Redis and HTTP, and the guard.

Real service code (async handlers, ASGI apps) runs as tasks on one :class:`SimulationLoop` per
run, whose time is a :class:`~harness.clock.VirtualClock`. Its Redis and HTTP dependencies are
simulated in memory (:class:`SimulatedRedis`, a fresh fakeredis server; :class:`SimulatedHttp`,
served through ``httpx``) with fault windows on virtual time, reached through the app's own
``redis.asyncio`` and ``httpx`` clients by :class:`SimulatedNetwork`. :class:`RealWorldGuard`
refuses what would make a run irreproducible (sockets, DNS, threads, ``time.sleep``) and puts the
clock and randomness the code reads on the run's. :class:`FailurePolicy` tells a failing service
from a broken adapter.
"""

from __future__ import annotations

from harness.runtime.asgi import AsgiApp, AsgiResponse, LifespanFailed
from harness.runtime.failures import (
    CONTRACT_ERRORS,
    ContractBroken,
    FailureKind,
    FailurePolicy,
    error_type,
)
from harness.runtime.guard import EPOCH, ForbiddenCall, RealWorldGuard
from harness.runtime.http import SimulatedHttp, asgi_server, handler_server
from harness.runtime.loop import SimulationLoop
from harness.runtime.network import SimulatedNetwork, simulated_host
from harness.runtime.redis import SimulatedRedis
from harness.runtime.schedule import (
    HTTP_FAULTS,
    REDIS_FAULTS,
    DependencyFault,
    DependencyFaultKind,
    FaultTimeline,
)

__all__ = [
    "CONTRACT_ERRORS",
    "EPOCH",
    "HTTP_FAULTS",
    "REDIS_FAULTS",
    "AsgiApp",
    "AsgiResponse",
    "ContractBroken",
    "DependencyFault",
    "DependencyFaultKind",
    "FailureKind",
    "FailurePolicy",
    "FaultTimeline",
    "ForbiddenCall",
    "LifespanFailed",
    "RealWorldGuard",
    "SimulatedHttp",
    "SimulatedNetwork",
    "SimulatedRedis",
    "SimulationLoop",
    "asgi_server",
    "error_type",
    "handler_server",
    "simulated_host",
]
