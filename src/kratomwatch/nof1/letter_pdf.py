"""The clinician letter of an n-of-1 trial as a PDF (fpdf2, the shared ``pdfparts``), and the description of a
trial that the patient card and the letter are worded from (``core.nof1_card``).

Page 1: who and what (patient code, program, trial, dates in the patient's zone, named), the stance, the chart (the
same SVG as the trial page: outcome by day coloured by condition, measured mitragynine beneath on the same axis);
then the sections of ``core.nof1_card.clinician_letter`` (design, both estimates, washout sensitivity, the
exposure-adjusted estimate, adherence, the model, the limits and the probability words the card uses), the
adherence of every period with its deviation, and the signatures of the protocol with its sha256. The letter
reports what was measured; it never recommends a dose.

A blinded trial has no letter before it ends (its results by condition would reveal the order): ``Conflict``.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict

from django.utils import timezone
from fpdf import FPDF

from kratomwatch.core import instruments as ins
from kratomwatch.core import nof1_card
from kratomwatch.core.errors import Conflict
from kratomwatch.nof1 import chart, queries
from kratomwatch.nof1.models import Trial, TrialStatus
from kratomwatch.nof1.pdf import when
from kratomwatch.nof1.results import TrialResults, adherence_tolerance, schedule_hidden
from kratomwatch.pdfparts import FooterPDF, heading, latin1, line, table

__all__ = ["STANCE", "card_adherence", "card_description", "letter_pdf", "outcome_words"]

STANCE = (
    "kratomwatch measures, screens, flags and cites. It never recommends a kratom dose and never claims a benefit: "
    "this letter reports what one patient's trial measured."
)


def outcome_words(instrument_id: str) -> tuple[str, str | None, float | None]:
    """(name, scale words such as "0 to 10 scale", top of the scale) of the trial's primary questionnaire; the name
    is its primary score's label without the range ("Pain intensity", "PEG score")."""
    try:
        definition = ins.get(instrument_id)
    except ins.UnknownInstrument:
        return instrument_id, None, None
    low, high = definition.score_range(definition.primary_scale_id)
    scale = next(s for s in definition.scales if s.id == definition.primary_scale_id)
    name = re.sub(r"\s*\(.*?\)", "", scale.label).strip() or definition.title
    return name[0].upper() + name[1:], f"{low:g} to {high:g} scale", float(high)


def card_adherence(trial: Trial, results: TrialResults) -> dict[str, nof1_card.Adherence]:
    """Per condition: its daily targets and the mean mg a day actually taken over its analysed days so far (each
    period weighted by its days)."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for row in results.adherence:
        s = sums[row.condition]
        s[0] += row.days
        s[1] += (row.mitragynine_mg or 0.0) * row.days
        s[2] += (row.seven_oh_mg or 0.0) * row.days
    out: dict[str, nof1_card.Adherence] = {}
    for c in queries.conditions_of(trial):
        days, mit, oh = sums.get(c.code, [0.0, 0.0, 0.0])
        if not days:
            continue
        out[c.code] = nof1_card.Adherence(
            target_mitragynine_mg=c.target_mitragynine_mg,
            actual_mitragynine_mg=mit / days,
            target_7oh_mg=c.target_seven_oh_mg,
            actual_7oh_mg=oh / days,
        )
    return out


def card_description(trial: Trial, results: TrialResults) -> nof1_card.TrialDescription:
    """What ``core.nof1_card`` needs besides the numbers: the outcome's name and scale, the clinician's labels of the
    conditions, the MCID's source, the design and the measured adherence."""
    name, scale, _ = outcome_words(trial.primary_instrument)
    source = trial.mcid_source
    if trial.mcid is not None and trial.mcid_program_choice:
        source = "a program choice, not a published value" + (
            f": {source}" if source and source != "program choice" else ""
        )
    return nof1_card.TrialDescription(
        outcome=name,
        condition_labels={c.code: c.label for c in queries.conditions_of(trial)},
        scale=scale,
        mcid_source=source or None,
        period_days=trial.period_days,
        blocks=trial.blocks,
        adherence=card_adherence(trial, results),
        deviation_fraction=adherence_tolerance(trial),
    )


