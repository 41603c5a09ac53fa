"""A swarm's reports: ``swarm.json`` (atomic), ``swarm.md`` and ``swarm.html`` with the failure-rate chart.

Each scenario reads as one line a reviewer can check ("fails 2.1% [1.5%, 2.9%] of 1000 seeds,
alpha 5.0%: within its bound"), then its slowest runs and, for every failing seed, the failed
expectations and the exact command that replays it. ``runs.jsonl`` (one line per run, written as
the runs arrive, see :func:`run_line`) holds every seed's verdict and digest.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from harness.atomic import write_atomic
from harness.report.html import render_page, render_table
from harness.report.markdown import md_escape
from harness.report.svg import IntervalRow, render_intervals
from harness.scenario.result import replay_command
from harness.swarm.engine import SwarmResult
from harness.swarm.tally import FAMILY_LEVEL, ScenarioStats
from harness.swarm.task import SeedCrash, SeedRun

__all__ = [
    "SWARM_SCHEMA",
    "SWARM_SCHEMA_VERSION",
    "render_swarm_html",
    "render_swarm_markdown",
    "rule_text",
    "run_line",
    "swarm_json",
    "write_swarm_reports",
]

SWARM_SCHEMA = "chaos-harness/swarm"
SWARM_SCHEMA_VERSION = 1


def rule_text(result: SwarmResult) -> str:
    """The flakiness rule in words, with the numbers of this swarm."""
    m = len(result.scenarios)
    return (
        f"a scenario is above its bound when the one-sided {1 - result.level:.2%} exact "
        f"(Clopper-Pearson) lower confidence bound of its failure rate is above the bound; each of the "
        f"{m} scenario{'s' if m != 1 else ''} is tested at {FAMILY_LEVEL:g}/{m}, so a swarm whose "
        f"scenarios are all within their bounds is reported above in at most {FAMILY_LEVEL:.0%} of swarms"
    )


def run_line(run: SeedRun, name: str) -> str:
    """One run as a JSON line for ``runs.jsonl``."""
    record = {"scenario": name, "seed": run.seed, "passed": run.passed, "digest": run.digest}
    record["seconds"] = round(run.seconds, 6)
    if run.failed:
        record["failed"] = [f.name for f in run.failed]
    return json.dumps(record, sort_keys=True) + "\n"


def _scenario_json(s: ScenarioStats) -> dict[str, Any]:
    i = s.interval
    return {
        "name": s.name,
        "source": s.source,
        "runs": s.runs,
        "failures": s.failures,
        "failure_rate": i.rate,
        "interval": {"low": i.low, "high": i.high, "confidence": i.confidence, "method": "wilson"},
        "alpha": s.alpha,
        "bound": s.bound,
        "level": s.level,
        "exceeds_bound": s.exceeds_bound,
        "reading": s.reading(),
        "seconds": round(s.seconds, 6),
        "mean_seconds": round(s.mean_seconds, 6),
        "slowest": [{"seed": r.seed, "seconds": round(r.seconds, 6)} for r in s.slowest],
        "failed_runs": [
            {
                "seed": f.seed,
                "digest": f.digest,
                "replay": f.replay,
                "failed": [
                    {"name": e.name, "observed": e.observed, "limit": e.limit, "detail": e.detail}
                    for e in f.failed
                ],
            }
            for f in s.failed_runs
        ],
    }


def _crash_json(crash: SeedCrash | None, result: SwarmResult) -> dict[str, Any] | None:
    if crash is None:
        return None
    source = result.scenarios[crash.scenario].source
    return {
        "scenario": result.scenarios[crash.scenario].name,
        "seed": crash.seed,
        "error": crash.error,
        "message": crash.message,
        "traceback": crash.trace,
        "replay": replay_command(source, crash.seed, result.mode),
    }


def swarm_json(result: SwarmResult) -> dict[str, Any]:
    """The swarm's result as a JSON-ready mapping (the content of ``swarm.json``)."""
    return {
        "schema": SWARM_SCHEMA,
        "schema_version": SWARM_SCHEMA_VERSION,
        "package_version": result.package_version,
        "started_at": result.started_at,
        "seconds": round(result.seconds, 3),
        "mode": result.mode.value,
        "seeds": {"first": result.seeds.first, "last": result.seeds.last},
        "workers": result.workers,
        "scheduler": result.scheduler,
        "batch": result.batch,
        "runs": result.runs,
        "total": result.total,
        "failures": result.failures,
        "interrupted": result.interrupted,
        "passed": result.passed,
        "rule": rule_text(result),
        "crash": _crash_json(result.crash, result),
        "scenarios": [_scenario_json(s) for s in result.scenarios],
    }


