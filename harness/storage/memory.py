"""In-process storage with expiry on an injected clock, and its snapshot as a JSON file."""

from __future__ import annotations

import bisect
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.atomic import write_atomic
from harness.clock import Clock, SystemClock
from harness.errors import InvalidConfig
from harness.inputs import parse_json
from harness.storage.base import JSONValue, decode, encode, validate_key, validate_ttl

__all__ = ["MemoryStorage"]


class MemoryStorage:
    """A ``Storage`` held in a dict; expiry is read from the injected ``Clock``.

    With a ``VirtualClock``, keys expire when the clock is advanced, so TTL behaviour is tested
    without waiting. Thread-safe. Values are stored encoded, so callers never share mutable
    objects with the store.
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._data: dict[str, tuple[str, float | None]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _live(self, key: str) -> str | None:
        """The encoded value under ``key`` if present and unexpired (call with the lock held)."""
        entry = self._data.get(key)
        if entry is None:
            return None
        raw, expires = entry
        if expires is not None and self._clock.now() >= expires:
            del self._data[key]
            return None
        return raw

    def _expiry(self, ttl: float | None) -> float | None:
        return None if ttl is None else self._clock.now() + ttl

    def _check(self, key: str) -> None:
        if self._closed:
            raise InvalidConfig("this MemoryStorage is closed; create a new one.")
        validate_key(key)

    async def get(self, key: str) -> JSONValue:
        """The value under ``key``, or ``None``."""
        self._check(key)
        with self._lock:
            return decode(self._live(key))

    async def set(self, key: str, value: JSONValue, *, ttl: float | None = None) -> None:
        """Store ``value`` with an optional expiry in seconds."""
        self._check(key)
        raw = encode(value)
        expires = self._expiry(validate_ttl(ttl))
        with self._lock:
            self._data[key] = (raw, expires)

    async def delete(self, key: str) -> bool:
        """Remove ``key``; ``True`` if it existed."""
        self._check(key)
        with self._lock:
            existed = self._live(key) is not None
            self._data.pop(key, None)
            return existed

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Atomically add ``amount``; ``ttl`` applies when the key is created."""
        self._check(key)
        validate_ttl(ttl)
        with self._lock:
            raw = self._live(key)
            if raw is None:
                value, expires = amount, self._expiry(ttl)
            else:
                current = decode(raw)
                if not isinstance(current, int) or isinstance(current, bool):
                    raise InvalidConfig(
                        f"incr({key!r}): the key holds {current!r}, not an integer.", field="key", value=key
                    )
                value, expires = current + amount, self._data[key][1]
            self._data[key] = (encode(value), expires)
            return value

    async def compare_and_set(
        self, key: str, expected: JSONValue, new: JSONValue, *, ttl: float | None = None
    ) -> bool:
        """Set ``new`` only if the key holds ``expected`` (``None`` meaning absent)."""
        self._check(key)
        want = None if expected is None else encode(expected)
        raw_new = encode(new)
        expires = self._expiry(validate_ttl(ttl))
        with self._lock:
            if self._live(key) != want:
                return False
            self._data[key] = (raw_new, expires)
            return True

    async def ttl(self, key: str) -> float | None:
        """Seconds left before ``key`` expires, or ``None``."""
        self._check(key)
        with self._lock:
            if self._live(key) is None:
                return None
            expires = self._data[key][1]
            return None if expires is None else expires - self._clock.now()

    async def scan(self, prefix: str = "") -> list[str]:
        """Live keys starting with ``prefix``, sorted."""
        with self._lock:
            keys = sorted(self._data)
            start = bisect.bisect_left(keys, prefix)
            found = []
            for key in keys[start:]:
                if not key.startswith(prefix):
                    break
                if self._live(key) is not None:
                    found.append(key)
            return found

    async def close(self) -> None:
        """Drop all data; further use raises."""
        with self._lock:
            self._data.clear()
            self._closed = True

    def snapshot(self) -> dict[str, Any]:
        """Every live key with its value and the seconds left before it expires (``None``: never).

        The result is JSON; :meth:`from_snapshot` rebuilds the storage from it.
        """
        with self._lock:
            now = self._clock.now()
            keys = {}
            for key in sorted(self._data):
                raw = self._live(key)
                if raw is not None:
                    expires = self._data[key][1]
                    keys[key] = {"value": decode(raw), "ttl": None if expires is None else expires - now}
        return {_SNAPSHOT_FORMAT: 1, "keys": keys}

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any], *, clock: Clock | None = None) -> MemoryStorage:
        """A storage holding what :meth:`snapshot` recorded; expiries restart from ``clock``'s now."""
        keys = snapshot.get("keys") if snapshot.get(_SNAPSHOT_FORMAT) == 1 else None
        if not isinstance(keys, Mapping):
            raise InvalidConfig(
                f"not a MemoryStorage snapshot: expected {{{_SNAPSHOT_FORMAT!r}: 1, 'keys': {{...}}}}.",
                field="snapshot",
            )
        storage = cls(clock=clock)
        for key, entry in keys.items():
            if not isinstance(entry, Mapping) or "value" not in entry:
                raise InvalidConfig(
                    f"snapshot entry {key!r} must be an object with 'value' and 'ttl'.", field=str(key)
                )
            ttl = entry.get("ttl")
            validate_key(key)
            storage._data[key] = (encode(entry["value"]), storage._expiry(validate_ttl(ttl)))
        return storage

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`snapshot` to ``path`` as JSON, atomically; returns the path."""
        return write_atomic(path, json.dumps(self.snapshot(), indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, clock: Clock | None = None) -> MemoryStorage:
        """A storage from a file written by :meth:`save`."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InvalidConfig(f"{os.fspath(path)}: no such storage file.", field="path") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidConfig(f"{os.fspath(path)}: cannot read: {exc}", field="path") from None
        data = parse_json(text, source=os.fspath(path))
        if not isinstance(data, Mapping):
            raise InvalidConfig(f"{os.fspath(path)}: not a MemoryStorage snapshot.", field="path")
        return cls.from_snapshot(data, clock=clock)

    def __repr__(self) -> str:
        return f"MemoryStorage(keys={len(self._data)})"


_SNAPSHOT_FORMAT = "memory_storage"
