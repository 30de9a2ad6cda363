"""The drawing parts the PDFs of kratomwatch share (fpdf2, core fonts): the visit summary (``web/visit_pdf.py``)
and the cohort report (``research/report_pdf.py``). (The signed consent copy keeps its own, byte-stable rendering.)

The n-of-1 protocol and clinician letter (``nof1/pdf.py``, ``nof1/letter_pdf.py``) use it too. Outside the app layers
(like ``health.py``): it knows only fpdf2, no model and no Django.
"""

from __future__ import annotations

from collections.abc import Sequence

from fpdf import FPDF

#: Characters outside Latin-1 that have a plain equivalent; anything else outside it becomes "?".
_PLAIN = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2264": "<=", "\u2265": ">="})


class FooterPDF(FPDF):
    """An FPDF document whose every page ends with ``footer_text`` and "page n of N" (small type)."""

    footer_text = ""
    footer_size = 8

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", self.footer_size)
        self.cell(0, 6, latin1(f"{self.footer_text} - page {self.page_no()} of {{nb}}"), align="L")


def latin1(text: object) -> str:
    """The core PDF fonts are Latin-1: replace anything else rather than fail."""
    return str(text).translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


def heading(pdf: FPDF, text: str, size: int = 12) -> None:
    """A bold heading that never stands alone at the foot of a page."""
    if pdf.get_y() > pdf.h - 45:
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", size)
    pdf.multi_cell(0, 7, latin1(text), new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.set_font("Helvetica", "", 9)


def line(pdf: FPDF, text: str, *, bold: bool = False, size: float = 9, height: float = 5) -> None:
    """One wrapped paragraph line."""
    pdf.set_font("Helvetica", "B" if bold else "", size)
    pdf.multi_cell(0, height, latin1(text), new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.set_font("Helvetica", "", 9)


def table(pdf: FPDF, header: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float]) -> None:
    """A bordered table; a header never stands alone at the foot of a page, and a cell too wide ends in "~"."""
    if pdf.get_y() > pdf.h - 40:
        pdf.add_page()
    pdf.set_font("Helvetica", "B", 8)
    for h, w in zip(header, widths, strict=True):
        pdf.cell(w, 5, latin1(h), border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 8)
    for row in rows:
        if pdf.get_y() > pdf.h - 25:
            pdf.add_page()
        for value, w in zip(row, widths, strict=True):
            text = latin1(value)
            while text and pdf.get_string_width(text) > w - 1:
                text = text[:-2] + "~"
            pdf.cell(w, 5, text, border=1)
        pdf.ln()
    pdf.ln(1)
