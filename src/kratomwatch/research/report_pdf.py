"""A cohort report as a PDF (fpdf2, pure Python), from the report JSON alone (``research.cohort`` contract).

Page 1 carries the title, the cohort definition in words, the data stamp (program, snapshot, created time in UTC,
checksum, consent as of, k, software version) and the observational caveat in a framed paragraph; then the
description, each chart (PNG from ``research.charts``), the responder rates, the exposure-outcome model with its
formula and note, the Kaplan-Meier summaries and the adverse-event incidence. Every page's footer repeats the
data checksum and the page number, so a printed page can be traced to the data it came from. Suppressed cells
print as "suppressed (< k)". The report holds no identifier: it is built from the de-identified snapshot's report.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from typing import Any

from fpdf import FPDF

import kratomwatch
from kratomwatch.pdfparts import heading as _heading
from kratomwatch.pdfparts import latin1 as _t
from kratomwatch.pdfparts import line
from kratomwatch.pdfparts import table as _table
from kratomwatch.research import charts

SUPPRESSED = "suppressed (< k)"
WITHHELD_LEVEL = "withheld (groups below k)"  # the export's "*": a value generalised away for k-anonymity
FILTER_WORDS = {
    "conditions": "Conditions (any of)",
    "jurisdictions": "Jurisdictions (any of)",
    "age_bands": "Age bands",
    "sexes": "Sex",
    "exposure_min_mg": "Mean mitragynine mg per day over study days 0-27, at least",
    "exposure_max_mg": "Mean mitragynine mg per day over study days 0-27, at most",
    "enrolled_from_year": "Enrolled in or after",
    "enrolled_to_year": "Enrolled in or before",
    "baseline_instrument": "Baseline score on",
    "baseline_min": "Baseline score at least",
    "baseline_max": "Baseline score at most",
}


def number(value: Any, digits: int = 1) -> str:
    """A table cell: the number, or a dash when the report has none."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    return f"{float(value):.{digits}f}"


def interval(row: Mapping[str, Any], digits: int = 1) -> str:
    if row.get("lower") is None or row.get("upper") is None:
        return "-"
    return f"{number(row['lower'], digits)} to {number(row['upper'], digits)}"


def definition_words(definition: Mapping[str, Any]) -> list[str]:
    """The cohort definition, one plain line per filter ("all participants" when there is none)."""
    lines = []
    for key, value in definition.items():
        if value in (None, "", []):
            continue
        shown = ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
        lines.append(f"{FILTER_WORDS.get(key, key)}: {shown}")
    return lines or ["All participants of the snapshot (no filter)."]


def utc_text(iso: Any) -> str:
    """An ISO time from the report as "2026-12-02 03:45 UTC" (the zone named); the raw text if it does not parse."""
    if not iso:
        return "-"
    try:
        when = dt.datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    if when.tzinfo is None:
        return f"{when:%Y-%m-%d %H:%M} (zone not stated)"
    return f"{when.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


class _Doc(FPDF):
    checksum = ""
    source: str | None = None

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 7)
        text = f"kratomwatch cohort report · data checksum {self.checksum} · page {self.page_no()} of {{nb}}"
        self.cell(0, 6, _t(text), align="L")


def _line(pdf: FPDF, text: str, *, bold: bool = False, size: float = 9) -> None:
    line(pdf, text, bold=bold, size=size, height=4.6)


def _subheading(pdf: FPDF, text: str) -> None:
    if pdf.get_y() > pdf.h - 40:  # never a caption alone at the foot of a page
        pdf.add_page()
    _line(pdf, text, bold=True)


def _chart(pdf: FPDF, png: bytes) -> None:
    width = pdf.w - pdf.l_margin - pdf.r_margin
    if pdf.get_y() > pdf.h * 0.55:  # a chart starts a page rather than be split from its heading
        pdf.add_page()
    pdf.image(io.BytesIO(png), w=width)
    pdf.ln(2)


