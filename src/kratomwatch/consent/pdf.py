"""The frozen copy of what a patient signed, as a PDF (fpdf2, pure Python)."""

from __future__ import annotations

import datetime as dt
import hashlib

from fpdf import FPDF


def _latin1(text: str) -> str:
    # The core PDF fonts are Latin-1; replace anything else rather than fail the signature.
    return text.encode("latin-1", "replace").decode("latin-1")


def render_signed_copy(
    *,
    program: str,
    title: str,
    version: int,
    body: str,
    scopes: list[str],
    patient_code: str,
    signed_name: str,
    signed_at: dt.datetime,
) -> tuple[bytes, str]:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(signed_at)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(0, 8, _latin1(f"{title} (version {version})"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, 6, _latin1(f"Program: {program}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.multi_cell(0, 5, _latin1(body), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 10)
    pdf.multi_cell(0, 6, _latin1("Scopes consented: " + ", ".join(scopes)), new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(
        0, 6, _latin1(f"Patient: {patient_code}    Signed (typed name): {signed_name}"), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.multi_cell(0, 6, _latin1(f"Signed at: {signed_at.isoformat()}"), new_x="LMARGIN", new_y="NEXT")
    data = bytes(pdf.output())
    return data, hashlib.sha256(data).hexdigest()
