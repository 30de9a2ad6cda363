"""Server-side SVG charts: no JavaScript, no CDN, no inline ``style`` (CSP-safe presentation attributes).

Panels share one time axis so exposure, outcome scores, adverse events and labs line up by day. Charts do not
mislead: every y axis starts at zero unless a panel says otherwise and prints its numbers; a day still in progress
("today so far") is drawn as a hollow point, never as a drop; a planned future (taper steps ahead) is shaded and
labelled "planned"; each chart carries a text alternative with its numbers (``summary`` for the aria-label and
``data_table`` for a table in ``<details>``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

from kratomwatch.core.axes import day_label, nice_max

PALETTE = ("#1f5f8b", "#b5542c", "#2f7d32", "#6a3d9a", "#8c6d1f")
#: The clinician's taper target: one colour on every chart (patient page, the patient's own page, the PDF).
PLAN_COLOR = "#b5542c"
SEVEN_OH_COLOR = "#6a3d9a"
TODAY_LABEL = "today so far"
PLANNED_LABEL = "planned"


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[dt.date, float | None]]
    color: str = PALETTE[0]
    step: bool = False
    dashed: bool = False
    partial_day: dt.date | None = None
    """A day still in progress (today): its point is drawn hollow, joined by a dashed segment, and labelled."""


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
    show_axis: bool = True
    """False for a panel of event markers: it has no y scale, so none is printed."""


def _num(value: float) -> str:
    """A number as printed on a chart: at most one decimal."""
    return f"{round(value, 1):g}"


def _series_svg(
    s: Series, start: dt.date, end: dt.date, x: Callable[[dt.date], float], y: Callable[[float], float], *, font: float
) -> list[str]:
    """One series as polylines (a gap, a missing day or a day outside the axis breaks the line); a lone point is
    drawn as a dot. A step series holds its value until the next point. The partial day is drawn hollow."""
    segments: list[list[str]] = [[]]
    prev: float | None = None
    partial: tuple[float, float] | None = None
    last_full: tuple[float, float] | None = None
    for day, value in sorted(s.points, key=lambda p: p[0]):
        if value is None or not (start <= day <= end):
            segments.append([])
            prev = None
            last_full = None
            continue
        if s.partial_day is not None and day == s.partial_day:
            partial = (x(day), y(value))
            continue
        if s.step and prev is not None:
            segments[-1].append(f"{x(day):.1f},{y(prev):.1f}")
        segments[-1].append(f"{x(day):.1f},{y(value):.1f}")
        prev = value
        last_full = (x(day), y(value))
    dash = ' stroke-dasharray="6 4"' if s.dashed else ""
    out = []
    for seg in segments:
        if len(seg) == 1:
            cx, cy = seg[0].split(",")
            out.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{s.color}"/>')
        elif seg:
            out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{s.color}" stroke-width="1.8"{dash}/>')
    if partial is not None:
        px, py = partial
        if last_full is not None:
            out.append(
                f'<line x1="{last_full[0]:.1f}" y1="{last_full[1]:.1f}" x2="{px:.1f}" y2="{py:.1f}" '
                f'stroke="{s.color}" stroke-width="1.2" stroke-dasharray="2 3"/>'
            )
        out.append(
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="#fff" stroke="{s.color}" stroke-width="1.8">'
            f"<title>{escape(TODAY_LABEL)}</title></circle>"
        )
        out.append(
            f'<text x="{px - 6:.1f}" y="{py - 7:.1f}" text-anchor="end" font-size="{font * 0.9:.1f}" '
            f'fill="{s.color}">{escape(TODAY_LABEL)}</text>'
        )
    return out


def _values(panel: Panel) -> list[float]:
    return [v for s in panel.series for _, v in s.points if v is not None]


def timeline(
    start: dt.date,
    end: dt.date,
    panels: Sequence[Panel],
    *,
    width: int = 720,
    title: str = "",
    today: dt.date | None = None,
    font_size: float = 11,
) -> str:
    """A stack of panels over one shared day axis, as an accessible SVG string.

    With ``today`` before ``end``, the days after today are shaded and labelled "planned" (taper steps ahead).
    The aria-label carries the title and :func:`summary` (the numbers)."""
    if end < start:
        raise ValueError("end before start")
    f = font_size
    left, right, top_pad, gap = round(4.6 * f) + 4, round(f * 1.5), round(f * 1.7), round(f * 2.6)
    span = max((end - start).days, 1)
    plot_w = width - left - right

    def x(day: dt.date) -> float:
        return left + plot_w * (day - start).days / span

    height = sum(p.height + gap for p in panels) + round(f * 2.2)
    label = ". ".join(t for t in (title, summary(panels, start, end)) if t)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label or "timeline")}" font-family="sans-serif" font-size="{f:g}">'
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    future = today is not None and start <= today < end
    y0 = 0
    for index, panel in enumerate(panels):
        top = y0 + top_pad
        values = _values(panel) + [t.value for t in panel.thresholds]
        lo = panel.y_min if panel.y_min is not None else min(values, default=0.0)
        hi = panel.y_max if panel.y_max is not None else nice_max(max(values, default=1.0) * 1.05)
        hi = hi if hi > lo else lo + 1

        def y(v: float, top: float = top, lo: float = lo, hi: float = hi, h: int = panel.height) -> float:
            return top + h - h * (v - lo) / (hi - lo)

        parts.append(
            f'<text x="{left}" y="{top - 5}" font-weight="bold" fill="#222">{escape(panel.title)}'
            f"{f' ({escape(panel.unit)})' if panel.show_axis else ''}</text>"
        )
        parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{panel.height}" fill="#fff" stroke="#bbb"/>')
        if future and today is not None:
            fx = x(today) + plot_w / span / 2
            parts.append(
                f'<rect x="{fx:.1f}" y="{top}" width="{left + plot_w - fx:.1f}" height="{panel.height}" '
                f'fill="#eceff3"><title>{escape(PLANNED_LABEL)}</title></rect>'
            )
            if index == 0:
                parts.append(
                    f'<text x="{fx + 3:.1f}" y="{top + panel.height - 4}" fill="#444" font-style="italic">'
                    f"{escape(PLANNED_LABEL)}</text>"
                )
        if panel.show_axis:
            data_max = max(_values(panel), default=None)
            fracs = (0.0,) if data_max is not None and data_max == 0 and panel.y_max is None else (0.0, 0.5, 1.0)
            for frac in fracs:
                v = lo + (hi - lo) * frac
                parts.append(
                    f'<text x="{left - 4}" y="{y(v) + f / 3:.1f}" text-anchor="end" fill="#444">{_num(v)}</text>'
                )
            if data_max is not None and data_max == 0:
                parts.append(
                    f'<text x="{left + plot_w / 2:.1f}" y="{top + panel.height / 2:.1f}" text-anchor="middle" '
                    f'fill="#444">0 {escape(panel.unit)} on every recorded day</text>'
                )
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
            parts.extend(_series_svg(s, start, end, x, y, font=f))
        legend_x: float = left + 4
        for s in panel.series:
            dash = ' stroke-dasharray="4 2"' if s.dashed else ""
            parts.append(
                f'<line x1="{legend_x:.1f}" x2="{legend_x + 12:.1f}" y1="{top + f * 0.55:.1f}" '
                f'y2="{top + f * 0.55:.1f}" stroke="{s.color}" stroke-width="2.5"{dash}/>'
            )
            parts.append(f'<text x="{legend_x + 16:.1f}" y="{top + f:.1f}" fill="#222">{escape(s.name)}</text>')
            legend_x += 16 + 0.6 * f * len(s.name) + 12
        y0 = top + panel.height + gap - top_pad
    axis_y = y0 + top_pad - 8
    ticks = max(1, min(6, span, int(plot_w // (f * 5))))
    for i in range(ticks + 1):
        day = start + dt.timedelta(days=round(span * i / ticks))
        anchor = "start" if i == 0 else "end" if i == ticks else "middle"
        parts.append(
            f'<text x="{x(day):.1f}" y="{axis_y}" text-anchor="{anchor}" fill="#444">{escape(day_label(day))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _held(s: Series, days: Sequence[dt.date]) -> dict[dt.date, float | None]:
    """Per-day values of a series; a step series holds its value until its next point."""
    points = sorted(s.points, key=lambda p: p[0])
    if not s.step:
        return dict(points)
    out: dict[dt.date, float | None] = {}
    current: float | None = None
    i = 0
    for day in days:
        while i < len(points) and points[i][0] <= day:
            current = points[i][1]
            i += 1
        out[day] = current
    return out


def summary(panels: Sequence[Panel], start: dt.date, end: dt.date) -> str:
    """The numbers of a chart in one sentence per series (the text alternative in the aria-label)."""
    parts: list[str] = []
    for panel in panels:
        for s in panel.series:
            pts = [(d, v) for d, v in sorted(s.points, key=lambda p: p[0]) if v is not None and start <= d <= end]
            if not pts:
                parts.append(f"{s.name}: no data")
                continue
            values = [v for _, v in pts]
            last_day, last = pts[-1]
            when = f"{TODAY_LABEL}" if s.partial_day == last_day else day_label(last_day)
            parts.append(
                f"{s.name} ({panel.unit}): latest {_num(last)} ({when}), lowest {_num(min(values))}, "
                f"highest {_num(max(values))}, {len(pts)} day{'s' if len(pts) != 1 else ''} with data"
            )
        if panel.markers:
            shown = [m for m in panel.markers if start <= m.day <= end]
            parts.append(f"{panel.title}: {len(shown)} event{'s' if len(shown) != 1 else ''}")
    return "; ".join(parts)


def data_table(panels: Sequence[Panel], start: dt.date, end: dt.date, *, caption: str) -> str:
    """The chart's data as an HTML table inside ``<details>`` (newest day first), with the events listed below."""
    series = [(p, s) for p in panels for s in p.series]
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    held = [_held(s, days) for _, s in series]
    raw_days = {d for _, s in series if not s.step for d, v in s.points if v is not None}
    step_days = {d for _, s in series if s.step for d, _ in s.points}
    rows = [d for d in days if d in raw_days or d in step_days]
    head = "".join(f'<th scope="col" class="num">{escape(s.name)} ({escape(p.unit)})</th>' for p, s in series)
    body = []
    for day in reversed(rows):
        note = f" ({TODAY_LABEL})" if any(s.partial_day == day for _, s in series) else ""
        cells = "".join(f'<td class="num">{"-" if h.get(day) is None else _num(h[day] or 0.0)}</td>' for h in held)
        body.append(f'<tr><th scope="row">{escape(day.isoformat())}{escape(note)}</th>{cells}</tr>')
    markers = [m for p in panels for m in p.markers if start <= m.day <= end]
    events = ""
    if markers:
        items = "".join(
            f"<li>{escape(m.day.isoformat())}: {escape(m.label)}</li>" for m in sorted(markers, key=lambda m: m.day)
        )
        events = f"<p>Events:</p><ul>{items}</ul>"
    table = (
        f'<div class="table-wrap" tabindex="0" role="region" aria-label="{escape(caption)}">'
        f'<table><caption>{escape(caption)}</caption><thead><tr><th scope="col">Day</th>'
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        if body
        else "<p>No recorded data in this period.</p>"
    )
    return f'<details class="chart-data"><summary>The chart\'s numbers as a table</summary>{table}{events}</details>'


