"""The SVG charts of the surveillance page (web/surveillance.py), drawn on the server in the house style of
web/charts.py: no JavaScript, no inline ``style`` (presentation attributes only, CSP-safe), ``role="img"`` with an
aria-label that carries the numbers in words; the page puts each chart's table beside it.

- :func:`scatter`: each event of a product as a point, the number of reports ``n`` on a log axis against EB05 (or
  IC025 when the EBGM prior could not be fitted), with the screening line (EB05 = 2, or IC025 = 0);
- :func:`trend`: the cumulative IC by period with its IC025-IC975 interval as whiskers and the line IC = 0;
- :func:`bars`: reports by year as horizontal bars (readable at any width).

Each takes ``width`` so the page can draw a wide and a narrow version (shown by CSS at each screen size).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from kratomwatch.core.axes import nice_max

INK = "#222"
MUTED = "#444"
GRID = "#ddd"
POINT = "#1f5f8b"
SIGNAL = "#b5542c"
LINE = "#b00020"
SCORE_LABELS = {"eb05": "EB05", "ic025": "IC025"}
THRESHOLDS = {"eb05": 2.0, "ic025": 0.0}


def number(value: float | None, digits: int = 2) -> str:
    """A number as printed on the page: ``digits`` decimals, "∞" for infinity, "—" for null."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:,.{digits}f}"


def _tick(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e5 else f"{value:.0e}"


def _head(width: int, height: int, label: str, font: float) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" font-family="sans-serif" font-size="{font:g}">'
    )


def scatter_summary(points: Sequence[dict[str, Any]], score: str) -> str:
    name = SCORE_LABELS.get(score, score)
    limit = THRESHOLDS.get(score, 0.0)
    above = [p for p in points if p["score"] >= limit] if score == "eb05" else [p for p in points if p["score"] > limit]
    top = ", ".join(f"{p['event']} (n {p['n']}, {name} {number(p['score'])})" for p in points[:5])
    line = f"{name} = {limit:g}"
    return (
        f"{len(points)} events plotted by number of reports (log scale) against {name}; "
        f"{len(above)} on or above the line {line}." + (f" Highest: {top}." if top else "")
    )


