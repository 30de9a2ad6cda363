"""Read the export files of two consumer kratom trackers into plain entries (pure: no Django, no I/O, no clock).

Four formats, learnt from the code that writes them in the apps' public repositories (read 2026-12-01); this
module is our own code, written from those notes:

* **Herbal Tracker+ CSV** (GitHub BareTread/KratomTracker, ``lib/export/csv_export.dart``, ``exportDosagesCsv``):
  UTF-8 with a byte-order mark, RFC 4180 quoting, header ``date,time,iso_timestamp,strain_code,strain_name,
  amount_g,notes``, one row per dose, oldest first. ``date``/``time`` are the phone's local ``yyyy-MM-dd`` and
  ``HH:mm``; ``iso_timestamp`` is Dart's ``DateTime.toIso8601String()`` of the stored time, which has no zone
  (``2026-11-30T08:15:00.000``, local wall time) unless the stored time was UTC (then it ends in ``Z``).
  ``amount_g`` is grams with one or two decimals. The CSV has no entry id.
* **Herbal Tracker+ JSON backup** (same repository, ``lib/providers/kratom_provider.dart`` ``exportJson`` and
  the reader ``lib/data/backup_codec.dart``; records in ``lib/models/dosage.dart`` and ``lib/models/strain.dart``):
  ``{"version": 1, "timestamp", "strains": [{"id", "name", "code", ...}], "dosages": [{"id", "strainId",
  "amount", "timestamp", "notes"}], "settings", "userName"}``; ``amount`` in grams, ``timestamp`` as in the CSV.
  The app's reader also accepts a bare list of dosages; it refuses a version above 1 and drops dosages whose
  strain is not in ``strains`` (we list those as skipped).
* **Tea Taper JSON backup** (GitHub shamaevaway/stopkratom, ``app.js``: ``exportJson`` writes the whole app
  state, ``defaultState``/``normalizeDay`` give its shape): ``{"schemaVersion": 4, "profile": {"timezone", ...},
  "days": {"YYYY-MM-DD": {"date", "entries": [{"id", "ts", "ml", "note", "createdAt", "updatedAt"}], ...}}}``.
  ``ts`` is JavaScript's ``toISOString()`` (UTC, ``...Z``); ``ml`` is millilitres of kratom tea (the app tracks
  only tea, so there is no product name). An entry without ``ts`` is placed at 12:00 local of its day, as the
  app itself does. The app keeps entries of 0 mL; we list them as skipped.
* **Tea Taper CSV** (same ``app.js``, ``exportCsv``): UTF-8 with a byte-order mark, every cell quoted, one row
  per *day*: ``date,total_ml,target_ml,difference_ml,status,entries_count,<15 wellbeing scores>,triggers,
  helpers,relapse,note``. It has no times and no entry ids, so each day's ``total_ml`` becomes one entry at
  12:00 local of that day (said on the preview); a day of 0 mL is skipped.

Times without a zone are returned naive (:attr:`TrackerEntry.local`); the caller reads them in the patient's
zone. Any malformed input raises :class:`InputError` with ``field="file"``, ``value`` the location (``line 5``
or a JSON path such as ``dosages[3].amount``) and a message in plain words that starts with that location.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kratomwatch.core.errors import InputError

HERBAL_CSV = "herbal_csv"
HERBAL_JSON = "herbal_json"
TEATAPER_JSON = "teataper_json"
TEATAPER_CSV = "teataper_csv"

FORMATS: Mapping[str, str] = {
    HERBAL_CSV: "Herbal Tracker+ CSV export",
    HERBAL_JSON: "Herbal Tracker+ JSON backup",
    TEATAPER_JSON: "Tea Taper JSON backup",
    TEATAPER_CSV: "Tea Taper CSV export",
}
"""Format id -> the name a patient recognises."""

TEA_NAME = "Kratom tea (Tea Taper)"
"""Tea Taper tracks one thing, kratom tea in mL; its entries carry this name for the product mapping."""

HERBAL_CSV_COLUMNS = ("date", "time", "iso_timestamp", "strain_code", "strain_name", "amount_g", "notes")
TEATAPER_CSV_REQUIRED = ("date", "total_ml", "entries_count")
MAX_ENTRIES = 20_000
NOON = dt.time(12, 0)


@dataclass(frozen=True)
class TrackerEntry:
    """One intake read from a tracker file."""

    location: str
    """Where it is in the file: ``line 5`` or a JSON path such as ``dosages[3]``."""
    entry_id: str
    """The file's own id of the entry, or "" when the format has none (then the key uses time, amount and name)."""
    name: str
    """The product or strain name as the file gives it."""
    amount: float
    unit: str
    """A kratomwatch unit value (``g`` or ``mL``)."""
    local: dt.datetime | None
    """Naive local wall time, when the file gives no zone (read in the patient's zone)."""
    instant: dt.datetime | None
    """Aware time, when the file gives a zone or UTC offset."""
    note: str = ""
    """What the reader decided for this entry, in plain words (e.g. a daily total placed at 12:00)."""

    @property
    def has_zone(self) -> bool:
        return self.instant is not None


