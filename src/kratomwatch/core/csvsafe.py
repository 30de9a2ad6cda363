"""CSV cells a spreadsheet will not run as formulas (OWASP "CSV injection").

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is opened by Excel, LibreOffice
and Google Sheets as a formula (``=HYPERLINK(...)`` can leak the sheet; ``=cmd|...`` can run a program). Every CSV
export writes its rows through :func:`safe_row`, which prefixes such a cell with a single quote so the spreadsheet
shows it as text. Only ``str`` cells are changed: a negative number is a number, not a formula. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """``value`` with a leading ``'`` if it is text that a spreadsheet would read as a formula; else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore_cell(text: str) -> str:
    """The text :func:`safe_cell` was given, read back from an exported file (so an export re-imports as itself)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def safe_row(row: Iterable[object]) -> list[object]:
    """Each cell of ``row`` through :func:`safe_cell`."""
    return [safe_cell(v) for v in row]
