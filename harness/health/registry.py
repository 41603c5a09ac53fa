"""``ServiceRegistry``: service instances with metadata and a TTL, kept alive by heartbeats.

Instances live in :class:`~harness.storage.Storage` under ``<namespace>:instance:<id>`` with
the storage's own expiry, so every process sharing the storage (Redis) sees the same live
set, and an instance whose owner stops heartbeating disappears by itself after its TTL.
Heartbeats refresh the expiry with compare-and-set, so a heartbeat never resurrects an
instance that was deregistered or expired meanwhile (it returns ``False``: register again).
After ``failure_threshold`` consecutive failed health checks an instance is deregistered.

Up/down callbacks fire for changes this registry makes and, on :meth:`refresh`, for changes
it observes (instances registered by other processes, instances that expired).
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness._checks import integer, invalid, positive
from harness.clock import Clock, SystemClock
from harness.health.checks import HealthCheck
from harness.health.status import HealthStatus
from harness.storage.base import JSONValue, Storage, encode

__all__ = ["ChangeReason", "RegistryConfig", "ServiceCallback", "ServiceInstance", "ServiceRegistry"]

_log = logging.getLogger("harness.health.registry")


class ChangeReason(enum.Enum):
    """Why an instance came up or went down."""

    REGISTERED = "registered"
    DISCOVERED = "discovered"
    DEREGISTERED = "deregistered"
    GONE = "gone"  # seen missing on refresh(): expired, or removed by another process
    FAILED_CHECKS = "failed_checks"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceInstance:
    """One registered instance of a service type."""

    id: str
    type: str
    address: str = ""
    metadata: Mapping[str, JSONValue] = field(default_factory=dict)
    ttl: float = 30.0
    heartbeats: int = 0
    failures: int = 0  # consecutive failed health checks

    def to_json(self) -> dict[str, JSONValue]:
        """The stored form."""
        return {
            "id": self.id,
            "type": self.type,
            "address": self.address,
            "metadata": dict(self.metadata),
            "ttl": self.ttl,
            "heartbeats": self.heartbeats,
            "failures": self.failures,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServiceInstance:
        """Rebuild an instance from its stored form."""
        return cls(
            id=str(data["id"]),
            type=str(data["type"]),
            address=str(data.get("address", "")),
            metadata=dict(data.get("metadata") or {}),
            ttl=float(data.get("ttl", 30.0)),
            heartbeats=int(data.get("heartbeats", 0)),
            failures=int(data.get("failures", 0)),
        )


ServiceCallback = Callable[[ServiceInstance, ChangeReason], object]
"""``callback(instance, reason)``; may be a coroutine function."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistryConfig:
    """Where instances live in storage, how long they live without a heartbeat, and when failing
    health checks take them out."""

    namespace: str = "registry"
    ttl: float = 30.0  # seconds an instance lives without a heartbeat
    failure_threshold: int = 3  # consecutive failed checks that deregister an instance
    degraded_is_failure: bool = False  # count DEGRADED check results as failures

    def __post_init__(self) -> None:
        if not self.namespace or ":" in self.namespace:
            raise invalid("namespace", self.namespace, "a non-empty name without ':'", "e.g. 'registry'")
        _check_ttl(self.ttl)
        integer(
            "failure_threshold",
            self.failure_threshold,
            "consecutive failed checks before deregistration",
            at_least=1,
        )


def _check_ttl(ttl: float) -> float:
    return positive("ttl", ttl, "e.g. 30.0", unit="seconds")


def _check_id(name: str, value: str) -> str:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise invalid(name, value, "a non-empty string without whitespace", "e.g. 'api-1'")
    return value


