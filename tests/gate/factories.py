"""Builders of result files for the gate tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from harness.gate import Baseline, Metric
from harness.gate.synthetic import NoisyMachine

QUIET = NoisyMachine(drift=0.0)


def pytest_benchmark_doc(runs: dict[str, np.ndarray], *, with_data: bool = True) -> dict[str, Any]:
    """A pytest-benchmark JSON document with one benchmark per entry."""
    benchmarks = []
    for name, values in runs.items():
        q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
        stats: dict[str, Any] = {
            "min": float(values.min()),
            "max": float(values.max()),
            "mean": float(values.mean()),
            "stddev": float(values.std()),
            "median": float(median),
            "q1": float(q1),
            "q3": float(q3),
            "iqr": float(q3 - q1),
            "rounds": len(values),
        }
        if with_data:
            stats["data"] = [float(v) for v in values]
        benchmarks.append({"name": name.split("::")[-1], "fullname": name, "stats": stats})
    return {"machine_info": {"python_version": "3.11.9"}, "benchmarks": benchmarks, "version": "5.1.0"}


def write_json(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc))
    return path


def sample_set(values: list[float] | np.ndarray, name: str = "bench") -> Baseline:
    return Baseline(metrics={name: Metric.from_samples(name, list(map(float, values)), unit="s")})
