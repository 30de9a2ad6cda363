"""The n-of-1 trial chart: the primary outcome by day coloured by condition, the measured exposure beneath it.

One SVG for the trial page, the patient card and the clinician letter (the PDF embeds the same SVG). Same
conventions as the other charts (``web/charts.py``): no JavaScript, no inline ``style`` (CSP-safe presentation
attributes), y axes from zero with their numbers printed, a text alternative (``aria-label`` and a data table).

Input: ``series``, the rows of ``nof1.results.TrialResults.series`` (one per trial day so far: ``date``, ``role``
("run-in" | "washout" | "analysed"), ``condition`` (its code, None in the run-in), ``block``, ``outcome`` (None or
NaN when not measured), ``mitragynine_mg``, ``seven_oh_mg``). Each period is a shaded band in its condition's
colour; washout and run-in days are hatched grey ("not analysed"). With ``blinded`` the conditions are not
shown (one colour, no bands): a blinded trial's schedule is shown to no one until it ends.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from kratomwatch.core.axes import day_label, nice_max

__all__ = ["CONDITION_COLORS", "Band", "bands", "condition_colors", "data_table", "trial_chart"]

CONDITION_COLORS = ("#1f5f8b", "#b5542c", "#2f7d32", "#6a3d9a", "#8c6d1f", "#00796b")
BAND_COLORS = ("#dbe8f2", "#f6e0d6", "#dcefdc", "#e7def0", "#efe6d0", "#d3ecea")
BLIND_COLOR = "#333333"
NOT_ANALYSED = "#e6e6e6"
SEVEN_OH_COLOR = "#6a3d9a"


@dataclass(frozen=True)
class Band:
    """A run of consecutive days with one role and condition (a period's washout, its analysed days, the run-in)."""

    start: dt.date
    end: dt.date  # inclusive
    role: str
    condition: str | None
    block: int | None


def _value(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


def _day(v: Any) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


def condition_colors(codes: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(line colour, band colour) per condition code, in the order given (the reference first)."""
    return {c: (CONDITION_COLORS[i % 6], BAND_COLORS[i % 6]) for i, c in enumerate(codes)}


def bands(series: Sequence[Mapping[str, Any]]) -> list[Band]:
    out: list[Band] = []
    for row in sorted(series, key=lambda r: _day(r["date"])):
        day = _day(row["date"])
        key = (row.get("role"), row.get("condition"), row.get("block"))
        last = out[-1] if out else None
        if last and (last.role, last.condition, last.block) == key and (day - last.end).days == 1:
            out[-1] = Band(last.start, day, last.role, last.condition, last.block)
        else:
            out.append(Band(day, day, str(row.get("role")), row.get("condition"), row.get("block")))
    return out


def _num(value: float) -> str:
    return f"{round(value, 1):g}"


@dataclass(frozen=True)
class _Frame:
    """The geometry of one chart: both panels share the day axis ``x``."""

    start: dt.date
    span: int
    left: float
    plot_w: float
    top1: float
    h1: float
    top2: float
    h2: float
    y1max: float
    y2max: float
    y3max: float
    font: float

    @property
    def day_w(self) -> float:
        return self.plot_w / self.span

    def x(self, day: dt.date) -> float:
        return self.left + self.day_w * ((day - self.start).days + 0.5)

    def y1(self, v: float) -> float:
        return self.top1 + self.h1 - self.h1 * min(max(v, 0.0), self.y1max) / self.y1max

    def y2(self, v: float) -> float:
        return self.top2 + self.h2 - self.h2 * min(v, self.y2max) / self.y2max

    def y3(self, v: float) -> float:
        return self.top2 + self.h2 - self.h2 * min(v, self.y3max) / self.y3max


def _legend(
    conditions: Sequence[tuple[str, str]], colors: Mapping[str, tuple[str, str]], blinded: bool, fr: _Frame, width: int
) -> list[str]:
    f = fr.font
    entries = [] if blinded else [(f"{c}: {label}", colors[c][0], colors[c][1]) for c, label in conditions]
    if blinded:
        entries.append(("Blinded: shown when the trial ends", BLIND_COLOR, "#ffffff"))
    entries.append(("Not analysed (run-in, washout)", "#888888", NOT_ANALYSED))
    parts: list[str] = []
    lx: float = fr.left
    ly = round(f * 1.2)
    for text, stroke, band in entries:
        short = text if len(text) <= 34 else text[:33] + "..."
        room = 22 + 0.56 * f * len(short) + 14
        if lx + room > width and lx > fr.left:
            lx, ly = fr.left, ly + round(f * 1.6)
        parts.append(
            f'<rect x="{lx:.1f}" y="{ly - f * 0.8:.1f}" width="16" height="{f:.1f}" fill="{band}" stroke="{stroke}"/>'
        )
        parts.append(f'<text x="{lx + 20:.1f}" y="{ly:.1f}" fill="#222">{escape(short)}</text>')
        lx += room
    return parts


def _panels(
    rows: Sequence[Mapping[str, Any]],
    fr: _Frame,
    colors: Mapping[str, tuple[str, str]],
    titles: tuple[str, str],
    blinded: bool,
) -> list[str]:
    f = fr.font
    parts: list[str] = []
    for top, h, title in ((fr.top1, fr.h1, titles[0]), (fr.top2, fr.h2, titles[1])):
        parts.append(f'<text x="{fr.left}" y="{top - 5}" font-weight="bold" fill="#222">{escape(title)}</text>')
        parts.append(f'<rect x="{fr.left}" y="{top}" width="{fr.plot_w}" height="{h}" fill="#fff" stroke="#bbb"/>')
        for b in bands(rows):
            bx = fr.left + fr.day_w * (b.start - fr.start).days
            bw = fr.day_w * ((b.end - b.start).days + 1)
            analysed = b.role == "analysed"
            fill = NOT_ANALYSED if not analysed else "#f4f4f4" if blinded or not b.condition else colors[b.condition][1]
            what = "run-in" if b.role == "run-in" else f"{b.role}, block {b.block}"
            if not blinded and b.condition:
                what += f", condition {b.condition}"
            parts.append(
                f'<rect x="{bx:.1f}" y="{top}" width="{bw:.1f}" height="{h}" fill="{fill}">'
                f"<title>{escape(b.start.isoformat())} to {escape(b.end.isoformat())}: {escape(what)}</title></rect>"
            )
            if not analysed and bw >= 6:
                parts.append(
                    f'<text x="{bx + bw / 2:.1f}" y="{top + h - 4}" text-anchor="middle" font-size="{f * 0.8:.1f}" '
                    f'fill="#666">{"run-in" if b.role == "run-in" else "w"}</text>'
                )
    ticks = [(fr.y1, v) for v in (0.0, fr.y1max / 2, fr.y1max)] + [(fr.y2, v) for v in (0.0, fr.y2max)]
    parts.extend(
        f'<text x="{fr.left - 4}" y="{y(v) + f / 3:.1f}" text-anchor="end" fill="#444">{_num(v)}</text>'
        for y, v in ticks
    )
    return parts


def _outcome(
    rows: Sequence[Mapping[str, Any]], fr: _Frame, colors: Mapping[str, tuple[str, str]], blinded: bool
) -> list[str]:
    """Outcome points joined within a band, coloured by condition; hollow on days not analysed."""
    parts: list[str] = []
    for b in bands(rows):
        color = BLIND_COLOR if blinded or not b.condition else colors[b.condition][0]
        pts = [
            (fr.x(_day(r["date"])), fr.y1(v))
            for r in rows
            if b.start <= _day(r["date"]) <= b.end and (v := _value(r.get("outcome"))) is not None
        ]
        if len(pts) > 1:
            joined = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
            parts.append(f'<polyline points="{joined}" fill="none" stroke="{color}" stroke-width="1.4"/>')
        fill = "#fff" if b.role != "analysed" else color
        parts.extend(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.6" fill="{fill}" stroke="{color}"/>' for px, py in pts)
    return parts


def _exposure(
    rows: Sequence[Mapping[str, Any]], fr: _Frame, colors: Mapping[str, tuple[str, str]], blinded: bool
) -> list[str]:
    """Bars of measured mitragynine mg per day, coloured by condition; 7-OH as a dashed line on its own scale."""
    f = fr.font
    mits = [_value(r.get("mitragynine_mg")) or 0.0 for r in rows]
    ohs = [_value(r.get("seven_oh_mg")) or 0.0 for r in rows]
    bar_w = max(fr.day_w * 0.7, 0.8)
    bottom = fr.top2 + fr.h2
    parts: list[str] = []
    for r, mg in zip(rows, mits, strict=True):
        if mg <= 0:
            continue
        cond = r.get("condition")
        color = BLIND_COLOR if blinded or not cond else colors[cond][0]
        parts.append(
            f'<rect x="{fr.x(_day(r["date"])) - bar_w / 2:.1f}" y="{fr.y2(mg):.1f}" width="{bar_w:.1f}" '
            f'height="{bottom - fr.y2(mg):.1f}" fill="{color}" fill-opacity="0.75"/>'
        )
    if any(ohs):
        pts_oh = " ".join(f"{fr.x(_day(r['date'])):.1f},{fr.y3(v):.1f}" for r, v in zip(rows, ohs, strict=True))
        parts.append(
            f'<polyline points="{pts_oh}" fill="none" stroke="{SEVEN_OH_COLOR}" stroke-width="1.2" '
            'stroke-dasharray="3 2"/>'
        )
        parts.append(
            f'<text x="{fr.left + fr.plot_w - 2}" y="{fr.top2 + f:.1f}" text-anchor="end" fill="{SEVEN_OH_COLOR}">'
            f"dashed: 7-OH, 0 to {_num(fr.y3max)} mg</text>"
        )
    if not any(mits):
        parts.append(
            f'<text x="{fr.left + fr.plot_w / 2:.1f}" y="{fr.top2 + fr.h2 / 2:.1f}" text-anchor="middle" '
            'fill="#444">0 mg on every day so far</text>'
        )
    return parts


def _axis(fr: _Frame, today: dt.date | None) -> list[str]:
    f = fr.font
    parts: list[str] = []
    end = fr.start + dt.timedelta(days=fr.span - 1)
    if today is not None and fr.start <= today <= end:
        tx = fr.x(today)
        parts.append(
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{fr.top1}" y2="{fr.top2 + fr.h2}" stroke="#b00020" '
            'stroke-dasharray="2 2"><title>today</title></line>'
        )
    axis_y = fr.top2 + fr.h2 + round(f * 1.4)
    if fr.span == 1:
        parts.append(
            f'<text x="{fr.x(fr.start):.1f}" y="{axis_y}" text-anchor="middle" fill="#444">'
            f"{escape(day_label(fr.start))}</text>"
        )
        return parts
    ticks = max(1, min(6, fr.span - 1, int(fr.plot_w // (f * 5.5))))
    for i in range(ticks + 1):
        day = fr.start + dt.timedelta(days=round((fr.span - 1) * i / ticks))
        anchor = "start" if i == 0 else "end" if i == ticks else "middle"
        parts.append(
            f'<text x="{fr.x(day):.1f}" y="{axis_y}" text-anchor="{anchor}" fill="#444">{escape(day_label(day))}</text>'
        )
    return parts


def trial_chart(
    series: Sequence[Mapping[str, Any]],
    *,
    conditions: Sequence[tuple[str, str]],
    outcome_title: str,
    outcome_max: float | None = None,
    lower_is_better: bool = True,
    blinded: bool = False,
    width: int = 720,
    font_size: float = 11,
    today: dt.date | None = None,
) -> str:
    """The chart as an SVG string. ``conditions`` are (code, label), the reference first; ``outcome_max`` the top
    of the questionnaire's scale (the y axis runs from 0 to it); ``today`` is marked by a dotted line."""
    f = font_size
    rows = sorted(series, key=lambda r: _day(r["date"]))
    if not rows:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {round(f * 3)}" width="100%" role="img" '
            f'aria-label="No trial days yet" font-family="sans-serif" font-size="{f:g}">'
            f'<text x="4" y="{round(f * 1.6)}" fill="#444">No trial days yet.</text></svg>'
        )
    colors = condition_colors([c for c, _ in conditions])
    left = round(4.2 * f) + 4
    n_legend = (0 if blinded else len(conditions)) + (2 if blinded else 1)
    per_line = max(1, int((width - left) // (f * 20)))
    top1 = round(f * 1.6) * -(-n_legend // per_line) + round(f * 2.6)
    h1 = 170 if width >= 600 else 150
    top2 = top1 + h1 + round(f * 3.2)
    start, end = _day(rows[0]["date"]), _day(rows[-1]["date"])
    outcomes = [v for r in rows if (v := _value(r.get("outcome"))) is not None]
    fr = _Frame(
        start=start,
        span=(end - start).days + 1,
        left=left,
        plot_w=width - left - round(f * 1.2),
        top1=top1,
        h1=h1,
        top2=top2,
        h2=70,
        y1max=outcome_max if outcome_max else nice_max(max(outcomes, default=1.0) * 1.05),
        y2max=nice_max(max((_value(r.get("mitragynine_mg")) or 0.0 for r in rows), default=0.0) * 1.05),
        y3max=nice_max(max((_value(r.get("seven_oh_mg")) or 0.0 for r in rows), default=0.0) * 1.05),
        font=f,
    )
    height = top2 + 70 + round(f * 2.4)
    better = "lower is better" if lower_is_better else "higher is better"
    alt = summary(rows, conditions=conditions, outcome_title=outcome_title, blinded=blinded)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(alt)}" font-family="sans-serif" font-size="{f:g}">',
        f"<title>{escape(outcome_title)} by day{'' if blinded else ', coloured by condition'}</title>",
        *_legend(conditions, colors, blinded, fr, width),
        *_panels(rows, fr, colors, (f"{outcome_title} ({better})", "Measured mitragynine, mg per day"), blinded),
        *_outcome(rows, fr, colors, blinded),
        *_exposure(rows, fr, colors, blinded),
        *_axis(fr, today),
        "</svg>",
    ]
    return "".join(parts)


def summary(
    series: Sequence[Mapping[str, Any]],
    *,
    conditions: Sequence[tuple[str, str]],
    outcome_title: str,
    blinded: bool = False,
) -> str:
    """The chart in words: per condition (or overall when blinded), the analysed days with an outcome, its mean,
    and the mean measured mitragynine mg per day."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in series:
        if r.get("role") != "analysed":
            continue
        key = "all conditions (blinded)" if blinded else str(r.get("condition"))
        groups.setdefault(key, []).append(r)
    labels = dict(conditions)
    out = [f"{outcome_title} by day"]
    order = ["all conditions (blinded)"] if blinded else [c for c, _ in conditions]
    for key in order:
        rows = groups.get(key, [])
        values = [v for r in rows if (v := _value(r.get("outcome"))) is not None]
        mg = [_value(r.get("mitragynine_mg")) or 0.0 for r in rows]
        name = key if blinded else f"{key} ({labels.get(key, key)})"
        if not values:
            out.append(f"{name}: no measured day yet")
            continue
        out.append(
            f"{name}: {len(values)} measured day{'s' if len(values) != 1 else ''}, "
            f"mean {_num(sum(values) / len(values))}, mitragynine {_num(sum(mg) / len(mg))} mg/day on average"
        )
    return "; ".join(out)


def data_table(
    series: Sequence[Mapping[str, Any]], *, outcome_title: str, blinded: bool = False, caption: str = ""
) -> str:
    """The chart's numbers as an HTML table in ``<details>`` (one row per day, newest first)."""
    rows = sorted(series, key=lambda r: _day(r["date"]), reverse=True)
    if not rows:
        return "<p>No trial days yet.</p>"
    cond_head = "" if blinded else '<th scope="col">Condition</th>'
    body = []
    for r in rows:
        v = _value(r.get("outcome"))
        cond = "" if blinded else f"<td>{escape(str(r.get('condition') or '-'))}</td>"
        role = {"analysed": "analysed", "washout": "washout", "run-in": "run-in"}.get(str(r.get("role")), "")
        body.append(
            f'<tr><th scope="row">{escape(_day(r["date"]).isoformat())}</th><td>{escape(role)}</td>{cond}'
            f'<td class="num">{"-" if v is None else _num(v)}</td>'
            f'<td class="num">{_num(_value(r.get("mitragynine_mg")) or 0.0)}</td>'
            f'<td class="num">{_num(_value(r.get("seven_oh_mg")) or 0.0)}</td></tr>'
        )
    cap = caption or f"{outcome_title} and measured mg by day, newest first"
    return (
        '<details class="chart-data"><summary>The chart\'s numbers as a table</summary>'
        f'<div class="table-wrap" tabindex="0" role="region" aria-label="{escape(cap)}"><table>'
        f'<caption>{escape(cap)}</caption><thead><tr><th scope="col">Day</th><th scope="col">Day type</th>'
        f'{cond_head}<th scope="col" class="num">{escape(outcome_title)}</th>'
        '<th scope="col" class="num">Mitragynine (mg)</th><th scope="col" class="num">7-OH (mg)</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div></details>"
    )