def _front(pdf: _Doc, report: Mapping[str, Any]) -> None:
    cohort = report.get("cohort") or {}
    data = report.get("data") or {}
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 8, _t(f"Cohort report: {cohort.get('name', '')}"), new_x="LMARGIN", new_y="NEXT", align="L")
    _line(pdf, f"Participants in the cohort: {number(cohort.get('n'))}", bold=True)
    # The caveat, framed, before any number.
    pdf.ln(2)
    pdf.set_fill_color(255, 243, 205)
    pdf.set_draw_color(176, 0, 32)
    pdf.set_font("Helvetica", "B", 10)
    pdf.multi_cell(
        0, 5.5, _t(str(report.get("caveat") or "")), border=1, fill=True, new_x="LMARGIN", new_y="NEXT", align="L"
    )
    pdf.set_draw_color(0, 0, 0)
    pdf.ln(2)
    _heading(pdf, "Cohort definition")
    for text in definition_words(cohort.get("definition") or {}):
        _line(pdf, f"- {text}")
    _heading(pdf, "Data")
    software = data.get("software") or f"kratomwatch {kratomwatch.__version__}"
    stamp = [
        ("Program", data.get("program")),
        ("Analysis snapshot", data.get("snapshot_id")),
        ("Snapshot created", utc_text(data.get("created_at"))),
        ("Research consent as of", utc_text(data.get("consent_as_of"))),
        ("Checksum (sha256 of the manifest)", data.get("checksum")),
        ("k (smallest cell shown)", data.get("k")),
        ("Software", software),
        ("Cohort id", cohort.get("id") if cohort.get("id") is not None else "not saved"),
    ]
    for label, value in stamp:
        _line(pdf, f"{label}: {value if value is not None else '-'}")
    _line(
        pdf,
        "To reproduce: run the same cohort definition on the snapshot with this checksum. Cells with fewer than k "
        f"participants or events are printed as {SUPPRESSED!r}.",
        size=8,
    )


def _description(pdf: _Doc, report: Mapping[str, Any]) -> None:
    desc = report.get("description") or {}
    _heading(pdf, "Description")
    rows = desc.get("rows") or []
    if not rows:
        _line(pdf, "No participant matches this definition: there is nothing to describe.")
    _table(
        pdf,
        ("Variable", "Level", "n", "%"),
        [
            (
                str(r.get("variable", "")).replace("_", " "),
                WITHHELD_LEVEL if r.get("level") == "*" else r.get("level", ""),
                SUPPRESSED if r.get("n") is None else r["n"],
                number(r.get("percent")),
            )
            for r in rows
        ],
        (35, 75, 30, 20),
    )
    baseline = desc.get("baseline") or []
    if baseline:
        _subheading(pdf, "Baseline scores (first valid score in study days -14 to +7)")
        _table(
            pdf,
            ("Instrument", "n", "Mean", "SD", "Median"),
            [
                (
                    b.get("label", b.get("instrument")),
                    SUPPRESSED if b.get("n") is None else b["n"],
                    number(b.get("mean")),
                    number(b.get("sd")),
                    number(b.get("median")),
                )
                for b in baseline
            ],
            (90, 28, 20, 20, 22),
        )
    exposure = desc.get("exposure") or []
    if exposure:
        _subheading(pdf, "Exposure: mean mg per day over study days 0-27")
        _table(
            pdf,
            ("Measure", "n", "P10", "P25", "Median", "P75", "P90"),
            [
                (
                    e.get("label", e.get("measure")),
                    SUPPRESSED if e.get("n") is None else e["n"],
                    *(number(e.get(q)) for q in ("p10", "p25", "median", "p75", "p90")),
                )
                for e in exposure
            ],
            (70, 25, 17, 17, 17, 17, 17),
        )
        _chart(pdf, charts.exposure(report, "png", source=pdf.source))


def _trajectories(pdf: _Doc, report: Mapping[str, Any]) -> None:
    items = report.get("trajectories") or []
    _heading(pdf, "Outcome trajectories (weekly mean, 95% interval)")
    if not items:
        _line(pdf, "No outcome scores in this cohort.")
    for t in items:
        weeks = t.get("weeks") or []
        if not any(w.get("mean") is not None for w in weeks):
            _line(pdf, f"{t.get('label')}: no week with at least k participants.")
            continue
        _chart(pdf, charts.trajectory(report, str(t["instrument"]), "png", source=pdf.source))


def _responders(pdf: _Doc, report: Mapping[str, Any]) -> None:
    r = report.get("responders")
    _heading(pdf, "IMMPACT responder rates")
    if not r:
        _line(pdf, "Not available for this cohort (no instrument with baseline and follow-up scores).")
        return
    _line(
        pdf,
        f"{r.get('label', r.get('instrument'))}, week {r.get('week')} against baseline: {number(r.get('evaluable'))} "
        f"evaluable, {number(r.get('no_baseline'))} without a baseline score, {number(r.get('missing_at_week'))} "
        "without a score in that week (not counted as responders or non-responders).",
    )
    _table(
        pdf,
        ("Reduction of at least", "Responders", "n", "Proportion", "95% interval (Wilson)"),
        [
            (
                f"{float(x['threshold']) * 100:.0f}%",
                SUPPRESSED if x.get("suppressed") else number(x.get("responders")),
                number(x.get("n")),
                number(x.get("proportion"), 3),
                interval(x, 3),
            )
            for x in r.get("rates") or []
        ],
        (38, 36, 20, 26, 50),
    )