def sparkline(
    values: Sequence[float | None],
    *,
    y_max: float | None = None,
    partial_last: bool = True,
    width: int = 160,
    height: int = 36,
    label: str = "",
    color: str = PALETTE[0],
) -> str:
    """A small trend line of daily values on a zero-based scale from 0 to ``y_max`` (shared across rows when the
    caller passes the same ``y_max``), with the scale printed ("0" and the top). With ``partial_last`` the last
    value is a day still in progress: drawn as a hollow point after a dotted separator, never joined to the line,
    so a day with nothing logged yet is not a drop to zero."""
    known = [v for v in values if v is not None]
    hi = y_max if y_max is not None and y_max > 0 else (nice_max(max(known, default=0.0)) if any(known) else 1.0)
    gutter = 30
    plot_w = width - gutter - (10 if partial_last else 2)
    full = list(values[:-1]) if partial_last and values else list(values)
    n = max(len(full) - 1, 1)

    def y(v: float) -> float:
        return height - 3 - (height - 6) * min(v, hi) / hi

    pts = [f"{gutter + plot_w * i / n:.1f},{y(v):.1f}" for i, v in enumerate(full) if v is not None]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(label or "trend")}" font-family="sans-serif" font-size="11">',
        f'<line x1="{gutter}" x2="{width}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#999" stroke-width="0.8"/>',
        f'<text x="{gutter - 3}" y="{y(0) + 3:.1f}" text-anchor="end" fill="#444">0</text>',
        f'<text x="{gutter - 3}" y="{y(hi) + 8:.1f}" text-anchor="end" fill="#444">{_num(hi)}</text>',
    ]
    if len(pts) == 1:
        cx, cy = pts[0].split(",")
        parts.append(f'<circle cx="{cx}" cy="{cy}" r="1.5" fill="{color}"/>')
    elif pts:
        parts.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="{color}" stroke-width="1.5"/>')
    if partial_last and values:
        sep = gutter + plot_w + 4
        parts.append(f'<line x1="{sep}" x2="{sep}" y1="2" y2="{height - 2}" stroke="#999" stroke-dasharray="1 2"/>')
        last = values[-1]
        if last is not None:
            parts.append(
                f'<circle cx="{width - 4}" cy="{y(last):.1f}" r="2.5" fill="#fff" stroke="{color}" stroke-width="1.3">'
                f"<title>{escape(TODAY_LABEL)}: {_num(last)}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)
