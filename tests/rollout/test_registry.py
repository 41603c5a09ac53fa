"""The version registry: lineage, history and statistics, integrity, journals, concurrency, restarts."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.rollout import (
    ChecksumMismatch,
    HistoryEvent,
    HistoryKind,
    Lifecycle,
    MemoryArtifacts,
    Migration,
    Version,
    VersionRegistry,
)
from harness.storage import MemoryStorage, RedisStorage, Storage
from tests.support import redis_url, requires_redis

ROOT = Path(__file__).resolve().parents[2]


def _v(version: str, *parents: str, content: str | None = None, **kwargs: Any) -> Version:
    return Version(
        name="svc",
        version=version,
        checksum=Version.checksum_of(content if content is not None else version),
        parents=parents,
        **kwargs,
    )


async def test_history_says_who_what_when_why_and_stats_count_time_per_state() -> None:
    clock = VirtualClock(start=1000.0)
    reg = VersionRegistry(MemoryStorage(), "svc", clock=clock)
    await reg.register(_v("1.0.0"), actor="ci", reason="build 17")
    clock.advance(10)
    await reg.promote("1.0.0", actor="canary", reason="canary passed")
    clock.advance(40)
    await reg.register(_v("1.1.0", "1.0.0"), actor="ci")
    await reg.quarantine("1.0.0", actor="oncall", reason="CVE-2024-1")
    clock.advance(30)
    entries = await reg.history("1.0.0")
    assert [(e.kind, e.actor, e.reason, e.t, e.lifecycle) for e in entries] == [
        (HistoryKind.REGISTERED, "ci", "build 17", 1000.0, Lifecycle.EXPERIMENTAL),
        (HistoryKind.LIFECYCLE, "canary", "canary passed", 1010.0, Lifecycle.PRODUCTION),
        (HistoryKind.LIFECYCLE, "oncall", "CVE-2024-1", 1050.0, Lifecycle.QUARANTINE),
    ]
    assert entries[1].data == {"from": "experimental", "to": "production", "verified": False}
    stats = await reg.stats("1.0.0")
    assert dict(stats.time_in) == {
        Lifecycle.EXPERIMENTAL: 10.0,
        Lifecycle.PRODUCTION: 40.0,
        Lifecycle.QUARANTINE: 30.0,
    }
    (spell,) = await reg.production_line()
    assert (spell.version, spell.since, spell.until) == ("1.0.0", 1010.0, 1050.0)
    assert spell.ended_by == "CVE-2024-1"
    assert [v.version for v in await reg.descendants("1.0.0")] == ["1.1.0"]
    assert [v.version for v in await reg.ancestors("1.1.0")] == ["1.0.0"]
    assert (await reg.lineage()).node("1.0.0").note == "CVE-2024-1"


async def test_parents_must_be_registered_first() -> None:
    reg = VersionRegistry(MemoryStorage(), "svc", clock=VirtualClock())
    with pytest.raises(InvalidConfig, match=r"parent\(s\) 1\.0\.0 are not registered"):
        await reg.register(_v("1.1.0", "1.0.0"))
    with pytest.raises(InvalidConfig, match=r"svc@9\.0\.0 is not registered"):
        await reg.migration_path("9.0.0", "1.0.0")


async def test_a_checksum_mismatch_on_promotion_quarantines_with_an_event() -> None:
    artifacts = MemoryArtifacts({"1.0.0": "1.0.0", "1.1.0": "tampered"})
    reg = VersionRegistry(MemoryStorage(), "svc", clock=VirtualClock(), artifacts=artifacts)
    await reg.register(_v("1.0.0"))
    await reg.register(_v("1.1.0", "1.0.0"))
    assert (await reg.promote("1.0.0")).lifecycle is Lifecycle.PRODUCTION
    assert (await reg.history("1.0.0"))[-1].data["verified"] is True
    with pytest.raises(ChecksumMismatch, match=r"svc@1\.1\.0: checksum mismatch") as err:
        await reg.promote("1.1.0", actor="deploy")
    assert err.value.expected == Version.checksum_of("1.1.0")
    assert err.value.actual == Version.checksum_of("tampered")
    assert (await reg.get("1.1.0")).quarantined
    failed, moved = (await reg.history("1.1.0"))[-2:]
    assert (failed.kind, failed.actor, failed.data["actual"]) == (
        HistoryKind.INTEGRITY_FAILED,
        "deploy",
        err.value.actual,
    )
    assert (moved.kind, moved.lifecycle) == (HistoryKind.LIFECYCLE, Lifecycle.QUARANTINE)
    assert moved.seq == failed.seq + 1
    with pytest.raises(ChecksumMismatch):
        await reg.use("1.1.0")
    assert (await reg.stats("1.1.0")).integrity_failures == 2
    assert await reg.verify("1.0.0") is True
    unverifiable = VersionRegistry(MemoryStorage(), "svc", clock=VirtualClock())
    await unverifiable.register(Version(name="svc", version="1.0.0"))
    assert await unverifiable.verify("1.0.0") is False


async def test_a_rollback_target_that_fails_its_integrity_check_is_replaced_and_recorded() -> None:
    """v1.2's newest production ancestor 1.1.0 was tampered with: quarantined, and 1.0.0 is chosen."""
    artifacts = MemoryArtifacts({"1.0.0": "1.0.0", "1.1.0": "evil", "1.2.0": "1.2.0"})
    reg = VersionRegistry(MemoryStorage(), "svc", clock=VirtualClock(), artifacts=artifacts)
    await reg.register(_v("1.0.0", lifecycle=Lifecycle.PRODUCTION))
    await reg.register(_v("1.1.0", "1.0.0", lifecycle=Lifecycle.PRODUCTION))
    await reg.register(_v("1.2.0", "1.1.0", migrations=frozenset({Migration.CONFIG})))
    choice = await reg.choose_rollback_target("1.2.0", actor="oncall")
    assert choice.target == "1.0.0"
    assert choice.reasons[0].startswith("1.1.0 skipped: quarantined: checksum mismatch")
    assert (await reg.get("1.1.0")).quarantined
    chosen = (await reg.history("1.0.0"))[-1]
    assert (chosen.kind, chosen.actor) == (HistoryKind.TARGET_CHOSEN, "oncall")
    assert chosen.data["path"]["versions"] == ["1.2.0", "1.0.0"]
    assert "revert the config migration of 1.2.0" in chosen.reason


