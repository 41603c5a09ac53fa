"""The run-report model: validation, schema versioning and JSON round trips."""

from __future__ import annotations

import json

import pytest

import harness.report
from harness.errors import InvalidConfig
from harness.report import REPORT_SCHEMA_VERSION, RunReport, SeriesPoint, load_run_report
from tests.report.factories import canary_report


def _isort_key(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then functions."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_resolves() -> None:
    """The public surface is sorted and every name exists."""
    names = harness.report.__all__
    assert names == sorted(names, key=_isort_key)
    for name in names:
        assert getattr(harness.report, name) is not None


def test_json_round_trip_is_exact() -> None:
    """result.json parses back to an equal report."""
    report = canary_report()
    assert RunReport.from_json(report.to_json()) == report


def test_result_json_carries_schema_and_version() -> None:
    """result.json says what it is and which schema version it follows."""
    raw = json.loads(canary_report().to_json())
    assert raw["schema"] == "chaos-harness.run-report"
    assert raw["schema_version"] == REPORT_SCHEMA_VERSION


def test_newer_schema_version_is_refused_with_advice() -> None:
    """A result.json from a future schema fails with the version in the message."""
    raw = json.loads(canary_report().to_json())
    raw["schema_version"] = 99
    with pytest.raises(InvalidConfig, match="schema_version=99"):
        RunReport.from_dict(raw)


def test_foreign_json_is_refused() -> None:
    """A JSON file that is not a run report is a usage error naming the expected schema."""
    with pytest.raises(InvalidConfig, match="not a chaos-harness run report"):
        RunReport.from_json('{"benchmarks": []}', source="bench.json")


def test_broken_json_names_the_line(tmp_path: object) -> None:
    """Unparsable text is reported with the parser's message."""
    with pytest.raises(InvalidConfig, match="not JSON"):
        RunReport.from_json("{oops")


def test_bad_field_is_named() -> None:
    """A validation error names the field path."""
    raw = json.loads(canary_report().to_json())
    raw["series"]["v1"][0]["errors"] = 10**6
    with pytest.raises(InvalidConfig, match=r"series\.v1\.0"):
        RunReport.from_dict(raw)


def test_window_end_before_start_is_refused() -> None:
    """A window that ends before it starts is rejected where it is built."""
    with pytest.raises(ValueError, match="swap them"):
        SeriesPoint(t_start=5, t_end=1, weight_percent=10, requests=1, errors=0, error_rate=0.0)


def test_non_finite_summary_is_refused() -> None:
    """Summary metrics feed the gate, so NaN is rejected."""
    with pytest.raises(ValueError, match="finite"):
        RunReport(scenario="s", seed=1, passed=True, summary={"x": float("nan")})


def test_load_run_report_missing_file(tmp_path: object) -> None:
    """A missing file is a usage error naming the path."""
    with pytest.raises(InvalidConfig, match="cannot read run report"):
        load_run_report("/nonexistent/result.json")
