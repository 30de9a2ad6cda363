"""The printable visit summary (fpdf2, pure Python).

It prints the same :class:`~kratomwatch.web.pages.PatientData` the clinician's patient page shows, one
``_section_*`` function per heading, in page order. Charts are the same server-side SVG as the patient page,
embedded with ``FPDF.image``; if fpdf2 cannot render the SVG, the exposure chart is drawn with fpdf2's own
line primitives instead. The summary states the safety stance: kratomwatch measures, screens, flags and cites,
and never recommends a kratom dose.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
from collections.abc import Sequence

from fpdf import FPDF

from kratomwatch.web.pages import PatientData


def _t(text: object) -> str:
    """The core PDF fonts are Latin-1: replace anything else rather than fail."""
    return str(text).replace("\u2013", "-").replace("\u2014", "-").encode("latin-1", "replace").decode("latin-1")


def _mg(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


class _Doc(FPDF):
    code = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        self.cell(0, 6, _t(f"kratomwatch visit summary - {self.code} - page {self.page_no()}"), align="C")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 12)
    pdf.multi_cell(0, 7, _t(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)


def _line(pdf: FPDF, text: str, *, bold: bool = False) -> None:
    pdf.set_font("Helvetica", "B" if bold else "", 9)
    pdf.multi_cell(0, 5, _t(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)


def _table(pdf: FPDF, header: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float]) -> None:
    pdf.set_font("Helvetica", "B", 8)
    for h, w in zip(header, widths, strict=True):
        pdf.cell(w, 5, _t(h), border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 8)
    for row in rows:
        if pdf.get_y() > pdf.h - 25:
            pdf.add_page()
        for value, w in zip(row, widths, strict=True):
            text = _t(value)
            while text and pdf.get_string_width(text) > w - 1:
                text = text[:-2] + "~"
            pdf.cell(w, 5, text, border=1)
        pdf.ln()
    pdf.ln(1)


def _drawn_exposure_chart(pdf: FPDF, data: PatientData) -> None:
    """Fallback chart with fpdf2 primitives: daily mg mitragynine and the clinician's taper target."""
    x0, y0, w, h = pdf.l_margin + 10, pdf.get_y() + 2, pdf.w - pdf.l_margin - pdf.r_margin - 12, 45.0
    span = max((data.today - data.start).days, 1)
    values = [d.mitragynine_mg for d in data.daily] + [t for _, t in data.taper]
    hi = max(values, default=1.0) or 1.0

    def x(day: dt.date) -> float:
        return x0 + w * (day - data.start).days / span

    def y(v: float) -> float:
        return y0 + h - h * v / hi

    pdf.set_draw_color(150, 150, 150)
    pdf.rect(x0, y0, w, h)
    pdf.set_font("Helvetica", "", 7)
    pdf.text(pdf.l_margin, y0 + 3, _t(f"{hi:.0f}"))
    pdf.text(pdf.l_margin, y0 + h, "0")
    pdf.text(x0, y0 + h + 4, _t(data.start.isoformat()))
    pdf.text(x0 + w - 16, y0 + h + 4, _t(data.today.isoformat()))
    pdf.set_draw_color(31, 95, 139)
    points = [(x(d.day), y(d.mitragynine_mg)) for d in data.daily]
    for a, b in itertools.pairwise(points):
        pdf.line(a[0], a[1], b[0], b[1])
    if data.taper:
        pdf.set_draw_color(181, 84, 44)
        pdf.set_dash_pattern(dash=1.5, gap=1)
        prev: float | None = data.target_on(data.start)
        cursor = data.start
        for start, target in [*[(s, t) for s, t in data.taper if data.start < s <= data.today], (data.today, None)]:
            if prev is not None:
                pdf.line(x(cursor), y(prev), x(start), y(prev))
                if target is not None:
                    pdf.line(x(start), y(prev), x(start), y(target))
            cursor, prev = start, target if target is not None else prev
        pdf.set_dash_pattern()
    pdf.set_draw_color(0, 0, 0)
    pdf.set_y(y0 + h + 6)
    _line(pdf, "Solid: recorded mg mitragynine per day. Dashed: the clinician's taper target (if any).")