@pytest.mark.parametrize("name", ["rollback-corrupt-state", "canary-good"])
async def test_a_scenario_journal_becomes_history_once(name: str) -> None:
    from harness.scenario import run_scenario

    result = run_scenario(ROOT / "scenarios" / f"{name}.yaml", seed=3)
    reg = VersionRegistry(MemoryStorage(), "svc", clock=VirtualClock())
    await reg.register(_v("1.0.0", lifecycle=Lifecycle.PRODUCTION))
    await reg.register(_v("1.1.0", "1.0.0"))
    recorded = await reg.record_journal(
        result.journal.events, candidate="1.1.0", baseline="1.0.0", run=result.digest, actor="scenario"
    )
    again = await reg.record_journal(
        result.journal.events, candidate="1.1.0", baseline="1.0.0", run=result.digest, actor="scenario"
    )
    assert again == []
    kinds = [(e.version, e.kind) for e in recorded]
    if name == "canary-good":
        assert kinds == [("1.1.0", HistoryKind.ROLLOUT_STARTED), ("1.1.0", HistoryKind.PROMOTED)]
        assert (await reg.stats("1.1.0")).promoted == 1
    else:
        assert kinds == [("1.1.0", HistoryKind.ROLLED_BACK), ("1.0.0", HistoryKind.ROLLED_BACK_TO)]
        assert (await reg.stats("1.0.0")).rollback_target == 1
        assert "corrupt" not in recorded[0].reason or recorded[0].reason
    assert all(e.actor == "scenario" and e.ref.startswith(result.digest) for e in recorded)


class _CountingStorage(MemoryStorage):
    """Counts compare-and-set calls that lost a race."""

    def __init__(self) -> None:
        super().__init__(clock=VirtualClock())
        self.conflicts = 0

    async def compare_and_set(self, key: str, expected: Any, new: Any, *, ttl: float | None = None) -> bool:
        await asyncio.sleep(0)  # let the other writer in between the read and the write
        done = await super().compare_and_set(key, expected, new, ttl=ttl)
        self.conflicts += not done
        return done


