"""ServiceRegistry: registration, heartbeats, TTL expiry, failed checks, callbacks, discovery."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.health import (
    CallableCheck,
    ChangeReason,
    HealthStatus,
    RegistryConfig,
    ServiceInstance,
    ServiceRegistry,
)
from harness.storage import MemoryStorage, RedisStorage
from tests.support import redis_url, requires_redis

Event = tuple[str, str, ChangeReason]
T = TypeVar("T")


def watch(registry: ServiceRegistry) -> list[Event]:
    events: list[Event] = []
    registry.on_up(lambda i, r: events.append(("up", i.id, r)))
    registry.on_down(lambda i, r: events.append(("down", i.id, r)))
    return events


def test_register_and_discover_by_type(
    service_registry: ServiceRegistry, virtual_clock: VirtualClock
) -> None:
    """Instances are found by type with their metadata; types lists what is live."""

    async def scenario() -> None:
        await service_registry.register("api-2", "api", address="10.0.0.2:80", metadata={"zone": "b"})
        await service_registry.register("api-1", "api", address="10.0.0.1:80", metadata={"zone": "a"})
        await service_registry.register("db-1", "db")
        apis = await service_registry.discover("api")
        assert [(i.id, i.address, dict(i.metadata)) for i in apis] == [
            ("api-1", "10.0.0.1:80", {"zone": "a"}),
            ("api-2", "10.0.0.2:80", {"zone": "b"}),
        ]
        assert [i.id for i in await service_registry.discover()] == ["api-1", "api-2", "db-1"]
        assert await service_registry.types() == ["api", "db"]

    virtual_clock.run(scenario())


def test_instance_expires_without_heartbeats(
    service_registry: ServiceRegistry, virtual_clock: VirtualClock
) -> None:
    """Heartbeats keep an instance alive; without them it disappears after its TTL."""
    events = watch(service_registry)

    async def scenario() -> None:
        await service_registry.register("w", "worker", ttl=10.0)
        virtual_clock.advance(9.0)
        assert await service_registry.heartbeat("w")
        virtual_clock.advance(9.0)
        assert await service_registry.get("w") is not None
        virtual_clock.advance(1.0)
        assert await service_registry.get("w") is None
        assert not await service_registry.heartbeat("w")
        await service_registry.refresh()

    virtual_clock.run(scenario())
    assert events == [("up", "w", ChangeReason.REGISTERED), ("down", "w", ChangeReason.GONE)]


def test_failed_checks_deregister_after_threshold(virtual_clock: VirtualClock) -> None:
    """N consecutive failed checks deregister; a success in between resets the count."""
    registry = ServiceRegistry(
        MemoryStorage(clock=virtual_clock), clock=virtual_clock, config=RegistryConfig(failure_threshold=3)
    )
    events = watch(registry)
    failing = CallableCheck("probe", lambda: False)

    async def scenario() -> list[int]:
        await registry.register("a", "api")
        counts = [await registry.record_check("a", False), await registry.record_check("a", False)]
        counts.append(await registry.record_check("a", HealthStatus.HEALTHY))
        counts.append(await registry.record_check("a", HealthStatus.DEGRADED))  # not a failure by default
        counts.append(await registry.record_check("a", False))
        counts.append(await registry.record_check("a", False))
        assert await registry.check("a", failing) is HealthStatus.UNHEALTHY
        counts.append(await registry.record_check("a", False))  # gone: nothing recorded
        return counts

    assert virtual_clock.run(scenario()) == [1, 2, 0, 0, 1, 2, 0]
    assert events[-1] == ("down", "a", ChangeReason.FAILED_CHECKS)


def test_record_check_keeps_the_remaining_ttl(
    service_registry: ServiceRegistry, virtual_clock: VirtualClock
) -> None:
    """Recording a check is not a heartbeat: the instance still expires on time."""

    async def scenario() -> None:
        await service_registry.register("a", "api", ttl=10.0)
        virtual_clock.advance(6.0)
        await service_registry.record_check("a", False)
        virtual_clock.advance(4.0)
        assert await service_registry.get("a") is None

    virtual_clock.run(scenario())


def test_deregister_fires_down_once(service_registry: ServiceRegistry, virtual_clock: VirtualClock) -> None:
    """Deregistering removes the instance and notifies; a second time returns False quietly."""
    events = watch(service_registry)

    async def scenario() -> tuple[bool, bool]:
        await service_registry.register("a", "api")
        return await service_registry.deregister("a"), await service_registry.deregister("a")

    assert virtual_clock.run(scenario()) == (True, False)
    assert events[-1] == ("down", "a", ChangeReason.DEREGISTERED)
    assert len(events) == 2


def test_keep_alive_heartbeats_on_the_clock(
    service_registry: ServiceRegistry, virtual_clock: VirtualClock
) -> None:
    """keep_alive() heartbeats every interval and stops when the instance is deregistered."""

    async def scenario() -> int:
        await service_registry.register("a", "api", ttl=5.0)
        task = asyncio.create_task(service_registry.keep_alive("a", 2.0))
        await asyncio.sleep(61.0)
        instance = await service_registry.get("a")
        assert instance is not None
        await service_registry.deregister("a")
        await asyncio.wait_for(task, timeout=10.0)
        return instance.heartbeats

    assert virtual_clock.run(scenario()) == 31  # t = 0, 2, ..., 60


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ttl": 0}, "ttl=0"),
        ({"failure_threshold": 0}, "failure_threshold=0"),
        ({"namespace": "a:b"}, "namespace='a:b'"),
    ],
)
def test_registry_config_validates(kwargs: dict[str, object], match: str) -> None:
    """Bad registry settings fail at construction with the value."""
    with pytest.raises(InvalidConfig, match=match):
        RegistryConfig(**kwargs)  # type: ignore[arg-type]


def test_register_rejects_bad_ids_and_metadata(
    service_registry: ServiceRegistry, virtual_clock: VirtualClock
) -> None:
    """Ids with whitespace and non-JSON metadata are usage errors."""
    with pytest.raises(InvalidConfig, match="instance_id='a b'"):
        virtual_clock.run(service_registry.register("a b", "api"))
    with pytest.raises(InvalidConfig, match="must be JSON"):
        virtual_clock.run(service_registry.register("a", "api", metadata={"x": object()}))


def test_instance_round_trips_through_json() -> None:
    """The stored form rebuilds the same instance."""
    instance = ServiceInstance(
        id="a", type="api", address="h:1", metadata={"k": [1, 2]}, ttl=3.0, heartbeats=4
    )
    assert ServiceInstance.from_json(instance.to_json()) == instance


class RegistryMachine(RuleBasedStateMachine):
    """The registry agrees with a model of expiry times under registers, heartbeats and clock advances."""

    ids = st.sampled_from(["a", "b", "c"])

    @initialize()
    def setup(self) -> None:
        self.clock = VirtualClock()
        self.registry = ServiceRegistry(
            MemoryStorage(clock=self.clock), clock=self.clock, config=RegistryConfig(failure_threshold=2)
        )
        self.expiry: dict[str, float] = {}
        self.failures: dict[str, int] = {}
        self.downs: list[str] = []
        self.registry.on_down(lambda i, r: self.downs.append(i.id))
        self.runner = asyncio.Runner(loop_factory=self.clock.loop_factory)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def teardown(self) -> None:
        if hasattr(self, "runner"):
            self.runner.close()

    def _live(self, instance_id: str) -> bool:
        return instance_id in self.expiry and self.clock.now() < self.expiry[instance_id]

    @rule(instance_id=ids, ttl=st.sampled_from([1.0, 2.5, 10.0]))
    def register(self, instance_id: str, ttl: float) -> None:
        self.run(self.registry.register(instance_id, "svc", ttl=ttl))
        self.expiry[instance_id] = self.clock.now() + ttl
        self.failures[instance_id] = 0

    @rule(instance_id=ids)
    def heartbeat(self, instance_id: str) -> None:
        alive = self._live(instance_id)
        assert self.run(self.registry.heartbeat(instance_id)) is alive
        if alive:
            ttl = self.run(self.registry.get(instance_id)).ttl  # type: ignore[union-attr]
            self.expiry[instance_id] = self.clock.now() + ttl

    @rule(instance_id=ids, ok=st.booleans())
    def record_check(self, instance_id: str, ok: bool) -> None:
        count = self.run(self.registry.record_check(instance_id, ok))
        if not self._live(instance_id):
            assert count == 0
            return
        self.failures[instance_id] = 0 if ok else self.failures[instance_id] + 1
        assert count == self.failures[instance_id]
        if self.failures[instance_id] >= 2:
            del self.expiry[instance_id]
            assert self.downs[-1] == instance_id

    @rule(instance_id=ids)
    def deregister(self, instance_id: str) -> None:
        alive = self._live(instance_id)
        assert self.run(self.registry.deregister(instance_id)) is alive
        self.expiry.pop(instance_id, None)

    @rule(dt=st.sampled_from([0.5, 1.0, 2.5, 5.0]))
    def advance(self, dt: float) -> None:
        self.clock.advance(dt)

    @precondition(lambda self: hasattr(self, "clock"))
    @invariant()
    def live_set_matches_model(self) -> None:
        live = sorted(i for i in self.expiry if self._live(i))
        assert [i.id for i in self.run(self.registry.discover("svc"))] == live


TestRegistryMachine = RegistryMachine.TestCase
TestRegistryMachine.settings = settings(max_examples=50, stateful_step_count=25, deadline=None)


_WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from harness.health import ServiceRegistry
    from harness.storage import RedisStorage

    async def main(url, namespace):
        storage = RedisStorage.from_url(url, namespace=namespace)
        registry = ServiceRegistry(storage)
        await registry.register("worker-a", "worker", address="proc-a", ttl=30.0)
        seen = [i.id for i in await registry.discover("worker")]
        print("registered", ",".join(seen), flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        await registry.deregister("worker-a")
        print("done", flush=True)
        await storage.close()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


@requires_redis
@pytest.mark.redis
def test_registry_shared_by_two_processes_on_real_redis() -> None:
    """Two processes see each other's instances; one process's deregistration reaches the other."""
    url = redis_url()
    assert url is not None
    namespace = f"health-test-{uuid.uuid4().hex[:8]}"
    with asyncio.Runner() as runner:
        storage = RedisStorage.from_url(url, namespace=namespace)
        registry = ServiceRegistry(storage)
        events = watch(registry)
        runner.run(registry.register("worker-b", "worker", address="proc-b"))
        with subprocess.Popen(
            [sys.executable, "-c", _WORKER, url, namespace],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as proc:
            try:
                _converse(runner, registry, proc)
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait(timeout=10)
                runner.run(_cleanup(storage))
    assert events == [
        ("up", "worker-b", ChangeReason.REGISTERED),
        ("up", "worker-a", ChangeReason.DISCOVERED),
        ("down", "worker-a", ChangeReason.GONE),
    ]


def _converse(runner: asyncio.Runner, registry: ServiceRegistry, proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    assert proc.stdin is not None
    # The worker registered after this process did, and reports what it discovered.
    assert proc.stdout.readline().split() == ["registered", "worker-a,worker-b"]
    assert [i.address for i in runner.run(registry.discover("worker"))] == ["proc-a", "proc-b"]
    up, _ = runner.run(registry.refresh())
    assert [i.id for i in up] == ["worker-a"]
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "done"
    _, down = runner.run(registry.refresh())
    assert [i.id for i in down] == ["worker-a"]
    assert [i.id for i in runner.run(registry.discover("worker"))] == ["worker-b"]
    assert proc.wait(timeout=30) == 0


async def _cleanup(storage: RedisStorage) -> None:
    for key in await storage.scan(""):
        await storage.delete(key)
    await storage.close()


def test_watch_reports_expiry_within_one_interval(
    service_registry: ServiceRegistry, virtual_clock: VirtualClock
) -> None:
    """watch() notices an expired instance at the first refresh after its TTL."""
    events: list[tuple[str, float]] = []
    service_registry.on_down(lambda i, r: events.append((i.id, virtual_clock.now())))

    async def scenario() -> None:
        await service_registry.register("a", "api", ttl=12.0)
        task = asyncio.create_task(service_registry.watch(5.0))
        await asyncio.sleep(30.0)
        task.cancel()

    virtual_clock.run(scenario())
    assert events == [("a", 15.0)]


async def test_concurrent_heartbeats_and_failures_lose_no_update() -> None:
    """Many concurrent heartbeats and failed checks on shared Redis (fakeredis) are all counted."""
    storage = RedisStorage.embedded()
    registry = ServiceRegistry(storage, config=RegistryConfig(failure_threshold=1000))
    try:
        await registry.register("a", "api", ttl=60.0)
        beats = [registry.heartbeat("a") for _ in range(15)]
        checks = [registry.record_check("a", False) for _ in range(15)]
        outcomes = await asyncio.gather(*beats, *checks)
        instance = await registry.get("a")
    finally:
        await storage.close()
    assert instance is not None
    assert (instance.heartbeats, instance.failures) == (15, 15)
    assert all(outcomes[:15])
    assert sorted(outcomes[15:]) == list(range(1, 16))