class ServiceRegistry:
    """Register, heartbeat, discover and deregister service instances on shared storage."""

    def __init__(
        self, storage: Storage, *, clock: Clock | None = None, config: RegistryConfig | None = None
    ) -> None:
        self.storage = storage
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.config = config if config is not None else RegistryConfig()
        self._prefix = f"{self.config.namespace}:instance:"
        self._known: dict[str, ServiceInstance] = {}
        self._on_up: list[ServiceCallback] = []
        self._on_down: list[ServiceCallback] = []

    def _key(self, instance_id: str) -> str:
        return self._prefix + instance_id

    def on_up(self, callback: ServiceCallback) -> None:
        """Call ``callback(instance, reason)`` when an instance is registered or discovered."""
        self._on_up.append(callback)

    def on_down(self, callback: ServiceCallback) -> None:
        """Call ``callback(instance, reason)`` when an instance is deregistered, expires or fails."""
        self._on_down.append(callback)

    async def _fire(
        self, callbacks: list[ServiceCallback], instance: ServiceInstance, reason: ChangeReason
    ) -> None:
        for callback in list(callbacks):
            try:
                outcome = callback(instance, reason)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:  # noqa: BLE001 - one broken callback must not stop the others
                _log.exception("registry callback %r failed for %s (%s)", callback, instance.id, reason.value)

    async def register(
        self,
        instance_id: str,
        service_type: str,
        *,
        address: str = "",
        metadata: Mapping[str, JSONValue] | None = None,
        ttl: float | None = None,
    ) -> ServiceInstance:
        """Register (or re-register) an instance; it lives ``ttl`` seconds without a heartbeat."""
        instance = ServiceInstance(
            id=_check_id("instance_id", instance_id),
            type=_check_id("service_type", service_type),
            address=address,
            metadata=dict(metadata or {}),
            ttl=_check_ttl(ttl if ttl is not None else self.config.ttl),
        )
        encode(instance.to_json())  # metadata must be JSON; fails here with a clear message
        await self.storage.set(self._key(instance.id), instance.to_json(), ttl=instance.ttl)
        self._known[instance.id] = instance
        await self._fire(self._on_up, instance, ChangeReason.REGISTERED)
        return instance

    async def heartbeat(self, instance_id: str) -> bool:
        """Refresh the instance's TTL; ``False`` if it is gone (deregistered or expired)."""
        key = self._key(instance_id)
        while True:  # a failed compare-and-set means another writer got through: try again
            current = await self.storage.get(key)
            if current is None:
                return False
            updated = dict(current, heartbeats=int(current.get("heartbeats", 0)) + 1)
            if await self.storage.compare_and_set(key, current, updated, ttl=float(current["ttl"])):
                return True
            await asyncio.sleep(0)

    async def deregister(self, instance_id: str, *, reason: ChangeReason = ChangeReason.DEREGISTERED) -> bool:
        """Remove the instance; ``True`` if it was registered. Fires the down callbacks."""
        key = self._key(instance_id)
        stored = await self.storage.get(key)
        existed = await self.storage.delete(key)
        known = self._known.pop(instance_id, None)
        instance = ServiceInstance.from_json(stored) if stored is not None else known
        if existed and instance is not None:
            await self._fire(self._on_down, instance, reason)
        return existed

    async def get(self, instance_id: str) -> ServiceInstance | None:
        """The live instance with this id, or ``None``."""
        stored = await self.storage.get(self._key(instance_id))
        return None if stored is None else ServiceInstance.from_json(stored)

    async def _live(self) -> dict[str, ServiceInstance]:
        live: dict[str, ServiceInstance] = {}
        for key in await self.storage.scan(self._prefix):
            stored = await self.storage.get(key)
            if stored is not None:
                instance = ServiceInstance.from_json(stored)
                live[instance.id] = instance
        return live

    async def discover(self, service_type: str | None = None) -> list[ServiceInstance]:
        """Live instances (of ``service_type``, or all), sorted by id."""
        live = await self._live()
        return [i for _, i in sorted(live.items()) if service_type is None or i.type == service_type]

    async def types(self) -> list[str]:
        """The service types that have at least one live instance, sorted."""
        return sorted({i.type for i in (await self._live()).values()})

    async def refresh(self) -> tuple[list[ServiceInstance], list[ServiceInstance]]:
        """Compare the live set with the last one seen; fire callbacks; return ``(up, down)``."""
        live = await self._live()
        up = [i for k, i in sorted(live.items()) if k not in self._known]
        down = [i for k, i in sorted(self._known.items()) if k not in live]
        self._known = live
        for instance in up:
            await self._fire(self._on_up, instance, ChangeReason.DISCOVERED)
        for instance in down:
            await self._fire(self._on_down, instance, ChangeReason.GONE)
        return up, down

    def _failed(self, outcome: bool | HealthStatus) -> bool:
        if isinstance(outcome, HealthStatus):
            if outcome is HealthStatus.DEGRADED:
                return self.config.degraded_is_failure
            return outcome is HealthStatus.UNHEALTHY
        return not outcome

    async def record_check(self, instance_id: str, outcome: bool | HealthStatus) -> int:
        """Record a health-check outcome; returns the consecutive failures so far.

        The count lives in the instance's record (it expires with it); recording keeps the
        instance's remaining TTL (a check is not a heartbeat). A success resets the count;
        reaching ``failure_threshold`` deregisters the instance (down callbacks get
        ``ChangeReason.FAILED_CHECKS``). An instance that is gone records nothing and returns 0.
        """
        failed = self._failed(outcome)
        key = self._key(instance_id)
        while True:  # a failed compare-and-set means another writer got through: try again
            current = await self.storage.get(key)
            remaining = await self.storage.ttl(key)
            if current is None or remaining is None or remaining <= 0:
                return 0  # gone, or expiring this instant
            failures = int(current.get("failures", 0)) + 1 if failed else 0
            if failures >= self.config.failure_threshold:
                await self.deregister(instance_id, reason=ChangeReason.FAILED_CHECKS)
                return failures
            updated = dict(current, failures=failures)
            if updated == current or await self.storage.compare_and_set(key, current, updated, ttl=remaining):
                return failures
            await asyncio.sleep(0)

    async def check(self, instance_id: str, check: HealthCheck) -> HealthStatus:
        """Run ``check`` for the instance and record its outcome."""
        result = await check.check()
        await self.record_check(instance_id, result.status)
        return result.status

    async def watch(self, interval: float) -> None:
        """:meth:`refresh` every ``interval`` seconds on the clock until cancelled."""
        _check_ttl(interval)
        while True:
            await self.refresh()
            await self.clock.sleep(interval)

    async def keep_alive(self, instance_id: str, interval: float) -> None:
        """Heartbeat every ``interval`` seconds on the clock until cancelled or the instance is gone."""
        _check_ttl(interval)
        while await self.heartbeat(instance_id):
            await self.clock.sleep(interval)

    def __repr__(self) -> str:
        return f"ServiceRegistry(namespace={self.config.namespace!r}, storage={self.storage!r})"