def _model(pdf: _Doc, report: Mapping[str, Any]) -> None:
    m = report.get("exposure_outcome")
    _heading(pdf, "Exposure and outcome (mixed-effects model)")
    if not m:
        _line(pdf, "Not available for this cohort.")
        return
    _line(pdf, f"Outcome: {m.get('label', m.get('instrument'))}. Formula: {m.get('formula')}")
    if m.get("status") != "estimated":
        _line(pdf, f"Not estimable: {m.get('reason') or 'no reason given'}.", bold=True)
    else:
        _table(
            pdf,
            ("Per", "Coefficient", "95% interval", "p", "Participants", "Observations", "Converged"),
            [
                (
                    m.get("per"),
                    number(m.get("coefficient"), 3),
                    interval(m, 3),
                    number(m.get("p_value"), 3),
                    number(m.get("n_participants")),
                    number(m.get("n_observations")),
                    number(m.get("converged")),
                )
            ],
            (42, 22, 32, 14, 24, 24, 22),
        )
    if m.get("note"):
        _line(pdf, str(m["note"]), size=8)


def _survival(pdf: _Doc, report: Mapping[str, Any]) -> None:
    items = report.get("time_to_event") or []
    _heading(pdf, "Time to event (Kaplan-Meier)")
    if not items:
        _line(pdf, "No time-to-event analysis for this cohort.")
        return
    _table(
        pdf,
        ("Event", "n", "Events", "Censored", "Median days"),
        [
            (
                e.get("label", e.get("event")),
                number(e.get("n")),
                number(e.get("events")),
                number(e.get("censored")),
                "not reached" if e.get("median_days") is None else number(e.get("median_days"), 0),
            )
            for e in items
        ],
        (70, 22, 22, 24, 30),
    )
    for e in items:
        if any(s.get("survival") is not None for s in e.get("steps") or []):
            _chart(
                pdf, charts.survival(report, str(e["event"]), "png", source=pdf.source)
            )  # its definition is in the chart's foot
        else:
            _line(pdf, f"{e.get('label')} ({e.get('definition', '')}): fewer than k at risk, no curve.", size=8)


def _incidence(pdf: _Doc, report: Mapping[str, Any]) -> None:
    ae = report.get("ae_incidence") or {}
    _heading(pdf, "Adverse-event incidence per 100 patient-months")
    _line(pdf, f"Follow-up: {number(ae.get('patient_months'))} patient-months. Intervals: exact Poisson (Garwood).")
    for title, rows in (("By grade", ae.get("by_grade") or []), ("By system organ class", ae.get("by_system") or [])):
        _subheading(pdf, title)
        if not rows:
            _line(pdf, "No adverse events.")
            continue
        _table(pdf, ("Group", "Events", "Rate", "95% interval"), [_rate_row(r) for r in rows], (80, 30, 25, 45))
    total = ae.get("total")
    if total:
        _table(
            pdf, ("Group", "Events", "Rate", "95% interval"), [_rate_row({"group": "All", **total})], (80, 30, 25, 45)
        )
    if ae.get("by_grade") or ae.get("by_system"):
        _chart(pdf, charts.incidence(report, "png", source=pdf.source))


def _rate_row(r: Mapping[str, Any]) -> tuple[object, ...]:
    if r.get("suppressed"):
        return (r.get("group"), SUPPRESSED, "-", "-")
    return (r.get("group"), number(r.get("events")), number(r.get("rate"), 2), interval(r, 2))


def render(report: Mapping[str, Any], *, source: str | None = None) -> bytes:
    """The cohort report as PDF bytes (A4); ``source`` is the charts' foot line (default: the data stamp)."""
    pdf = _Doc(format="A4")
    data = report.get("data") or {}
    pdf.checksum = str(data.get("checksum") or "")
    pdf.source = source
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(_t(f"Cohort report: {(report.get('cohort') or {}).get('name', '')}"))
    pdf.set_creator(f"kratomwatch {kratomwatch.__version__}")
    pdf.add_page()
    _front(pdf, report)
    _description(pdf, report)
    _trajectories(pdf, report)
    _responders(pdf, report)
    _model(pdf, report)
    _survival(pdf, report)
    _incidence(pdf, report)
    pdf.ln(3)
    _line(pdf, str(report.get("caveat") or ""), bold=True)
    return bytes(pdf.output())
