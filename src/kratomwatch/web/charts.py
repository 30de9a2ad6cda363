"""Server-side SVG charts: no JavaScript, no CDN, no inline ``style`` (CSP-safe presentation attributes).

Panels share one time axis so exposure, outcome scores, adverse events and labs line up by day.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

PALETTE = ("#1f5f8b", "#b5542c", "#2f7d32", "#6a3d9a", "#8c6d1f")


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[dt.date, float | None]]
    color: str = PALETTE[0]
    step: bool = False
    dashed: bool = False


@dataclass(frozen=True)
class Threshold:
    value: float
    label: str
    color: str = "#b00020"


@dataclass(frozen=True)
class Marker:
    day: dt.date
    label: str
    color: str = "#b00020"


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str
    series: Sequence[Series] = ()
    thresholds: Sequence[Threshold] = ()
    markers: Sequence[Marker] = ()
    height: int = 120
    y_min: float | None = 0.0
    y_max: float | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if value <= m * exp:
            return float(m * exp)
    return float(10 * exp)


def _series_svg(
    s: Series, start: dt.date, end: dt.date, x: Callable[[dt.date], float], y: Callable[[float], float]
) -> list[str]:
    """One series as polylines (a gap, a missing day or a day outside the axis breaks the line); a lone point is
    drawn as a dot. A step series holds its value until the next point."""
    segments: list[list[str]] = [[]]
    prev: float | None = None
    for day, value in sorted(s.points, key=lambda p: p[0]):
        if value is None or not (start <= day <= end):
            segments.append([])
            prev = None
            continue
        if s.step and prev is not None:
            segments[-1].append(f"{x(day):.1f},{y(prev):.1f}")
        segments[-1].append(f"{x(day):.1f},{y(value):.1f}")
        prev = value
    dash = ' stroke-dasharray="6 4"' if s.dashed else ""
    out = []
    for seg in segments:
        if len(seg) == 1:
            cx, cy = seg[0].split(",")
            out.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{s.color}"/>')
        elif seg:
            out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{s.color}" stroke-width="1.8"{dash}/>')
    return out


def timeline(start: dt.date, end: dt.date, panels: Sequence[Panel], *, width: int = 720, title: str = "") -> str:
    """A stack of panels over one shared day axis, as an accessible SVG string."""
    if end < start:
        raise ValueError("end before start")
    left, right, top_pad, gap = 56, 16, 18, 28
    span = max((end - start).days, 1)
    plot_w = width - left - right

    def x(day: dt.date) -> float:
        return left + plot_w * (day - start).days / span

    height = sum(p.height + gap for p in panels) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title or "timeline")}" font-family="sans-serif" font-size="11">'
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    y0 = 0
    for panel in panels:
        top = y0 + top_pad
        values = [v for s in panel.series for _, v in s.points if v is not None]
        values += [t.value for t in panel.thresholds]
        lo = panel.y_min if panel.y_min is not None else min(values, default=0.0)
        hi = panel.y_max if panel.y_max is not None else _nice_max(max(values, default=1.0) * 1.05)
        hi = hi if hi > lo else lo + 1

        def y(v: float, top: float = top, lo: float = lo, hi: float = hi, h: int = panel.height) -> float:
            return top + h - h * (v - lo) / (hi - lo)

        parts.append(
            f'<text x="{left}" y="{top - 5}" font-weight="bold" fill="#222">{escape(panel.title)} '
            f"({escape(panel.unit)})</text>"
        )
        parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{panel.height}" fill="#fff" stroke="#bbb"/>')
        for frac in (0, 0.5, 1):
            v = lo + (hi - lo) * frac
            parts.append(f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end" fill="#555">{v:g}</text>')
        for t in panel.thresholds:
            if lo <= t.value <= hi:
                parts.append(
                    f'<line x1="{left}" x2="{left + plot_w}" y1="{y(t.value):.1f}" y2="{y(t.value):.1f}" '
                    f'stroke="{t.color}" stroke-dasharray="4 3"/>'
                )
                parts.append(
                    f'<text x="{left + plot_w - 2}" y="{y(t.value) - 3:.1f}" text-anchor="end" '
                    f'fill="{t.color}">{escape(t.label)}</text>'
                )
        for m in panel.markers:
            if start <= m.day <= end:
                parts.append(
                    f'<line x1="{x(m.day):.1f}" x2="{x(m.day):.1f}" y1="{top}" y2="{top + panel.height}" '
                    f'stroke="{m.color}"><title>{escape(m.label)}</title></line>'
                )
                parts.append(
                    f'<circle cx="{x(m.day):.1f}" cy="{top + 6}" r="4" fill="{m.color}">'
                    f"<title>{escape(m.day.isoformat())}: {escape(m.label)}</title></circle>"
                )
        for s in panel.series:
            parts.extend(_series_svg(s, start, end, x, y))
        legend_x = left + 4
        for s in panel.series:
            parts.append(f'<rect x="{legend_x}" y="{top + 4}" width="10" height="3" fill="{s.color}"/>')
            parts.append(f'<text x="{legend_x + 14}" y="{top + 10}" fill="#222">{escape(s.name)}</text>')
            legend_x += 14 + 7 * len(s.name) + 12
        y0 = top + panel.height + gap - top_pad
    axis_y = y0 + top_pad - 8
    ticks = 6
    for i in range(ticks + 1):
        day = start + dt.timedelta(days=round(span * i / ticks))
        parts.append(
            f'<text x="{x(day):.1f}" y="{axis_y}" text-anchor="middle" fill="#555">{day.strftime("%d %b")}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def sparkline(values: Sequence[float | None], *, width: int = 120, height: int = 24, label: str = "") -> str:
    """A small inline trend line (e.g. 28 days of daily mg)."""
    known = [v for v in values if v is not None]
    hi = max(known, default=0.0) or 1.0
    n = max(len(values) - 1, 1)
    pts = [
        f"{width * i / n:.1f},{height - 2 - (height - 4) * v / hi:.1f}" for i, v in enumerate(values) if v is not None
    ]
    line = f'<polyline points="{" ".join(pts)}" fill="none" stroke="{PALETTE[0]}" stroke-width="1.5"/>' if pts else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(label or "trend")}">{line}</svg>'
    )
