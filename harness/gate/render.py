"""Gate output: a rich table for the terminal and Markdown for a CI job summary or PR comment."""

from __future__ import annotations

import math

from rich.table import Table
from rich.text import Text

from harness.gate.compare import Change, GateResult, MetricComparison
from harness.gate.intervals import Basis

__all__ = ["RULE_TEXT", "format_quantity", "gate_markdown", "gate_table"]

_STYLE = {
    Change.REGRESSION: "bold red",
    Change.IMPROVEMENT: "green",
    Change.UNCHANGED: "",
    Change.INCONCLUSIVE: "yellow",
}
_ICON = {
    Change.REGRESSION: "❌ regression",
    Change.IMPROVEMENT: "🟢 improvement",
    Change.UNCHANGED: "✅ unchanged",
    Change.INCONCLUSIVE: "⚠️ inconclusive",
}
RULE_TEXT = (
    "A metric regresses only when its change exceeds the threshold, its interval excludes zero, and "
    "that interval accounts for run-to-run differences (several runs per side, interleaved pairs, or "
    "a known noise); with one run per side and no known noise such a change is inconclusive."
)
"""The decision rule, as the Markdown summary states it."""
_TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


def format_quantity(value: float, unit: str) -> str:
    """``value`` with its unit; seconds are scaled to s/ms/µs/ns."""
    if not math.isfinite(value):
        return str(value)
    if unit == "s":
        scale, name = next(((f, n) for f, n in _TIME_UNITS if abs(value) >= f), _TIME_UNITS[-1])
        return f"{value / scale:.4g} {name}"
    return f"{value:.4g}{' ' + unit if unit else ''}"


def _change(c: MetricComparison, value: float) -> str:
    if not math.isfinite(value):
        return "−∞" if value < 0 else "+∞"
    return f"{value * 100:+.1f}%" if c.rule.relative else f"{value:+.4g}"


def _interval(c: MetricComparison) -> str:
    if c.method == "threshold only":
        return "none (one run each)" if c.basis is Basis.ONE_RUN else "exact"
    if not (math.isfinite(c.low) and math.isfinite(c.high)):
        return "too few samples"
    return f"[{_change(c, c.low)}, {_change(c, c.high)}]"


def _row(c: MetricComparison) -> list[str]:
    return [
        c.name,
        format_quantity(c.baseline.median, c.unit),
        format_quantity(c.current.median, c.unit),
        _change(c, c.change),
        _interval(c),
        f"{c.method}, within one run" if c.basis is Basis.ONE_RUN else c.method,
        c.rule.describe(),
    ]


_HEADERS = ["metric", "baseline (median)", "current (median)", "change", "CI", "test", "threshold", "verdict"]


def _title(result: GateResult) -> str:
    total = len(result.comparisons)
    if result.passed:
        undecided = len(result.inconclusive)
        if undecided:
            return f"Gate passed: no regression in {total} metrics, {undecided} inconclusive"
        return f"Gate passed: no regression in {total} metrics"
    failures = []
    if result.regressions:
        failures.append(f"{len(result.regressions)} of {total} metrics regressed")
    if result.missing_failed:
        failures.append(f"{len(result.missing)} missing from the current results")
    return "Gate failed: " + ", ".join(failures)


def gate_table(result: GateResult) -> Table:
    """A rich table, one row per compared metric, regressions in red."""
    confidence = f"{(1 - result.alpha) * 100:g}%"
    table = Table(
        title=_title(result), caption=f"CI: {confidence} interval of the change", title_justify="left"
    )
    for header in _HEADERS:
        table.add_column(header.replace("CI", f"{confidence} CI"), overflow="fold")
    for c in result.comparisons:
        table.add_row(*_row(c), Text(c.verdict.value, style=_STYLE[c.verdict]))
    return table


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def gate_markdown(result: GateResult) -> str:
    """The comparison as Markdown: a status line, the table, then missing metrics and notes."""
    icon = "✅" if result.passed else "❌"
    confidence = f"{(1 - result.alpha) * 100:g}%"
    lines = [f"### {icon} {_title(result)}", ""]
    headers = [h.replace("CI", f"{confidence} CI") for h in _HEADERS]
    lines += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    ordered = sorted(result.comparisons, key=lambda c: (c.verdict is not Change.REGRESSION, c.name))
    lines += ["| " + " | ".join(_md(v) for v in [*_row(c), _ICON[c.verdict]]) + " |" for c in ordered]
    lines.append("")
    if result.missing:
        listed = ", ".join(f"`{m}`" for m in result.missing)
        verdict = "allowed" if result.allow_missing else "fails the gate unless missing metrics are allowed"
        lines.append(f"Missing from the current results ({verdict}): {listed}.")
    if result.new:
        lines.append(f"New (no baseline yet): {', '.join(f'`{m}`' for m in result.new)}.")
    lines += [f"Note: {n}" for n in result.notes]
    lines.append(RULE_TEXT)
    return "\n".join(lines).rstrip() + "\n"