def _chart(pdf: FPDF, svg: str, data: PatientData) -> None:
    width = pdf.w - pdf.l_margin - pdf.r_margin
    try:
        # fpdf2 ignores <title> (tooltips on the web page) with a warning; drop them for print.
        printable = re.sub(r"<title>.*?</title>", "", svg, flags=re.DOTALL)
        pdf.image(io.BytesIO(printable.encode("utf-8")), w=width)
    except Exception:  # any SVG the renderer cannot handle falls back to primitives
        _drawn_exposure_chart(pdf, data)


def _section_header(pdf: _Doc, data: PatientData, stance: str) -> None:
    p = data.patient
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 8, _t(f"Visit summary: patient {p.code}"), new_x="LMARGIN", new_y="NEXT")
    _line(
        pdf,
        f"Program: {p.program.name}. Local date: {data.today.isoformat()} ({p.time_zone}). "
        f"Jurisdiction: {p.jurisdiction}. Born {p.birth_year}. "
        f"Conditions: {', '.join(p.condition_codes) or 'none recorded'}.",
    )
    _line(pdf, stance, bold=True)


def _section_timeline(pdf: _Doc, data: PatientData, timeline_svg: str) -> None:
    _heading(pdf, f"Timeline, {data.start.isoformat()} to {data.today.isoformat()}")
    _chart(pdf, timeline_svg, data)


def _section_daily_exposure(pdf: _Doc, data: PatientData) -> None:
    _heading(pdf, "Daily exposure, last 14 days")
    rows = [
        (
            r["day"].isoformat(),
            _mg(r["mitragynine_mg"]),
            _mg(r["seven_oh_mg"]),
            r["doses"],
            r["unknown_doses"],
            r["estimated_doses"],
            _mg(r["target_mg"]),
        )
        for r in data.exposure_table()
    ]
    _table(
        pdf,
        ("Day", "mg mitragynine", "mg 7-OH", "Doses", "Unknown", "Estimated", "Taper target mg"),
        rows,
        (24, 28, 20, 16, 18, 20, 30),
    )
    _line(pdf, "Unknown-potency doses are counted, never imputed. Taper targets are the clinician's entries.")


def _section_outcomes(pdf: _Doc, data: PatientData) -> None:
    _heading(pdf, "Outcome scores (last 90 days)")
    score_rows = [
        (
            instrument_id.upper(),
            a.administered_at.date().isoformat(),
            f"{a.total:g}" if a.total is not None else "-",
            a.band_label or "-",
        )
        for instrument_id, items in data.assessments.items()
        for a in items
    ]
    if score_rows:
        _table(pdf, ("Instrument", "Date", "Score", "Band"), score_rows, (30, 30, 20, 60))
    else:
        _line(pdf, "No valid PEG, PHQ-9, GAD-7 or COWS scores in the period.")
    for marked in data.thresholds.values():
        for t in marked:
            _line(
                pdf, f"Threshold {t.instrument_id.upper()} {t.value:g}: {t.label} ({t.basis}); source: {t.source.text}"
            )
    for e in data.evidence:
        _line(pdf, f"Evidence, {e.claim}: certainty {e.certainty} (as of {e.as_of}). {e.summary}")


def _section_alerts(pdf: _Doc, data: PatientData) -> None:
    _heading(pdf, "Open alerts")
    if not data.alerts:
        _line(pdf, "No open alerts.")
    for av in data.alerts:
        alert = av.alert
        _line(pdf, f"[{alert.severity}] {alert.title} ({alert.status}, rule {alert.rule_id})", bold=True)
        _line(pdf, alert.reason)
        if av.sources:
            _line(pdf, "Sources: " + "; ".join(s.text for s in av.sources))
        if av.program_settings:
            _line(pdf, "Program setting (not published evidence): " + ", ".join(av.program_settings))


