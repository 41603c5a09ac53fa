"""Reading result files: JSON that cannot hide a value, and numbers a measurement can have.

Every error is :class:`~harness.errors.InvalidConfig` that names the file and the field
(``bench.json: benchmarks[3].stats.rounds=-5 must be an integer >= 1; ...``), so ``harness gate``
exits 2 on bad input and never reports it as a regression or a pass:

* an object with the same key twice (JSON keeps the last one silently) is refused;
* nesting deeper than Python can parse, and integers too long to convert, are refused;
* a timing (a metric in a time unit, every pytest-benchmark statistic) cannot be negative, nor can
  a round count or an inter-quartile range, and every number must be finite;
* two pytest-benchmark entries with one name would replace each other and are refused.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness._checks import finite, integer, non_negative
from harness.errors import InvalidConfig
from harness.gate.metrics import Better, Metric, guess_direction
from harness.units import DURATION_UNITS

__all__ = ["benchmark_metrics", "generic_metric", "number", "read_json"]


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise InvalidConfig(f"key {key!r} appears twice in one object; keep one.", field=key)
        seen[key] = value
    return seen


def read_json(path: str | Path) -> Any:
    """The decoded document at ``path``; ``InvalidConfig`` naming the file on any problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidConfig(f"cannot read {p}: {getattr(exc, 'strerror', None) or exc}.") from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise InvalidConfig(
            f"{p} is not JSON ({exc.msg} at line {exc.lineno}); is the file truncated?"
        ) from None
    except InvalidConfig as exc:
        raise InvalidConfig(f"{p}: {exc}", field=exc.field) from None
    except RecursionError:
        raise InvalidConfig(f"{p} is nested too deeply to be a result file.") from None
    except ValueError as exc:  # an integer literal longer than Python converts
        raise InvalidConfig(f"{p} is not JSON ({exc}).") from None


def _prefixed(source: str, exc: InvalidConfig) -> InvalidConfig:
    return InvalidConfig(f"{source}: {exc}", field=exc.field, value=exc.value)


def number(value: Any, field: str, *, timing: bool = False) -> float:
    """A finite number (not a bool); ``timing`` also refuses negatives."""
    if timing:
        return non_negative(field, value, "a timing cannot be negative")
    return finite(field, value, "write the measured value as a number")


def _benchmark_metric(bench: Any, where: str) -> Metric:
    if not isinstance(bench, Mapping) or not isinstance(bench.get("stats"), Mapping):
        raise InvalidConfig(f"{where} is malformed: it needs a name and a stats object.", field=where)
    name = bench.get("fullname") or bench.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidConfig(f"{where} is malformed: missing or bad name.", field=f"{where}.fullname")
    stats = bench["stats"]
    data = stats.get("data")
    if data:
        if not isinstance(data, list):
            raise InvalidConfig(f"{where}.stats.data must be a list of timings.", field=f"{where}.stats.data")
        values = [number(v, f"{where}.stats.data[{i}]", timing=True) for i, v in enumerate(data)]
        return Metric.from_samples(name, values, unit="s")
    if "median" not in stats:
        raise InvalidConfig(f"{where} is malformed: missing or bad median.", field=f"{where}.stats.median")
    return Metric(
        name=name,
        unit="s",
        median=number(stats["median"], f"{where}.stats.median", timing=True),
        iqr=number(stats.get("iqr", 0.0), f"{where}.stats.iqr", timing=True),
        count=integer(f"{where}.stats.rounds", stats.get("rounds", 1), "rounds are counted", at_least=1),
    )


def benchmark_metrics(benchmarks: Sequence[Any], source: str) -> dict[str, Metric]:
    """pytest-benchmark's ``benchmarks`` list as metrics in seconds; one name may appear once."""
    metrics: dict[str, Metric] = {}
    first: dict[str, int] = {}
    for index, bench in enumerate(benchmarks):
        where = f"benchmarks[{index}]"
        try:
            metric = _benchmark_metric(bench, where)
        except InvalidConfig as exc:
            raise _prefixed(source, exc) from None
        if metric.name in first:
            raise InvalidConfig(
                f"{source}: {where}.fullname={metric.name!r} is also benchmarks[{first[metric.name]}]; "
                "two results with one name would replace each other. Give each benchmark its own name.",
                field=f"{where}.fullname",
                value=metric.name,
            )
        first[metric.name] = index
        metrics[metric.name] = metric
    return metrics


def _object_metric(name: str, value: Mapping[str, Any]) -> Metric:
    direction = Better.parse(str(value.get("direction", guess_direction(name).value)))
    unit = str(value.get("unit", ""))
    timing = unit in DURATION_UNITS
    noise = value.get("noise")
    if noise is not None:
        noise = non_negative(f"{name}.noise", noise, "the run-to-run standard deviation as a fraction")
    if "samples" in value:
        raw = value["samples"]
        if not isinstance(raw, list):
            raise InvalidConfig(f"{name}.samples must be a list of numbers.", field=f"{name}.samples")
        samples = [number(v, f"{name}.samples[{i}]", timing=timing) for i, v in enumerate(raw)]
        metric = Metric.from_samples(name, samples, unit=unit, direction=direction)
        return dataclasses.replace(metric, noise=noise)
    median = number(value.get("value"), f"{name}.value", timing=timing)
    return Metric(name=name, median=median, unit=unit, direction=direction, noise=noise)


def generic_metric(name: str, value: Any, source: str) -> Metric:
    """A metric from a metrics file: a number, a list of samples, or an object with ``value`` or
    ``samples`` and optional ``unit``, ``direction`` and ``noise``."""
    try:
        if isinstance(value, list):
            samples = [number(v, f"{name}[{i}]") for i, v in enumerate(value)]
            return Metric.from_samples(name, samples, direction=guess_direction(name))
        if isinstance(value, Mapping):
            return _object_metric(name, value)
        return Metric(name=name, median=number(value, name), direction=guess_direction(name))
    except InvalidConfig as exc:
        raise _prefixed(source, exc) from None