@dataclass(frozen=True)
class SkippedEntry:
    location: str
    reason: str


@dataclass(frozen=True)
class TrackerFile:
    format: str
    entries: tuple[TrackerEntry, ...]
    skipped: tuple[SkippedEntry, ...]
    zone_hint: str = ""
    """The zone the app recorded (Tea Taper's profile), shown for information only."""

    @property
    def names(self) -> list[str]:
        """Each distinct product/strain name, in first-seen order."""
        return list(dict.fromkeys(e.name for e in self.entries))

    @property
    def has_naive_times(self) -> bool:
        return any(e.local is not None for e in self.entries)


def entry_key(file_format: str, entry: TrackerEntry) -> str:
    """The dose idempotency key of an imported entry: the same entry of the same file gives the same key.

    From (format, the file's entry id) when the format has ids, else (format, time as written, amount, unit, name).
    """
    when = entry.instant.isoformat() if entry.instant is not None else (entry.local.isoformat() if entry.local else "")
    raw = (
        f"{file_format}|id|{entry.entry_id}"
        if entry.entry_id
        else f"{file_format}|{when}|{entry.amount!r}|{entry.unit}|{entry.name}"
    )
    return "tracker:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


# --- helpers ---------------------------------------------------------------------------------------------


def _fail(location: str, message: str) -> InputError:
    return InputError("file", location, f"{location}: {message}")


def _strip_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text


def _amount(raw: object, location: str, what: str, *, allow_zero: bool = False) -> float:
    if isinstance(raw, bool) or raw is None:
        raise _fail(location, f"the {what} is missing or not a number")
    if isinstance(raw, int | float):
        try:
            value = float(raw)
        except OverflowError:
            raise _fail(location, f"the {what} is too large") from None
    elif isinstance(raw, str):
        try:
            value = float(raw.strip().replace(",", "."))
        except ValueError:
            raise _fail(location, f"the {what} {raw[:30]!r} is not a number") from None
    else:
        raise _fail(location, f"the {what} is not a number")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise _fail(location, f"the {what} {raw!r} must be a number greater than zero")
    return value


