"""The n-of-1 trial protocol as a PDF (fpdf2, the shared drawing parts of ``kratomwatch.pdfparts``).

The clinician's signature freezes it (``nof1.actions.sign_as_clinician`` stores the bytes and their sha256); the
patient signs that document (consent scope "n-of-1"). A blinded trial's order of conditions is not in it: its
randomization seed is committed to by its sha256, so the order can be checked after the trial and not guessed
before it. Times are in the patient's zone, named.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fpdf import FPDF

import kratomwatch
from kratomwatch.core import exposure
from kratomwatch.nof1.models import Trial
from kratomwatch.nof1.results import protocol_context
from kratomwatch.pdfparts import FooterPDF, heading, latin1, line, table

__all__ = ["protocol_pdf", "when"]


def when(value: dt.datetime | None, zone: str, missing: str = "not yet") -> str:
    """An instant as the patient's local time with the zone named (the protocol and the letter)."""
    if value is None:
        return missing
    return f"{value.astimezone(exposure.zone(zone)):%d %b %Y %H:%M} ({zone})"


def _mg(value: float | None) -> str:
    return "-" if value is None else f"{value:g} mg/day"


def _design(pdf: FPDF, ctx: dict[str, Any]) -> None:
    heading(pdf, "Conditions compared (described by the clinician)")
    rows = [
        (
            c["code"] + (" (reference)" if c["is_reference"] else ""),
            c["label"],
            _mg(c["target_mitragynine_mg"]),
            _mg(c["target_seven_oh_mg"]),
        )
        for c in ctx["conditions"]
    ]
    table(pdf, ("Condition", "Label", "Target mitragynine", "Target 7-OH"), rows, (28, 82, 40, 30))
    for c in ctx["conditions"]:
        if c["description"]:
            line(pdf, f"{c['code']}: {c['description']}")
    line(pdf, "Targets are the clinician's, entered with the patient's agreement; kratomwatch never proposes a dose.")
    heading(pdf, "Schedule")
    line(
        pdf,
        f"{ctx['blocks']} blocks of {len(ctx['conditions'])} periods of {ctx['period_days']} days; the first "
        f"{ctx['washout_days']} day(s) of each period are washout (measured, not analysed), so "
        f"{ctx['analysed_days_per_period']} day(s) of each period are analysed. Run-in: {ctx['run_in_days']} day(s) "
        f"before the first period (measured, not analysed). Total: {ctx['total_days']} days.",
    )
    line(pdf, ctx["randomization"])
    if ctx["order"] is None:
        line(
            pdf,
            "Blinded: the order is shown to no one until the trial ends. Commitment to the seed (sha256): "
            f"{ctx['seed_sha256']}",
        )
    else:
        order = ", ".join(f"block {o['block']}: {o['condition']}" for o in ctx["order"])
        line(pdf, f"Order: {order}. Seed: {ctx['seed']}.")


def _outcomes(pdf: FPDF, ctx: dict[str, Any]) -> None:
    heading(pdf, "Outcomes")
    p = ctx["primary"]
    line(pdf, f"Primary: {p['title']} every {p['every_days']} day(s) ({p['direction']}).")
    for s in ctx["secondary"]:
        line(pdf, f"Secondary: {s['title']} every {s['every_days']} day(s).")
    if ctx["mcid"] is None:
        line(pdf, "Minimal clinically important difference: none set.")
    else:
        line(pdf, f"Minimal clinically important difference: {ctx['mcid']:g} ({ctx['mcid_label']}).")
    line(pdf, f"Analysis: {ctx['analysis']}; documented in docs/nof1.md.")
    heading(pdf, "Stopping rules and safety")
    for rule in ctx["stopping_rules"] or ["No stopping rule beyond the clinician's judgement was set."]:
        line(pdf, f"- {rule}")
    line(pdf, ctx["safety"])


def _signatures(pdf: FPDF, ctx: dict[str, Any]) -> None:
    heading(pdf, f"Signatures (consent scope {ctx['consent_scope']!r})")
    zone = ctx["time_zone"]
    who = ctx["clinician_signed_by"] or "not yet signed"
    line(pdf, f"Clinician: {who}, {when(ctx['clinician_signed_at'], zone)}.")
    line(
        pdf,
        "Patient: signs this document in kratomwatch by typing their name; the signature, its time and this "
        "document's sha256 are recorded in the audit trail.",
    )
    pdf.ln(2)
    line(pdf, ctx["caveat"], bold=True)


def protocol_pdf(trial: Trial) -> bytes:
    """The protocol of ``trial`` as PDF bytes (A4)."""
    ctx = protocol_context(trial)
    pdf = FooterPDF(format="A4")
    pdf.footer_size = 7
    pdf.footer_text = f"kratomwatch n-of-1 protocol - {ctx['patient_code']}"
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(latin1(f"N-of-1 protocol: {ctx['title']}"))
    pdf.set_creator(f"kratomwatch {kratomwatch.__version__}")
    pdf.set_creation_date(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 8, latin1(f"N-of-1 trial protocol: {ctx['title']}"), new_x="LMARGIN", new_y="NEXT")
    line(pdf, f"Patient {ctx['patient_code']}. Times in {ctx['time_zone']}.")
    if ctx["question"]:
        heading(pdf, "The question")
        line(pdf, ctx["question"])
    _design(pdf, ctx)
    _outcomes(pdf, ctx)
    _signatures(pdf, ctx)
    return bytes(pdf.output())
