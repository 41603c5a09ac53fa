"""Report writers: every artefact written, JUnit valid against a CI schema, HTML self-contained."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import xmlschema

from harness.journal import Journal
from harness.report import (
    RunReport,
    load_run_report,
    render_html,
    render_junit,
    render_markdown,
    report_dir,
    write_run_reports,
)
from tests.report.factories import canary_report

XSD = Path(__file__).parent / "data" / "junit.xsd"


@pytest.fixture(scope="module")
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(XSD)


def test_write_run_reports_writes_every_artefact(tmp_path: Path) -> None:
    """result.json, junit.xml, summary.md, report.html and the journal land in the folder."""
    journal = Journal(meta={"scenario": "x"})
    journal.record(1.0, "window", "engine", requests=3)
    paths = write_run_reports(canary_report(), tmp_path / "out", journal=journal)
    assert set(paths) == {"result", "junit", "summary", "html", "journal"}
    assert all(p.parent == tmp_path / "out" and p.stat().st_size > 0 for p in paths.values())
    assert Journal.read(paths["journal"]).digest() == journal.digest()
    assert load_run_report(paths["result"]) == canary_report()
    assert not list((tmp_path / "out").glob(".*.tmp")), "no temporary files are left behind"


def test_journal_file_is_copied(tmp_path: Path) -> None:
    """A journal given as a path is copied byte for byte."""
    journal = Journal()
    journal.record(0.5, "fault.on", "faults/redis", kind="latency")
    source = journal.write(tmp_path / "src.jsonl")
    paths = write_run_reports(canary_report(), tmp_path / "out", journal=source)
    assert paths["journal"].read_bytes() == source.read_bytes()


def test_report_dir_layout(tmp_path: Path) -> None:
    """Runs go to root/<safe scenario>/<UTC timestamp>/."""
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    path = report_dir(tmp_path, "tests/x.py::test y[1]", when)
    assert path == tmp_path / "tests_x.py_test_y_1" / "20260102T030405.000000Z"


@pytest.mark.parametrize("passed", [True, False])
def test_junit_is_valid_for_ci(junit_schema: xmlschema.XMLSchema, passed: bool) -> None:
    """junit.xml validates against the JUnit schema CI reporters use."""
    junit_schema.validate(render_junit(canary_report(passed=passed)))


def test_junit_has_a_case_per_expectation_with_seed_and_replay(junit_schema: xmlschema.XMLSchema) -> None:
    """Each expectation is a test case carrying the seed and the replay command."""
    doc = junit_schema.to_dict(render_junit(canary_report(seed=42)))
    suite = doc["testsuite"][0]
    assert suite["@tests"] == 2
    assert suite["@failures"] == 1
    for case in suite["testcase"]:
        props = {p["@name"]: p["@value"] for p in case["properties"]["property"]}
        assert props["seed"] == "42"
        assert props["replay"].endswith("--seed 42")
    failed = [c for c in suite["testcase"] if "failure" in c]
    assert len(failed) == 1
    assert "Reproduce with: harness run" in failed[0]["failure"]["$"]


def test_junit_survives_control_characters(junit_schema: xmlschema.XMLSchema) -> None:
    """Control characters in names or details cannot break the XML."""
    report = RunReport(scenario="s\x00\x1b", seed=1, passed=False, replay_command="run \x07")
    junit_schema.validate(render_junit(report))


def test_markdown_lists_failures_and_replay() -> None:
    """summary.md shows the status, the replay command and the failed expectation."""
    text = render_markdown(canary_report(seed=9))
    assert "❌ failed" in text
    assert "harness run scenarios/canary-redis-outage.yaml --seed 9" in text
    assert "| stable p99 &lt; 250ms | ❌ fail |" in text  # rendered as "<"


def test_markdown_escapes_table_cells() -> None:
    """A pipe in a name does not break the table."""
    report = RunReport(scenario="s", seed=1, passed=True, summary={"a|b": 1.0})
    assert "| a\\|b | 1 |" in render_markdown(report)


def test_markdown_escapes_html_in_names_and_descriptions() -> None:
    """summary.md carries no raw markup from scenario, expectation or metric names, as report.html."""
    report = RunReport(
        scenario="<img src=x onerror=alert(1)>",
        description="<script>alert(2)</script> & more",
        seed=1,
        passed=True,
        summary={"<b>p99</b>": 1.0},
    )
    text = render_markdown(report)
    assert "<" not in text.replace("&lt;", "")
    assert "## &lt;img src=x onerror=alert(1)&gt;: ✅ passed" in text
    assert "&lt;script&gt;alert(2)&lt;/script&gt; &amp; more" in text
    assert "| &lt;b&gt;p99&lt;/b&gt; | 1 |" in text
    canary = render_markdown(canary_report())
    assert "<with markup" not in canary
    assert "&lt;with markup &amp; quotes" in canary


def test_html_is_self_contained() -> None:
    """The HTML references nothing outside itself and forbids fetching by CSP."""
    html = render_html(canary_report())
    assert "default-src 'none'" in html
    urls = set(re.findall(r"(?:https?:)?//[^\s\"'<>)]+", html))
    assert urls == {"http://www.w3.org/2000/svg"}
    assert "<script" not in html


def test_html_has_three_charts_with_faults_and_decisions() -> None:
    """Weight, latency and error-rate charts, each with the fault window and the decision markers."""
    html = render_html(canary_report())
    assert html.count('<svg class="chart"') == 3
    assert html.count('class="fault"') == 3
    assert html.count('class="decision"') == 6
    assert html.count('class="decision minor"') == 3, "the hold decision is drawn faint, without a label"
    assert "v2 error rate 20% vs 1%" in html


def test_html_escapes_user_text() -> None:
    """Scenario text cannot inject markup."""
    html = render_html(canary_report())
    assert "&lt;with markup &amp; quotes&quot;&gt;" in html
    assert "<with markup" not in html


def test_html_without_series_still_renders() -> None:
    """A run with no time series (a plain pytest test) still gets a page."""
    html = render_html(RunReport(scenario="t", seed=1, passed=True))
    assert "No per-version time series" in html
