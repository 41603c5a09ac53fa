"""JUnit XML for a run: one test suite per run, one test case per expectation.

CI systems (Jenkins, GitLab, GitHub test reporters) show each expectation as a test. The seed and
the replay command are properties of the suite and of every test case, and a failed expectation's
failure message ends with the line that replays the run.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from harness.report.model import ExpectationResult, RunReport

__all__ = ["render_junit"]

_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: object) -> str:
    """A string safe to put in XML 1.0 (control characters removed)."""
    return _ILLEGAL_XML.sub("", str(value))


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _add_properties(parent: ET.Element, pairs: list[tuple[str, str]]) -> None:
    props = ET.SubElement(parent, "properties")
    for name, value in pairs:
        ET.SubElement(props, "property", name=name, value=_text(value))


def _run_properties(report: RunReport) -> list[tuple[str, str]]:
    return [
        ("seed", str(report.seed)),
        ("replay", report.replay_command),
        ("mode", report.mode.value),
        ("digest", report.digest),
        ("package_version", report.package_version),
    ]


def _testcase(suite: ET.Element, report: RunReport, exp: ExpectationResult) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=_text(f"chaos-harness.{report.scenario}"),
        name=_text(exp.name),
        time="0.000",
    )
    pairs = [("seed", str(report.seed)), ("replay", report.replay_command)]
    if exp.observed is not None:
        pairs.append(("observed", str(exp.observed)))
    if exp.limit is not None:
        pairs.append(("limit", str(exp.limit)))
    _add_properties(case, pairs)
    if not exp.passed:
        message = exp.detail or f"{exp.name}: observed {exp.observed!r}, limit {exp.limit!r}"
        failure = ET.SubElement(case, "failure", message=_text(message), type="ExpectationFailed")
        replay = f"\nReproduce with: {report.replay_command}" if report.replay_command else ""
        failure.text = _text(f"{message}\nseed: {report.seed}{replay}")


def _expectations(report: RunReport) -> list[ExpectationResult]:
    if report.expectations:
        return list(report.expectations)
    detail = "" if report.passed else "the run failed without a named expectation"
    return [ExpectationResult(name="run", passed=report.passed, detail=detail)]


def render_junit(report: RunReport) -> str:
    """The JUnit XML document (``junit.xml``) for ``report``."""
    expectations = _expectations(report)
    failures = sum(not e.passed for e in expectations)
    counts = {"tests": str(len(expectations)), "failures": str(failures), "errors": "0"}
    time = _seconds(report.duration)
    root = ET.Element("testsuites", {"name": "chaos-harness", "time": time, **counts})
    suite_attrs = {"name": _text(report.scenario), "skipped": "0", "time": time, **counts}
    suite = ET.SubElement(root, "testsuite", suite_attrs)
    if report.started_at:
        suite.set("timestamp", _text(report.started_at))
    _add_properties(suite, _run_properties(report))
    for exp in expectations:
        _testcase(suite, report, exp)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'
