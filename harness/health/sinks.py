"""Metric sinks: where health rounds, alerts and repairs report counters, gauges and histograms.

A sink is anything that implements :class:`MetricSink`: three methods taking a metric name, a
value and optional string labels. Names are ``snake_case`` (``[a-zA-Z_][a-zA-Z0-9_]*``); a
metric keeps the label names of its first use. Sinks never raise for a well-formed call, so a
broken dashboard cannot break a health round.

``NoOpSink`` discards, ``LoggingSink`` logs one line per sample, ``MemorySink`` keeps the last
values (for tests and steady-state probes), ``PrometheusSink`` feeds ``prometheus_client``
metrics in a registry of its own (never the global one).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from harness.errors import InvalidConfig

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["Labels", "LoggingSink", "MemorySink", "MetricSink", "NoOpSink", "PrometheusSink"]

Labels = Mapping[str, str]
"""Label names to values, for example ``{"check": "redis"}``."""

_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_NO_LABELS: Labels = {}


def validate_name(name: str) -> str:
    """Reject metric and label names Prometheus would reject."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidConfig(
            f"metric or label name {name!r} must match [a-zA-Z_][a-zA-Z0-9_]*, for example 'health_score'.",
            field="name",
            value=name,
        )
    return name


@runtime_checkable
class MetricSink(Protocol):
    """Receives metric samples. Implement these three methods to plug in any backend.

    ``counter`` adds ``value`` (>= 0) to a monotonically increasing total; ``gauge`` sets the
    current value; ``histogram`` observes one sample (a duration in seconds, a size). Calls
    come from the event loop thread and should return quickly.
    """

    def counter(self, name: str, value: float = 1.0, labels: Labels | None = None) -> None:
        """Add ``value`` to the counter ``name``."""
        ...

    def gauge(self, name: str, value: float, labels: Labels | None = None) -> None:
        """Set the gauge ``name`` to ``value``."""
        ...

    def histogram(self, name: str, value: float, labels: Labels | None = None) -> None:
        """Observe ``value`` in the histogram ``name``."""
        ...


class NoOpSink:
    """Discards every sample; the default when no sink is configured."""

    __slots__ = ()

    def counter(self, name: str, value: float = 1.0, labels: Labels | None = None) -> None:
        """Discard."""

    def gauge(self, name: str, value: float, labels: Labels | None = None) -> None:
        """Discard."""

    def histogram(self, name: str, value: float, labels: Labels | None = None) -> None:
        """Discard."""

    def __repr__(self) -> str:
        return "NoOpSink()"


class LoggingSink:
    """Logs one line per sample, with the sample in ``extra={"metric": {...}}``."""

    def __init__(self, logger: logging.Logger | None = None, *, level: int = logging.INFO) -> None:
        self.logger = logger if logger is not None else logging.getLogger("harness.health.metrics")
        self.level = level

    def _log(self, kind: str, name: str, value: float, labels: Labels | None) -> None:
        if not self.logger.isEnabledFor(self.level):
            return
        tags = dict(labels or _NO_LABELS)
        sample = {"kind": kind, "name": name, "value": value, "labels": tags}
        rendered = ",".join(f"{k}={v}" for k, v in sorted(tags.items()))
        self.logger.log(self.level, "%s %s{%s} %s", kind, name, rendered, value, extra={"metric": sample})

    def counter(self, name: str, value: float = 1.0, labels: Labels | None = None) -> None:
        """Log a counter increment."""
        self._log("counter", name, value, labels)

    def gauge(self, name: str, value: float, labels: Labels | None = None) -> None:
        """Log a gauge value."""
        self._log("gauge", name, value, labels)

    def histogram(self, name: str, value: float, labels: Labels | None = None) -> None:
        """Log a histogram observation."""
        self._log("histogram", name, value, labels)

    def __repr__(self) -> str:
        return f"LoggingSink(logger={self.logger.name!r}, level={logging.getLevelName(self.level)!r})"


def _key(name: str, labels: Labels | None) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted((labels or _NO_LABELS).items()))


