"""Fault injection: in-process faults, schedules, a Toxiproxy-compatible fault proxy and more."""

from harness.faults.api import ApiServer, RunningApi, serve_api, start_api
from harness.faults.backend import ProxyHandle, Toxiproxy, ToxiproxyError, backend_from_env
from harness.faults.inject import FaultEvent, Injection, inject
from harness.faults.inprocess import (
    AddLatency,
    CorruptResult,
    Decision,
    Fault,
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
from harness.faults.proxy import ConnectionInfo, FaultProxy
from harness.faults.registry import ProxyRegistry
from harness.faults.schedule import ALL_TARGETS, FaultSchedule, FaultWindow, Swarm
from harness.faults.toxics import Stream, Toxic, ToxicError, ToxicType

__all__ = [
    "ALL_TARGETS",
    "AddLatency",
    "ApiServer",
    "ConnectionInfo",
    "CorruptResult",
    "Decision",
    "Fault",
    "FaultEvent",
    "FaultKind",
    "FaultProxy",
    "FaultSchedule",
    "FaultWindow",
    "Fixed",
    "Hang",
    "Injection",
    "LatencyDistribution",
    "LogNormal",
    "Normal",
    "ProxyHandle",
    "ProxyRegistry",
    "RaiseError",
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
    "corrupt_result",
    "decide",
    "hang",
    "inject",
    "raise_error",
    "serve_api",
    "start_api",
]
