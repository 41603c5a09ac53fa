"""Inline SVG time-series charts with shaded fault windows and decision markers; no scripts, no fonts.

A chart is plain SVG text, so the HTML report stays one self-contained file that opens offline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

__all__ = ["Band", "Chart", "IntervalRow", "Line", "Marker", "nice_ticks", "render_chart", "render_intervals"]

WIDTH = 920
HEIGHT = 240
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 28, 34


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    """A series: points (x, y) where y may be ``None`` for a gap."""

    label: str
    color: str
    points: Sequence[tuple[float, float | None]]
    dash: str = ""
    step: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Band:
    """A shaded x range (a fault window) with a hover title."""

    start: float
    end: float
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Marker:
    """A vertical marker at ``x`` (a decision) with a short label and a hover title.

    A ``minor`` marker (a decision that changed nothing) is a faint line without a label.
    """

    x: float
    label: str
    title: str
    color: str = "#444"
    minor: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    """One chart: lines over a shared time axis, with bands and markers."""

    title: str
    y_label: str
    lines: Sequence[Line]
    bands: Sequence[Band] = ()
    markers: Sequence[Marker] = ()
    x_range: tuple[float, float] | None = None
    y_max: float | None = None
    y_format: Callable[[float], str] = field(default=lambda v: f"{v:g}")


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``high``."""
    if high <= 0 or not math.isfinite(high):
        return [0.0, 1.0]
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    n = math.ceil(high / step - 1e-9)
    return [round(i * step, 12) for i in range(n + 1)]


