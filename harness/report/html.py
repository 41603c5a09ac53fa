"""``report.html``: one self-contained page per run (inline CSS and SVG, no scripts, no network).

Timelines of traffic weight, latency percentiles and error rate per version, with fault windows
shaded and decision markers whose hover titles give the reasons; then the decisions, the fault
windows, the expectations and the summary metrics as tables. A Content-Security-Policy of
``default-src 'none'`` makes any accidental external reference fail closed.
"""

from __future__ import annotations

from html import escape

from harness.report.markdown import format_value
from harness.report.model import DecisionRecord, RunReport, SeriesPoint
from harness.report.svg import Band, Chart, Line, Marker, render_chart

__all__ = ["render_html", "render_page", "render_table"]

CSP = "default-src 'none'; style-src 'unsafe-inline'"
"""The page's Content-Security-Policy: nothing may be fetched."""
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
MINOR_ACTIONS = frozenset({"continue", "hold", "wait", "observe", "none", "noop"})
"""Decisions that change nothing: drawn as faint markers without a label."""
PERCENTILE_DASH = {"p50": "", "p95": "6 3", "p99": "2 3"}

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;max-width:980px}
h1{font-size:1.4em;margin:0 0 4px} h2{font-size:1.1em;margin:28px 0 8px}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:600;font-size:.85em}
.pass{background:#2e7d32} .fail{background:#c62828}
.meta{color:#555;font-size:.9em;margin:6px 0} code{background:#f3f3f3;padding:1px 4px;border-radius:3px}
figure{margin:8px 0 18px} svg.chart{max-width:100%;height:auto;background:#fff}
svg .title{font-size:13px;font-weight:600;fill:#222} svg .ytick{font-size:10px;fill:#555;text-anchor:end}
svg .xtick{font-size:10px;fill:#555;text-anchor:middle}
svg .ylabel{font-size:11px;fill:#555;text-anchor:middle}
svg .grid{stroke:#eee} svg .axis{stroke:#999} svg .fault{fill:#ffb74d;fill-opacity:.28}
svg .mlabel{font-size:10px;fill:#333}
.legend{font-size:.8em;color:#444} .key{margin-right:14px;white-space:nowrap}
.key svg{vertical-align:middle;margin-right:4px}
.swatch{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle}
.fault-swatch{background:#ffb74d;opacity:.5} .decision-swatch{border-left:2px dashed #444;width:2px}
table{border-collapse:collapse;font-size:.88em;margin:4px 0 12px} th,td{border:1px solid #ddd;padding:4px 8px;
text-align:left;vertical-align:top;white-space:pre-line}
th{background:#f6f6f6} tr.failed td{background:#fdecea}
"""


def _color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _mid(p: SeriesPoint) -> float:
    return (p.t_start + p.t_end) / 2


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000.0


def _weight_lines(report: RunReport) -> list[Line]:
    lines = []
    for i, (version, points) in enumerate(report.series.items()):
        pts: list[tuple[float, float | None]] = []
        for p in points:
            pts += [(p.t_start, p.weight_percent), (p.t_end, p.weight_percent)]
        lines.append(Line(label=version, color=_color(i), points=pts, step=True))
    return lines


def _latency_lines(report: RunReport) -> list[Line]:
    lines = []
    for i, (version, points) in enumerate(report.series.items()):
        for name, dash in PERCENTILE_DASH.items():
            pts = [(_mid(p), _ms(getattr(p, name))) for p in points]
            lines.append(Line(label=f"{version} {name}", color=_color(i), dash=dash, points=pts))
    return lines


def _error_lines(report: RunReport) -> list[Line]:
    return [
        Line(
            label=version,
            color=_color(i),
            points=[(_mid(p), p.error_rate * 100 if p.requests else None) for p in points],
        )
        for i, (version, points) in enumerate(report.series.items())
    ]


def _decision_title(d: DecisionRecord) -> str:
    weights = ", ".join(f"{k} {v:g}%" for k, v in d.weights.items())
    lines = [f"t={d.t:g}s {d.action} ({weights})" if weights else f"t={d.t:g}s {d.action}"]
    for r in d.reasons:
        detail = f"{r.metric} {r.statistic}={format_value(r.value)} threshold={format_value(r.threshold)}"
        lines.append(f"{r.message} [{detail}]" if r.message else detail)
    return "\n".join(lines)


def _overlays(report: RunReport) -> tuple[list[Band], list[Marker]]:
    bands = [
        Band(start=f.start, end=f.end, title=f"{f.kind} on {f.target} ({f.start:g}-{f.end:g}s)")
        for f in report.faults
    ]
    markers = [
        Marker(x=d.t, label=d.action, title=_decision_title(d), minor=d.action.lower() in MINOR_ACTIONS)
        for d in report.decisions
    ]
    return bands, markers


def _x_range(report: RunReport) -> tuple[float, float]:
    ends = [p.t_end for pts in report.series.values() for p in pts] + [f.end for f in report.faults]
    ends += [d.t for d in report.decisions] + [report.duration]
    starts = [p.t_start for pts in report.series.values() for p in pts] + [0.0]
    return min(starts), max(ends)


def _charts(report: RunReport) -> str:
    if not report.series:
        return "<p>No per-version time series were recorded for this run.</p>"
    bands, markers = _overlays(report)
    x_range = _x_range(report)
    specs = [
        ("Traffic weight per version", "weight %", _weight_lines(report), 100.0),
        (
            "Latency percentiles per version (p50 solid, p95 dashed, p99 dotted)",
            "ms",
            _latency_lines(report),
            None,
        ),
        ("Error rate per version", "errors %", _error_lines(report), None),
    ]
    charts = [
        Chart(
            title=title, y_label=unit, lines=lines, y_max=y_max, bands=bands, markers=markers, x_range=x_range
        )
        for title, unit, lines, y_max in specs
    ]
    return "".join(render_chart(c) for c in charts)


def render_table(headers: list[str], rows: list[tuple[list[str], bool]]) -> str:
    """An HTML table; each row is its cells and whether it is highlighted as failed."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        f"<tr{' class=failed' if failed else ''}>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>"
        for cells, failed in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _expectations_table(report: RunReport) -> str:
    if not report.expectations:
        return "<p>No expectations were declared.</p>"
    rows = [
        (
            [
                e.name,
                "pass" if e.passed else "FAIL",
                format_value(e.observed),
                format_value(e.limit),
                e.detail,
            ],
            not e.passed,
        )
        for e in report.expectations
    ]
    return render_table(["expectation", "result", "observed", "limit", "detail"], rows)


def _decisions_table(report: RunReport) -> str:
    if not report.decisions:
        return ""
    rows = [
        ([f"{d.t:g}", d.action, ", ".join(f"{k} {v:g}%" for k, v in d.weights.items()),
          "\n".join(_decision_title(d).splitlines()[1:])], False)
        for d in report.decisions
    ]  # fmt: skip
    return "<h2>Decisions</h2>" + render_table(["t (s)", "action", "weights", "reasons"], rows)


def _faults_table(report: RunReport) -> str:
    if not report.faults:
        return ""
    rows = [([f"{f.start:g}", f"{f.end:g}", f.target, f.kind], False) for f in report.faults]
    return "<h2>Fault windows</h2>" + render_table(["start (s)", "end (s)", "target", "kind"], rows)


def _summary_table(report: RunReport) -> str:
    if not report.summary:
        return ""
    rows = [([k, format_value(v)], False) for k, v in sorted(report.summary.items())]
    return "<h2>Summary metrics</h2>" + render_table(["metric", "value"], rows)


def _header(report: RunReport) -> str:
    badge = (
        '<span class="badge pass">PASSED</span>'
        if report.passed
        else '<span class="badge fail">FAILED</span>'
    )
    desc = f"<p>{escape(report.description)}</p>" if report.description else ""
    meta = (
        f"seed <code>{report.seed}</code> · mode {escape(report.mode.value)} · duration {report.duration:g} s"
        f" · digest <code>{escape(report.digest[:16] or '–')}</code>"
    )
    if report.started_at:
        meta += f" · started {escape(report.started_at)}"
    replay = (
        f'<p class="meta">Replay: <code>{escape(report.replay_command)}</code></p>'
        if report.replay_command
        else ""
    )
    return f"<h1>{escape(report.scenario)} {badge}</h1>{desc}<p class='meta'>{meta}</p>{replay}"


def render_html(report: RunReport) -> str:
    """The complete ``report.html`` document for ``report``."""
    body = (
        _header(report)
        + "<h2>Timelines</h2>"
        + _charts(report)
        + _decisions_table(report)
        + _faults_table(report)
        + "<h2>Expectations</h2>"
        + _expectations_table(report)
        + _summary_table(report)
    )
    return render_page(f"{report.scenario}: chaos-harness report", body)


def render_page(title: str, body: str) -> str:
    """A complete self-contained HTML document: the report's style, ``title`` and ``body`` (HTML)."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )
