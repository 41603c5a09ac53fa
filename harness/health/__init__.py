"""Health, self-healing and service integration.

``HealthMonitor`` runs registered ``HealthCheck``s (``RedisHealthCheck``, ``HttpHealthCheck``,
``DiskSpaceCheck``, ``CallableCheck``, ``BreakerHealthCheck`` or any ``BaseHealthCheck``
subclass) concurrently on the injected clock and produces a ``HealthReport``: per-check
results, breaker and retry statistics, an overall ``HealthStatus``, a 0-100 score and a
``Trend``. Reports go to a ``MetricSink`` (``NoOpSink``, ``LoggingSink``, ``MemorySink``,
``PrometheusSink``) and to subscribers: ``AlertManager`` (severity, deduplication, thresholds,
silences, history) and ``AutoRepair`` (repair actions on condition rules, with cooldowns and
attempt limits). ``ServiceRegistry`` keeps service instances alive on shared ``Storage`` with
TTLs and heartbeats; ``ConfigStore`` layers defaults, files, environment and storage with
validation, change callbacks, versions and rollback.

Names load on first use, so importing this package costs nothing until a health component is
used. The HTTP endpoint is :mod:`harness.servers.health`, the CLI ``harness health check``
(:mod:`harness.cli.health`), the fixtures :mod:`harness.pytest_fixtures.health`.
"""

from typing import TYPE_CHECKING

from harness._lazy import lazy_exports

if TYPE_CHECKING:
    from harness.health.alerts import (
        Alert,
        AlertEvent,
        AlertEventKind,
        AlertHandler,
        AlertManager,
        AlertManagerConfig,
        AlertSeverity,
        Direction,
        Silence,
        Threshold,
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
    from harness.health.monitor import (
        HealthMonitor,
        HealthMonitorConfig,
        HealthReport,
        StatsSource,
        Subscriber,
    )
    from harness.health.registry import (
        ChangeReason,
        RegistryConfig,
        ServiceCallback,
        ServiceInstance,
        ServiceRegistry,
    )
    from harness.health.repair import AutoRepair, RepairOutcome, RepairResult, RepairRule, RuleState
    from harness.health.sinks import Labels, LoggingSink, MemorySink, MetricSink, NoOpSink, PrometheusSink
    from harness.health.stats import EventCounter
    from harness.health.status import CheckResult, HealthStatus, Trend, worst

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertEventKind",
    "AlertHandler",
    "AlertManager",
    "AlertManagerConfig",
    "AlertSeverity",
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
    "Direction",
    "DiskSpaceCheck",
    "DiskUsage",
    "EventCounter",
    "HealthCheck",
    "HealthMonitor",
    "HealthMonitorConfig",
    "HealthReport",
    "HealthStatus",
    "HttpHealthCheck",
    "Labels",
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
    "RuleState",
    "ServiceCallback",
    "ServiceInstance",
    "ServiceRegistry",
    "Silence",
    "StatsSource",
    "Subscriber",
    "Threshold",
    "Trend",
    "Validator",
    "worst",
]

_EXPORTS: dict[str, str] = {
    "Alert": "harness.health.alerts",
    "AlertEvent": "harness.health.alerts",
    "AlertEventKind": "harness.health.alerts",
    "AlertHandler": "harness.health.alerts",
    "AlertManager": "harness.health.alerts",
    "AlertManagerConfig": "harness.health.alerts",
    "AlertSeverity": "harness.health.alerts",
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
    "Direction": "harness.health.alerts",
    "DiskSpaceCheck": "harness.health.checks",
    "DiskUsage": "harness.health.checks",
    "EventCounter": "harness.health.stats",
    "HealthCheck": "harness.health.checks",
    "HealthMonitor": "harness.health.monitor",
    "HealthMonitorConfig": "harness.health.monitor",
    "HealthReport": "harness.health.monitor",
    "HealthStatus": "harness.health.status",
    "HttpHealthCheck": "harness.health.checks",
    "Labels": "harness.health.sinks",
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
    "RuleState": "harness.health.repair",
    "ServiceCallback": "harness.health.registry",
    "ServiceInstance": "harness.health.registry",
    "ServiceRegistry": "harness.health.registry",
    "Silence": "harness.health.alerts",
    "StatsSource": "harness.health.monitor",
    "Subscriber": "harness.health.monitor",
    "Threshold": "harness.health.alerts",
    "Trend": "harness.health.status",
    "Validator": "harness.health.config",
    "worst": "harness.health.status",
}


# Moved to the edges; importable from here, with a DeprecationWarning, until the next release.
_MOVED: dict[str, str] = {
    "HealthServer": "harness.servers.health",
    "health_app": "harness.servers.health",
    "serve_health": "harness.servers.health",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, moved=_MOVED)
