"""Health, self-healing and service integration.

``HealthMonitor`` runs registered ``HealthCheck``s (``RedisHealthCheck``, ``HttpHealthCheck``,
``DiskSpaceCheck``, ``CallableCheck``, ``BreakerHealthCheck`` or any ``BaseHealthCheck``
subclass) concurrently on the injected clock and produces a ``HealthReport``: per-check
results, breaker and retry statistics, an overall ``HealthStatus``, a 0-100 score and a
``Trend``. Reports go to a ``MetricSink`` (``NoOpSink``, ``LoggingSink``, ``MemorySink``,
``PrometheusSink``) and to subscribers: ``AlertManager`` (severity, deduplication, ``AlertThreshold``s,
silences, history) and ``AutoRepair`` (repair actions on condition rules, with cooldowns and
attempt limits). ``ServiceRegistry`` keeps service instances alive on shared ``Storage`` with
TTLs and heartbeats; ``ConfigStore`` layers defaults, files, environment and storage with
validation, change callbacks, versions and rollback.

Names load on first use, so importing this package costs nothing until a health component is
used. The HTTP endpoint is :mod:`harness.servers.health`, the CLI ``harness health check``
(:mod:`harness.cli.health`), the fixtures :mod:`harness.pytest_fixtures.health`.
"""

from typing import TYPE_CHECKING

from harness._lazy import Renamed, lazy_exports

if TYPE_CHECKING:
    from harness.health.alerts import (
        Alert,
        AlertEvent,
        AlertEventKind,
        AlertHandler,
        AlertManager,
        AlertManagerConfig,
        AlertSeverity,
        AlertThreshold,
        Crossing,
        Silence,
    )
    from harness.health.checks import (
        BaseHealthCheck,
        BreakerHealthCheck,
        CallableCheck,
        DiskSpaceCheck,
        DiskUsage,
        HealthCheck,
        HttpHealthCheck,
        ProbeResult,
        RedisHealthCheck,
    )
    from harness.health.config import ConfigChange, ConfigSnapshot, ConfigSource, ConfigStore, Validator
    from harness.health.counters import EventCounter
    from harness.health.monitor import (
        HealthMonitor,
        HealthMonitorConfig,
        HealthReport,
        Subscriber,
    )
    from harness.health.registry import (
        ChangeReason,
        RegistryConfig,
        ServiceCallback,
        ServiceInstance,
        ServiceRegistry,
    )
    from harness.health.repair import AutoRepair, RepairOutcome, RepairResult, RepairRule
    from harness.health.sinks import LoggingSink, MemorySink, MetricSink, NoOpSink, PrometheusSink
    from harness.health.status import CheckResult, HealthStatus, Trend

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertEventKind",
    "AlertHandler",
    "AlertManager",
    "AlertManagerConfig",
    "AlertSeverity",
    "AlertThreshold",
    "AutoRepair",
    "BaseHealthCheck",
    "BreakerHealthCheck",
    "CallableCheck",
    "ChangeReason",
    "CheckResult",
    "ConfigChange",
    "ConfigSnapshot",
    "ConfigSource",
    "ConfigStore",
    "Crossing",
    "DiskSpaceCheck",
    "DiskUsage",
    "EventCounter",
    "HealthCheck",
    "HealthMonitor",
    "HealthMonitorConfig",
    "HealthReport",
    "HealthStatus",
    "HttpHealthCheck",
    "LoggingSink",
    "MemorySink",
    "MetricSink",
    "NoOpSink",
    "ProbeResult",
    "PrometheusSink",
    "RedisHealthCheck",
    "RegistryConfig",
    "RepairOutcome",
    "RepairResult",
    "RepairRule",
    "ServiceCallback",
    "ServiceInstance",
    "ServiceRegistry",
    "Silence",
    "Subscriber",
    "Trend",
    "Validator",
]

_EXPORTS: dict[str, str] = {
    "Alert": "harness.health.alerts",
    "AlertEvent": "harness.health.alerts",
    "AlertEventKind": "harness.health.alerts",
    "AlertHandler": "harness.health.alerts",
    "AlertManager": "harness.health.alerts",
    "AlertManagerConfig": "harness.health.alerts",
    "AlertSeverity": "harness.health.alerts",
    "AlertThreshold": "harness.health.alerts",
    "AutoRepair": "harness.health.repair",
    "BaseHealthCheck": "harness.health.checks",
    "BreakerHealthCheck": "harness.health.checks",
    "CallableCheck": "harness.health.checks",
    "ChangeReason": "harness.health.registry",
    "CheckResult": "harness.health.status",
    "ConfigChange": "harness.health.config",
    "ConfigSnapshot": "harness.health.config",
    "ConfigSource": "harness.health.config",
    "ConfigStore": "harness.health.config",
    "Crossing": "harness.health.alerts",
    "DiskSpaceCheck": "harness.health.checks",
    "DiskUsage": "harness.health.checks",
    "EventCounter": "harness.health.counters",
    "HealthCheck": "harness.health.checks",
    "HealthMonitor": "harness.health.monitor",
    "HealthMonitorConfig": "harness.health.monitor",
    "HealthReport": "harness.health.monitor",
    "HealthStatus": "harness.health.status",
    "HttpHealthCheck": "harness.health.checks",
    "LoggingSink": "harness.health.sinks",
    "MemorySink": "harness.health.sinks",
    "MetricSink": "harness.health.sinks",
    "NoOpSink": "harness.health.sinks",
    "ProbeResult": "harness.health.checks",
    "PrometheusSink": "harness.health.sinks",
    "RedisHealthCheck": "harness.health.checks",
    "RegistryConfig": "harness.health.registry",
    "RepairOutcome": "harness.health.repair",
    "RepairResult": "harness.health.repair",
    "RepairRule": "harness.health.repair",
    "ServiceCallback": "harness.health.registry",
    "ServiceInstance": "harness.health.registry",
    "ServiceRegistry": "harness.health.registry",
    "Silence": "harness.health.alerts",
    "Subscriber": "harness.health.monitor",
    "Trend": "harness.health.status",
    "Validator": "harness.health.config",
}


_RENAMED = {
    **{
        name: Renamed("harness.servers.health", name)
        for name in ("HealthServer", "health_app", "serve_health")
    },
    "Labels": Renamed("harness.health.sinks", "Labels"),
    "StatsSource": Renamed("harness.health.monitor", "StatsSource"),
    "worst": Renamed("harness.health.status", "worst"),
    "RuleState": Renamed("harness.health.repair", "RuleState"),
    "Direction": Renamed("harness.health", "Crossing"),
    "Threshold": Renamed("harness.health", "AlertThreshold"),
}
"""Names this package exported before, for one release: each read warns and names the new home."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, renamed=_RENAMED)
