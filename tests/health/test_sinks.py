"""Metric sinks: Prometheus exposition parsed back, logging, memory, protocol conformance."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from harness.clock import VirtualClock
from harness.errors import InvalidConfig
from harness.health import (
    CallableCheck,
    HealthMonitor,
    HealthStatus,
    LoggingSink,
    MemorySink,
    MetricSink,
    NoOpSink,
    PrometheusSink,
)


def families(sink: PrometheusSink) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """Samples by family name, then (sample name, sorted labels)."""
    parsed: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for family in text_string_to_metric_families(sink.exposition()):
        parsed[family.name] = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
    return parsed


@pytest.mark.parametrize("sink", [NoOpSink(), LoggingSink(), MemorySink(), PrometheusSink()])
def test_every_sink_implements_the_protocol(sink: MetricSink) -> None:
    """The built-in sinks satisfy MetricSink and accept all three kinds."""
    assert isinstance(sink, MetricSink)
    sink.counter("c", 2.0, {"k": "v"})
    sink.gauge("g", 1.5)
    sink.histogram("h", 0.2, {"k": "v"})


def test_prometheus_exposition_parses_back() -> None:
    """Counters, gauges and histograms round-trip through the text format with their labels."""
    sink = PrometheusSink(namespace="app", buckets=(0.1, 1.0))
    sink.counter("requests", 1.0, {"route": "/a"})
    sink.counter("requests", 2.0, {"route": "/a"})
    sink.counter("requests", 5.0, {"route": "/b"})
    sink.gauge("temperature", 21.5)
    sink.gauge("temperature", 19.0)
    for value in (0.05, 0.5, 5.0):
        sink.histogram("latency_seconds", value, {"route": "/a"})
    parsed = families(sink)
    assert parsed["app_requests"][("app_requests_total", (("route", "/a"),))] == 3.0
    assert parsed["app_requests"][("app_requests_total", (("route", "/b"),))] == 5.0
    assert parsed["app_temperature"][("app_temperature", ())] == 19.0
    hist = parsed["app_latency_seconds"]
    route = ("route", "/a")
    assert hist[("app_latency_seconds_bucket", (("le", "0.1"), route))] == 1.0
    assert hist[("app_latency_seconds_bucket", (("le", "1.0"), route))] == 2.0
    assert hist[("app_latency_seconds_bucket", (("le", "+Inf"), route))] == 3.0
    assert hist[("app_latency_seconds_count", (route,))] == 3.0
    assert hist[("app_latency_seconds_sum", (route,))] == pytest.approx(5.55)


def test_prometheus_sink_keeps_its_own_registry() -> None:
    """Two sinks with the same metric names do not collide, and the global registry is untouched."""
    first, second = PrometheusSink(), PrometheusSink()
    first.gauge("health_score", 10.0)
    second.gauge("health_score", 90.0)
    assert families(first)["harness_health_score"][("harness_health_score", ())] == 10.0
    assert families(second)["harness_health_score"][("harness_health_score", ())] == 90.0
    assert REGISTRY.get_sample_value("harness_health_score") is None


def test_monitor_round_exposed_to_prometheus(virtual_clock: VirtualClock) -> None:
    """A monitor round's metrics appear in the exposition with the check labels."""
    sink = PrometheusSink()
    monitor = HealthMonitor(clock=virtual_clock, sink=sink)
    monitor.register(CallableCheck("db", lambda: HealthStatus.DEGRADED))
    monitor.register(CallableCheck("cache", lambda: True))
    virtual_clock.run(monitor.run(rounds=3))
    parsed = families(sink)
    assert parsed["harness_health_score"][("harness_health_score", ())] == 75.0
    status = parsed["harness_health_check_status"]
    assert status[("harness_health_check_status", (("check", "db"),))] == 0.5
    assert status[("harness_health_check_status", (("check", "cache"),))] == 1.0
    failures = parsed["harness_health_check_failures"]
    assert failures[("harness_health_check_failures_total", (("check", "db"),))] == 3.0
    assert parsed["harness_health_rounds"][("harness_health_rounds_total", ())] == 3.0
    durations = parsed["harness_health_check_duration_seconds"]
    assert durations[("harness_health_check_duration_seconds_count", (("check", "db"),))] == 3.0


def test_prometheus_sink_rejects_bad_names_and_label_changes() -> None:
    """Invalid names, changing label names and negative counter steps are usage errors."""
    sink = PrometheusSink()
    with pytest.raises(InvalidConfig, match="must match"):
        sink.gauge("bad-name", 1.0)
    sink.gauge("g", 1.0, {"a": "x"})
    with pytest.raises(InvalidConfig, match=r"first reported with labels \['a'\]"):
        sink.gauge("g", 1.0, {"b": "x"})
    with pytest.raises(InvalidConfig, match="cannot decrease"):
        sink.counter("c", -1.0)
    with pytest.raises(InvalidConfig, match="increasing"):
        PrometheusSink(buckets=(1.0, 0.5))


def test_logging_sink_logs_structured_samples(caplog: pytest.LogCaptureFixture) -> None:
    """One line per sample, with the sample in the record's ``metric`` attribute."""
    sink = LoggingSink(level=logging.INFO)
    with caplog.at_level(logging.INFO, logger="harness.health.metrics"):
        sink.gauge("health_score", 42.0, {"service": "api"})
    (record,) = caplog.records
    assert record.getMessage() == "gauge health_score{service=api} 42.0"
    assert record.metric == {
        "kind": "gauge",
        "name": "health_score",
        "value": 42.0,
        "labels": {"service": "api"},
    }


def test_logging_sink_skips_work_when_disabled(caplog: pytest.LogCaptureFixture) -> None:
    """Below the logger's level nothing is logged."""
    sink = LoggingSink(level=logging.DEBUG)
    with caplog.at_level(logging.INFO, logger="harness.health.metrics"):
        sink.counter("x")
    assert caplog.records == []


def test_memory_sink_accumulates_and_keeps_observations() -> None:
    """Counters add up, gauges keep the last value, histograms keep every observation."""
    sink = MemorySink()
    sink.counter("c")
    sink.counter("c", 2.0)
    sink.gauge("g", 1.0)
    sink.gauge("g", 3.0)
    sink.histogram("h", 0.1)
    sink.histogram("h", 0.2)
    assert (sink.value("c"), sink.value("g"), sink.observations("h")) == (3.0, 3.0, [0.1, 0.2])
    assert sink.value("missing") is None


def test_prometheus_buckets_are_inclusive_upper_bounds() -> None:
    """A value equal to a bucket's bound counts in that bucket (Prometheus 'le')."""
    sink = PrometheusSink(namespace="", buckets=(0.1, 1.0))
    sink.histogram("h", 0.1)
    sink.histogram("h", 1.0)
    hist = families(sink)["h"]
    assert hist[("h_bucket", (("le", "0.1"),))] == 1.0
    assert hist[("h_bucket", (("le", "1.0"),))] == 2.0


def test_prometheus_label_order_does_not_split_series() -> None:
    """The same labels in another order update the same series."""
    sink = PrometheusSink()
    sink.counter("c", 1.0, {"a": "1", "b": "2"})
    sink.counter("c", 1.0, {"b": "2", "a": "1"})
    assert families(sink)["harness_c"] == {("harness_c_total", (("a", "1"), ("b", "2"))): 2.0}


def test_prometheus_sink_joins_a_given_registry() -> None:
    """With registry= the sink's metrics are collected from that registry."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    sink = PrometheusSink(registry=registry)
    sink.gauge("up", 1.0)
    assert "harness_up 1.0" in generate_latest(registry).decode()
