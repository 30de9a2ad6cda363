"""Charts of a cohort report (the JSON of ``research.cohort.analyse(...).to_dict()``), drawn on the server.

matplotlib with ``matplotlib.figure.Figure`` only (no pyplot and its global figure list, so charts can be drawn
from several request threads at once); the format decides the backend (Agg for PNG, the SVG backend for SVG).
Every chart reads only the report: numbers the report suppressed (a cell below k) are never drawn, they are left
as gaps and named in a footnote. Charts carry a title, axis labels with units, the Okabe-Ito colour-blind-safe
palette, and a source line at the foot (the caller's, or one built from the report's data stamp: program,
snapshot, checksum, k). Output is deterministic: no date in the metadata, a fixed SVG id salt, text kept as text
(no embedded font outlines, so the SVG stays small and readable by a screen reader), and a ``<title>`` and
``<desc>`` in every SVG.
"""

from __future__ import annotations

import functools
import io
import math
import textwrap
import threading
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any, Literal, ParamSpec

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from kratomwatch.core.errors import InputError

# Constant, process-wide settings read when a figure is saved (no per-call global state is changed afterwards).
matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "kratomwatch-research-charts",
        "font.family": "DejaVu Sans",
        "font.size": 9.0,
        "axes.titlesize": 11.0,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)

P = ParamSpec("P")
Format = Literal["svg", "png"]
# One chart drawn at a time per process: matplotlib's font and text caches are shared by every figure, and the
# drawing is CPU-bound under the GIL anyway, so serialising costs nothing and rules out a shared-cache race.
_DRAWING = threading.Lock()


def _one_at_a_time(draw: Callable[P, bytes]) -> Callable[P, bytes]:
    @functools.wraps(draw)
    def locked(*args: P.args, **kwargs: P.kwargs) -> bytes:
        with _DRAWING:
            return draw(*args, **kwargs)

    return locked


FORMATS: tuple[str, ...] = ("svg", "png")
#: Okabe and Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
TEXT = "#222222"
GRID = "#dddddd"
WIDTH_IN = 8.0
PNG_DPI = 144
EVENTS = ("taper_completion", "first_serious_ae", "dependence_4plus")
INSTRUMENTS = ("peg", "pain_nrs", "phq9", "gad7", "cows")
SHORT = {"peg": "PEG", "pain_nrs": "Pain NRS", "phq9": "PHQ-9", "gad7": "GAD-7", "cows": "COWS"}


def source_line(report: Mapping[str, Any]) -> str:
    """The default foot line: which data the chart shows (the same stamp as the PDF report's)."""
    data = report.get("data") or {}
    checksum = str(data.get("checksum") or "")[:12]
    return (
        f"Observational data, cannot establish efficacy. Source: program {data.get('program', '?')}, "
        f"analysis snapshot {data.get('snapshot_id', '?')} (checksum {checksum}), cells below k={data.get('k', '?')} "
        "suppressed."
    )


def _fmt(fmt: str) -> Format:
    if fmt not in FORMATS:
        raise InputError("format", fmt, "a chart is available as svg or png")
    return "svg" if fmt == "svg" else "png"


def _num(value: Any) -> float:
    """A plain float, or NaN for a missing or suppressed number (NaN leaves a gap in a line)."""
    return math.nan if value is None else float(value)


def _figure(height: float) -> Figure:
    return Figure(figsize=(WIDTH_IN, height), layout="constrained")


def _foot(fig: Figure, lines: Sequence[str]) -> None:
    """Footnotes and the source line under the plot, wrapped to the figure's width."""
    text = "\n".join(line for line in lines if line)
    fig.supxlabel(text, fontsize=7.5, color="#444444", ha="left", x=0.01, wrap=True)


