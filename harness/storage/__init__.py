"""Shared state behind one protocol: in memory, on embedded fakeredis, or on a real Redis."""

from harness.errors import StorageFailure, StorageUnavailable
from harness.storage.base import JSONValue, Storage
from harness.storage.memory import MemoryStorage
from harness.storage.redis import RedisStorage

__all__ = ["JSONValue", "MemoryStorage", "RedisStorage", "Storage", "StorageFailure", "StorageUnavailable"]
