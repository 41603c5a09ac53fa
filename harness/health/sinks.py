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

import bisect
import itertools
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from harness._checks import invalid
from harness.errors import InvalidConfig

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["Labels", "LoggingSink", "MemorySink", "MetricSink", "NoOpSink", "PrometheusSink"]

Labels = Mapping[str, str]
"""Label names to values, for example ``{"check": "redis"}``."""

_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_NO_LABELS: Labels = {}


def _validate_name(name: str) -> str:
    """Reject metric and label names Prometheus would reject."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise invalid(
            "name",
            name,
            "a metric or label name that must match [a-zA-Z_][a-zA-Z0-9_]*",
            "e.g. 'health_score'",
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
    """Exposes the samples through ``prometheus_client``, in a ``CollectorRegistry`` of its own.

    Metric names get ``namespace_`` in front; counters are exposed with ``_total``. A metric
    keeps the label names of its first use; a later use with other label names raises
    :class:`InvalidConfig`. Samples are accumulated in plain structures (a dict lookup and, for
    histograms, a bisection per sample) and turned into metric families only when the
    registry is collected, so reporting stays cheap on the monitor's hot path. Serve
    :attr:`registry` with ``prometheus_client.start_http_server(port, addr="127.0.0.1",
    registry=sink.registry)`` or read :meth:`exposition`.
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
            _validate_name(namespace)
        if not buckets or list(buckets) != sorted(set(buckets)):
            raise invalid("buckets", list(buckets), "a non-empty increasing sequence of upper bounds")
        self.namespace = namespace
        self.buckets = tuple(float(b) for b in buckets)
        self._families: dict[tuple[str, str], tuple[str, ...]] = {}  # (kind, name) -> label names
        self._values: dict[tuple[str, str, _LabelKey], float] = {}  # counters and gauges
        self._histograms: dict[tuple[str, _LabelKey], _Histogram] = {}
        self._lock = threading.Lock()
        self.registry: CollectorRegistry = (
            registry if registry is not None else CollectorRegistry(auto_describe=True)
        )
        self.registry.register(_Collector(self))

    def _family(self, kind: str, name: str, labels: _LabelKey) -> None:
        names = tuple(k for k, _ in labels)
        known = self._families.get((kind, name))
        if known is None:
            _validate_name(name)
            for label in names:
                _validate_name(label)
            self._families[(kind, name)] = names
        elif names != known:
            raise InvalidConfig(
                f"{kind} {name!r} was first reported with labels {list(known)!r}, now with {list(names)!r}; "
                "report a metric with the same label names every time.",
                field="labels",
                value=list(names),
            )

    def counter(self, name: str, value: float = 1.0, labels: Labels | None = None) -> None:
        """Add ``value`` (>= 0) to the counter ``namespace_name_total``."""
        if value < 0:
            raise InvalidConfig(
                f"counter {name!r} cannot decrease (value={value!r}); use a gauge.", value=value
            )
        key = ("counter", name, _label_key(labels))
        with self._lock:
            current = self._values.get(key)
            if current is None:
                self._family("counter", name, key[2])
                current = 0.0
            self._values[key] = current + value

    def gauge(self, name: str, value: float, labels: Labels | None = None) -> None:
        """Set the gauge ``namespace_name``."""
        key = ("gauge", name, _label_key(labels))
        with self._lock:
            if key not in self._values:
                self._family("gauge", name, key[2])
            self._values[key] = float(value)

    def histogram(self, name: str, value: float, labels: Labels | None = None) -> None:
        """Observe ``value`` in the histogram ``namespace_name``."""
        key = (name, _label_key(labels))
        with self._lock:
            hist = self._histograms.get(key)
            if hist is None:
                self._family("histogram", name, key[1])
                hist = self._histograms[key] = _Histogram(len(self.buckets))
            hist.counts[bisect.bisect_left(self.buckets, value)] += 1
            hist.total += value

    def _full(self, name: str) -> str:
        return f"{self.namespace}_{name}" if self.namespace else name

    def collect(self) -> list[Any]:
        """The current values as ``prometheus_client`` metric families (what the registry scrapes)."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        with self._lock:
            values = dict(self._values)
            histograms = {k: (list(h.counts), h.total) for k, h in self._histograms.items()}
            families = dict(self._families)
        kinds = {
            "counter": CounterMetricFamily,
            "gauge": GaugeMetricFamily,
            "histogram": HistogramMetricFamily,
        }
        out: dict[tuple[str, str], Any] = {}
        for (kind, name), names in sorted(families.items()):
            doc = f"{name.replace('_', ' ')} ({kind}, reported by chaos-harness)"
            out[(kind, name)] = kinds[kind](self._full(name), doc, labels=list(names))
        for (kind, name, labels), value in values.items():
            out[(kind, name)].add_metric([v for _, v in labels], value)
        for (name, labels), (counts, total) in histograms.items():
            out[("histogram", name)].add_metric([v for _, v in labels], self._buckets(counts), total)
        return list(out.values())

    def _buckets(self, counts: list[int]) -> list[tuple[str, float]]:
        from prometheus_client import utils

        go_string = cast(Callable[[float], str], utils.floatToGoString)
        cumulative = list(itertools.accumulate(counts))
        bounds = [go_string(b) for b in self.buckets] + ["+Inf"]
        return list(zip(bounds, cumulative, strict=True))

    def exposition(self) -> str:
        """The registry in the Prometheus text format."""
        from prometheus_client import generate_latest

        return generate_latest(self.registry).decode("utf-8")

    def __repr__(self) -> str:
        return f"PrometheusSink(namespace={self.namespace!r}, metrics={len(self._families)})"


_LabelKey = tuple[tuple[str, str], ...]


def _label_key(labels: Labels | None) -> _LabelKey:
    if not labels:
        return ()
    items = tuple(labels.items())
    return items if len(items) == 1 else tuple(sorted(items))


class _Histogram:
    __slots__ = ("counts", "total")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * (buckets + 1)  # the last slot is +Inf
        self.total = 0.0


class _Collector:
    """Adapts a :class:`PrometheusSink` to the ``prometheus_client`` collector interface."""

    def __init__(self, sink: PrometheusSink) -> None:
        self._sink = sink

    def collect(self) -> list[Any]:
        return self._sink.collect()