def _style(ax: Axes) -> None:
    ax.grid(True, axis="y", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(colors=TEXT)


def _empty(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color=TEXT, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _save(fig: Figure, fmt: Format, title: str, description: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "svg":
        fig.savefig(buf, format="svg", metadata={"Date": None})
        svg = buf.getvalue().decode("utf-8")
        # A <title> and <desc> first in the root element: the accessible name and description of the image.
        head, sep, rest = svg.partition(">\n <metadata>")
        if not sep:  # pragma: no cover - the layout matplotlib has written since 3.x
            head, sep, rest = svg.partition(">")
            return (head + sep + _accessible(title, description) + rest).encode("utf-8")
        return (head + ">\n " + _accessible(title, description) + "\n <metadata>" + rest).encode("utf-8")
    fig.savefig(buf, format="png", dpi=PNG_DPI, metadata={"Software": None, "Title": title})
    return buf.getvalue()


def _accessible(title: str, description: str) -> str:
    return f"<title>{escape(title)}</title><desc>{escape(description)}</desc>"


def _pick(items: Sequence[Mapping[str, Any]], key: str, value: str, field: str) -> Mapping[str, Any]:
    for item in items:
        if item.get(key) == value:
            return item
    known = ", ".join(str(i.get(key)) for i in items) or "none in this report"
    raise InputError(field, value, f"no {field} {value!r} in this report (known: {known})")


def _weeks_text(weeks: Sequence[int], what: str) -> str:
    if not weeks:
        return ""
    listed = ", ".join(str(w) for w in weeks)
    return f"{what} {listed}: not shown, fewer than k participants (suppressed)."


@_one_at_a_time
def trajectory(report: Mapping[str, Any], instrument: str, fmt: str = "svg", *, source: str | None = None) -> bytes:
    """The weekly mean score of ``instrument`` with its 95% interval as a band; suppressed weeks are gaps."""
    kind = _fmt(fmt)
    series = _pick(report.get("trajectories") or [], "instrument", instrument, "instrument")
    label = str(series.get("label") or instrument)
    short = SHORT.get(instrument, instrument)
    higher = str(series.get("higher_is") or "worse")
    weeks = list(series.get("weeks") or [])
    x = [int(w["week"]) for w in weeks]
    mean = [_num(None if w.get("suppressed") else w.get("mean")) for w in weeks]
    lower = [_num(None if w.get("suppressed") else w.get("lower")) for w in weeks]
    upper = [_num(None if w.get("suppressed") else w.get("upper")) for w in weeks]
    hidden = [int(w["week"]) for w in weeks if w.get("suppressed") or w.get("mean") is None]
    title = f"{label}: weekly mean with 95% interval"
    fig = _figure(4.4)
    ax = fig.add_subplot()
    _style(ax)
    shown = [m for m in mean if not math.isnan(m)]
    if shown:
        ax.fill_between(x, lower, upper, color=PALETTE[0], alpha=0.2, linewidth=0, label="95% interval")
        ax.plot(
            x, mean, color=PALETTE[0], marker="o", markersize=4, linewidth=1.8, label="Weekly mean", gid="weekly-mean"
        )
        for week in hidden:  # a visible marker on the axis where a week was suppressed
            ax.axvline(week, color="#888888", linewidth=0.8, linestyle=":")
        ax.set_ylim(bottom=0)  # scores start at zero: a small change is not drawn as a large one
        ax.legend(loc="lower left", frameon=False)
        if len(x) <= 13 and (not x or x[-1] - x[0] <= 13):
            ax.set_xticks(x)
        else:  # many or irregular weeks: whole-number ticks that do not crowd
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=13))
    else:
        _empty(ax, "No week has at least k participants with a valid score: nothing can be shown.")
    ax.set_title(title, loc="left", color=TEXT)
    ax.set_xlabel("Weeks since enrolment (week 0 = study days 0-6)")
    ax.set_ylabel(f"{short} score, points (higher is {higher})")
    notes = [_weeks_text(hidden, "Week" if len(hidden) == 1 else "Weeks") if shown else ""]
    notes.append("Dotted lines mark suppressed weeks." if shown and hidden else "")
    _foot(fig, [*notes, source if source is not None else source_line(report)])
    points = "; ".join(
        f"week {w['week']}: suppressed"
        if w.get("suppressed") or w.get("mean") is None
        else f"week {w['week']}: {w['mean']:.1f} ({w['lower']:.1f} to {w['upper']:.1f}), n {w['n']}"
        for w in weeks
    )
    return _save(fig, kind, title, f"{label}, weekly mean and 95% interval. {points or 'No data.'}")


@_one_at_a_time
def survival(report: Mapping[str, Any], event: str, fmt: str = "svg", *, source: str | None = None) -> bytes:
    """The Kaplan-Meier step curve of ``event`` with its 95% log(-log) interval as a band; suppressed steps are
    not drawn (a gap, or the curve ends where fewer than k remain at risk)."""
    kind = _fmt(fmt)
    item = _pick(report.get("time_to_event") or [], "event", event, "event")
    label = str(item.get("label") or event)
    steps = list(item.get("steps") or [])
    if steps and steps[0].get("time") not in (None, 0, 0.0) and not steps[0].get("suppressed"):
        # S(0) = 1 by definition: the curve starts at enrolment even when the first step is a later event time
        steps.insert(0, {"time": 0, "survival": 1.0, "lower": 1.0, "upper": 1.0, "suppressed": False})
    t = [_num(s.get("time")) for s in steps]
    surv = [_num(None if s.get("suppressed") else s.get("survival")) for s in steps]
    lo = [_num(None if s.get("suppressed") else s.get("lower")) for s in steps]
    hi = [_num(None if s.get("suppressed") else s.get("upper")) for s in steps]
    hidden = [int(s["time"]) for s in steps if s.get("suppressed") and s.get("time") is not None]
    title = f"Time to event, {label}: Kaplan-Meier estimate with 95% interval"
    fig = _figure(4.4)
    ax = fig.add_subplot()
    _style(ax)
    shown = [v for v in surv if not math.isnan(v)]
    if shown:
        ax.fill_between(
            t, lo, hi, step="post", color=PALETTE[1], alpha=0.2, linewidth=0, label="95% interval (log-log)"
        )
        ax.step(t, surv, where="post", color=PALETTE[1], linewidth=1.8, label="Kaplan-Meier estimate", gid="km-curve")
        ax.set_ylim(0, 1.05)
        ax.set_xlim(left=0)
        median = item.get("median_days")
        if median is not None:
            ax.axhline(0.5, color="#888888", linewidth=0.8, linestyle="--")
            ax.annotate(
                f"median {float(median):.0f} days",
                (float(median), 0.5),
                xytext=(4, 4),
                textcoords="offset points",
                color=TEXT,
            )
        ax.legend(loc="lower left", frameon=False)
    else:
        _empty(ax, "Fewer than k participants at risk at every time: nothing can be shown.")
    ax.set_title(title, loc="left", color=TEXT)
    ax.set_xlabel("Days since enrolment")
    ax.set_ylabel("Proportion without the event")
    counts = f"n {item.get('n')}, events {item.get('events')}, censored {item.get('censored')}."
    notes = [str(item.get("definition") or ""), counts]
    if hidden and shown:
        notes.append(
            f"Not shown from day {min(hidden)}: fewer than k participants at risk or with the event (suppressed)."
        )
    _foot(fig, [*notes, source if source is not None else source_line(report)])
    description = f"{label}: {counts} Median {item.get('median_days') or 'not reached'} days."
    return _save(fig, kind, title, description)


def _rate_panel(ax: Axes, rows: Sequence[Mapping[str, Any]], heading: str, color: str) -> list[str]:
    """One panel of rates per 100 patient-months with interval whiskers; returns the suppressed groups."""
    _style(ax)
    ax.grid(True, axis="x", color=GRID, linewidth=0.6)
    ax.grid(False, axis="y")
    labels = [str(r.get("group")) for r in rows]
    ys = list(range(len(rows)))[::-1]
    hidden: list[str] = []
    for y, row in zip(ys, rows, strict=True):
        if row.get("suppressed") or row.get("rate") is None:
            hidden.append(str(row.get("group")))
            ax.text(0, y, "  suppressed (fewer than k events)", va="center", color="#555555", fontsize=8)
            continue
        rate, low, high = float(row["rate"]), _num(row.get("lower")), _num(row.get("upper"))
        err = [[max(rate - low, 0.0)], [max(high - rate, 0.0)]] if not (math.isnan(low) or math.isnan(high)) else None
        ax.errorbar([rate], [y], xerr=err, fmt="o", color=color, capsize=3, markersize=5, linewidth=1.4)
    ax.set_yticks(ys, labels)
    ax.set_xlim(left=0)
    ax.set_title(heading, loc="left", color=TEXT)
    ax.set_xlabel("Events per 100 patient-months (95% interval)")
    if not rows:
        _empty(ax, "No adverse events in this cohort.")
    return hidden


@_one_at_a_time
def incidence(report: Mapping[str, Any], fmt: str = "svg", *, source: str | None = None) -> bytes:
    """Adverse-event incidence per 100 patient-months by grade and by system, each with its exact Poisson interval."""
    kind = _fmt(fmt)
    ae = report.get("ae_incidence") or {}
    by_grade = list(ae.get("by_grade") or [])
    by_system = list(ae.get("by_system") or [])
    title = "Adverse-event incidence per 100 patient-months"
    rows = max(len(by_grade) + len(by_system), 2)
    fig = _figure(2.4 + 0.32 * rows)
    grade_ax, system_ax = fig.subplots(2, 1, height_ratios=[max(len(by_grade), 1), max(len(by_system), 1)])
    hidden = _rate_panel(grade_ax, by_grade, "By grade (CTCAE)", PALETTE[0])
    hidden += _rate_panel(system_ax, by_system, "By system organ class", PALETTE[2])
    fig.suptitle(title, x=0.01, ha="left", fontsize=11, color=TEXT)
    months = ae.get("patient_months")
    total = ae.get("total") or {}
    notes = [
        f"Follow-up: {float(months):.1f} patient-months." if months is not None else "",
        (
            f"All events: {total['rate']:.1f} per 100 patient-months ({total['lower']:.1f} to {total['upper']:.1f})."
            if total.get("rate") is not None and total.get("lower") is not None
            else ""
        ),
        f"Suppressed (fewer than k events): {', '.join(hidden)}." if hidden else "",
        source if source is not None else source_line(report),
    ]
    _foot(fig, notes)
    described = "; ".join(
        f"{r.get('group')}: suppressed" if r.get("rate") is None else f"{r.get('group')}: {float(r['rate']):.1f}"
        for r in [*by_grade, *by_system]
    )
    return _save(fig, kind, title, f"{title}. {described or 'No adverse events.'}")


@_one_at_a_time
def exposure(report: Mapping[str, Any], fmt: str = "svg", *, source: str | None = None) -> bytes:
    """The distribution of mean daily exposure (study days 0-27) per measure: median, quartiles (box) and the
    10th-90th percentiles (whiskers), each measure on its own scale (mitragynine and 7-OH differ a hundredfold)."""
    kind = _fmt(fmt)
    measures = list(((report.get("description") or {}).get("exposure")) or [])
    title = "Exposure distribution: mean mg per day over study days 0-27"
    fig = _figure(3.6)
    axes = fig.subplots(1, max(len(measures), 1), squeeze=False)[0]
    described: list[str] = []
    for i, (ax, m) in enumerate(zip(axes, measures or [{}], strict=False)):
        _style(ax)
        label = str(m.get("label") or m.get("measure") or "")
        quantiles = [m.get(q) for q in ("p10", "p25", "median", "p75", "p90")]
        if not m or any(q is None for q in quantiles):
            _empty(ax, "Fewer than k participants: not shown (suppressed)." if m else "No exposure data.")
            ax.set_title(label, loc="left", fontsize=9, color=TEXT)
            described.append(f"{label}: suppressed")
            continue
        p10, p25, med, p75, p90 = (float(q) for q in quantiles)
        stats = [{"med": med, "q1": p25, "q3": p75, "whislo": p10, "whishi": p90, "label": ""}]
        ax.bxp(
            stats,
            showfliers=False,
            widths=0.5,
            patch_artist=True,
            boxprops={"facecolor": PALETTE[i % len(PALETTE)], "alpha": 0.35, "edgecolor": PALETTE[i % len(PALETTE)]},
            medianprops={"color": TEXT, "linewidth": 1.8},
            whiskerprops={"color": PALETTE[i % len(PALETTE)]},
            capprops={"color": PALETTE[i % len(PALETTE)]},
        )
        ax.set_xticks([])
        ax.set_ylim(bottom=0)
        ax.set_title(textwrap.fill(f"{label} (n {m.get('n')})", 48), loc="left", fontsize=9, color=TEXT)
        ax.set_ylabel("mg per day")
        described.append(f"{label}: median {med:g}, quartiles {p25:g} to {p75:g}, 10th-90th {p10:g} to {p90:g}")
    fig.suptitle(title, x=0.01, ha="left", fontsize=11, color=TEXT)
    notes = [
        "Box: 25th to 75th percentile with the median; whiskers: 10th to 90th percentile.",
        source if source is not None else source_line(report),
    ]
    _foot(fig, notes)
    return _save(fig, kind, title, f"{title}. " + "; ".join(described))
