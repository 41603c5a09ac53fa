"""Reports of a run: ``result.json``, ``junit.xml``, ``summary.md``, ``report.html``, ``journal.jsonl``.

Fill a :class:`RunReport` and call :func:`write_run_reports`; for a scenario run,
``harness.report.scenario.write_scenario_reports(result, out_dir)`` does both. ``harness report``
re-renders the files from a ``result.json``.
"""

from harness._lazy import Renamed, lazy_exports
from harness.report.html import render_html
from harness.report.junit import render_junit
from harness.report.markdown import render_markdown
from harness.report.model import (
    REPORT_SCHEMA,
    REPORT_SCHEMA_VERSION,
    DecisionReason,
    DecisionRecord,
    ExpectationResult,
    FaultSpan,
    RunReport,
    SeriesPoint,
    load_run_report,
)
from harness.report.writers import ARTEFACTS, report_dir, write_run_reports

__all__ = [
    "ARTEFACTS",
    "REPORT_SCHEMA",
    "REPORT_SCHEMA_VERSION",
    "DecisionReason",
    "DecisionRecord",
    "ExpectationResult",
    "FaultSpan",
    "RunReport",
    "SeriesPoint",
    "load_run_report",
    "render_html",
    "render_junit",
    "render_markdown",
    "report_dir",
    "write_run_reports",
]

_RENAMED = {
    "safe_name": Renamed("harness.report.writers", "safe_name"),
    "FaultWindow": Renamed("harness.report", "FaultSpan"),
    "RunMode": Renamed("harness.mode", "Mode"),
}
"""Names this package exported before, for one release: each read warns and names the new home."""

__getattr__, __dir__ = lazy_exports(__name__, {}, renamed=_RENAMED)
