"""pytest fixtures for health components, loaded by the harness plugin.

Every fixture runs on the test's ``virtual_clock``; imports happen inside the fixtures, so a
test that uses none of them pays nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from harness.clock import VirtualClock
    from harness.health import AlertManager, HealthMonitor, ServiceRegistry
    from harness.storage import MemoryStorage

__all__ = ["alert_manager", "health_monitor", "service_registry"]


@pytest.fixture
def health_monitor(virtual_clock: VirtualClock) -> HealthMonitor:
    """A ``HealthMonitor`` on ``virtual_clock`` that reports to a ``MemorySink`` (``.sink``)."""
    from harness.health import HealthMonitor, MemorySink

    return HealthMonitor(clock=virtual_clock, sink=MemorySink())


@pytest.fixture
def alert_manager(virtual_clock: VirtualClock) -> AlertManager:
    """An ``AlertManager`` on ``virtual_clock`` (silences expire as the clock advances)."""
    from harness.health import AlertManager

    return AlertManager(clock=virtual_clock)


@pytest.fixture
def service_registry(storage: MemoryStorage, virtual_clock: VirtualClock) -> ServiceRegistry:
    """A ``ServiceRegistry`` on the ``storage`` fixture; TTLs expire as ``virtual_clock`` advances."""
    from harness.health import ServiceRegistry

    return ServiceRegistry(storage, clock=virtual_clock)
