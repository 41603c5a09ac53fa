"""One behavioural contract, every backend: memory, embedded fakeredis and a real Redis."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from harness.clock import VirtualClock
from harness.errors import InvalidConfig, StorageUnavailable
from harness.storage import MemoryStorage, RedisStorage, Storage
from tests.support import redis_url, requires_redis

BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("fakeredis", id="fakeredis"),
    pytest.param("redis", id="redis", marks=[requires_redis, pytest.mark.redis]),
]


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    kind = request.param
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    backend: Storage
    if kind == "memory":
        backend = MemoryStorage(clock=VirtualClock())
    elif kind == "fakeredis":
        backend = RedisStorage.embedded(namespace=namespace)
    else:
        url = redis_url()
        assert url is not None
        backend = RedisStorage.from_url(url, namespace=namespace)
    yield backend
    for key in await backend.scan():
        await backend.delete(key)
    await backend.close()


async def test_set_get_delete_round_trip_json(store: Storage) -> None:
    value = {"state": "open", "failures": [1, 2, 3], "rate": 0.5, "ok": True, "none": None}
    assert await store.get("breaker:checkout") is None
    await store.set("breaker:checkout", value)
    assert await store.get("breaker:checkout") == value
    assert await store.delete("breaker:checkout") is True
    assert await store.delete("breaker:checkout") is False
    assert await store.get("breaker:checkout") is None


async def test_values_are_copies_not_shared_objects(store: Storage) -> None:
    value = {"a": [1]}
    await store.set("k", value)
    value["a"].append(2)
    assert await store.get("k") == {"a": [1]}


async def test_incr_counts_from_zero_and_refuses_non_integers(store: Storage) -> None:
    assert await store.incr("hits") == 1
    assert await store.incr("hits", 5) == 6
    assert await store.incr("hits", -2) == 4
    await store.set("name", "checkout")
    with pytest.raises(InvalidConfig, match="name"):
        await store.incr("name")


async def test_incr_ttl_applies_only_on_creation(store: Storage) -> None:
    await store.incr("window", ttl=60)
    first = await store.ttl("window")
    assert first is not None
    assert 0 < first <= 60
    await store.incr("window", ttl=1000)
    second = await store.ttl("window")
    assert second is not None
    assert second <= 60


async def test_ttl_is_reported_and_none_without_expiry(store: Storage) -> None:
    await store.set("lease", "me", ttl=30)
    remaining = await store.ttl("lease")
    assert remaining is not None
    assert 29 < remaining <= 30
    await store.set("forever", 1)
    assert await store.ttl("forever") is None
    assert await store.ttl("absent") is None


async def test_compare_and_set_semantics(store: Storage) -> None:
    assert await store.compare_and_set("leader", None, "a") is True
    assert await store.compare_and_set("leader", None, "b") is False
    assert await store.compare_and_set("leader", "b", "c") is False
    assert await store.compare_and_set("leader", "a", "c") is True
    assert await store.get("leader") == "c"
    await store.set("doc", {"b": 2, "a": 1})
    assert await store.compare_and_set("doc", {"a": 1, "b": 2}, {"a": 2}) is True


async def test_compare_and_set_race_loses_no_update(store: Storage) -> None:
    """50 concurrent read-modify-write loops built on CAS end at exactly 50."""
    await store.set("counter", 0)

    async def bump() -> int:
        attempts = 0
        while True:
            attempts += 1
            current = await store.get("counter")
            if await store.compare_and_set("counter", current, current + 1):
                return attempts
            await asyncio.sleep(0)

    attempts = await asyncio.gather(*(bump() for _ in range(50)))
    assert await store.get("counter") == 50
    assert sum(attempts) >= 50


async def test_scan_by_prefix_is_sorted_and_literal(store: Storage) -> None:
    for key in ("fallback:transition:3", "fallback:transition:1", "fallback:mode", "breaker:x", "a*b"):
        await store.set(key, 1)
    assert await store.scan("fallback:transition:") == ["fallback:transition:1", "fallback:transition:3"]
    assert await store.scan("a*") == ["a*b"]
    assert await store.scan("zzz") == []
    assert len(await store.scan()) == 5


@pytest.mark.parametrize("bad_ttl", [0, -1.5])
async def test_bad_ttl_and_keys_are_usage_errors(store: Storage, bad_ttl: float) -> None:
    with pytest.raises(InvalidConfig, match="ttl"):
        await store.set("k", 1, ttl=bad_ttl)
    with pytest.raises(InvalidConfig, match="non-empty string"):
        await store.get("")


async def test_non_json_values_are_refused(store: Storage) -> None:
    with pytest.raises(InvalidConfig, match="JSON"):
        await store.set("k", object())
    with pytest.raises(InvalidConfig, match="JSON"):
        await store.set("k", float("nan"))


async def test_memory_expiry_follows_the_virtual_clock() -> None:
    clock = VirtualClock()
    store = MemoryStorage(clock=clock)
    await store.set("lease", "me", ttl=10)
    await store.incr("window", ttl=5)
    clock.advance(4.999)
    assert await store.get("lease") == "me"
    assert await store.get("window") == 1
    clock.advance(0.001)
    assert await store.get("window") is None
    assert await store.incr("window", ttl=5) == 1
    clock.advance(5)
    assert await store.get("lease") is None
    assert await store.scan() == []


async def test_memory_snapshot_round_trips_through_an_atomic_json_file(tmp_path: Path) -> None:
    """save() writes every live key and its remaining expiry; load() restores both on its own clock."""
    clock = VirtualClock()
    store = MemoryStorage(clock=clock)
    await store.set("registry/a", {"lifecycle": "production", "parents": ["1.0.0"]})
    await store.incr("registry/seq", 7)
    await store.set("lease", "me", ttl=10)
    await store.set("gone", 1, ttl=1)
    clock.advance(4)
    path = store.save(tmp_path / "state" / "registry.json")
    assert sorted(p.name for p in path.parent.iterdir()) == ["registry.json"]
    later = VirtualClock(start=1000)
    loaded = MemoryStorage.load(path, clock=later)
    assert await loaded.scan() == ["lease", "registry/a", "registry/seq"]
    assert await loaded.get("registry/a") == {"lifecycle": "production", "parents": ["1.0.0"]}
    assert await loaded.incr("registry/seq") == 8
    assert await loaded.ttl("lease") == pytest.approx(6)
    later.advance(6)
    assert await loaded.get("lease") is None


def test_memory_snapshot_files_that_are_not_snapshots_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig, match="no such storage file"):
        MemoryStorage.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidConfig, match="not JSON"):
        MemoryStorage.load(bad)
    bad.write_text('{"keys": {}}')
    with pytest.raises(InvalidConfig, match="not a MemoryStorage snapshot"):
        MemoryStorage.load(bad)
    bad.write_text('{"memory_storage": 1, "keys": {"k": {"value": 1, "ttl": -3}}}')
    with pytest.raises(InvalidConfig, match="ttl=-3"):
        MemoryStorage.load(bad)


def test_invalid_redis_url_names_the_url() -> None:
    with pytest.raises(InvalidConfig, match=r"invalid Redis URL 'http://example:6379'"):
        RedisStorage.from_url("http://example:6379")
    with pytest.raises(InvalidConfig, match=r"invalid Redis URL 'redis://:\*\*\*@127.0.0.1:1/x'"):
        RedisStorage.from_url("redis://:secret@127.0.0.1:1/x")


async def test_unreachable_redis_fails_fast_with_a_clear_message() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = RedisStorage.from_url(f"redis://127.0.0.1:{port}/0", connect_timeout=0.5)
    with pytest.raises(StorageUnavailable, match=rf"Redis at redis://127.0.0.1:{port}/0 is unreachable"):
        await store.get("k")
    await store.close()


async def test_silent_redis_times_out_instead_of_hanging() -> None:
    """A server that accepts connections but never answers fails within the command timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        store = RedisStorage.from_url(f"redis://127.0.0.1:{port}/0", connect_timeout=0.5, command_timeout=0.3)
        async with asyncio.timeout(10):
            with pytest.raises(StorageUnavailable, match="unreachable"):
                await store.get("k")
        await store.close()


def test_namespace_is_validated() -> None:
    with pytest.raises(InvalidConfig, match="namespace"):
        RedisStorage.embedded(namespace="a:b")


def test_backends_satisfy_the_protocol() -> None:
    assert isinstance(MemoryStorage(), Storage)
    assert isinstance(RedisStorage.embedded(), Storage)
