"""Result sets and baselines: what ``harness gate`` reads, and what ``--update`` writes.

A :class:`Baseline` is a set of :class:`~harness.gate.metrics.Metric` with where and on what
machine they were measured. It loads from pytest-benchmark JSON (raw ``data`` when saved with
``--benchmark-save-data``, otherwise its summary), from a run's ``result.json`` (its ``summary``
metrics), from a metrics file (``{"format": "chaos-harness.metrics", "metrics": {...}}``, the
format of load results) and from a saved baseline. Saved baselines hold compact samples (at most
256 per metric), never megabytes of raw timings, and are written atomically.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness._version import __version__
from harness.atomic import write_atomic
from harness.errors import InvalidConfig
from harness.gate.inputs import benchmark_metrics, generic_metric, number, read_json
from harness.gate.metrics import Metric, guess_direction
from harness.mode import Mode

__all__ = ["BASELINE_FORMAT", "BASELINE_FORMAT_VERSION", "METRICS_FORMAT", "Baseline", "machine_info"]

BASELINE_FORMAT = "chaos-harness.baseline"
"""The ``format`` field of a saved baseline file."""
BASELINE_FORMAT_VERSION = 1
METRICS_FORMAT = "chaos-harness.metrics"
"""The ``format`` field of a metrics file (named values or samples written by any tool)."""
_RUN_REPORT = "chaos-harness.run-report"
_MACHINE_KEYS = (
    "system",
    "release",
    "machine",
    "processor",
    "python_implementation",
    "python_version",
    "cpu",
)


def machine_info() -> dict[str, Any]:
    """What a measurement depends on: OS, architecture, Python and CPU count."""
    return {
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python_implementation": platform.python_implementation(),
        "python_version": platform.python_version(),
        "cpu_count": os.cpu_count() or 0,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Baseline:
    """A named set of metrics with provenance; both sides of a gate comparison are one."""

    metrics: Mapping[str, Metric]
    source: str = "metrics"
    name: str = ""
    machine: Mapping[str, Any] = field(default_factory=dict)
    package_version: str = __version__
    created_at: str = ""

    def __post_init__(self) -> None:
        if not self.metrics:
            raise InvalidConfig(
                f"{self.name or 'result set'} has no metrics; a pytest-benchmark file needs at least "
                "one benchmark, a result.json a non-empty summary."
            )
        object.__setattr__(self, "metrics", dict(sorted(self.metrics.items())))

    # ---- construction -------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> Baseline:
        """Read any supported file; ``InvalidConfig`` says what the file is missing."""
        return cls.from_json_object(read_json(path), source=str(path))

    @classmethod
    def from_json_object(cls, raw: Any, *, source: str) -> Baseline:
        """Detect the format of a decoded JSON document and parse it."""
        if isinstance(raw, dict):
            if raw.get("format") == BASELINE_FORMAT:
                return cls._from_baseline(raw, source)
            if raw.get("format") == METRICS_FORMAT:
                return cls._from_metrics_file(raw, source)
            if raw.get("schema") == _RUN_REPORT:
                return cls._from_run_report(raw, source)
            if isinstance(raw.get("benchmarks"), list):
                return cls.from_pytest_benchmark(raw, source=source)
        raise InvalidConfig(
            f"{source} is not a pytest-benchmark JSON, a chaos-harness result.json, a metrics file "
            f'("format": {METRICS_FORMAT!r}) or a baseline ("format": {BASELINE_FORMAT!r}).'
        )

    @classmethod
    def from_pytest_benchmark(cls, raw: Mapping[str, Any], *, source: str = "pytest-benchmark") -> Baseline:
        """Metrics from pytest-benchmark's JSON: seconds per call, lower is better."""
        machine = raw.get("machine_info") or {}
        if not isinstance(machine, Mapping):
            raise InvalidConfig(f"{source}: machine_info must be an object.", field="machine_info")
        return cls(
            metrics=benchmark_metrics(raw["benchmarks"], source),
            source="pytest-benchmark",
            name=source,
            machine={k: machine[k] for k in _MACHINE_KEYS if k in machine},
            created_at=str(raw.get("datetime", "")),
        )

    @classmethod
    def _from_run_report(cls, raw: Mapping[str, Any], source: str) -> Baseline:
        summary = raw.get("summary")
        if not isinstance(summary, dict) or not summary:
            raise InvalidConfig(f"{source}: the run report has no summary metrics to gate on.")
        # A simulated run is a function of its seed: run again, it gives the same numbers.
        noise = 0.0 if raw.get("mode") == Mode.SIMULATED.value else None
        metrics = {
            name: Metric(
                name=name,
                median=_summary_number(value, source, name),
                direction=guess_direction(name),
                noise=noise,
            )
            for name, value in summary.items()
        }
        return cls(
            metrics=metrics,
            source=f"run-report:{raw.get('scenario', '?')}:{raw.get('mode', '?')}",
            name=source,
            package_version=str(raw.get("package_version", "")),
            created_at=str(raw.get("started_at", "")),
        )

    @classmethod
    def _from_metrics_file(cls, raw: Mapping[str, Any], source: str) -> Baseline:
        table = raw.get("metrics")
        if not isinstance(table, dict):
            raise InvalidConfig(f'{source}: "metrics" must be an object of name -> number, list or object.')
        metrics = {name: generic_metric(name, value, source) for name, value in table.items()}
        return cls(metrics=metrics, source=str(raw.get("source", "metrics")), name=source)

    @classmethod
    def _from_baseline(cls, raw: Mapping[str, Any], source: str) -> Baseline:
        version = raw.get("format_version")
        if version != BASELINE_FORMAT_VERSION:
            raise InvalidConfig(
                f"{source}: baseline format_version={version!r} is not supported (expected "
                f"{BASELINE_FORMAT_VERSION}); regenerate it with `harness gate --update`."
            )
        table = raw.get("metrics")
        if not isinstance(table, dict):
            raise InvalidConfig(f'{source}: "metrics" must be an object.')
        return cls(
            metrics={name: Metric.from_dict(name, value, source=source) for name, value in table.items()},
            source=str(raw.get("source", "")),
            name=str(raw.get("name", source)),
            machine=dict(raw.get("machine") or {}),
            package_version=str(raw.get("package_version", "")),
            created_at=str(raw.get("created_at", "")),
        )

    # ---- output -------------------------------------------------------------------------------

    def to_json(self) -> str:
        """The baseline file: format, provenance, machine and compact metrics."""
        doc = {
            "format": BASELINE_FORMAT,
            "format_version": BASELINE_FORMAT_VERSION,
            "name": self.name,
            "source": self.source,
            "created_at": self.created_at or datetime.now(UTC).isoformat(timespec="seconds"),
            "package_version": self.package_version,
            "machine": {**machine_info(), **dict(self.machine)},
            "metrics": {name: metric.to_dict() for name, metric in self.metrics.items()},
        }
        return json.dumps(doc, indent=1, sort_keys=False, allow_nan=False) + "\n"

    def save(self, path: str | Path) -> Path:
        """Write this result set as a baseline file, atomically."""
        return write_atomic(path, self.to_json())


def _summary_number(value: Any, source: str, name: str) -> float:
    try:
        return number(value, name)
    except InvalidConfig as exc:
        raise InvalidConfig(f"{source}: summary {exc}", field=exc.field, value=exc.value) from None