def scatter(points: Sequence[dict[str, Any]], score: str, *, width: int = 720, title: str = "") -> str:
    """``points``: dicts with ``event``, ``n`` (> 0) and ``score`` (finite), highest score first."""
    font = 12.0 if width >= 560 else 11.0
    height = round(width * 0.55) if width >= 560 else round(width * 0.9)
    left, right, top, bottom = round(font * 4.2), round(font * 1.2), round(font * 1.6), round(font * 3.4)
    plot_w, plot_h = width - left - right, height - top - bottom
    name = SCORE_LABELS.get(score, score)
    limit = THRESHOLDS.get(score, 0.0)
    label = (f"{title}. " if title else "") + scatter_summary(points, score)
    parts = [_head(width, height, label, font)]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#bbb"/>')
    if not points:
        parts.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" text-anchor="middle" fill="{MUTED}">'
            "No event to plot</text></svg>"
        )
        return "".join(parts)
    max_n = max(int(p["n"]) for p in points)
    decades = max(1, math.ceil(math.log10(max(max_n, 10))))
    scores = [float(p["score"]) for p in points]
    lo = min(0.0, math.floor(min([*scores, limit])))
    top_value = max([*scores, limit + 0.5])
    step = nice_max((top_value - lo) / 4)
    hi = lo + step * math.ceil((top_value - lo) * 1.05 / step)

    def x(n: float) -> float:
        return left + plot_w * math.log10(max(n, 1)) / decades

    def y(v: float) -> float:
        return top + plot_h - plot_h * (v - lo) / (hi - lo)

    for d in range(decades + 1):
        gx = x(10**d)
        parts.append(f'<line x1="{gx:.1f}" x2="{gx:.1f}" y1="{top}" y2="{top + plot_h}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{gx:.1f}" y="{top + plot_h + font * 1.2:.1f}" text-anchor="middle" fill="{MUTED}">'
            f"{_tick(10**d)}</text>"
        )
    for i in range(round((hi - lo) / step) + 1):
        v = lo + step * i
        parts.append(
            f'<text x="{left - 4}" y="{y(v) + font / 3:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{_tick(round(v, 2))}</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - font * 0.6:.1f}" text-anchor="middle" fill="{INK}">'
        "Reports of the pair, n (log scale)</text>"
    )
    parts.append(
        f'<text x="{font}" y="{top + plot_h / 2:.1f}" text-anchor="middle" fill="{INK}" '
        f'transform="rotate(-90 {font} {top + plot_h / 2:.1f})">{escape(name)}</text>'
    )
    ly = y(limit)
    parts.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{ly:.1f}" y2="{ly:.1f}" stroke="{LINE}" stroke-dasharray="5 3"/>'
    )
    parts.append(
        f'<text x="{left + plot_w - 4}" y="{ly - 4:.1f}" text-anchor="end" fill="{LINE}">'
        f"{escape(name)} = {limit:g}</text>"
    )
    for p in reversed(points):  # the highest drawn last, on top
        v = float(p["score"])
        flagged = v >= limit if score == "eb05" else v > limit
        colour = SIGNAL if flagged else POINT
        parts.append(
            f'<circle cx="{x(int(p["n"])):.1f}" cy="{y(v):.1f}" r="{4 if flagged else 3}" fill="{colour}" '
            f'fill-opacity="0.75"><title>{escape(str(p["event"]))}: n {p["n"]}, {name} {number(v)}</title></circle>'
        )
    for p in points[:3]:
        px, py = x(int(p["n"])), y(float(p["score"]))
        anchor = "end" if px > left + plot_w * 0.6 else "start"
        dx = -7 if anchor == "end" else 7
        text = str(p["event"])
        text = text if len(text) <= 28 else text[:27] + "…"
        parts.append(
            f'<text x="{px + dx:.1f}" y="{py + font / 3:.1f}" text-anchor="{anchor}" fill="{INK}">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def trend_summary(rows: Sequence[dict[str, Any]], event: str) -> str:
    known = [r for r in rows if r.get("ic") is not None]
    if not known:
        return f"{event}: no period with an IC"
    last = known[-1]
    first_positive = next((r["period"] for r in known if (r.get("ic025") or -1.0) > 0), None)
    since = f"; IC025 first above 0 in {first_positive}" if first_positive else "; IC025 never above 0"
    return (
        f"{event}: cumulative IC over {len(known)} periods, from {number(known[0]['ic'])} in {known[0]['period']} "
        f"to {number(last['ic'])} (IC025 {number(last.get('ic025'))} to IC975 {number(last.get('ic975'))}) "
        f"in {last['period']}{since}"
    )


def trend(rows: Sequence[dict[str, Any]], event: str, *, width: int = 720, title: str = "") -> str:
    """``rows``: period, ic, ic025, ic975 (cumulative), oldest first."""
    font = 12.0 if width >= 560 else 11.0
    height = round(width * 0.45) if width >= 560 else round(width * 0.8)
    left, right, top, bottom = round(font * 3.8), round(font * 1.2), round(font * 1.6), round(font * 3.4)
    plot_w, plot_h = width - left - right, height - top - bottom
    label = (f"{title}. " if title else "") + trend_summary(rows, event)
    parts = [_head(width, height, label, font)]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#bbb"/>')
    values = [
        float(v)
        for r in rows
        for v in (r.get("ic"), r.get("ic025"), r.get("ic975"))
        if v is not None and math.isfinite(float(v))
    ]
    if not rows or not values:
        parts.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" text-anchor="middle" fill="{MUTED}">'
            "No period to plot</text></svg>"
        )
        return "".join(parts)
    lo = min(0.0, math.floor(min(values)))
    hi = max(1.0, math.ceil(max(values)))
    count = len(rows)

    def x(i: int) -> float:
        return left + plot_w * (i + 0.5) / count

    def y(v: float) -> float:
        return top + plot_h - plot_h * (v - lo) / (hi - lo)

    span = hi - lo
    step = 1.0 if span <= 6 else 2.0 if span <= 12 else 5.0
    v = math.ceil(lo / step) * step
    while v <= hi + 1e-9:
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 4}" y="{y(v) + font / 3:.1f}" text-anchor="end" fill="{MUTED}">{v:g}</text>')
        v += step
    parts.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="{LINE}" '
        'stroke-dasharray="5 3"/>'
    )
    parts.append(f'<text x="{left + plot_w - 4}" y="{y(0) - 4:.1f}" text-anchor="end" fill="{LINE}">IC = 0</text>')
    every = max(1, math.ceil(count / max(1, plot_w // (font * 4.5))))
    for i, r in enumerate(rows):
        last = i == count - 1
        if (i % every == 0 and count - 1 - i >= every) or last or count <= 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{top + plot_h + font * 1.2:.1f}" text-anchor="middle" fill="{MUTED}">'
                f"{escape(str(r['period']))}</text>"
            )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - font * 0.6:.1f}" text-anchor="middle" fill="{INK}">'
        "Period of FDA receipt (cumulative to its end)</text>"
    )
    points: list[str] = []
    marks: list[str] = []
    for i, r in enumerate(rows):
        low, mid, high = r.get("ic025"), r.get("ic"), r.get("ic975")
        if low is not None and high is not None and math.isfinite(low) and math.isfinite(high):
            cx = x(i)
            marks.append(
                f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(low):.1f}" y2="{y(high):.1f}" stroke="{POINT}" '
                'stroke-width="1.5"/>'
            )
            marks.extend(
                f'<line x1="{cx - 4:.1f}" x2="{cx + 4:.1f}" y1="{y(end):.1f}" y2="{y(end):.1f}" '
                f'stroke="{POINT}" stroke-width="1.5"/>'
                for end in (low, high)
            )
        if mid is not None and math.isfinite(mid):
            points.append(f"{x(i):.1f},{y(mid):.1f}")
            marks.append(
                f'<circle cx="{x(i):.1f}" cy="{y(mid):.1f}" r="3.5" fill="{POINT}"><title>{escape(str(r["period"]))}: '
                f"IC {number(mid)} ({number(low)} to {number(high)}), n {r.get('n_cum')}</title></circle>"
            )
    if len(points) > 1:
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{POINT}" stroke-width="1.2"/>')
    parts.extend(marks)
    parts.append(
        f'<text x="{font}" y="{top + plot_h / 2:.1f}" text-anchor="middle" fill="{INK}" '
        f'transform="rotate(-90 {font} {top + plot_h / 2:.1f})">IC</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def bars_summary(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return "No report by year"
    return "Reports by year of FDA receipt: " + ", ".join(f"{r['year']}: {r['reports']:,}" for r in rows)


def bars(rows: Sequence[dict[str, Any]], *, width: int = 360, title: str = "") -> str:
    """Reports by year as horizontal bars, the number at the end of each bar."""
    font = 12.0
    row_h = round(font * 1.9)
    left, right = round(font * 3.6), round(font * 5)
    height = max(1, len(rows)) * row_h + 6
    plot_w = width - left - right
    label = (f"{title}. " if title else "") + bars_summary(rows)
    parts = [_head(width, height, label, font)]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    top = max((int(r["reports"]) for r in rows), default=0) or 1
    for i, r in enumerate(rows):
        y0 = 3 + i * row_h
        w = plot_w * int(r["reports"]) / top
        parts.append(
            f'<text x="{left - 6}" y="{y0 + row_h * 0.62:.1f}" text-anchor="end" fill="{MUTED}">{r["year"]}</text>'
        )
        parts.append(f'<rect x="{left}" y="{y0 + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{POINT}"/>')
        parts.append(
            f'<text x="{left + w + 4:.1f}" y="{y0 + row_h * 0.62:.1f}" fill="{INK}">{int(r["reports"]):,}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
