"""``harness report``: re-render a run's reports (JUnit, Markdown, HTML) from its ``result.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.report import load_run_report, write_run_reports

__all__ = ["register", "report"]


def report(
    result: Annotated[Path, typer.Argument(help="The run's result.json.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder to write into (default: the result's folder).")
    ] = None,
    journal: Annotated[
        Path | None,
        typer.Option(help="Journal to include (default: journal.jsonl next to the result, if any)."),
    ] = None,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when the run did not pass.")] = False,
) -> None:
    """Write result.json, junit.xml, summary.md and report.html (and journal.jsonl) for a run."""
    run = load_run_report(result)
    folder = out or result.parent
    sibling = result.parent / "journal.jsonl"
    source = journal or (sibling if sibling.exists() else None)
    for kind, path in write_run_reports(run, folder, journal=source).items():
        typer.echo(f"{kind:8} {path}")
    if check and not run.passed:
        failed = ", ".join(e.name for e in run.failed_expectations) or "the run"
        typer.echo(f"{run.scenario}: failed ({failed}). Replay: {run.replay_command}", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``harness report`` to the CLI."""
    app.command(name="report")(report)
