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

from kratomwatch.core import exposure
from kratomwatch.core import instruments as ins
from kratomwatch.pdfparts import heading as _heading
from kratomwatch.pdfparts import latin1 as _t
from kratomwatch.pdfparts import line as _line
from kratomwatch.pdfparts import table as _table
from kratomwatch.web.forms import rule_words, words, words_list
from kratomwatch.web.pages import AlertView, PatientData, score_text


def _title(instrument_id: str) -> str:
    """An instrument's name as published ("Patient Health Questionnaire-9 (PHQ-9)"), or its id if unknown."""
    try:
        return ins.get(instrument_id).title
    except (KeyError, LookupError):
        return instrument_id


def _mg(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


class _Doc(FPDF):
    code = ""
    generated = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        text = f"{self.generated} \u00b7 kratomwatch visit summary {self.code} \u00b7 page {self.page_no()} of {{nb}}"
        self.cell(0, 6, _t(text), align="L")


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
    pdf.multi_cell(0, 8, _t(f"Visit summary: patient {p.code}"), new_x="LMARGIN", new_y="NEXT", align="L")
    _line(
        pdf,
        f"Program: {p.program.name}. Local date: {data.today.isoformat()} ({p.time_zone}). "
        f"Jurisdiction: {p.jurisdiction}. Born {p.birth_year}. "
        f"Conditions: {words_list(p.condition_codes) or 'none recorded'}.",
    )
    _line(pdf, stance, bold=True)


def _section_timeline(pdf: _Doc, data: PatientData, timeline_svg: str) -> None:
    if pdf.get_y() > pdf.h * 0.4:  # the chart starts a page rather than leave its heading behind
        pdf.add_page()
    _heading(pdf, f"Timeline, {data.start.isoformat()} to {data.today.isoformat()}")
    _chart(pdf, timeline_svg, data)


def _section_daily_exposure(pdf: _Doc, data: PatientData) -> None:
    _heading(pdf, "Daily exposure, last 14 days")
    rows = [
        (
            r["day"].isoformat(),
            _mg(r["mitragynine_mg"])
            + (f" ({r['estimate_range'][0]:.0f}-{r['estimate_range'][1]:.0f})" if r["estimate_range"] else ""),
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
    _line(
        pdf,
        "Unknown-potency doses are counted, never imputed. (low-high): the range of a day with estimated doses "
        "(an uncalibrated teaspoon). Taper targets are the clinician's entries.",
    )


def _section_outcomes(pdf: _Doc, data: PatientData) -> None:
    _heading(pdf, "Outcome scores (last 90 days)")
    tz = exposure.zone(data.patient.time_zone)
    if not any(data.assessments.values()):
        _line(pdf, "No valid PEG, PHQ-9, GAD-7 or COWS scores in the period.")
    for instrument_id, items in data.assessments.items():
        if not items:
            continue
        definition = ins.get(instrument_id)
        banded = bool(definition.primary_scale.bands)
        header = ("Date", "Score", "Band") if banded else ("Date", "Score")
        rows = [
            (a.administered_at.astimezone(tz).date().isoformat(), score_text(a.total), a.band_label or "-")[
                : len(header)
            ]
            for a in items
        ]
        _line(pdf, definition.title, bold=True)
        _table(pdf, header, rows, (30, 20, 60)[: len(header)])
    for marked in data.thresholds.values():
        for t in marked:
            _line(
                pdf,
                f"Threshold {t.instrument_id.upper()} {t.value:g}: {t.label} ({t.basis_label}); "
                f"source: {t.source.text}",
            )
    for e in data.evidence:
        _line(pdf, f"Evidence, {e.claim}: certainty {e.certainty} (as of {e.as_of}). {e.summary}")


URGENT = ("urgent", "high")
NEW_AE_DAYS = 30


def _alert_lines(pdf: _Doc, views: Sequence[AlertView]) -> None:
    for av in views:
        alert = av.alert
        kind = rule_words(alert.rule_id)
        _line(pdf, f"[{alert.severity.upper()}] {alert.title} ({alert.status}, kind: {kind})", bold=True)
        _line(pdf, alert.reason)
        if av.sources:
            _line(pdf, "Sources: " + "; ".join(s.text for s in av.sources))
        if av.program_settings:
            _line(pdf, "Program setting (not published evidence): " + ", ".join(av.program_settings))


def _section_needs_attention(pdf: _Doc, data: PatientData) -> None:
    """Page 1: urgent and high open alerts and adverse events with onset in the last 30 days, before anything."""
    _heading(pdf, "Needs attention")
    urgent = [av for av in data.alerts if av.alert.severity in URGENT]
    since = data.today - dt.timedelta(days=NEW_AE_DAYS)
    new_aes = [ae for ae in data.adverse_events if ae.onset >= since]
    if not urgent and not new_aes:
        _line(pdf, f"No urgent or high open alert and no adverse event with onset in the last {NEW_AE_DAYS} days.")
    _alert_lines(pdf, urgent)
    if new_aes:
        _line(pdf, f"New adverse events (onset in the last {NEW_AE_DAYS} days):", bold=True)
        for ae in new_aes:
            serious = ", ".join(ae.seriousness) or "not serious"
            _line(pdf, f"{ae.onset.isoformat()}: {ae.term}, grade {ae.grade} ({serious}); outcome {ae.outcome}")


def _section_alerts(pdf: _Doc, data: PatientData) -> None:
    others = [av for av in data.alerts if av.alert.severity not in URGENT]
    _heading(pdf, "Other open alerts (moderate and info)")
    if not others:
        _line(pdf, "None.")
    _alert_lines(pdf, others)


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
                f"  {f.severity}: {f.class_name} ({f.mechanism}, evidence {words(f.evidence_level)}). {f.summary} "
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


def lab_flag(value: float, lower: float | None, upper: float | None) -> str:
    """H above the laboratory's own upper limit, L below its lower limit, "" inside or without limits."""
    if upper is not None and value > upper:
        return "H"
    if lower is not None and value < lower:
        return "L"
    return ""


def _section_labs(pdf: _Doc, data: PatientData) -> None:
    _heading(pdf, "Labs")
    if not data.labs:
        _line(pdf, "None recorded.")
        return
    tz = exposure.zone(data.patient.time_zone)
    _table(
        pdf,
        ("Taken", "Test", "Value", "Unit", "Lower limit", "Upper limit", "Flag", "x ULN"),
        [
            (
                lab.taken_at.astimezone(tz).date().isoformat(),
                lab.get_test_display(),
                f"{lab.value:g}",
                lab.unit,
                f"{lab.lower_limit_normal:g}" if lab.lower_limit_normal is not None else "-",
                f"{lab.upper_limit_normal:g}" if lab.upper_limit_normal else "-",
                lab_flag(lab.value, lab.lower_limit_normal, lab.upper_limit_normal) or "-",
                f"{lab.value / lab.upper_limit_normal:.1f}" if lab.upper_limit_normal else "-",
            )
            for lab in data.labs
        ],
        (22, 38, 18, 18, 22, 22, 12, 16),
    )
    _line(pdf, "Flags compare each value with the limits the laboratory reported (H above, L below); none without.")


def _section_legal(pdf: _Doc, data: PatientData, legal_note: str) -> None:
    _heading(pdf, "Legal status where the patient lives")
    if data.legal is not None:
        _line(
            pdf,
            f"{data.legal.name} ({data.legal.code}) on {data.legal.on}: {data.legal.status} "
            f"(the record of {data.legal.decided_by}).",
        )
        if data.legal.record is not None and data.legal.record.note:
            _line(pdf, data.legal.record.note)
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
            f"Questionnaire {_title(s.schedule.instrument_id)} every {s.schedule.every_days} days: {s.status}, "
            f"next due {s.next_due}",
        )


def render_visit_summary(
    data: PatientData,
    *,
    timeline_svg: str,
    stance: str,
    legal_note: str,
    generated_by: str = "",
    generated_at: dt.datetime | None = None,
) -> bytes:
    """The visit summary as PDF bytes: header and stance, what needs attention, then one section per heading, and
    the stance again. Every page's footer says when (in the patient's zone) and by whom it was generated."""
    pdf = _Doc(format="A4")
    pdf.code = data.patient.code
    when = (generated_at or dt.datetime.now(dt.UTC)).astimezone(exposure.zone(data.patient.time_zone))
    pdf.generated = f"Generated {when:%a %d %b %Y, %H:%M} {when.tzname()}" + (
        f" by {generated_by}" if generated_by else ""
    )
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(_t(f"Visit summary {data.patient.code}"))
    pdf.add_page()
    _section_header(pdf, data, stance)
    _section_needs_attention(pdf, data)
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
