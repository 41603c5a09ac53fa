"""Baselines of scenario runs: a run's metrics saved under a name, compared later by :func:`compare`.

A simulated run is a function of its seed (run it again and every number repeats), so its
metrics carry a run-to-run noise of zero and the windows of one run decide. A live run's noise is
unknown: one run per side is then inconclusive beyond the threshold, as for any other result.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.errors import InvalidConfig
from harness.gate.baseline import Baseline
from harness.gate.compare import GateResult, compare
from harness.gate.metrics import Better, Metric
from harness.mode import Mode

if TYPE_CHECKING:
    from harness.scenario.result import RunResult

__all__ = [
    "DEFAULT_BASELINE_DIR",
    "baseline_from_run",
    "baseline_path",
    "compare_with_baseline",
    "save_baseline",
]

DEFAULT_BASELINE_DIR = Path("benchmarks") / "baselines"
_NAME = re.compile(r"^[A-Za-z0-9][\w.-]{0,99}$")


def baseline_path(name: str, folder: str | Path = DEFAULT_BASELINE_DIR) -> Path:
    """Where baseline ``name`` lives; the name must be a plain file stem."""
    if not _NAME.match(name):
        raise InvalidConfig(
            f"baseline name {name!r} must be letters, digits, '.', '-' or '_' (at most 100), "
            "for example 'canary-good'.",
            field="baseline",
            value=name,
        )
    return Path(folder) / f"{name}.json"


def baseline_from_run(result: RunResult, name: str) -> Baseline:
    """Per-window samples of user latency and error rate (run-to-run noise 0 when simulated)."""
    windows = [w for w in result.user_windows if w.requests > 0]
    metrics: dict[str, Metric] = {}
    if windows:
        p50 = [float(np.percentile(w.latencies, 50)) for w in windows if w.latencies.size]
        p99 = [float(np.percentile(w.latencies, 99)) for w in windows if w.latencies.size]
        rates = [w.errors / w.requests for w in windows]
        if p50:
            metrics["user_p50"] = Metric.from_samples("user_p50", p50, unit="s", direction=Better.LOWER)
            metrics["user_p99"] = Metric.from_samples("user_p99", p99, unit="s", direction=Better.LOWER)
        metrics["user_error_rate"] = Metric.from_samples(
            "user_error_rate", rates, unit="", direction=Better.LOWER
        )
    if not metrics:
        raise InvalidConfig(f"scenario {result.scenario.name!r} served no requests; nothing to baseline.")
    baseline = Baseline(
        metrics=metrics,
        source=f"scenario:{result.scenario.name}:{result.mode}",
        name=name,
        created_at=result.started_at,
    )
    return _exact_when_simulated(baseline)


def _exact_when_simulated(baseline: Baseline) -> Baseline:
    """Run-to-run noise 0 on every metric of a simulated scenario's baseline that does not say.

    Baselines saved before metrics carried a noise have none; a simulated one was exact all along.
    """
    if not baseline.source.endswith(f":{Mode.SIMULATED.value}"):
        return baseline
    metrics = {
        n: m if m.noise is not None else dataclasses.replace(m, noise=0.0)
        for n, m in baseline.metrics.items()
    }
    return dataclasses.replace(baseline, metrics=metrics)


def save_baseline(result: RunResult, name: str, folder: str | Path = DEFAULT_BASELINE_DIR) -> Path:
    """Store the run's metrics as baseline ``name`` (atomically)."""
    return baseline_from_run(result, name).save(baseline_path(name, folder))


def compare_with_baseline(
    result: RunResult, name: str, folder: str | Path = DEFAULT_BASELINE_DIR
) -> GateResult:
    """Compare the run with stored baseline ``name``; a usage error if it does not exist."""
    path = baseline_path(name, folder)
    if not path.exists():
        raise InvalidConfig(
            f"no baseline {name!r} at {path}; create it with --save-baseline {name}.",
            field="baseline",
            value=name,
        )
    return compare(_exact_when_simulated(Baseline.load(path)), baseline_from_run(result, name))
