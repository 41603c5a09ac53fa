"""chaos-harness: prove that a service survives faults and that a new version is safe to ship.

Subpackages hold the public names (``harness.clock``, ``harness.storage``, ``harness.resilience``,
``harness.faults``, ``harness.rollout``, ``harness.scenario`` ...). This module re-exports the
foundation: clocks, seeds, storage, the run mode and the error families. Names are imported on first use, so
``import harness.seeding`` (as the pytest plugin does) does not pay for the Redis client.
"""

from __future__ import annotations

from harness._lazy import lazy_exports
from harness._version import __version__

TYPE_CHECKING = False  # not typing's: ``import harness`` (and ``harness --version``) stays cheap
if TYPE_CHECKING:
    from harness.clock import Clock, SystemClock, VirtualClock, VirtualTimeLoop, WallClock
    from harness.errors import (
        Finding,
        HarnessError,
        InvalidConfig,
        StorageFailure,
        StorageUnavailable,
        UsageError,
    )
    from harness.mode import Mode
    from harness.seeding import Seeds
    from harness.storage import MemoryStorage, RedisStorage, Storage

__all__ = [
    "Clock",
    "Finding",
    "HarnessError",
    "InvalidConfig",
    "MemoryStorage",
    "Mode",
    "RedisStorage",
    "Seeds",
    "Storage",
    "StorageFailure",
    "StorageUnavailable",
    "SystemClock",
    "UsageError",
    "VirtualClock",
    "VirtualTimeLoop",
    "WallClock",
    "__version__",
]

_HOMES = {
    "Clock": "harness.clock",
    "SystemClock": "harness.clock",
    "VirtualClock": "harness.clock",
    "VirtualTimeLoop": "harness.clock",
    "WallClock": "harness.clock",
    "Finding": "harness.errors",
    "HarnessError": "harness.errors",
    "InvalidConfig": "harness.errors",
    "StorageFailure": "harness.errors",
    "StorageUnavailable": "harness.errors",
    "UsageError": "harness.errors",
    "Mode": "harness.mode",
    "Seeds": "harness.seeding",
    "MemoryStorage": "harness.storage",
    "RedisStorage": "harness.storage",
    "Storage": "harness.storage",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
