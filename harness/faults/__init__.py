"""Fault injection: in-process faults, schedules, a Toxiproxy-compatible fault proxy and more.

The HTTP API (aiohttp), the Toxiproxy client and the Redis faults (redis-py) load on first use,
so ``from harness.faults import inject`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness._lazy import Renamed, lazy_exports
from harness.faults import clock_faults, process_faults
from harness.faults.clock_faults import ClockJump, FaultyClock
from harness.faults.inject import FaultEvent, FaultInjector, Injection, inject
from harness.faults.inprocess import (
    AddLatency,
    CorruptResult,
    Fault,
    FaultDecision,
    FaultKind,
    Fixed,
    Hang,
    LatencyDistribution,
    LogNormal,
    Normal,
    RaiseError,
    Uniform,
    add_latency,
    corrupt_result,
    decide,
    hang,
    raise_error,
)
from harness.faults.process_faults import ProcessAction, ProcessFaults, ProcessStep
from harness.faults.proxy import ConnectionInfo, FastPath, FaultProxy
from harness.faults.registry import ProxyRegistry
from harness.faults.schedule import ALL_TARGETS, FaultSchedule, FaultWindow, Swarm
from harness.faults.toxics import Stream, Toxic, ToxicError, ToxicType

if TYPE_CHECKING:
    from harness.faults import redis_faults
    from harness.faults.api import ApiServer, RunningApi, serve_api, start_api
    from harness.faults.backend import ProxyHandle, Toxiproxy, ToxiproxyError, backend_from_env
    from harness.faults.redis_faults import (
        FaultyStorage,
        RedisFault,
        RedisFaultKind,
        RedisFaults,
        inject_redis,
    )

_LAZY = {
    "redis_faults": "harness.faults.redis_faults",
    **dict.fromkeys(("ApiServer", "RunningApi", "serve_api", "start_api"), "harness.faults.api"),
    **dict.fromkeys(
        ("ProxyHandle", "Toxiproxy", "ToxiproxyError", "backend_from_env"), "harness.faults.backend"
    ),
    **dict.fromkeys(
        ("FaultyStorage", "RedisFault", "RedisFaultKind", "RedisFaults", "inject_redis"),
        "harness.faults.redis_faults",
    ),
}


_RENAMED = {"Decision": Renamed("harness.faults", "FaultDecision")}
"""Names this package exported before, for one release: each read warns and names the new home."""

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, renamed=_RENAMED)


__all__ = [
    "ALL_TARGETS",
    "AddLatency",
    "ApiServer",
    "ClockJump",
    "ConnectionInfo",
    "CorruptResult",
    "FastPath",
    "Fault",
    "FaultDecision",
    "FaultEvent",
    "FaultInjector",
    "FaultKind",
    "FaultProxy",
    "FaultSchedule",
    "FaultWindow",
    "FaultyClock",
    "FaultyStorage",
    "Fixed",
    "Hang",
    "Injection",
    "LatencyDistribution",
    "LogNormal",
    "Normal",
    "ProcessAction",
    "ProcessFaults",
    "ProcessStep",
    "ProxyHandle",
    "ProxyRegistry",
    "RaiseError",
    "RedisFault",
    "RedisFaultKind",
    "RedisFaults",
    "RunningApi",
    "Stream",
    "Swarm",
    "Toxic",
    "ToxicError",
    "ToxicType",
    "Toxiproxy",
    "ToxiproxyError",
    "Uniform",
    "add_latency",
    "backend_from_env",
    "clock_faults",
    "corrupt_result",
    "decide",
    "hang",
    "inject",
    "inject_redis",
    "process_faults",
    "raise_error",
    "redis_faults",
    "serve_api",
    "start_api",
]