def _status(result: SwarmResult) -> str:
    if result.crash is not None:
        return "crashed"
    if result.interrupted:
        return "interrupted"
    return "within bounds" if result.passed else "above bound"


def _md_scenario(s: ScenarioStats) -> list[str]:
    lines = [f"### {md_escape(s.name)}", "", md_escape(s.reading()), ""]
    if s.slowest:
        slow = ", ".join(f"seed {r.seed} ({r.seconds:.3g} s)" for r in s.slowest)
        lines += [f"Slowest runs: {slow}", ""]
    if s.failed_runs:
        lines += ["| seed | failed expectations | replay |", "|---|---|---|"]
        for f in s.failed_runs:
            failed = "; ".join(e.text() for e in f.failed)
            lines.append(f"| {f.seed} | {md_escape(failed)} | `{md_escape(f.replay)}` |")
        lines.append("")
    return lines


def render_swarm_markdown(result: SwarmResult) -> str:
    """``swarm.md``: the per-scenario table, the rule, each failing seed with its replay command."""
    lines = [
        f"## chaos-harness swarm: {_status(result)}",
        "",
        f"{result.runs} of {result.total} runs, seeds {result.seeds}, {result.workers} workers, "
        f"{result.seconds:.1f} s · chaos-harness {result.package_version}",
        "",
        "| scenario | runs | failures | failure rate [95% Wilson] | alpha | bound | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in result.scenarios:
        i = s.interval
        alpha = "–" if s.alpha is None else f"{s.alpha:.1%}"
        verdict = "❌ above bound" if s.exceeds_bound else "✅ within"
        lines.append(
            f"| {md_escape(s.name)} | {s.runs} | {s.failures} | {i.rate:.2%} [{i.low:.2%}, {i.high:.2%}] "
            f"| {alpha} | {s.bound:.1%} | {verdict} |"
        )
    lines += ["", f"Rule: {rule_text(result)}.", ""]
    for s in result.scenarios:
        lines += _md_scenario(s)
    return "\n".join(lines).rstrip() + "\n"


def _chart(result: SwarmResult) -> str:
    rows = [
        IntervalRow(
            label=s.name,
            value=s.interval.rate,
            low=s.interval.low,
            high=s.interval.high,
            bound=s.bound,
            alarm=s.exceeds_bound,
            title=s.reading(),
        )
        for s in result.scenarios
    ]
    return render_intervals("Failure rate per scenario (95% Wilson interval; dashed: bound)", rows)


def _html_failures(s: ScenarioStats) -> str:
    if not s.failed_runs:
        return ""
    rows = [([str(f.seed), "\n".join(e.text() for e in f.failed), f.replay], True) for f in s.failed_runs]
    return f"<h3>{escape(s.name)}: failing seeds</h3>" + render_table(
        ["seed", "failed expectations", "replay"], rows
    )


def render_swarm_html(result: SwarmResult) -> str:
    """``swarm.html``: the failure-rate chart, the per-scenario table and every failing seed."""
    table = render_table(
        ["scenario", "runs", "failures", "failure rate [95%]", "alpha", "bound", "slowest (s)"],
        [
            (
                [
                    s.name,
                    str(s.runs),
                    str(s.failures),
                    f"{s.interval.rate:.2%} [{s.interval.low:.2%}, {s.interval.high:.2%}]",
                    "–" if s.alpha is None else f"{s.alpha:.1%}",
                    f"{s.bound:.1%}",
                    ", ".join(f"seed {r.seed}: {r.seconds:.3g}" for r in s.slowest[:3]),
                ],
                s.exceeds_bound,
            )
            for s in result.scenarios
        ],
    )
    body = (
        f"<h1>chaos-harness swarm: {escape(_status(result))}</h1>"
        f"<p class='meta'>{result.runs} of {result.total} runs · seeds {result.seeds} · "
        f"{result.workers} workers · {result.seconds:.1f} s · "
        f"chaos-harness {escape(result.package_version)}</p>"
        "<h2>Failure rates</h2>"
        + _chart(result)
        + table
        + f"<p class='meta'>Rule: {escape(rule_text(result))}.</p>"
        + "".join(_html_failures(s) for s in result.scenarios)
    )
    return render_page("chaos-harness swarm", body)


def write_swarm_reports(result: SwarmResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``swarm.json``, ``swarm.md`` and ``swarm.html`` under ``out_dir``, each atomically."""
    folder = Path(out_dir)
    return {
        "json": write_atomic(folder / "swarm.json", json.dumps(swarm_json(result), indent=2) + "\n"),
        "markdown": write_atomic(folder / "swarm.md", render_swarm_markdown(result)),
        "html": write_atomic(folder / "swarm.html", render_swarm_html(result)),
    }
