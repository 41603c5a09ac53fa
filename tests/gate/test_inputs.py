"""Gate inputs are checked: missing benchmarks fail, bad numbers and duplicate names are exit 2."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.cli import main
from tests.gate.factories import QUIET, pytest_benchmark_doc, write_json

HOT, COLD = "t.py::test_hot", "t.py::test_cold"


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    return " ".join(capsys.readouterr().err.split())


def _doc(*names: str, seed: int = 1) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return pytest_benchmark_doc({name: QUIET.run(rng) for name in names})


@pytest.mark.parametrize("cold", [COLD, "t.py::test_cold[/tmp]"])
def test_benchmark_missing_from_current_fails_the_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cold: str
) -> None:
    """A benchmark that stopped running is a finding (exit 1) that names it, not a pass."""
    base = write_json(tmp_path / "base.json", _doc(HOT, cold))
    cur = write_json(tmp_path / "cur.json", _doc(HOT, seed=2))
    assert main(["gate", str(base), str(cur)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert f"missing from current: {cold}" in out
    assert "--allow-missing" in out


def test_allow_missing_lets_a_benchmark_go(tmp_path: Path) -> None:
    """--allow-missing accepts a current file without some of the baseline's benchmarks."""
    base = write_json(tmp_path / "base.json", _doc(HOT, COLD))
    cur = write_json(tmp_path / "cur.json", _doc(HOT, seed=2))
    assert main(["gate", str(base), str(cur), "--allow-missing"]) == 0


def _with(doc: dict[str, Any], index: int, **stats: Any) -> dict[str, Any]:
    doc["benchmarks"][index]["stats"].update(stats)
    return doc


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: _with(d, 1, data=[0.001, -0.002, 0.001]), r"benchmarks\[1\]\.stats\.data\[1\]=-0\.002"),
        (lambda d: _with(_without_data(d), 0, median=-1e-3), r"benchmarks\[0\]\.stats\.median=-0\.001"),
        (lambda d: _with(_without_data(d), 1, rounds=-5), r"benchmarks\[1\]\.stats\.rounds=-5"),
        (lambda d: _with(_without_data(d), 0, iqr=-1e-4), r"benchmarks\[0\]\.stats\.iqr=-0\.0001"),
    ],
)
def test_negative_timings_and_rounds_exit_2_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Any, field: str
) -> None:
    """A negative timing, rounds or IQR is bad input: exit 2 with the file and the field."""
    base = write_json(tmp_path / "base.json", _doc(HOT, COLD))
    bad = write_json(tmp_path / "bad.json", change(_doc(HOT, COLD, seed=2)))
    assert main(["gate", str(base), str(bad)]) == 2
    err = _err(capsys)
    assert str(bad) in err
    assert re.search(field, err), err


def _without_data(doc: dict[str, Any]) -> dict[str, Any]:
    for bench in doc["benchmarks"]:
        bench["stats"].pop("data", None)
    return doc


def test_duplicate_benchmark_names_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two benchmarks with one name would silently replace each other: exit 2 naming both places."""
    doc = _doc(HOT, COLD)
    doc["benchmarks"][1]["fullname"] = HOT
    bad = write_json(tmp_path / "dup.json", doc)
    assert main(["gate", str(bad), str(bad)]) == 2
    err = _err(capsys)
    assert f"{bad}: benchmarks[1].fullname={HOT!r}" in err
    assert "benchmarks[0]" in err


def test_duplicate_keys_in_a_metrics_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """JSON keeps the last of two equal keys; a metrics file with one twice is refused instead."""
    bad = tmp_path / "m.json"
    bad.write_text('{"format": "chaos-harness.metrics", "metrics": {"p99": 0.1, "p99": 0.2}}')
    assert main(["gate", str(bad), str(bad)]) == 2
    assert "'p99' appears twice" in _err(capsys)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"format": "chaos-harness.metrics", "metrics": {"x": ' + "9" * 400 + "}}", "x=.* must be a finite"),
        ('{"format": "chaos-harness.metrics", "metrics": {"x": ' + "9" * 5000 + "}}", "is not JSON"),
    ],
)
def test_pathological_json_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    """Deep nesting and numbers beyond float range are bad input, not a crash."""
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert main(["gate", str(bad), str(bad)]) == 2
    assert re.search(message, _err(capsys))


def test_negative_timing_in_a_metrics_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A metric in seconds cannot be negative; a metric without a time unit may be."""
    doc = {
        "format": "chaos-harness.metrics",
        "metrics": {"delta": -3, "lat": {"samples": [0.1, -0.1], "unit": "s"}},
    }
    bad = write_json(tmp_path / "m.json", doc)
    assert main(["gate", str(bad), str(bad)]) == 2
    assert "lat.samples[1]=-0.1 must be" in _err(capsys)
    assert json.loads(bad.read_text())["metrics"]["delta"] == -3
