"""Several runs of one side as one result set whose metrics remember each run's median.

Rounds of one run share that run's state; the gate compares runs (:mod:`harness.gate.intervals`).
:func:`pool_runs` keeps both: each metric's pooled rounds (for the shown median and the within-run
shape) and one median per run, in run order (the independent units).
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.errors import InvalidConfig
from harness.gate.baseline import Baseline
from harness.gate.metrics import Evidence, Metric

__all__ = ["partial_metrics", "pool_runs", "run_medians"]


def _in_every_run(runs: Sequence[Baseline]) -> list[str]:
    names = set(runs[0].metrics)
    for run in runs[1:]:
        names &= set(run.metrics)
    return sorted(names)


def _pooled(name: str, parts: Sequence[Metric]) -> Metric:
    if all(p.evidence is Evidence.SAMPLES for p in parts):
        values = [v for p in parts for v in p.samples]
    else:
        values = [p.median for p in parts]
    pooled = Metric.from_samples(name, values, unit=parts[0].unit, direction=parts[0].direction)
    known = [p.noise for p in parts]
    return Metric(
        name=name,
        median=pooled.median,
        unit=pooled.unit,
        direction=pooled.direction,
        samples=pooled.samples,
        count=max(pooled.count, sum(p.count for p in parts)),
        iqr=pooled.iqr,
        runs=tuple(p.median for p in parts) if len(parts) > 1 else (),
        noise=None if None in known else max(k for k in known if k is not None),
    )


def pool_runs(runs: Sequence[Baseline], *, name: str) -> Baseline:
    """One result set from ``runs`` of the same side; a metric must be in every run to be kept.

    With one run, that run. A metric missing from some runs is left out (:func:`partial_metrics`
    names them): a side's metrics are the ones it measured every time, so a benchmark the current
    runs did not all measure is missing from the current side.
    """
    if not runs:
        raise InvalidConfig(f"{name}: no runs to compare; pass at least one results file.", field="runs")
    if len(runs) == 1:
        return runs[0]
    kept = _in_every_run(runs)
    if not kept:
        raise InvalidConfig(f"{name}: the {len(runs)} runs have no metric in common; are they of one suite?")
    return Baseline(
        metrics={m: _pooled(m, [run.metrics[m] for run in runs]) for m in kept},
        source=runs[0].source,
        name=name,
        machine=runs[0].machine,
        package_version=runs[0].package_version,
    )


def partial_metrics(runs: Sequence[Baseline]) -> list[str]:
    """The metrics some but not all of ``runs`` measured (left out by :func:`pool_runs`)."""
    if not runs:
        return []
    return sorted({m for run in runs for m in run.metrics} - set(_in_every_run(runs)))


def run_medians(runs: Sequence[Baseline], *, name: str) -> Baseline:
    """One value per run and metric (its median), in run order, as samples."""
    metrics = {}
    for metric in _in_every_run(runs):
        parts = [run.metrics[metric] for run in runs]
        metrics[metric] = Metric.from_samples(
            metric, [p.median for p in parts], unit=parts[0].unit, direction=parts[0].direction
        )
    return Baseline(metrics=metrics, source="runs", name=name)
