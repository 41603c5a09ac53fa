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

from typing import TYPE_CHECKING

from harness._lazy import lazy_exports
from harness.runtime.asgi import AsgiApp, AsgiResponse, LifespanFailed
from harness.runtime.failures import (
    CONTRACT_ERRORS,
    ContractBroken,
    FailureKind,
    FailurePolicy,
    error_type,
)
from harness.runtime.guard import EPOCH, ForbiddenCall, RealWorldGuard
from harness.runtime.loop import SimulationLoop
from harness.runtime.schedule import (
    HTTP_FAULTS,
    REDIS_FAULTS,
    DependencyFault,
    DependencyFaultKind,
    FaultTimeline,
)

if TYPE_CHECKING:
    from harness.runtime.http import SimulatedHttp, asgi_server, handler_server
    from harness.runtime.network import SimulatedNetwork, simulated_host
    from harness.runtime.redis import SimulatedRedis

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

_LAZY = {
    **dict.fromkeys(("SimulatedHttp", "asgi_server", "handler_server"), "harness.runtime.http"),
    **dict.fromkeys(("SimulatedNetwork", "simulated_host"), "harness.runtime.network"),
    "SimulatedRedis": "harness.runtime.redis",
}
"""Names whose modules need the ``sim`` extra (httpx) or Redis clients: imported on first use."""

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
