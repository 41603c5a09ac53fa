"""chaos-harness: prove that a service survives faults and that a new version is safe to ship.

Subpackages hold the public names (``harness.clock``, ``harness.storage``, ``harness.resilience``,
``harness.faults``, ``harness.rollout``, ``harness.scenario`` ...). This module re-exports the
foundation: clocks, seeds, storage and the error families.
"""

from harness._version import __version__
from harness.clock import Clock, SystemClock, VirtualClock, VirtualTimeLoop
from harness.errors import Finding, HarnessError, InvalidConfig, StorageUnavailable, UsageError
from harness.seeding import Seeds
from harness.storage import MemoryStorage, RedisStorage, Storage

__all__ = [
    "Clock",
    "Finding",
    "HarnessError",
    "InvalidConfig",
    "MemoryStorage",
    "RedisStorage",
    "Seeds",
    "Storage",
    "StorageUnavailable",
    "SystemClock",
    "UsageError",
    "VirtualClock",
    "VirtualTimeLoop",
    "__version__",
]
