"""Write every artefact of a run under one folder, each file atomically."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from harness.atomic import write_atomic
from harness.errors import InvalidConfig
from harness.journal import Journal
from harness.report.html import render_html
from harness.report.junit import render_junit
from harness.report.markdown import render_markdown
from harness.report.model import RunReport

__all__ = ["ARTEFACTS", "report_dir", "safe_name", "write_run_reports"]

ARTEFACTS = ("result", "junit", "summary", "html", "journal")
"""Keys of the mapping returned by :func:`write_run_reports` (``journal`` only when given)."""

_FILENAMES = {
    "result": "result.json",
    "junit": "junit.xml",
    "summary": "summary.md",
    "html": "report.html",
    "journal": "journal.jsonl",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """A folder name made of ``[A-Za-z0-9._-]`` derived from ``text`` (a scenario or test id)."""
    name = _UNSAFE.sub("_", text).strip("._") or "run"
    return name[:120]


def report_dir(root: str | Path, scenario: str, when: datetime | None = None) -> Path:
    """``root/<scenario>/<UTC timestamp>/``: where one run's reports go (not created here)."""
    stamp = (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return Path(root) / safe_name(scenario) / stamp


def _copy_journal(source: Path, target: Path) -> Path:
    if source.resolve() == target.resolve():
        return target
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise InvalidConfig(f"cannot read journal {source}: {exc.strerror or exc}") from None
    return write_atomic(target, data)


def write_run_reports(
    report: RunReport, out_dir: str | Path, journal: Journal | str | Path | None = None
) -> dict[str, Path]:
    """Write ``result.json``, ``junit.xml``, ``summary.md``, ``report.html`` (and ``journal.jsonl``).

    ``journal`` is a :class:`Journal` to write or the path of a journal file to copy. Each file is
    written atomically, so a killed run leaves complete files only. Returns artefact -> path.
    """
    folder = Path(out_dir)
    rendered = {
        "result": report.to_json(),
        "junit": render_junit(report),
        "summary": render_markdown(report),
        "html": render_html(report),
    }
    paths = {key: write_atomic(folder / _FILENAMES[key], text) for key, text in rendered.items()}
    if isinstance(journal, Journal):
        paths["journal"] = journal.write(folder / _FILENAMES["journal"])
    elif journal is not None:
        paths["journal"] = _copy_journal(Path(journal), folder / _FILENAMES["journal"])
    return paths