async def test_interleaved_writers_lose_no_entry_and_number_them_uniquely() -> None:
    storage = _CountingStorage()
    first = VersionRegistry(storage, "svc", clock=VirtualClock())
    second = VersionRegistry(storage, "svc", clock=VirtualClock())
    await first.register(_v("1.0.0"))

    async def write(reg: VersionRegistry, who: str) -> None:
        for i in range(30):
            event = HistoryEvent(version="1.0.0", kind=HistoryKind.TARGET_CHOSEN, actor=who, reason=str(i))
            await reg.record(event)

    await asyncio.gather(write(first, "a"), write(second, "b"))
    entries = await first.history("1.0.0")
    assert storage.conflicts > 0
    assert sorted((e.actor, int(e.reason)) for e in entries[1:]) == sorted(
        [("a", i) for i in range(30)] + [("b", i) for i in range(30)]
    )
    assert len({e.seq for e in entries}) == len(entries) == 61
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)


async def test_the_registry_runs_unchanged_on_embedded_redis() -> None:
    storage = RedisStorage.embedded()
    try:
        reg = VersionRegistry(storage, "svc", clock=VirtualClock())
        await reg.register(_v("1.0.0", lifecycle=Lifecycle.PRODUCTION))
        await reg.register(_v("1.1.0", "1.0.0"))
        assert (await reg.migration_path("1.1.0", "1.0.0")).versions == ("1.1.0", "1.0.0")
        assert await VersionRegistry.names(storage) == ["svc"]
    finally:
        await storage.close()


# -- a real Redis, other processes ---------------------------------------------------------------


def _worker(namespace: str, *args: str) -> subprocess.Popen[str]:
    url = redis_url()
    assert url is not None
    return subprocess.Popen(
        [sys.executable, "-m", "tests.rollout._registry_worker", url, namespace, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out


async def _redis(namespace: str) -> Storage:
    url = redis_url()
    assert url is not None
    return RedisStorage.from_url(url, namespace=namespace)


async def _wipe(storage: Storage) -> None:
    for key in await storage.scan():
        await storage.delete(key)
    await storage.close()


async def _pop(storage: RedisStorage, key: str) -> Any:
    """BLPOP in slices shorter than the client's command timeout, for up to a minute."""
    for _ in range(30):
        found = await storage.client.blpop([storage.key(key)], timeout=2)
        if found is not None:
            return found
    return None


@requires_redis
@pytest.mark.redis
async def test_history_survives_a_process_restart_on_real_redis() -> None:
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    written = json.loads(_finish(_worker(namespace, "history")))
    storage = await _redis(namespace)
    try:
        reg = VersionRegistry(storage, "svc", clock=VirtualClock(start=1_700_000_700.0))
        assert [e.to_dict() for e in await reg.history()] == written
        kinds = [(e["version"], e["kind"]) for e in written]
        assert kinds == [
            ("1.0.0", "registered"),
            ("1.1.0", "registered"),
            ("1.0.0", "lifecycle"),
            ("1.1.0", "rollout_started"),
            ("1.1.0", "rolled_back"),
            ("1.0.0", "rolled_back_to"),
            ("1.1.0", "lifecycle"),
        ]
        stats = await reg.stats("1.1.0")
        assert (stats.rollouts_started, stats.rolled_back) == (1, 1)
        assert (stats.time_in[Lifecycle.EXPERIMENTAL], stats.time_in[Lifecycle.QUARANTINE]) == (600.0, 40.0)
        assert (await reg.lineage()).node("1.1.0").note == "p99 regression"
    finally:
        await _wipe(storage)


@requires_redis
@pytest.mark.redis
async def test_two_processes_registering_concurrently_lose_nothing() -> None:
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    storage = await _redis(namespace)
    assert isinstance(storage, RedisStorage)
    count = 60
    try:
        reg = VersionRegistry(storage, "svc", clock=VirtualClock())
        await reg.register(_v("1.0.0"))
        workers = [_worker(namespace, "writer", name, str(count)) for name in ("a", "b")]
        for _ in workers:
            assert await _pop(storage, "ready") is not None
        for name in ("a", "b"):
            await storage.client.rpush(storage.key(f"go:{name}"), "go")
        for worker in workers:
            _finish(worker)
        versions = {v.version for v in await reg.versions()}
        expected = {"1.0.0"} | {f"{m}.0.{i}" for m in (2, 3) for i in range(count)}
        assert versions == expected
        shared = await reg.history("1.0.0")
        assert sorted(e.reason for e in shared[1:]) == sorted(f"{w}-{i}" for w in "ab" for i in range(count))
        everything = await reg.history()
        assert len({e.seq for e in everything}) == len(everything) == 1 + 2 * count + 2 * count
        lineage = await reg.lineage()
        assert len(lineage.descendants("1.0.0")) == 2 * count
    finally:
        await _wipe(storage)
