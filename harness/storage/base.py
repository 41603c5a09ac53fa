"""The ``Storage`` protocol and the JSON codec every backend shares."""

from __future__ import annotations

import json
import math
import sys
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from harness._checks import invalid, positive
from harness.errors import InvalidConfig

if TYPE_CHECKING:
    from harness.storage.redis import RedisStorage

__all__ = ["JSONValue", "Storage", "as_redis", "decode", "encode", "validate_key", "validate_ttl"]

JSONValue = Any
"""A value that round-trips through JSON: None, bool, int, float, str, lists and str-keyed dicts."""


def encode(value: JSONValue) -> str:
    """Canonical JSON (sorted keys, no spaces), so equal values have equal encodings.

    Compare-and-set compares encodings, so ``{"a": 1, "b": 2}`` matches ``{"b": 2, "a": 1}``.
    """
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidConfig(
            f"storage values must be JSON (None, bool, int, float, str, list, dict with str keys); "
            f"got {type(value).__name__}: {exc}",
            field="value",
        ) from None


def decode(raw: str | bytes | None) -> JSONValue:
    """The value stored under an encoding (``None`` when the key is absent)."""
    if raw is None:
        return None
    return json.loads(raw)


def as_redis(storage: object) -> RedisStorage | None:
    """``storage`` when it is a ``RedisStorage``, else ``None``, without importing the Redis client.

    No ``RedisStorage`` exists before its module is loaded, so an unloaded module means "not Redis".
    """
    module = sys.modules.get("harness.storage.redis")
    if module is None or not isinstance(storage, module.RedisStorage):
        return None
    return cast("RedisStorage", storage)


def validate_key(key: str) -> str:
    """Reject keys that are not non-empty strings."""
    if not isinstance(key, str) or not key:
        raise invalid("key", key, "a non-empty string", "storage keys name a value, e.g. 'breaker/payments'")
    return key


def validate_ttl(ttl: float | None) -> float | None:
    """Reject expiries that are not positive numbers of seconds."""
    if ttl is not None and not 0 < ttl < math.inf:  # per call: the check below only words the error
        positive("ttl", ttl, "pass None for no expiry", unit="seconds")
    return ttl


@runtime_checkable
class Storage(Protocol):
    """Shared key-value state for breakers, rate limiters, registries and journals.

    Values are JSON. Keys live under the backend's namespace prefix. Every operation is atomic
    on its own; ``compare_and_set`` and ``incr`` are the building blocks for lock-free updates
    shared by several processes.
    """

    async def get(self, key: str) -> JSONValue:
        """The value under ``key``, or ``None`` if absent or expired."""
        ...

    async def set(self, key: str, value: JSONValue, *, ttl: float | None = None) -> None:
        """Store ``value``; with ``ttl`` it expires after that many seconds."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove ``key``; ``True`` if it existed."""
        ...

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Add ``amount`` to the integer under ``key`` (absent counts as 0) and return it.

        ``ttl`` applies only when this call creates the key (a fixed window counter).
        """
        ...

    async def compare_and_set(
        self, key: str, expected: JSONValue, new: JSONValue, *, ttl: float | None = None
    ) -> bool:
        """Set ``key`` to ``new`` only if it currently holds ``expected`` (``None``: absent)."""
        ...

    async def ttl(self, key: str) -> float | None:
        """Seconds until ``key`` expires; ``None`` if it has no expiry or does not exist."""
        ...

    async def scan(self, prefix: str = "") -> list[str]:
        """All live keys starting with ``prefix``, sorted."""
        ...

    async def close(self) -> None:
        """Release connections; the storage is unusable afterwards."""
        ...
