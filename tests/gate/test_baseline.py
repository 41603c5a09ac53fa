"""Baselines: every input format, compact files, clear errors, and atomic writes under SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from harness.errors import InvalidConfig
from harness.gate import BASELINE_FORMAT, Baseline, Better, Evidence
from harness.journal import Journal
from tests.gate.factories import QUIET, pytest_benchmark_doc, write_json
from tests.report.factories import canary_report


def test_pytest_benchmark_with_raw_data_becomes_compact_samples(tmp_path: Path) -> None:
    """100,000 raw timings become at most 256 samples; median and IQR stay exact."""
    raw = np.random.default_rng(1).lognormal(-7, 0.2, 100_000)
    path = write_json(tmp_path / "bench.json", pytest_benchmark_doc({"t.py::test_a": raw}))
    metric = Baseline.load(path).metrics["t.py::test_a"]
    assert metric.evidence is Evidence.SAMPLES
    assert len(metric.samples) == 256
    assert metric.count == 100_000
    assert metric.median == pytest.approx(float(np.median(raw)))
    assert metric.unit == "s"


def test_saved_baseline_is_small_and_round_trips(tmp_path: Path) -> None:
    """A baseline of benchmarks with 50,000 timings each is a few kilobytes per benchmark."""
    rng = np.random.default_rng(2)
    runs = {f"t.py::test_{i}": rng.lognormal(-7, 0.2, 50_000) for i in range(4)}
    raw_path = write_json(tmp_path / "bench.json", pytest_benchmark_doc(runs))
    saved = Baseline.load(raw_path).save(tmp_path / "baselines" / "main.json")
    assert saved.stat().st_size < 4 * 8_000
    assert raw_path.stat().st_size > 4 * 500_000
    doc = json.loads(saved.read_text())
    assert doc["format"] == BASELINE_FORMAT
    assert doc["package_version"]
    assert doc["machine"]["python_version"]
    again = Baseline.load(saved)
    assert again.metrics.keys() == runs.keys()
    assert again.metrics["t.py::test_3"].median == pytest.approx(float(np.median(runs["t.py::test_3"])))


def test_pytest_benchmark_summary_only(tmp_path: Path) -> None:
    """Without --benchmark-save-data only the summary is known."""
    doc = pytest_benchmark_doc({"t.py::test_a": QUIET.run(np.random.default_rng(3))}, with_data=False)
    metric = Baseline.load(write_json(tmp_path / "b.json", doc)).metrics["t.py::test_a"]
    assert metric.evidence is Evidence.SUMMARY
    assert metric.count == QUIET.rounds


def test_run_report_summary_metrics(tmp_path: Path) -> None:
    """A result.json contributes its summary metrics with guessed directions."""
    path = tmp_path / "result.json"
    path.write_text(canary_report().to_json())
    metrics = Baseline.load(path).metrics
    assert metrics["throughput_rps"].direction is Better.HIGHER
    assert metrics["v1.p99"].direction is Better.LOWER
    assert metrics["v1.p99"].evidence is Evidence.SINGLE


def test_metrics_file(tmp_path: Path) -> None:
    """The generic metrics format takes numbers, sample lists and objects."""
    doc = {
        "format": "chaos-harness.metrics",
        "metrics": {
            "p99": [0.1, 0.12, 0.11],
            "rps": 5000,
            "lat": {"samples": [1, 2, 3], "unit": "s", "direction": "lower"},
        },
    }
    metrics = Baseline.load(write_json(tmp_path / "m.json", doc)).metrics
    assert metrics["p99"].count == 3
    assert metrics["rps"].direction is Better.HIGHER
    assert metrics["lat"].unit == "s"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "not JSON"),
        ('{"benchmarks": [{"name": "x"}]', "not JSON"),
        ("[1, 2]", "is not a pytest-benchmark JSON"),
        ('{"benchmarks": [{"name": "x"}]}', r"benchmarks\[0\] is malformed"),
        ('{"benchmarks": []}', "has no metrics"),
        ('{"format": "chaos-harness.baseline", "format_version": 7, "metrics": {}}', "format_version=7"),
        ('{"format": "chaos-harness.metrics", "metrics": {"x": "fast"}}', "x=.fast. must be a finite number"),
        (
            '{"format": "chaos-harness.metrics", "metrics": {"x": {"value": 1, "direction": "up"}}}',
            "valid: lower",
        ),
    ],
)
def test_malformed_files_are_usage_errors(tmp_path: Path, content: str, message: str) -> None:
    """Each kind of bad file fails with a message that names the problem."""
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InvalidConfig, match=message):
        Baseline.load(path)


WRITER = textwrap.dedent(
    """
    import sys
    from harness.gate import Baseline, Metric
    from harness.journal import Journal
    kind, path = sys.argv[1], sys.argv[2]
    version = 1
    while True:
        if kind == "baseline":
            metrics = {f"m{i}": Metric(name=f"m{i}", median=float(version), samples=(float(version),) * 256,
                                       count=256) for i in range(300)}
            Baseline(metrics=metrics, name=str(version)).save(path)
        else:
            journal = Journal(meta={"version": version})
            for i in range(3000):
                journal.record(float(i), "window", "engine", version=version)
            journal.write(path)
        print(version, flush=True)
        version += 1
    """
)


def _check_complete(kind: str, path: Path) -> int:
    if kind == "baseline":
        baseline = Baseline.load(path)
        versions = {m.median for m in baseline.metrics.values()}
        assert len(baseline.metrics) == 300
    else:
        journal = Journal.read(path)
        versions = {e.data["version"] for e in journal.events}
        assert len(journal) == 3000
    assert len(versions) == 1, "a file mixes two versions"
    return int(versions.pop())


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["baseline", "journal"])
def test_killed_writer_leaves_old_or_new_file(tmp_path: Path, kind: str) -> None:
    """SIGKILL at random points while rewriting: the file is always one complete version."""
    rng = random.Random(f"atomic-{kind}")
    path = tmp_path / f"{kind}.json"
    subprocess.run([sys.executable, "-c", WRITER.replace("while True", "while version < 2"), kind, str(path)],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    assert _check_complete(kind, path) == 1
    for _ in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, kind, str(path)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=os.getcwd(),
        )
        assert proc.stdout is not None
        for _ in range(rng.randint(0, 3)):
            proc.stdout.readline()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stdout.close()
        _check_complete(kind, path)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != path.name]
    assert all(name.endswith(".tmp") for name in leftovers)
