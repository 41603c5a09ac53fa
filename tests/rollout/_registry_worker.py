"""A separate process that writes to a version registry on a real Redis.

``python -m tests.rollout._registry_worker URL NAMESPACE history`` writes a small lineage with
lifecycle changes and rollout decisions, then prints the registry's history as JSON and exits.
``... writer NAME COUNT`` waits at a Redis barrier (``RPUSH ready``, then ``BLPOP go:NAME``), then
registers COUNT versions of its own and appends COUNT decisions to the shared version 1.0.0.
"""

from __future__ import annotations

import asyncio
import json
import sys

from harness.clock import VirtualClock
from harness.rollout import (
    Action,
    Decision,
    HistoryEvent,
    HistoryKind,
    RolloutRoles,
    Version,
    VersionRegistry,
)
from harness.storage import RedisStorage

SERVICE = "svc"


def _version(version: str, parents: tuple[str, ...] = ()) -> Version:
    return Version(name=SERVICE, version=version, checksum=Version.checksum_of(version), parents=parents)


async def _history(registry: VersionRegistry, clock: VirtualClock) -> None:
    await registry.register(_version("1.0.0"), actor="ci", reason="first release")
    clock.advance(60)
    await registry.register(_version("1.1.0", ("1.0.0",)), actor="ci")
    await registry.promote("1.0.0", actor="ci", reason="canary passed")
    clock.advance(600)
    decisions = [
        Decision(action=Action.SET_WEIGHT, weights={"1.0.0": 90.0, "1.1.0": 10.0}, t=0.0),
        Decision(action=Action.ROLLBACK, weights={"1.0.0": 100.0, "1.1.0": 0.0}, terminal=True, t=30.0),
    ]
    roles = RolloutRoles(flow="canary", candidate="1.1.0", baseline="1.0.0")
    await registry.record_decisions(decisions, roles, run="run-1")
    await registry.quarantine("1.1.0", actor="oncall", reason="p99 regression")
    print(json.dumps([e.to_dict() for e in await registry.history()]))


async def _writer(registry: VersionRegistry, storage: RedisStorage, name: str, count: int) -> None:
    await storage.client.rpush(storage.key("ready"), name)
    for _ in range(30):  # BLPOP in slices shorter than the client's command timeout
        if await storage.client.blpop([storage.key(f"go:{name}")], timeout=2) is not None:
            break
    major = 2 if name == "a" else 3
    for i in range(count):
        await registry.register(_version(f"{major}.0.{i}", ("1.0.0",)), actor=name)
        kind = HistoryKind.TARGET_CHOSEN
        event = HistoryEvent(version="1.0.0", kind=kind, actor=name, reason=f"{name}-{i}", ref=f"{name}/{i}")
        await registry.record(event)


async def main(url: str, namespace: str, role: str, *args: str) -> None:
    storage = RedisStorage.from_url(url, namespace=namespace)
    clock = VirtualClock(start=1_700_000_000.0)
    registry = VersionRegistry(storage, SERVICE, clock=clock)
    try:
        if role == "history":
            await _history(registry, clock)
        else:
            await _writer(registry, storage, args[0], int(args[1]))
    finally:
        await storage.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