def _mg(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _chart(pdf: FPDF, trial: Trial, results: TrialResults) -> None:
    name, _, top = outcome_words(trial.primary_instrument)
    conditions = [(c.code, c.label) for c in sorted(queries.conditions_of(trial), key=lambda c: not c.is_reference)]
    svg = chart.trial_chart(
        results.series,
        conditions=conditions,
        outcome_title=name,
        outcome_max=top,
        lower_is_better=trial.lower_is_better,
        width=720,
        font_size=11,
    )
    printable = re.sub(r"<title>.*?</title>", "", svg, flags=re.DOTALL)
    printable = printable.replace("\u2026", "...")
    try:
        pdf.image(io.BytesIO(printable.encode("utf-8")), w=pdf.w - pdf.l_margin - pdf.r_margin)
    except Exception:  # a chart the renderer cannot draw is described in words instead
        line(pdf, "The chart could not be drawn here; it is on the trial page.")
    line(
        pdf,
        "Top: the primary outcome by day, coloured by condition (hollow points: run-in and washout days, not "
        "analysed). Beneath, on the same days: measured mitragynine mg per day from the dose log (7-OH dashed, "
        "own scale).",
        size=8,
    )


def letter_pdf(trial: Trial, results: TrialResults) -> bytes:
    """The clinician letter (PDF bytes). ``Conflict`` for a blinded trial that has not ended."""
    if schedule_hidden(trial):
        raise Conflict("trial", trial.pk, "a blinded trial's results are shown when it ends")
    patient = trial.patient
    zone = patient.time_zone
    pdf = FooterPDF(format="A4")
    pdf.footer_text = f"kratomwatch n-of-1 clinician letter, patient {patient.code}, trial {trial.pk}"
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 8, latin1(f"N-of-1 trial: clinician letter - {trial.title}"), new_x="LMARGIN", new_y="NEXT")
    periods = queries.periods_of(trial)
    last = periods[-1].end.isoformat() if periods else "-"
    line(
        pdf,
        f"Patient {patient.code}, program {patient.program.name}. Status: {trial.get_status_display()}."
        f" Trial days: {trial.start_date.isoformat() if trial.start_date else 'not started'} to {last}"
        f" (patient's local dates, {zone}).",
    )
    if trial.status == TrialStatus.STOPPED:
        line(pdf, f"Stopped early on {when(trial.ended_at, zone, '-')}: {trial.stop_reason or 'no reason recorded'}.")
    if trial.question:
        line(pdf, f"Question: {trial.question}")
    line(pdf, f"Generated {when(timezone.now(), zone)}.", size=8)
    line(pdf, STANCE, bold=True)
    heading(pdf, "The outcome and the measured exposure by day")
    _chart(pdf, trial, results)
    if results.analysis is None:
        heading(pdf, "Results")
        line(pdf, f"No analysis: {results.reason or 'not enough data'}.")
    else:
        letter = nof1_card.clinician_letter(results.analysis, card_description(trial, results))
        for section in letter.sections:
            heading(pdf, section.heading)
            for text in section.lines:
                line(pdf, text)
    heading(pdf, "Adherence by period (analysed days; measured mg per day against the period's target)")
    rows = [
        (
            r.position,
            r.condition,
            f"{r.days_with_doses}/{r.days}",
            f"{_mg(r.mitragynine_mg)} / {_mg(r.target_mitragynine_mg)}",
            f"{_mg(r.seven_oh_mg)} / {_mg(r.target_seven_oh_mg)}",
            (r.deviation or "within tolerance")
            if r.target_mitragynine_mg is not None or r.target_seven_oh_mg is not None
            else "no target set",
        )
        for r in results.adherence
    ]
    if rows:
        table(
            pdf,
            ("Period", "Cond.", "Dosed days", "Mitragynine / target", "7-OH / target", "Deviation"),
            rows,
            (14, 13, 20, 33, 27, 73),
        )
    else:
        line(pdf, "No analysed day yet.")
    heading(pdf, "Protocol and signatures (consent scope n-of-1)")
    signer = trial.clinician_signed_by.get_username() if trial.clinician_signed_by else "-"
    line(pdf, f"Clinician: {signer}, {when(trial.clinician_signed_at, zone, '-')}.")
    line(pdf, f"Patient: {trial.patient_signed_name or '-'}, {when(trial.patient_signed_at, zone, '-')}.")
    line(pdf, f"Protocol sha256: {trial.protocol_sha256 or '-'}. Randomization seed: {trial.seed}.", size=8)
    for i, rule in enumerate(trial.stopping_rules, start=1):
        line(pdf, f"Stopping rule {i}: {rule}")
    out = pdf.output()
    return bytes(out)
