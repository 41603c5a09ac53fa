"""A scenario run as a report: :func:`scenario_report` fills the :class:`RunReport` every writer renders.

The report layer sits above the scenarios, so it reads a :class:`~harness.scenario.RunResult`;
the scenario package never imports the reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness._version import __version__
from harness.report.model import DecisionReason, DecisionRecord, FaultSpan, RunReport, SeriesPoint
from harness.report.writers import write_run_reports
from harness.scenario.result import replay_command

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from harness.rollout.contract import Decision
    from harness.scenario.result import RunResult, VersionPoint

__all__ = ["scenario_report", "write_scenario_reports"]


def _series_point(p: VersionPoint) -> SeriesPoint:
    return SeriesPoint(
        t_start=p.t_start,
        t_end=p.t_end,
        weight_percent=min(100.0, max(0.0, p.weight)),
        requests=p.requests,
        errors=p.errors,
        error_rate=p.errors / p.requests if p.requests else 0.0,
        p50=p.p50,
        p95=p.p95,
        p99=p.p99,
    )


def _fault_spans(result: RunResult) -> list[FaultSpan]:
    return [
        FaultSpan(
            start=f.at,
            end=min(f.at + f.duration, result.scenario.duration),
            target=f.target,
            kind=f.kind.value,
        )
        for f in result.scenario.faults
    ]


def _decision_records(decisions: Sequence[Decision]) -> list[DecisionRecord]:
    return [
        DecisionRecord(
            t=float(d.t) if d.t is not None else 0.0,
            action=d.action.value,
            weights=dict(d.weights),
            reasons=[
                DecisionReason(
                    metric=r.metric,
                    statistic=r.statistic,
                    value=r.value,
                    threshold=r.threshold,
                    message=r.message,
                    verdict=r.verdict.value,
                )
                for r in d.reasons
            ],
        )
        for d in decisions
    ]


def scenario_report(result: RunResult) -> RunReport:
    """The report model of one scenario run: verdict, series per version, fault windows, decisions."""
    return RunReport(
        scenario=result.scenario.name,
        description=result.scenario.description,
        seed=result.seed,
        mode=result.mode,
        started_at=result.started_at,
        duration=result.scenario.duration,
        digest=result.digest,
        passed=result.passed,
        replay_command=replay_command(result.source, result.seed, result.mode),
        package_version=__version__,
        expectations=list(result.expectations),
        series={name: [_series_point(p) for p in pts] for name, pts in result.points.items()},
        faults=_fault_spans(result),
        decisions=_decision_records(result.decisions),
        summary=result.summary(),
    )


def write_scenario_reports(result: RunResult, out_dir: str | Path) -> dict[str, Path]:
    """Write result.json, journal.jsonl, junit.xml, summary.md and report.html under ``out_dir``."""
    return write_run_reports(scenario_report(result), out_dir, journal=result.journal)
