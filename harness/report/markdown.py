"""``summary.md``: a short Markdown summary of a run for a CI job summary or a pull-request comment."""

from __future__ import annotations

from html import escape

from harness.report.model import DecisionRecord, ExpectationResult, RunReport

__all__ = ["format_value", "md_escape", "render_markdown"]


def md_escape(text: object) -> str:
    """Text safe inside a Markdown table cell or line: HTML escaped, pipes and backslashes quoted.

    GitHub and most Markdown renderers pass raw HTML through, so a scenario name such as
    ``<img src=x onerror=...>`` is escaped as ``report.html`` escapes it.
    """
    text = escape(str(text), quote=False)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def format_value(value: object) -> str:
    """Numbers with four significant digits; everything else as text; ``None`` as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _expectation_row(exp: ExpectationResult) -> str:
    mark = "✅ pass" if exp.passed else "❌ fail"
    cells = [exp.name, mark, format_value(exp.observed), format_value(exp.limit), exp.detail]
    return "| " + " | ".join(md_escape(c) for c in cells) + " |"


def _decision_row(decision: DecisionRecord) -> str:
    weights = ", ".join(f"{k} {v:g}%" for k, v in decision.weights.items())
    reasons = "; ".join(
        r.message or f"{r.metric} {r.statistic}={format_value(r.value)}" for r in decision.reasons
    )
    cells = [f"{decision.t:g}", decision.action, weights, reasons]
    return "| " + " | ".join(md_escape(c) for c in cells) + " |"


def _header(report: RunReport) -> list[str]:
    status = "✅ passed" if report.passed else "❌ failed"
    lines = [f"## {md_escape(report.scenario)}: {status}", ""]
    if report.description:
        lines += [md_escape(report.description), ""]
    lines.append(
        f"seed `{report.seed}` · mode {report.mode.value} · {report.duration:g} s"
        f" · digest `{report.digest[:16]}`"
    )
    if report.replay_command:
        lines += ["", f"Replay: `{report.replay_command}`"]
    return [*lines, ""]


def _expectations(report: RunReport) -> list[str]:
    if not report.expectations:
        return []
    rows = [_expectation_row(e) for e in report.expectations]
    return ["| expectation | result | observed | limit | detail |", "|---|---|---|---|---|", *rows, ""]


def _decisions(report: RunReport) -> list[str]:
    if not report.decisions:
        return []
    rows = [_decision_row(d) for d in report.decisions]
    return ["### Decisions", "", "| t (s) | action | weights | reasons |", "|---|---|---|---|", *rows, ""]


def _summary(report: RunReport) -> list[str]:
    if not report.summary:
        return []
    rows = [f"| {md_escape(k)} | {format_value(v)} |" for k, v in sorted(report.summary.items())]
    return ["### Metrics", "", "| metric | value |", "|---|---|", *rows, ""]


def render_markdown(report: RunReport) -> str:
    """The Markdown summary (``summary.md``) of ``report``."""
    lines = [*_header(report), *_expectations(report), *_decisions(report), *_summary(report)]
    return "\n".join(lines).rstrip() + "\n"