def _section_medications(pdf: _Doc, data: PatientData) -> None:
    _heading(pdf, "Current medications and interaction screening")
    if not data.medications:
        _line(pdf, "No current medications recorded.")
    for m in data.medications:
        status = "not matched with certainty: confirm this medication" if m.status != "matched" else "matched"
        _line(pdf, f"{m.medication.name} {m.medication.dose_text} ({status})", bold=True)
        for pv in m.positives:
            p = pv.finding
            _line(pdf, f"  on file: {p.class_name}. {p.management} Sources: {'; '.join(p.sources)}")
        for fv in m.findings:
            f = fv.finding
            _line(
                pdf,
                f"  {f.severity}: {f.class_name} ({f.mechanism}, evidence {f.evidence_level}). {f.summary} "
                f"Management: {f.management} Sources: {'; '.join(f.sources)}",
            )


def _section_adverse_events(pdf: _Doc, data: PatientData) -> None:
    _heading(pdf, "Adverse events")
    if not data.adverse_events:
        _line(pdf, "None recorded.")
        return
    _table(
        pdf,
        ("Onset", "Term", "Grade", "Serious", "Outcome", "Causality"),
        [
            (ae.onset.isoformat(), ae.term, ae.grade, ", ".join(ae.seriousness) or "no", ae.outcome, ae.causality)
            for ae in data.adverse_events
        ],
        (22, 50, 14, 40, 32, 28),
    )


def _section_labs(pdf: _Doc, data: PatientData) -> None:
    _heading(pdf, "Labs")
    if not data.labs:
        _line(pdf, "None recorded.")
        return
    _table(
        pdf,
        ("Taken", "Test", "Value", "Unit", "ULN", "x ULN"),
        [
            (
                lab.taken_at.date().isoformat(),
                lab.get_test_display(),
                f"{lab.value:g}",
                lab.unit,
                f"{lab.upper_limit_normal:g}" if lab.upper_limit_normal else "-",
                f"{lab.value / lab.upper_limit_normal:.1f}" if lab.upper_limit_normal else "-",
            )
            for lab in data.labs
        ],
        (26, 40, 20, 20, 20, 20),
    )


def _section_legal(pdf: _Doc, data: PatientData, legal_note: str) -> None:
    _heading(pdf, "Legal status where the patient lives")
    if data.legal is not None:
        _line(
            pdf,
            f"{data.legal.name} ({data.legal.code}) on {data.legal.on}: {data.legal.status} "
            f"(decided by {data.legal.decided_by}).",
        )
        _line(pdf, "Sources: " + "; ".join(data.legal.sources))
    else:
        _line(pdf, data.legal_error)
    _line(pdf, legal_note)


def _section_care_plan(pdf: _Doc, data: PatientData) -> None:
    _heading(pdf, "Care plan")
    if data.plan is not None:
        _line(pdf, f"Goals: {data.plan.goals or '-'}")
        _line(pdf, f"Modalities: {', '.join(data.plan.modalities) or '-'}")
        if data.plan.notes:
            _line(pdf, f"Notes: {data.plan.notes}")
        if data.taper:
            _line(pdf, "Clinician-entered taper steps: " + "; ".join(f"from {s}: {t:g} mg/day" for s, t in data.taper))
    else:
        _line(pdf, "No care plan recorded.")
    for s in data.schedules:
        _line(
            pdf,
            f"Questionnaire {s.schedule.instrument_id} every {s.schedule.every_days} days: {s.status}, "
            f"next due {s.next_due}",
        )


def render_visit_summary(data: PatientData, *, timeline_svg: str, stance: str, legal_note: str) -> bytes:
    """The visit summary as PDF bytes: header and stance, then one section per heading, and the stance again."""
    pdf = _Doc(format="A4")
    pdf.code = data.patient.code
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(_t(f"Visit summary {data.patient.code}"))
    pdf.add_page()
    _section_header(pdf, data, stance)
    _section_timeline(pdf, data, timeline_svg)
    _section_daily_exposure(pdf, data)
    _section_outcomes(pdf, data)
    _section_alerts(pdf, data)
    _section_medications(pdf, data)
    _section_adverse_events(pdf, data)
    _section_labs(pdf, data)
    _section_legal(pdf, data, legal_note)
    _section_care_plan(pdf, data)
    pdf.ln(3)
    _line(pdf, stance, bold=True)
    return bytes(pdf.output())