@dataclass(frozen=True, slots=True)
class _Frame:
    x0: float
    x1: float
    y1: float

    def px(self, x: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return MARGIN_LEFT + (x - self.x0) / span * (WIDTH - MARGIN_LEFT - MARGIN_RIGHT)

    def py(self, y: float) -> float:
        return HEIGHT - MARGIN_BOTTOM - (y / (self.y1 or 1.0)) * (HEIGHT - MARGIN_TOP - MARGIN_BOTTOM)


def _frame(chart: Chart) -> tuple[_Frame, list[float]]:
    xs = [p[0] for line in chart.lines for p in line.points]
    xs += [b.start for b in chart.bands] + [b.end for b in chart.bands] + [m.x for m in chart.markers]
    x0, x1 = chart.x_range or ((min(xs), max(xs)) if xs else (0.0, 1.0))
    ys = [p[1] for line in chart.lines for p in line.points if p[1] is not None]
    high = chart.y_max if chart.y_max is not None else max(ys, default=1.0) * 1.08
    ticks = nice_ticks(high)
    return _Frame(x0, x1 if x1 > x0 else x0 + 1.0, ticks[-1]), ticks


def _segments(line: Line) -> list[list[tuple[float, float]]]:
    segments: list[list[tuple[float, float]]] = [[]]
    for x, y in line.points:
        if y is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append((x, y))
    return [s for s in segments if s]


def _polyline(line: Line, frame: _Frame) -> str:
    out = []
    dash = f' stroke-dasharray="{line.dash}"' if line.dash else ""
    for seg in _segments(line):
        pts = " ".join(f"{frame.px(x):.1f},{frame.py(y):.1f}" for x, y in seg)
        out.append(
            f'<polyline class="series" fill="none" stroke="{line.color}" stroke-width="2"{dash} '
            f'points="{pts}">'
            f"<title>{escape(line.label)}</title></polyline>"
        )
        if len(seg) == 1:
            x, y = seg[0]
            out.append(f'<circle cx="{frame.px(x):.1f}" cy="{frame.py(y):.1f}" r="3" fill="{line.color}"/>')
    return "".join(out)


def _axes(chart: Chart, frame: _Frame, ticks: list[float]) -> str:
    right, bottom = WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM
    parts = [f'<text x="{MARGIN_LEFT}" y="18" class="title">{escape(chart.title)}</text>']
    for tick in ticks:
        y = frame.py(tick)
        parts.append(f'<line x1="{MARGIN_LEFT}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" class="ytick">{escape(chart.y_format(tick))}</text>'
        )
    for tick in nice_ticks(frame.x1 - frame.x0, 8):
        x = frame.px(frame.x0 + tick)
        if x <= right + 0.5:
            parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" class="xtick">{frame.x0 + tick:g}s</text>')
    parts.append(f'<line x1="{MARGIN_LEFT}" x2="{right}" y1="{bottom}" y2="{bottom}" class="axis"/>')
    parts.append(
        f'<text x="14" y="{(MARGIN_TOP + bottom) / 2:.0f}" class="ylabel" '
        f'transform="rotate(-90 14 {(MARGIN_TOP + bottom) / 2:.0f})">{escape(chart.y_label)}</text>'
    )
    return "".join(parts)


def _bands(chart: Chart, frame: _Frame) -> str:
    top, bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    out = []
    for band in chart.bands:
        x0, x1 = frame.px(band.start), frame.px(band.end)
        out.append(
            f'<rect class="fault" x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1.0):.1f}" '
            f'height="{bottom - top}"><title>{escape(band.title)}</title></rect>'
        )
    return "".join(out)


def _minor_marker(m: Marker, x: float) -> str:
    top, bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    return (
        f'<g class="decision minor"><title>{escape(m.title)}</title>'
        f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" stroke="{m.color}" '
        'stroke-opacity="0.25" stroke-width="4"/></g>'
    )


def _major_marker(m: Marker, x: float, row: int) -> str:
    top, bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    return (
        f'<g class="decision"><title>{escape(m.title)}</title>'
        f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" stroke="{m.color}" '
        'stroke-dasharray="3 3"/>'
        f'<path d="M{x - 5:.1f},{top - 8} L{x + 5:.1f},{top - 8} L{x:.1f},{top} Z" fill="{m.color}"/>'
        f'<text x="{x + 6:.1f}" y="{top + 10 + 12 * row}" class="mlabel">{escape(m.label)}</text></g>'
    )


def _markers(chart: Chart, frame: _Frame) -> str:
    out = []
    last_label_x, row = -1e9, 0
    for m in chart.markers:
        x = frame.px(m.x)
        if m.minor:
            out.append(_minor_marker(m, x))
            continue
        row = (row + 1) % 3 if x - last_label_x < 70 else 0
        last_label_x = x
        out.append(_major_marker(m, x, row))
    return "".join(out)


def _legend(chart: Chart) -> str:
    items = []
    for line in chart.lines:
        dash = f' stroke-dasharray="{line.dash}"' if line.dash else ""
        items.append(
            '<span class="key"><svg width="26" height="10" aria-hidden="true">'
            '<line x1="0" x2="26" y1="5" y2="5" '
            f'stroke="{line.color}" stroke-width="2"{dash}/></svg>{escape(line.label)}</span>'
        )
    if chart.bands:
        items.append('<span class="key"><span class="swatch fault-swatch"></span>fault window</span>')
    if chart.markers:
        items.append('<span class="key"><span class="swatch decision-swatch"></span>decision</span>')
    return f'<div class="legend">{"".join(items)}</div>'


def render_chart(chart: Chart) -> str:
    """The chart as a ``<figure>`` holding an inline ``<svg>`` and an HTML legend."""
    frame, ticks = _frame(chart)
    body = (
        _axes(chart, frame, ticks)
        + _bands(chart, frame)
        + "".join(_polyline(line, frame) for line in chart.lines)
        + _markers(chart, frame)
    )
    svg = (
        f'<svg class="chart" role="img" aria-label="{escape(chart.title)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    )
    return f"<figure>{svg}{_legend(chart)}</figure>"


@dataclass(frozen=True, slots=True, kw_only=True)
class IntervalRow:
    """One labelled estimate with its interval and the bound it is held to (all fractions of 1)."""

    label: str
    value: float
    low: float
    high: float
    bound: float | None = None
    alarm: bool = False
    title: str = ""


ROW_HEIGHT = 26
LABEL_WIDTH = 230


def _interval_row(row: IntervalRow, y: float, px: Callable[[float], float]) -> str:
    color = "#c62828" if row.alarm else "#1f77b4"
    parts = [
        f'<g class="interval"><title>{escape(row.title or row.label)}</title>',
        f'<text x="{LABEL_WIDTH - 8}" y="{y + 4:.1f}" class="ytick">{escape(row.label)}</text>',
        f'<line x1="{px(row.low):.1f}" x2="{px(row.high):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
        f'stroke="{color}" stroke-width="2"/>',
    ]
    parts.extend(
        f'<line x1="{px(end):.1f}" x2="{px(end):.1f}" y1="{y - 5:.1f}" y2="{y + 5:.1f}" stroke="{color}"/>'
        for end in (row.low, row.high)
    )
    parts.append(f'<circle cx="{px(row.value):.1f}" cy="{y:.1f}" r="4" fill="{color}"/>')
    if row.bound is not None:
        x = px(row.bound)
        parts.append(
            f'<line class="bound" x1="{x:.1f}" x2="{x:.1f}" y1="{y - 9:.1f}" y2="{y + 9:.1f}" '
            'stroke="#444" stroke-width="2" stroke-dasharray="2 2"/>'
        )
    parts.append("</g>")
    return "".join(parts)


def render_intervals(
    title: str, rows: Sequence[IntervalRow], *, x_format: Callable[[float], str] = lambda v: f"{v:.0%}"
) -> str:
    """Estimates with intervals, one row each, and each row's bound as a dashed tick (a forest plot).

    Rows whose ``alarm`` is set are drawn red. The x axis starts at 0 and covers every interval
    and bound; hovering a row shows its ``title``.
    """
    right = WIDTH - MARGIN_RIGHT
    height = MARGIN_TOP + ROW_HEIGHT * max(1, len(rows)) + MARGIN_BOTTOM
    ends = [r.high for r in rows] + [r.bound for r in rows if r.bound is not None]
    ticks = nice_ticks(max(ends, default=0.0) * 1.05 or 0.01)
    top = ticks[-1] or 1.0

    def px(v: float) -> float:
        return LABEL_WIDTH + v / top * (right - LABEL_WIDTH)

    bottom = height - MARGIN_BOTTOM
    parts = [f'<text x="{MARGIN_LEFT}" y="18" class="title">{escape(title)}</text>']
    for tick in ticks:
        x = px(tick)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{MARGIN_TOP}" y2="{bottom}" class="grid"/>')
        parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" class="xtick">{escape(x_format(tick))}</text>')
    parts.extend(_interval_row(row, MARGIN_TOP + ROW_HEIGHT * (i + 0.5), px) for i, row in enumerate(rows))
    svg = (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )
    legend = (
        '<div class="legend"><span class="key">● observed rate, bars: 95% interval</span>'
        '<span class="key">┆ bound</span>'
        '<span class="key" style="color:#c62828">red: above its bound</span></div>'
    )
    return f"<figure>{svg}{legend}</figure>"