def _timestamp(raw: object, location: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(naive local, aware instant) from an ISO-8601 text; exactly one is set."""
    if not isinstance(raw, str) or not raw.strip():
        raise _fail(location, "the time is missing")
    text = raw.strip()
    try:
        value = dt.datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise _fail(location, f"the time {text[:40]!r} is not a date and time such as 2026-11-30T08:15") from None
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=None), None
    return None, value


def _date(raw: str, location: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw.strip())
    except (ValueError, OverflowError):
        raise _fail(location, f"the date {raw[:30]!r} is not a date such as 2026-11-30") from None


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number where the row starts, cells); a malformed quote names its line."""
    reader = csv.reader(io.StringIO(_strip_bom(text), newline=""), strict=True)
    start = 1
    try:
        for row in reader:
            yield start, row
            start = reader.line_num + 1
    except csv.Error as exc:
        raise _fail(f"line {start}", f"the CSV quoting is broken ({exc})") from None


def _header(row: list[str]) -> list[str]:
    return [c.strip().lstrip("\ufeff").lower() for c in row]


def _check_count(entries: Sequence[object]) -> None:
    if len(entries) > MAX_ENTRIES:
        raise _fail("file", f"it holds more than {MAX_ENTRIES} entries; split it into smaller files")


# --- Herbal Tracker+ -------------------------------------------------------------------------------------


def parse_herbal_csv(text: str) -> TrackerFile:
    rows = _csv_rows(text)
    first = next(rows, None)
    if first is None:
        raise _fail("line 1", "the file is empty")
    header = _header(first[1])
    missing = [c for c in ("strain_name", "amount_g") if c not in header]
    if missing or ("iso_timestamp" not in header and not {"date", "time"} <= set(header)):
        raise _fail(
            "line 1",
            "this is not a Herbal Tracker+ CSV export: the first line should name the columns "
            + ",".join(HERBAL_CSV_COLUMNS),
        )
    col = {name: header.index(name) for name in header}
    entries: list[TrackerEntry] = []
    for line, row in rows:
        if not row or all(not c.strip() for c in row):
            continue
        where = f"line {line}"
        if len(row) != len(header):
            raise _fail(where, f"expected {len(header)} columns, found {len(row)}")
        iso = row[col["iso_timestamp"]].strip() if "iso_timestamp" in col else ""
        if not iso:
            iso = f"{row[col['date']].strip()}T{row[col['time']].strip()}" if "date" in col and "time" in col else ""
        local, instant = _timestamp(iso, where)
        name = row[col["strain_name"]].strip() or (row[col["strain_code"]].strip() if "strain_code" in col else "")
        entries.append(
            TrackerEntry(
                location=where,
                entry_id="",
                name=name or "Unknown strain",
                amount=_amount(row[col["amount_g"]], where, "amount in grams"),
                unit="g",
                local=local,
                instant=instant,
            )
        )
        _check_count(entries)
    return TrackerFile(HERBAL_CSV, tuple(entries), ())


def _json(text: str) -> Any:
    try:
        return json.loads(_strip_bom(text))
    except json.JSONDecodeError as exc:
        raise _fail(f"line {exc.lineno}", f"this is not valid JSON ({exc.msg}, column {exc.colno})") from None
    except (RecursionError, ValueError):
        raise _fail("file", "this is not JSON that can be read (nested too deeply or a number too long)") from None


def parse_herbal_json(text: str) -> TrackerFile:
    data = _json(text)
    if isinstance(data, list):
        root: dict[str, Any] = {}
        dosages: Any = data
        base = ""
    elif isinstance(data, dict):
        root = data
        dosages = data.get("dosages")
        base = "dosages"
    else:
        raise _fail("file", "a Herbal Tracker+ backup is an object with strains and dosages")
    version = root.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version > 1:
        raise _fail("version", f"backup version {version!r} is not one this import knows (version 1)")
    if not isinstance(dosages, list):
        raise _fail(base or "file", "the dosages are missing or not a list")
    strains: dict[str, str] = {}
    has_strains = "strains" in root
    if has_strains:
        if not isinstance(root["strains"], list):
            raise _fail("strains", "the strains are not a list")
        for i, strain in enumerate(root["strains"]):
            where = f"strains[{i}]"
            if not isinstance(strain, dict) or not isinstance(strain.get("id"), str) or not strain["id"]:
                raise _fail(where, "a strain has no id")
            name = strain.get("name") if isinstance(strain.get("name"), str) else ""
            code = strain.get("code") if isinstance(strain.get("code"), str) else ""
            strains[strain["id"]] = (name or code or "Unknown strain").strip() or "Unknown strain"
    entries: list[TrackerEntry] = []
    skipped: list[SkippedEntry] = []
    for i, dose in enumerate(dosages):
        where = f"{base}[{i}]" if base else f"[{i}]"
        if not isinstance(dose, dict):
            raise _fail(where, "a dosage is not an object")
        entry_id, strain_id = dose.get("id"), dose.get("strainId")
        if not isinstance(entry_id, str) or not entry_id:
            raise _fail(f"{where}.id", "the dosage has no id")
        if not isinstance(strain_id, str) or not strain_id:
            raise _fail(f"{where}.strainId", "the dosage names no strain")
        amount = _amount(dose.get("amount"), f"{where}.amount", "amount in grams")
        local, instant = _timestamp(dose.get("timestamp"), f"{where}.timestamp")
        if has_strains and strain_id not in strains:
            skipped.append(SkippedEntry(where, "its strain is not in the file (the app drops these too)"))
            continue
        entries.append(
            TrackerEntry(
                location=where,
                entry_id=entry_id[:200],
                name=strains.get(strain_id, f"Strain {strain_id[:40]}"),
                amount=amount,
                unit="g",
                local=local,
                instant=instant,
            )
        )
        _check_count(entries)
    return TrackerFile(HERBAL_JSON, tuple(entries), tuple(skipped))


# --- Tea Taper -------------------------------------------------------------------------------------------


def parse_teataper_json(text: str) -> TrackerFile:
    data = _json(text)
    if not isinstance(data, dict) or not isinstance(data.get("days"), dict):
        raise _fail("days", "a Tea Taper backup is an object with a 'days' list of dates")
    profile = data.get("profile")
    zone = profile.get("timezone") if isinstance(profile, dict) else None
    entries: list[TrackerEntry] = []
    skipped: list[SkippedEntry] = []
    for key in sorted(data["days"], key=str):
        day = data["days"][key]
        where_day = f'days["{key}"]'
        when = _date(str(key), where_day)
        if not isinstance(day, dict):
            raise _fail(where_day, "a day is not an object")
        items = day.get("entries", [])
        if not isinstance(items, list):
            raise _fail(f"{where_day}.entries", "the entries are not a list")
        for i, item in enumerate(items):
            where = f"{where_day}.entries[{i}]"
            if not isinstance(item, dict):
                raise _fail(where, "an entry is not an object")
            ml = _amount(item.get("ml"), f"{where}.ml", "amount in mL", allow_zero=True)
            note = ""
            local: dt.datetime | None
            instant: dt.datetime | None
            if item.get("ts") in (None, ""):
                local, instant = dt.datetime.combine(when, NOON), None
                note = "no time in the file: placed at 12:00 of that day, as Tea Taper does"
            else:
                local, instant = _timestamp(item.get("ts"), f"{where}.ts")
            if ml == 0:
                skipped.append(SkippedEntry(where, "0 mL"))
                continue
            raw_id = item.get("id")
            entries.append(
                TrackerEntry(
                    location=where,
                    entry_id=str(raw_id)[:200] if isinstance(raw_id, str | int) and str(raw_id) else "",
                    name=TEA_NAME,
                    amount=ml,
                    unit="mL",
                    local=local,
                    instant=instant,
                    note=note,
                )
            )
            _check_count(entries)
    return TrackerFile(
        TEATAPER_JSON, tuple(entries), tuple(skipped), zone_hint=zone[:64] if isinstance(zone, str) else ""
    )


def parse_teataper_csv(text: str) -> TrackerFile:
    rows = _csv_rows(text)
    first = next(rows, None)
    if first is None:
        raise _fail("line 1", "the file is empty")
    header = _header(first[1])
    if any(c not in header for c in TEATAPER_CSV_REQUIRED):
        raise _fail("line 1", "this is not a Tea Taper CSV export: the first line should start date,total_ml,target_ml")
    col = {name: header.index(name) for name in header}
    entries: list[TrackerEntry] = []
    skipped: list[SkippedEntry] = []
    for line, row in rows:
        if not row or all(not c.strip() for c in row):
            continue
        where = f"line {line}"
        if len(row) != len(header):
            raise _fail(where, f"expected {len(header)} columns, found {len(row)}")
        day = _date(row[col["date"]], where)
        total_text = row[col["total_ml"]].strip()
        total = _amount(total_text or "0", where, "total in mL", allow_zero=True)
        if total == 0:
            skipped.append(SkippedEntry(where, "0 mL that day"))
            continue
        count = row[col["entries_count"]].strip()
        entries.append(
            TrackerEntry(
                location=where,
                entry_id="",
                name=TEA_NAME,
                amount=total,
                unit="mL",
                local=dt.datetime.combine(day, NOON),
                instant=None,
                note=f"day total ({count or '?'} entries in the app); no times in the CSV: placed at 12:00",
            )
        )
        _check_count(entries)
    return TrackerFile(TEATAPER_CSV, tuple(entries), tuple(skipped))


PARSERS = {
    HERBAL_CSV: parse_herbal_csv,
    HERBAL_JSON: parse_herbal_json,
    TEATAPER_JSON: parse_teataper_json,
    TEATAPER_CSV: parse_teataper_csv,
}


def detect_format(text: str) -> str:
    """The format of a tracker file from its content, or ``InputError`` saying what was expected."""
    body = _strip_bom(text).lstrip()
    if body.startswith(("{", "[")):
        data = _json(body)
        if isinstance(data, dict) and isinstance(data.get("days"), dict):
            return TEATAPER_JSON
        if isinstance(data, list) or (isinstance(data, dict) and "dosages" in data):
            return HERBAL_JSON
        raise _fail("file", "this JSON is neither a Herbal Tracker+ backup nor a Tea Taper backup")
    first_line = body.split("\n", 1)[0].replace('"', "").strip().lower()
    columns = [c.strip() for c in first_line.split(",")]
    if "strain_name" in columns and "amount_g" in columns:
        return HERBAL_CSV
    if "total_ml" in columns and "date" in columns:
        return TEATAPER_CSV
    raise _fail(
        "line 1",
        "this is not a file this import knows: export a CSV or JSON backup from Herbal Tracker+ or Tea Taper",
    )


def parse(text: str, file_format: str | None = None) -> TrackerFile:
    """Parse ``text`` as ``file_format`` (detected when None); ``InputError`` with the location otherwise."""
    chosen = file_format or detect_format(text)
    parser = PARSERS.get(chosen)
    if parser is None:
        raise InputError("format", chosen, f"choose one of: {', '.join(FORMATS.values())}")
    return parser(text)


def decode(data: bytes) -> str:
    """The text of an uploaded file (UTF-8, with or without a byte-order mark)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail("file", f"it is not UTF-8 text (byte {exc.start}); export it again from the app") from None
