"""The dose CSV, in and out: one implementation for ``kratomwatch import doses`` / ``export doses`` and for the
background jobs started from the web (``jobs.long_jobs``).

* :func:`parse_dose_rows` reads a UTF-8 CSV into ``DoseIn`` rows with their line numbers (a file that is not UTF-8
  text, binary, or lacks a required column is one ``InputError`` naming the line and the problem);
* :func:`write_doses_csv` writes the care team's dose export (formulas neutralised by ``core.csvsafe``; amounts and
  mg rounded to 3 decimals) and re-imports as itself.

Neither reads patients on its own: callers pass what ``kratomwatch.access`` returned.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from kratomwatch.core.csvsafe import restore_cell, safe_row
from kratomwatch.core.errors import InputError
from kratomwatch.core.units import MG_COLUMNS

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from kratomwatch.records.actions import DoseIn
    from kratomwatch.records.models import Patient

Progress = Callable[[int, int], None]
"""``(done, total)`` callback of a long read or write."""

# --- import --------------------------------------------------------------------------------------------------

DOSE_COLUMNS = ("patient_code", "lot_id", "taken_at", "amount", "unit")
PROGRESS_EVERY = 500


def parse_dose_rows(
    path: Path, on_progress: Progress | None = None
) -> tuple[list[tuple[int, DoseIn]], list[tuple[int, InputError]]]:
    """Parse a dose CSV into DoseIn rows; malformed rows are returned as errors with their line."""
    rows: list[tuple[int, DoseIn]] = []
    errors: list[tuple[int, InputError]] = []
    text = utf8_text(path)
    total = max(0, text.count("\n") - (1 if text.endswith("\n") else 0))  # data lines, about (quoted newlines)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        missing = [c for c in DOSE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(
                "header",
                ",".join(reader.fieldnames or []),
                f"{path.name}: missing required column(s): {', '.join(missing)}",
            )
        for line, raw in enumerate(reader, start=2):
            try:
                rows.append((line, _dose_row(raw)))
            except InputError as exc:
                errors.append((line, exc))
            if on_progress is not None and (line - 1) % PROGRESS_EVERY == 0:
                on_progress(line - 1, max(total, line - 1))
    except csv.Error as exc:
        line = reader.line_num + 1  # the line being read when the parser stopped
        if "field larger than field limit" in str(exc):
            message = f"line {line}: a field is longer than {csv.field_size_limit()} characters (is this a dose CSV?)"
        else:
            message = f"line {line}: the file is not a readable CSV ({exc})"
        raise InputError("file", path.name, message) from None
    return rows, errors


def utf8_text(path: Path) -> str:
    """The file as text, or an ``InputError`` naming the line where it stops being UTF-8 (UTF-16, Latin-1, binary)."""
    return decode(path.read_bytes(), path.name)


def decode(data: bytes, name: str) -> str:
    """``data`` as UTF-8 text, or an ``InputError`` naming the line where it stops being UTF-8 text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("file", name, "line 1: the file is UTF-16 text, not UTF-8 (save it as UTF-8 CSV)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError("file", name, f"line {line}: the file is not UTF-8 text (save it as UTF-8 CSV)") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputError("file", name, f"line {line}: the file holds binary data, not CSV text")
    return text


def check_header(text: str, name: str) -> None:
    """``InputError`` unless the first line of ``text`` names every required column."""
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as exc:
        raise InputError("file", name, f"line 1: the file is not a readable CSV ({exc})") from None
    missing = [c for c in DOSE_COLUMNS if c not in [h.strip() for h in header]]
    if missing:
        raise InputError("header", ",".join(header), f"{name}: missing required column(s): {', '.join(missing)}")


def _dose_row(raw: dict[Any, Any]) -> DoseIn:
    from kratomwatch.records.actions import DoseIn  # noqa: PLC0415 - records.actions loads models (Django set up)

    if None in raw:
        raise InputError("row", raw[None], "row has more fields than the header")
    values = {k: (v or "").strip() for k, v in raw.items() if k is not None}
    try:
        lot_id = int(values["lot_id"])
    except ValueError:
        raise InputError("lot_id", values["lot_id"], f"lot_id {values['lot_id']!r} is not an integer") from None
    try:
        taken_at = dt.datetime.fromisoformat(values["taken_at"])
    except ValueError:
        raise InputError(
            "taken_at", values["taken_at"], f"taken_at {values['taken_at']!r} is not an ISO 8601 timestamp"
        ) from None
    if taken_at.tzinfo is None:
        raise InputError("taken_at", values["taken_at"], f"taken_at {values['taken_at']!r} has no UTC offset")
    try:
        amount = float(values["amount"])
    except ValueError:
        raise InputError("amount", values["amount"], f"amount {values['amount']!r} is not a number") from None
    return DoseIn(
        patient_code=values["patient_code"],
        lot_id=lot_id,
        taken_at=taken_at,
        amount=amount,
        unit=values["unit"],
        source=values.get("source") or "import",
        idempotency_key=restore_cell(values.get("idempotency_key") or "") or None,
    )


# --- export --------------------------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "patient_code",
    "lot_id",
    "taken_at",
    "amount",
    "unit",
    "source",
    "idempotency_key",
    "local_date",
    *MG_COLUMNS,
    "product_form",
)
_EXPORT_FIELDS = ("patient__code", *EXPORT_COLUMNS[1:-1], "lot__product__form")
CHUNK = 5000


def _rounded(value: object) -> object:
    """Amounts and mg to 3 decimals: 0.3, not 0.30000000000000004 (float noise from unit conversion)."""
    return round(value, 3) if isinstance(value, float) else value


def write_doses_csv(handle: TextIO, patients: QuerySet[Patient], on_progress: Progress | None = None) -> int:
    """Write every dose of ``patients`` (voided doses left out) as the dose export; returns the number of rows.

    With ``on_progress`` the doses are counted first and ``(done, total)`` is reported after each chunk."""
    from kratomwatch.records import queries  # noqa: PLC0415 - selectors load models (Django set up)

    doses = queries.doses_of_patients(patients)
    total = doses.count() if on_progress is not None else 0
    if on_progress is not None:
        on_progress(0, total)
    # Report about 50 times over the file (never more often than every 50 rows), writing in the same batches.
    step = min(CHUNK, max(50, total // 50)) if on_progress is not None else CHUNK
    writer = csv.writer(handle)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    batch: list[Any] = []
    for row in doses.values_list(*_EXPORT_FIELDS).iterator(chunk_size=CHUNK):
        batch.append(safe_row((row[0], row[1], row[2].isoformat(), *(_rounded(v) for v in row[3:]))))
        if len(batch) >= step:
            writer.writerows(batch)
            count += len(batch)
            batch.clear()
            if on_progress is not None:
                on_progress(count, max(total, count))
    writer.writerows(batch)
    count += len(batch)
    return count