class MemorySink:
    """Keeps counters' totals, gauges' last values and every histogram observation in memory.

    Read them back with :meth:`value` and :meth:`observations`; ``labels`` must match exactly.
    """

    def __init__(self) -> None:
        self.counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.gauges: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.histograms: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}
        self._lock = threading.Lock()

    def counter(self, name: str, value: float = 1.0, labels: Labels | None = None) -> None:
        """Add to the stored total."""
        key = _key(name, labels)
        with self._lock:
            self.counters[key] = self.counters.get(key, 0.0) + value

    def gauge(self, name: str, value: float, labels: Labels | None = None) -> None:
        """Store the value."""
        with self._lock:
            self.gauges[_key(name, labels)] = value

    def histogram(self, name: str, value: float, labels: Labels | None = None) -> None:
        """Append the observation."""
        with self._lock:
            self.histograms.setdefault(_key(name, labels), []).append(value)

    def value(self, name: str, labels: Labels | None = None) -> float | None:
        """A gauge's last value or a counter's total (gauges first); ``None`` if never reported."""
        key = _key(name, labels)
        with self._lock:
            if key in self.gauges:
                return self.gauges[key]
            return self.counters.get(key)

    def observations(self, name: str, labels: Labels | None = None) -> list[float]:
        """Every value observed by the histogram ``name`` with these labels."""
        with self._lock:
            return list(self.histograms.get(_key(name, labels), ()))


DEFAULT_BUCKETS: tuple[float, ...] = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class PrometheusSink:
    """Feeds ``prometheus_client`` metrics kept in a ``CollectorRegistry`` of its own.

    Metric names get ``namespace_`` in front; counters are exposed with ``_total``. Each metric
    is created on first use with the label names of that use; a later use with other label
    names raises :class:`InvalidConfig`. Serve :attr:`registry` with
    ``prometheus_client.start_http_server(port, addr="127.0.0.1", registry=sink.registry)`` or
    read :meth:`exposition`.
    """

    def __init__(
        self,
        *,
        namespace: str = "harness",
        registry: CollectorRegistry | None = None,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        from prometheus_client import CollectorRegistry

        if namespace:
            validate_name(namespace)
        if not buckets or list(buckets) != sorted(buckets):
            raise InvalidConfig(
                f"buckets={list(buckets)!r} must be a non-empty increasing sequence of upper bounds.",
                field="buckets",
                value=buckets,
            )
        self.namespace = namespace
        self.registry: CollectorRegistry = (
            registry if registry is not None else CollectorRegistry(auto_describe=True)
        )
        self.buckets = tuple(float(b) for b in buckets)
        self._metrics: dict[tuple[str, str], tuple[Any, tuple[str, ...]]] = {}
        self._children: dict[tuple[str, str, tuple[tuple[str, str], ...]], Any] = {}
        self._lock = threading.Lock()

    def _metric(self, kind: str, name: str, labels: Labels | None) -> Any:
        key = (kind, name, tuple(labels.items()) if labels else ())
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._resolve(kind, name, labels)
        return child

    def _resolve(self, kind: str, name: str, labels: Labels | None) -> Any:
        names = tuple(sorted(labels)) if labels else ()
        entry = self._metrics.get((kind, name))
        if entry is None:
            entry = self._create(kind, name, names)
        metric, known = entry
        if names != known:
            raise InvalidConfig(
                f"{kind} {name!r} was first reported with labels {list(known)!r}, now with {list(names)!r}; "
                "report a metric with the same label names every time.",
                field="labels",
                value=list(names),
            )
        return metric.labels(**labels) if labels else metric

    def _create(self, kind: str, name: str, names: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
        from prometheus_client import Counter, Gauge, Histogram

        validate_name(name)
        for label in names:
            validate_name(label)
        with self._lock:
            entry = self._metrics.get((kind, name))
            if entry is not None:
                return entry
            doc = f"{name.replace('_', ' ')} ({kind}, reported by chaos-harness)"
            common: dict[str, Any] = {
                "namespace": self.namespace,
                "labelnames": names,
                "registry": self.registry,
            }
            if kind == "counter":
                metric: Any = Counter(name, doc, **common)
            elif kind == "gauge":
                metric = Gauge(name, doc, **common)
            else:
                metric = Histogram(name, doc, buckets=self.buckets, **common)
            entry = (metric, names)
            self._metrics[(kind, name)] = entry
            return entry

    def counter(self, name: str, value: float = 1.0, labels: Labels | None = None) -> None:
        """Increment the counter ``namespace_name_total``; ``value`` must be >= 0."""
        if value < 0:
            raise InvalidConfig(
                f"counter {name!r} cannot decrease (value={value!r}); use a gauge.", value=value
            )
        self._metric("counter", name, labels).inc(value)

    def gauge(self, name: str, value: float, labels: Labels | None = None) -> None:
        """Set the gauge ``namespace_name``."""
        self._metric("gauge", name, labels).set(value)

    def histogram(self, name: str, value: float, labels: Labels | None = None) -> None:
        """Observe ``value`` in the histogram ``namespace_name``."""
        self._metric("histogram", name, labels).observe(value)

    def exposition(self) -> str:
        """The registry in the Prometheus text format."""
        from prometheus_client import generate_latest

        return generate_latest(self.registry).decode("utf-8")

    def __repr__(self) -> str:
        return f"PrometheusSink(namespace={self.namespace!r}, metrics={len(self._metrics)})"
