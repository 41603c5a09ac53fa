"""Shared state behind one protocol: in memory, on embedded fakeredis, or on a real Redis.

``RedisStorage`` loads on first use, so ``MemoryStorage`` needs no Redis client installed (the
Redis backend is the ``redis`` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness._lazy import lazy_exports
from harness.errors import StorageFailure, StorageUnavailable
from harness.storage.base import JSONValue, Storage
from harness.storage.memory import MemoryStorage

if TYPE_CHECKING:
    from harness.storage.redis import RedisStorage

__all__ = ["JSONValue", "MemoryStorage", "RedisStorage", "Storage", "StorageFailure", "StorageUnavailable"]

__getattr__, __dir__ = lazy_exports(__name__, {"RedisStorage": "harness.storage.redis"})
