"""The research export: de-identified, consent-filtered tables as CSV and Parquet, with a manifest, a README and a
REDCap data dictionary. One implementation for the CLI (``kratomwatch research export``), the API and the web.

The caller passes the patients its actor may see (``kratomwatch.access``; the CLI's operator sees the registry as
staff do), optionally narrowed to one program. This module keeps only those whose research consent is active at
export time (``consent.status.with_active_scope(..., "research")``), so a withdrawal takes effect at the next
export; the manifest states how many were included and excluded and the instant of the snapshot.

Reads are set-based: one query per table into a Polars frame, joined to the patient key table (study ID, date
shift, enrolment day) built by ``core.deid``; nothing loops per row in Python. De-identification (see
``core/deid.py`` and docs/research.md): no patient code, name, login, email or internal id leaves; every date is
shifted per patient or given as a study day; age at enrolment is banded with 90 and over as ``90+``; free text
(adverse-event terms, medication names as typed, dose notes, care-plan goals and notes, alert titles, reasons and
notes, lot and product names) is dropped; medications leave as curated ingredient ids with their interaction
classes (``core.screening``); the quasi-identifiers are made k-anonymous (generalised, then suppressed).

Files are written into a hidden ``.<out>.partial-*`` directory next to ``out`` and renamed into place only when
every file and the manifest are complete, so an interrupted export never leaves files presented as complete.

The project secret (never written into an export): ``KRATOMWATCH_RESEARCH_SECRET_<PROGRAM>`` (the program's slug in
capitals, ``-`` as ``_``) if set, else ``KRATOMWATCH_RESEARCH_SECRET``; at least 16 characters.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import adbc_driver_manager
import adbc_driver_sqlite
import numpy as np
import polars as pl
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX
from django.db.backends.sqlite3.creation import DatabaseCreation
from django.db.models import Field, FloatField, IntegerField, QuerySet, TextField
from django.db.models.functions import Cast

import kratomwatch
from kratomwatch.accounts.models import Program
from kratomwatch.alerts.models import Alert
from kratomwatch.assessments.models import Assessment
from kratomwatch.audit.log import Actor, record
from kratomwatch.careplans.models import CarePlan, TaperStep
from kratomwatch.consent.status import with_active_scope
from kratomwatch.core import deid
from kratomwatch.core import instruments as ins
from kratomwatch.core.csvsafe import FORMULA_STARTS
from kratomwatch.core.errors import InputError
from kratomwatch.core.screening import screen_interactions
from kratomwatch.knowledge.loader import NOT_CLASSIFIED, ae_system_map, screening_knowledge
from kratomwatch.records.corrections import ACTIVE
from kratomwatch.records.models import (
    AdverseEvent,
    DailyExposure,
    Dose,
    LabResult,
    Medication,
    Patient,
    PatientCondition,
)
from kratomwatch.research import export_fhir, export_nof1

FORMATS = ("csv", "parquet")
"""The default formats (and the web page's choices)."""
ALL_FORMATS = (*FORMATS, "fhir")
"""Every format accepted; ``fhir`` is FHIR R4 Bulk Data NDJSON (``research/export_fhir.py``)."""
DATE_MODES = ("shifted", "study-days")
SECRET_ENV = "KRATOMWATCH_RESEARCH_SECRET"  # noqa: S105 - the name of the variable, not a secret
MANIFEST = "manifest.json"
README = "README.md"
DICTIONARY = "data_dictionary.csv"
K_REPORT = "k_anonymity.csv"
MANIFEST_VERSION = 1
READ_CHUNK = 100_000
BATCH_PARTICIPANTS = 1_000
"""The large tables (:data:`LARGE`: doses, daily exposure) are read, de-identified and written this many participants
at a time, in study ID order, so that memory stays bounded whatever the registry's size (unless FHIR is asked for
too: its resources are written from whole frames)."""

TABLES = (
    "participants",
    "doses",
    "daily_exposure",
    "assessments",
    "assessment_items",
    "assessment_scores",
    "medications",
    "labs",
    "adverse_events",
    "care_plans",
    "taper_steps",
    "alerts",
    *export_nof1.TABLES,
)
STEPS = ("consent", "participants", *TABLES[1:], "files")
"""The steps :func:`export` reports to its progress callback, in order."""

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)`` after each step."""

# The header of a REDCap data dictionary (Project Setup > Data Dictionary), 18 columns in this order, as REDCap
# exports it; e.g. the IeDEA dictionaries, github.com/IeDEA/redcap-dictionaries IeDEA_tblCENTER_2020-06-30.csv
# (commit 34fdfde48b5af20ce1d4e094af15167b104a3275), first line.
REDCAP_HEADER = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)

HISTORY = Patient.HISTORY_FIELDS

#: What each exported column means (the README and the data dictionary read it). ``{date}`` columns are shifted
#: dates, or in study-days mode ``<name>_study_day`` (days since enrolment).
COLUMN_DOCS: dict[str, str] = {
    "study_id": "Study ID: keyed hash of the participant, stable within this export project, unrelated across projects",
    "enrolment_date": "Day of enrolment (shifted)",
    "enrolment_year": "Calendar year of enrolment (not shifted, in either date mode; HIPAA Safe Harbor permits years)",
    "age_band": "Age at enrolment (enrolment year minus birth year), banded; 90 and over as 90+; * = suppressed",
    "sex": "Sex as recorded (or grouped when generalised); * = suppressed",
    "jurisdiction": "ISO 3166 state or country (country only when generalised); * = suppressed",
    "conditions": "Conditions, | separated (groups when generalised); * = suppressed",
    "pregnant": "Pregnant at enrolment (1 yes, 0 no)",
    "breastfeeding": "Breastfeeding (1 yes, 0 no)",
    "liver_disease": "Liver disease (1 yes, 0 no)",
    "seizure_disorder": "Seizure disorder (1 yes, 0 no)",
    "cardiac_qt": "Cardiac disease or QT prolongation (1 yes, 0 no)",
    "respiratory_disease": "Respiratory disease (1 yes, 0 no)",
    "date": "Local calendar day (shifted)",
    "local_minute": "Minute of the local day the dose was taken (0-1439)",
    "amount": "Amount as recorded",
    "unit": "Unit of the amount (g, mg, mL, capsule, tablet, teaspoon, tablespoon)",
    "product_form": "Product form (leaf_powder, capsule, liquid_extract, ...)",
    "source": "Who recorded it (self_report, clinician, import)",
    "mitragynine_mg": "mg mitragynine (empty when the product's strength is unknown)",
    "seven_oh_mg": "mg 7-hydroxymitragynine (empty when unknown)",
    "basis": "How the mg were derived: certificate (lab certificate), estimated (reference content), unknown",
    "mitragynine_low_mg": "Low end of the estimate's range, mg mitragynine",
    "mitragynine_high_mg": "High end of the estimate's range, mg mitragynine",
    "seven_oh_share_percent": "7-OH share of measured alkaloids, % (certificate only)",
    "enhanced": "7-OH share above the program's cap (1 yes, 0 no; empty when not known)",
    "doses": "Doses counted that day",
    "unknown_doses": "Doses of unknown strength that day (not imputed)",
    "estimated_doses": "Doses with estimated mg that day",
    "first_dose_minute": "Minute of the day of the first dose",
    "assessment_no": "Number of the administration within this export",
    "instrument_id": "Instrument (phq9, gad7, peg, pain_nrs, cows, ...)",
    "instrument_version": "Version of kratomwatch's definition that scored it",
    "total": "Primary score",
    "band_id": "Severity band of the primary score",
    "valid": "Every scale could be computed (1 yes, 0 no)",
    "supervised": "Administered under supervision (1 yes, 0 no)",
    "missing_policy": "How missing items were handled",
    "flags": "Flags raised, | separated",
    "item_no": "Item position (1 = first item)",
    "item_id": "Item id in the instrument definition",
    "answer": "Answer value (empty = left blank)",
    "scale_id": "Scale id in the instrument definition",
    "value": "Value (full precision; empty when the scale could not be computed)",
    "ingredient_id": "Curated ingredient id (empty when the entry matched no curated ingredient)",
    "interaction_classes": "Interaction classes with kratom of this ingredient, | separated",
    "match_status": "matched (curated ingredient), suggested (close name, not confirmed) or unmatched",
    "start": "Start day (shifted)",
    "stop": "Stop day (shifted)",
    "test": "Laboratory test (alt, ast, alp, total_bilirubin, qtc, sodium)",
    "upper_limit_normal": "Upper limit of normal, same unit",
    "lower_limit_normal": "Lower limit of normal, same unit",
    "onset": "Onset day (shifted)",
    "grade": "CTCAE grade 1-5",
    "system": "System organ class of the event's term (CTCAE v5.0 / MedDRA; not classified when the term is not in "
    "the curated list); the term itself is dropped",
    "seriousness": "ICH E2A seriousness criteria met, | separated (empty = not serious)",
    "outcome": "Outcome",
    "causality": "WHO-UMC causality",
    "action_taken": "Action taken with kratom",
    "modalities": "Care modalities, | separated",
    "updated": "Day the care plan was last changed (shifted)",
    "target_mg": "The clinician's daily target, mg mitragynine, from this step's start",
    "rule_id": "Alert rule id",
    "severity": "Alert severity (urgent, high, moderate, info)",
    "status": "Alert status (open, acknowledged, resolved)",
    "first_seen": "Day first seen (shifted)",
    "last_seen": "Day last seen (shifted)",
    "acknowledged": "Day acknowledged (shifted)",
    "resolved": "Day resolved (shifted)",
    "condition_cleared": "Day the condition no longer held (shifted)",
}

TABLE_DOCS: dict[str, str] = {
    "participants": "one row per participant: enrolment year, age band, sex, jurisdiction, conditions (k-anonymous), "
    "history",
    "doses": "one row per dose (voided entries left out), with mg mitragynine and 7-OH, their basis and range",
    "daily_exposure": "one row per participant-day with at least one dose: daily sums",
    "assessments": "one row per questionnaire administration: instrument, definition version, score, band",
    "assessment_items": "one row per item answer of an administration (assessment_no links to assessments)",
    "assessment_scores": "one row per scale score of an administration",
    "medications": "one row per medication and curated ingredient, with interaction classes (names as typed dropped)",
    "labs": "one row per laboratory result",
    "adverse_events": "one row per adverse event: onset, CTCAE grade, system organ class, seriousness, outcome "
    "(free-text term dropped)",
    "care_plans": "one row per care plan: modalities (goals and notes are free text, dropped)",
    "taper_steps": "one row per step of a clinician's taper schedule",
    "alerts": "one row per alert: rule, severity, status and days (titles, reasons and notes dropped)",
    **export_nof1.TABLE_DOCS,
}


@dataclass(frozen=True)
class ExportRequest:
    """What to export and how (validated by :func:`check_request`)."""

    out: Path
    project: str
    now: dt.datetime
    formats: tuple[str, ...] = FORMATS
    dates: str = "shifted"
    k: int = deid.DEFAULT_K


@dataclass(frozen=True)
class ExportResult:
    out: Path
    counts: dict[str, int]
    included: int
    excluded: int
    withheld: int
    suppressed: int
    generalisation: str
    files: dict[str, str] = field(default_factory=dict)


# --- input ---------------------------------------------------------------------------------------------------------


def parse_formats(text: str) -> tuple[str, ...]:
    """``csv,parquet,fhir`` -> ("csv", "parquet", "fhir"); ``InputError`` naming ``format`` for anything else."""
    names = tuple(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
    bad = [n for n in names if n not in ALL_FORMATS]
    if not names or bad:
        shown = bad[0] if bad else text
        raise InputError("format", shown, f"unknown format {shown!r}; known: {', '.join(ALL_FORMATS)}")
    return names


def check_request(request: ExportRequest) -> None:
    """Every option, before anything is read: k, formats, dates, the output directory."""
    deid.check_k(request.k)
    parse_formats(",".join(request.formats))
    if request.dates not in DATE_MODES:
        raise InputError("dates", request.dates, f"dates must be one of {', '.join(DATE_MODES)}")
    out = request.out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError("out", str(out), "the output directory exists and is not empty; name a new one")
    if not out.parent.is_dir():
        raise InputError("out", str(out), "the parent directory does not exist")
    if request.now.tzinfo is None:
        raise InputError("now", request.now.isoformat(), "the export instant needs a time zone")


def project_secret(program: Program | None, environ: Mapping[str, str] | None = None) -> str:
    """The research secret: the program's own variable if set, else the site's, else (development only, read from
    the real environment) ``settings.RESEARCH_DEV_SECRET``; ``InputError`` if none is."""
    env = os.environ if environ is None else environ
    names = [SECRET_ENV]
    if program is not None:
        names.insert(0, f"{SECRET_ENV}_{re.sub(r'[^A-Z0-9]', '_', program.slug.upper())}")
    for name in names:
        value = env.get(name, "")
        if value:
            return value
    dev = getattr(settings, "RESEARCH_DEV_SECRET", None) if environ is None else None
    if dev:
        return str(dev)  # development and the demo only (settings.py); never with DEBUG off
    raise InputError(
        "research_secret", "(not set)", f"set {SECRET_ENV} (at least 16 characters) in the server's environment"
    )


# --- frames --------------------------------------------------------------------------------------------------------


def _raw_type(target: pl.DataType | type[pl.DataType], text: bool) -> pl.DataType | type[pl.DataType]:
    """The type a read hands over for a column read as ``target``: JSON always as text; dates, instants and booleans
    as text (``text``: SQLite's cursor, through a cast, and PostgreSQL's COPY) or 0/1 (SQLite's booleans)."""
    if isinstance(target, pl.List | pl.Struct):
        return pl.String
    if text and (target == pl.Date or isinstance(target, pl.Datetime)):
        return pl.String
    if text and target == pl.Boolean:
        return pl.Int64 if connection.vendor == "sqlite" else pl.String
    return target


def _typed(column: str, raw: pl.DataType | type[pl.DataType], target: pl.DataType | type[pl.DataType]) -> pl.Expr:
    col = pl.col(column)
    if raw == target:
        return col
    if isinstance(target, pl.List | pl.Struct):
        return col.str.json_decode(target)
    if target == pl.Date:
        return col.str.to_date("%Y-%m-%d")
    if isinstance(target, pl.Datetime):
        text = col.str.replace(r"\+00(:00)?$", "")
        return text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_zone="UTC", time_unit="us")
    if target == pl.Boolean and raw == pl.String:
        return col == "t"  # PostgreSQL's text form; NULL stays NULL
    return col.cast(target)


_SQL_TYPES: dict[Any, type[Field[Any, Any]]] = {
    pl.String: TextField,
    pl.Float64: FloatField,
    pl.Int64: IntegerField,
}
"""The SQL type each column is cast to on the columnar read (:class:`_ArrowReader`), by the type it hands over."""


def _select(
    qs: QuerySet[Any],
    schema: Mapping[str, pl.DataType | type[pl.DataType]],
    fields: Mapping[str, str] | None,
    *,
    cast_all: bool = False,
) -> tuple[str, Sequence[Any]]:
    """The SQL (and its parameters) of ``qs`` selecting the columns of ``schema`` in order; on SQLite dates,
    instants and booleans through a cast, so that the cursor runs no per-value converter. ``cast_all`` (SQLite's
    columnar read): every column through a cast to the SQL type of the type it is handed over as (REAL, INTEGER,
    TEXT), so that each column holds one storage class (NULL apart) whatever the rows."""
    sqlite = connection.vendor == "sqlite"
    selected: list[str] = []
    casts: dict[str, Cast] = {}
    for n, column in enumerate(schema):
        name = (fields or {}).get(column, column)
        if sqlite and (schema[column] == pl.Date or isinstance(schema[column], pl.Datetime)):
            casts[f"kw_export_{n}"] = Cast(name, output_field=TextField())
            name = f"kw_export_{n}"
        elif sqlite and schema[column] == pl.Boolean:
            casts[f"kw_export_{n}"] = Cast(name, output_field=IntegerField())
            name = f"kw_export_{n}"
        elif sqlite and cast_all:
            casts[f"kw_export_{n}"] = Cast(name, output_field=_SQL_TYPES[_raw_type(schema[column], text=True)]())
            name = f"kw_export_{n}"
        selected.append(name)
    sql, params = qs.order_by().annotate(**casts).values_list(*selected).query.sql_with_params()
    return sql, params


NULL = "\\N"
"""How COPY writes NULL (so that an empty text stays an empty text)."""


def _copy_to(handle: Any, sql: str, params: Sequence[Any]) -> None:
    """PostgreSQL: ``COPY (<the query>) TO STDOUT`` as CSV (NULL as :data:`NULL`) into a binary file."""
    with connection.cursor() as cursor:
        raw_cursor = cursor.cursor
        query = raw_cursor.mogrify(sql, params) if params else sql
        with raw_cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, NULL '{NULL}')") as copy:
            for block in copy:
                handle.write(block)


CSV_OPTIONS: dict[str, Any] = {"has_header": False, "null_values": NULL, "empty_string_is_null": False}
"""How Polars reads what :func:`_copy_to` wrote."""


def _copy_frame(sql: str, params: Sequence[Any], raw: Mapping[str, pl.DataType | type[pl.DataType]]) -> pl.DataFrame:
    """PostgreSQL: the query's rows through :func:`_copy_to`, spooled to a temporary file and parsed by Polars (no
    Python object per row or value)."""
    with tempfile.TemporaryFile() as spool:
        _copy_to(spool, sql, params)
        if not spool.tell():
            return pl.DataFrame(schema=raw)
        spool.seek(0)
        return pl.read_csv(spool, schema=dict(raw), **CSV_OPTIONS)


def columnar_database() -> Path | None:
    """The SQLite database file whose large tables (:data:`LARGE`) are read through ADBC (:class:`_ArrowReader`),
    or None to read them through Django's connection (PostgreSQL's COPY, SQLite's cursor): see
    :func:`columnar_file`, given the connection's ``NAME`` and journal mode."""
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        row = cursor.fetchone()
    return columnar_file(str(connection.settings_dict["NAME"] or ""), str(row[0]) if row else "")


def columnar_file(name: str, journal_mode: str) -> Path | None:
    """Whether SQLite's large tables are read through ADBC, decided by the connection settings (``NAME``): a file,
    yes (production and ``make bench``: turning millions of rows into Python tuples in the cursor was most of the
    export's time); an in-memory database (the test suite's), no: the ADBC driver links a SQLite library of its
    own, which cannot see another library's in-memory database. And only in WAL mode (the application's, settings
    ``init_command``): there a reader's snapshot is kept in the shared WAL index; in a rollback-journal file two
    SQLite libraries in one process do not see each other's file locks (POSIX locks belong to the process), so the
    ADBC reader's transaction could not keep a writer of this process out."""
    if not name or DatabaseCreation.is_in_memory_db(name) or journal_mode.lower() != "wal":
        return None
    return Path(name).resolve()


ARROW_BATCH_ROWS = 65_536
"""Rows per Arrow record batch of :class:`_ArrowReader` (the driver's default, 1,024, makes many small chunks)."""


class _ArrowReader:
    """Reads queries from a SQLite database file through Apache Arrow's ADBC SQLite driver: the rows come as Arrow
    record batches handed to Polars (the Arrow C stream interface; no Python object per value, no pyarrow).

    Its own connection, read-only (``mode=ro``), in one read transaction from the first query to :meth:`close`
    (autocommit off: the driver begins a deferred transaction, whose snapshot is taken at the first read): every
    read through it sees the database as of one instant, whatever is written meanwhile (WAL: the writers are not
    blocked). The participants were fixed before (the consent snapshot and the participant keys are read first,
    through Django's connection, and every row read is joined to those keys), so a later snapshot adds no one.
    Other processes see this reader in the WAL index and checkpoint no further than its snapshot; another SQLite
    library in this same process does not (file locks belong to the process): a checkpoint by a writing thread of
    this process (the development server's) could pass it. Production runs the export in the worker's own process,
    one job at a time; this thread's Django connection (which writes the job's progress meanwhile) checkpoints
    nothing while the reader is open (:func:`_large_table_reader`).

    The driver infers each column's Arrow type from the first rows of a batch (an all-NULL start reads as int64,
    a later double then fails; an int then a double becomes text). So every column is cast in SQL to its one type
    (``_select(cast_all=True)``) and the rows are preceded by one row of literals of those types (``0``, ``0.5``,
    ``''``), dropped after the read: the types never depend on the data. Doubles come over as doubles, exactly."""

    def __init__(self, path: Path) -> None:
        self._database = adbc_driver_sqlite.connect(f"{path.as_uri()}?mode=ro")
        try:
            self._connection = adbc_driver_manager.AdbcConnection(self._database)
            self._connection.set_options(**{"adbc.connection.autocommit": "false"})
        except BaseException:
            self._database.close()
            raise

    def frame(
        self, sql: str, params: Sequence[Any], raw: Mapping[str, pl.DataType | type[pl.DataType]]
    ) -> pl.DataFrame:
        """The rows of ``sql`` (Django's SQL for SQLite, ``%s`` placeholders) as a frame of the types ``raw``
        (Int64, Float64 or String; each column cast in the SQL to that type); ``params``: int, float or str."""
        literals: dict[Any, str] = {pl.Int64: "0", pl.Float64: "0.5", pl.String: "''"}
        first = ", ".join(f"{literals[t]} AS c{n}" for n, t in enumerate(raw.values()))
        query = f"SELECT 1 AS kw_first, {first} UNION ALL SELECT 0, * FROM ({FORMAT_QMARK_REGEX.sub('?', sql)})"
        statement = adbc_driver_manager.AdbcStatement(self._connection)
        try:
            statement.set_sql_query(query.replace("%%", "%"))
            statement.set_options(**{"adbc.sqlite.query.batch_rows": str(ARROW_BATCH_ROWS)})
            if params:
                bad = [p for p in params if type(p) not in (int, float, str)]
                if bad:
                    raise TypeError(f"a parameter of the columnar read is not an int, float or str: {bad[0]!r}")
                statement.bind_stream(pl.DataFrame({f"p{n}": [p] for n, p in enumerate(params)}))
            stream, _ = statement.execute_query()
            frame = pl.DataFrame(stream)
        finally:
            statement.close()
        frame = frame.filter(pl.col("kw_first") == 0).drop("kw_first")
        return frame.rename(dict(zip(frame.columns, raw, strict=True))).cast(pl.Schema(raw))

    def close(self) -> None:
        """End the read transaction (nothing was written) and close the connection."""
        try:
            self._connection.rollback()
            self._connection.close()
        finally:
            self._database.close()


@contextmanager
def _large_table_reader() -> Iterator[_ArrowReader | None]:
    """The columnar reader of :func:`columnar_database`'s file for the large tables (closed at the end), or None."""
    path = columnar_database()
    if path is None:
        yield None
        return
    # This connection's own commits (the job's progress) checkpoint nothing until the reader closes: it could not
    # see the reader's snapshot (another SQLite library in this process) and might copy the WAL past it.
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        row = cursor.fetchone()
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        reader = _ArrowReader(path)
        try:
            yield reader
        finally:
            reader.close()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(row[0]) if row else 1000}")


def _read(
    qs: QuerySet[Any],
    schema: Mapping[str, pl.DataType | type[pl.DataType]],
    fields: Mapping[str, str] | None = None,
    arrow: _ArrowReader | None = None,
) -> pl.DataFrame:
    """One query: the columns of ``schema`` (name -> type) read from ``qs``, each from the model field of the same
    name unless ``fields`` maps it to another (``{"date": "local_date"}``).

    Set-based and without a Python step per row on PostgreSQL (``COPY ... TO STDOUT``, parsed by Polars, see
    :func:`_copy_frame`) and through ``arrow`` (SQLite's columnar read, :class:`_ArrowReader`); otherwise on
    SQLite the rows come from the cursor in chunks of :data:`READ_CHUNK`, each chunk becoming a frame at once.
    Text is parsed by Polars (JSON, dates, instants and booleans)."""
    postgres = connection.vendor == "postgresql"
    raw = {column: _raw_type(target, text=True) for column, target in schema.items()}
    try:
        sql, params = _select(qs, schema, fields, cast_all=arrow is not None)
    except EmptyResultSet:  # e.g. ``patient__in=[]``: an empty batch
        return pl.DataFrame(schema=raw).with_columns([_typed(c, raw[c], schema[c]) for c in schema])
    if postgres:
        frame = _copy_frame(sql, params, raw)
    elif arrow is not None:
        frame = arrow.frame(sql, params, raw)
    else:
        frames = []
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(READ_CHUNK):
                frames.append(pl.DataFrame(rows, schema=raw, orient="row", strict=False))
        frame = pl.concat(frames, rechunk=True) if frames else pl.DataFrame(schema=raw)
    return frame.with_columns([_typed(c, raw[c], schema[c]) for c in schema])


UTC_TS = pl.Datetime("us", "UTC")


def _local_date(column: str, zones: Sequence[str]) -> pl.Expr:
    """The local calendar day of an instant column in each row's ``_zone`` (one branch per zone, not per row)."""
    if not zones:
        return pl.lit(None, dtype=pl.Date)
    return pl.coalesce(
        [pl.when(pl.col("_zone") == z).then(pl.col(column).dt.convert_time_zone(z).dt.date()) for z in sorted(zones)]
    )


def _local_dates(frame: pl.DataFrame, keys: pl.DataFrame, columns: Mapping[str, str]) -> pl.DataFrame:
    """Keep the rows of the participants in ``keys``; each instant column ``source`` becomes the local calendar day
    ``target`` in the participant's zone (the instants and the zone are dropped)."""
    frame = frame.join(keys.select("patient_id", "_zone"), on="patient_id", how="inner")
    zones = frame["_zone"].unique().to_list()
    days = [_local_date(source, zones).alias(target) for source, target in columns.items()]
    return frame.with_columns(days).drop("_zone", *columns)


def _as_dates(frame: pl.DataFrame, columns: Sequence[str], mode: str) -> pl.DataFrame:
    """Shift each Date column by the participant's offset, or replace it by ``<column>_study_day``."""
    for c in columns:
        if mode == "shifted":
            frame = frame.with_columns((pl.col(c) + pl.duration(days=pl.col("_shift"))).alias(c))
        else:
            days = (pl.col(c) - pl.col("_enrol")).dt.total_days().cast(pl.Int64)
            frame = frame.with_columns(days.alias(c)).rename({c: f"{c}_study_day"})
    return frame


def _finish(
    frame: pl.DataFrame, keys: pl.DataFrame, dates: Sequence[str], mode: str, order: Sequence[str]
) -> pl.DataFrame:
    """Join to the participants kept (study ID replaces the internal id), transform dates, drop helpers, sort."""
    joined = frame.join(keys, on="patient_id", how="inner")
    joined = _as_dates(joined, dates, mode)
    helpers = [c for c in joined.columns if c.startswith("_") or c == "patient_id"]
    joined = joined.drop(helpers)
    cols = ["study_id", *[c for c in joined.columns if c != "study_id"]]
    sort_by = [c if c in joined.columns else f"{c}_study_day" for c in order]
    sort_by += [c for c in cols if c not in sort_by and c != "study_id"]  # every column: ties never depend on reads
    booleans = [c for c, t in joined.schema.items() if t == pl.Boolean]
    joined = joined.with_columns([pl.col(c).cast(pl.Int8) for c in booleans])
    return joined.select(cols).sort(["study_id", *sort_by], nulls_last=True)


def _participants(
    included: QuerySet[Patient], key: deid.ProjectKey, request: ExportRequest
) -> tuple[pl.DataFrame, pl.DataFrame, deid.KAnonymity]:
    schema: dict[str, Any] = {
        "patient_id": pl.Int64,
        "birth_year": pl.Int64,
        "sex": pl.String,
        "jurisdiction": pl.String,
        "enrolled_on": pl.Date,
        "created_at": UTC_TS,
        "_zone": pl.String,
        **dict.fromkeys(HISTORY, pl.Boolean),
    }
    people = _read(included, schema, {"patient_id": "pk", "_zone": "time_zone"})
    conditions = _read(
        PatientCondition.objects.filter(patient__in=included), {"patient_id": pl.Int64, "code": pl.String}
    )
    joined = conditions.sort("code").group_by("patient_id", maintain_order=True).agg(pl.col("code").str.join("|"))
    zones = people["_zone"].unique().to_list()
    people = people.join(joined.rename({"code": "conditions"}), on="patient_id", how="left").with_columns(
        pl.col("conditions").fill_null(""),
        pl.coalesce(pl.col("enrolled_on"), _local_date("created_at", zones)).alias("_enrol"),
    )
    people = people.sort("patient_id")
    ids = people["patient_id"].to_list()
    ages = deid.ages_at_enrolment(people["birth_year"].to_numpy(), people["_enrol"].dt.year().to_numpy())
    anon = deid.k_anonymise(
        ages,
        people["sex"].to_numpy().astype(str),
        people["jurisdiction"].to_numpy().astype(str),
        people["conditions"].to_numpy().astype(str),
        k=request.k,
    )
    people = people.with_columns(
        pl.Series("study_id", deid.study_ids(key, ids), dtype=pl.String),
        pl.Series("_shift", deid.date_shifts(key, ids), dtype=pl.Int64),
        pl.Series("age_band", anon.age_band, dtype=pl.String),
        pl.Series("sex", anon.sex, dtype=pl.String),
        pl.Series("jurisdiction", anon.jurisdiction, dtype=pl.String),
        pl.Series("conditions", anon.conditions, dtype=pl.String),
        pl.Series("_released", anon.released, dtype=pl.Boolean),
    ).filter(pl.col("_released"))
    keys = people.select("patient_id", "study_id", "_shift", "_enrol", "_zone")
    table = people.select("patient_id", "_enrol", "age_band", "sex", "jurisdiction", "conditions", *HISTORY)
    table = table.with_columns(
        pl.col("_enrol").alias("enrolment_date"), pl.col("_enrol").dt.year().cast(pl.Int64).alias("enrolment_year")
    ).drop("_enrol")
    table = table.select(
        "patient_id", "enrolment_date", "enrolment_year", pl.exclude("patient_id", "enrolment_date", "enrolment_year")
    )
    out = _finish(table, keys, ["enrolment_date"], request.dates, [])
    if request.dates != "shifted":
        out = out.drop("enrolment_date_study_day")
    return out, keys, anon


Participants = QuerySet[Patient] | list[int]
"""The participants to read: a query, or the ids of one batch."""


@dataclass(frozen=True)
class _Table:
    """A table read by one query (``query(participants)``, the columns of ``schema``, see :func:`_read`) and then
    de-identified by ``finish(frame, keys, mode)``; the large ones are read batch by batch (:func:`_batches`)."""

    query: Callable[[Participants], QuerySet[Any]]
    schema: Mapping[str, Any]
    fields: Mapping[str, str]
    finish: Callable[[pl.DataFrame, pl.DataFrame, str], pl.DataFrame]

    def read(
        self, included: Participants, keys: pl.DataFrame, mode: str, arrow: _ArrowReader | None = None
    ) -> pl.DataFrame:
        return self.finish(_read(self.query(included), self.schema, self.fields, arrow), keys, mode)


DOSES = _Table(
    query=lambda included: Dose.objects.filter(ACTIVE, patient__in=included),
    schema={
        "patient_id": pl.Int64,
        "date": pl.Date,
        "local_minute": pl.Int64,
        "amount": pl.Float64,
        "unit": pl.String,
        "product_form": pl.String,
        "source": pl.String,
        "mitragynine_mg": pl.Float64,
        "seven_oh_mg": pl.Float64,
        "basis": pl.String,
        "mitragynine_low_mg": pl.Float64,
        "mitragynine_high_mg": pl.Float64,
        "seven_oh_share_percent": pl.Float64,
        "enhanced": pl.Boolean,
    },
    fields={"date": "local_date", "product_form": "lot__product__form"},
    finish=lambda frame, keys, mode: _finish(frame, keys, ["date"], mode, ["date", "local_minute", "amount", "unit"]),
)
DAILY = _Table(
    query=lambda included: DailyExposure.objects.filter(patient__in=included),
    schema={
        "patient_id": pl.Int64,
        "date": pl.Date,
        "mitragynine_mg": pl.Float64,
        "seven_oh_mg": pl.Float64,
        "doses": pl.Int64,
        "unknown_doses": pl.Int64,
        "estimated_doses": pl.Int64,
        "first_dose_minute": pl.Int64,
    },
    fields={"date": "day"},
    finish=lambda frame, keys, mode: _finish(frame, keys, ["date"], mode, ["date"]),
)
LARGE = {"doses": DOSES, "daily_exposure": DAILY}


def _instrument_tables() -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    defs = ins.all_definitions()
    items = pl.DataFrame(
        [(d.id, n + 1, item.id) for d in defs for n, item in enumerate(d.items)],
        schema={"instrument_id": pl.String, "item_no": pl.Int64, "item_id": pl.String},
        orient="row",
    )
    scales = pl.DataFrame(
        [(d.id, s.id) for d in defs for s in d.scales],
        schema={"instrument_id": pl.String, "scale_id": pl.String},
        orient="row",
    )
    struct = dict.fromkeys(sorted(set(scales["scale_id"].to_list())), pl.Float64)
    return items, scales, struct


def _assessments(
    included: QuerySet[Patient], keys: pl.DataFrame, mode: str
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    items, scales, struct = _instrument_tables()
    schema: dict[str, Any] = {
        "_id": pl.Int64,
        "patient_id": pl.Int64,
        "instrument_id": pl.String,
        "instrument_version": pl.String,
        "_at": UTC_TS,
        "total": pl.Float64,
        "band_id": pl.String,
        "valid": pl.Boolean,
        "supervised": pl.Boolean,
        "missing_policy": pl.String,
        "source": pl.String,
        "flags": pl.List(pl.String),
        "_answers": pl.List(pl.Int64),
        "_scores": pl.Struct(struct),
    }
    frame = _read(
        Assessment.objects.filter(patient__in=included),
        schema,
        {"_id": "pk", "_at": "administered_at", "_answers": "answers", "_scores": "scores"},
    )
    frame = _local_dates(frame, keys, {"_at": "date"}).with_columns(pl.col("flags").list.join("|"))
    # Numbered in the order they leave: by study ID, then day, instrument and internal order.
    frame = frame.join(keys.select("patient_id", "study_id"), on="patient_id").sort(
        ["study_id", "date", "instrument_id", "_id"]
    )
    frame = frame.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("assessment_no")).drop("study_id")
    answers = (
        frame.select("patient_id", "assessment_no", "instrument_id", "_answers")
        .with_columns(pl.int_ranges(1, pl.col("_answers").list.len() + 1).alias("item_no"))
        .explode(["_answers", "item_no"])
        .filter(pl.col("item_no").is_not_null())
        .join(items, on=["instrument_id", "item_no"], how="left")
        .rename({"_answers": "answer"})
        .select("patient_id", "assessment_no", "instrument_id", "item_no", "item_id", "answer")
    )
    scores = (
        frame.select("patient_id", "assessment_no", "instrument_id", "_scores")
        .unnest("_scores")
        .unpivot(index=["patient_id", "assessment_no", "instrument_id"], variable_name="scale_id", value_name="value")
        .join(scales, on=["instrument_id", "scale_id"], how="semi")
    )
    main = frame.drop("_id", "_answers", "_scores").select(
        "patient_id", "assessment_no", "date", "instrument_id", "instrument_version", "total", "band_id", "valid",
        "supervised", "missing_policy", "source", "flags",
    )  # fmt: skip
    return (
        _finish(main, keys, ["date"], mode, ["assessment_no"]),
        _finish(answers, keys, [], mode, ["assessment_no", "item_no"]),
        _finish(scores, keys, [], mode, ["assessment_no", "scale_id"]),
    )


def _ingredients(names: Sequence[str]) -> pl.DataFrame:
    """Each distinct medication name -> its curated ingredients and their interaction classes (the screening code;
    one screening per distinct name, never per row)."""
    knowledge = screening_knowledge()
    rows: list[tuple[str, str | None, str, str]] = []
    for name in names:
        result = screen_interactions([name], knowledge)
        (match,) = result.matches
        if match.status != "matched" or not match.ingredient_ids:
            rows.append((name, None, "", "unmatched" if match.status != "suggested" else "suggested"))
            continue
        classes: dict[str, list[str]] = {}
        for finding in (*result.findings, *result.positives):
            classes.setdefault(finding.ingredient_id, []).append(finding.class_id)
        rows.extend(
            (name, ingredient, "|".join(sorted(set(classes.get(ingredient, [])))), "matched")
            for ingredient in match.ingredient_ids
        )
    return pl.DataFrame(
        rows,
        schema={
            "_name": pl.String,
            "ingredient_id": pl.String,
            "interaction_classes": pl.String,
            "match_status": pl.String,
        },
        orient="row",
    )


def _medications(included: QuerySet[Patient], keys: pl.DataFrame, mode: str) -> pl.DataFrame:
    schema: dict[str, Any] = {"patient_id": pl.Int64, "_name": pl.String, "start": pl.Date, "stop": pl.Date}
    frame = _read(Medication.objects.filter(ACTIVE, patient__in=included), schema, {"_name": "name"})
    mapping = _ingredients(sorted(set(frame["_name"].to_list())))
    frame = frame.join(mapping, on="_name", how="left").drop("_name")
    frame = frame.select("patient_id", "ingredient_id", "interaction_classes", "match_status", "start", "stop")
    return _finish(frame, keys, ["start", "stop"], mode, ["start", "ingredient_id", "match_status", "stop"])


def _labs(included: QuerySet[Patient], keys: pl.DataFrame, mode: str) -> pl.DataFrame:
    schema: dict[str, Any] = {
        "patient_id": pl.Int64,
        "test": pl.String,
        "value": pl.Float64,
        "unit": pl.String,
        "upper_limit_normal": pl.Float64,
        "lower_limit_normal": pl.Float64,
        "_at": UTC_TS,
    }
    frame = _read(LabResult.objects.filter(ACTIVE, patient__in=included), schema, {"_at": "taken_at"})
    frame = _local_dates(frame, keys, {"_at": "date"})
    frame = frame.select("patient_id", "date", "test", "value", "unit", "upper_limit_normal", "lower_limit_normal")
    return _finish(frame, keys, ["date"], mode, ["date", "test", "value"])


def _adverse_events(included: QuerySet[Patient], keys: pl.DataFrame, mode: str) -> pl.DataFrame:
    schema: dict[str, Any] = {
        "patient_id": pl.Int64,
        "onset": pl.Date,
        "grade": pl.Int64,
        "_term": pl.String,
        "seriousness": pl.List(pl.String),
        "outcome": pl.String,
        "causality": pl.String,
        "action_taken": pl.String,
    }
    frame = _read(AdverseEvent.objects.filter(ACTIVE, patient__in=included), schema, {"_term": "term"})
    systems = ae_system_map()
    term = pl.col("_term").str.to_lowercase().str.strip_chars().str.replace_all(r"\s+", " ")
    system = term.replace_strict(list(systems), list(systems.values()), default=NOT_CLASSIFIED, return_dtype=pl.String)
    frame = frame.with_columns(pl.col("seriousness").list.sort().list.join("|"), system.alias("system")).select(
        "patient_id", "onset", "grade", "system", "seriousness", "outcome", "causality", "action_taken"
    )
    return _finish(frame, keys, ["onset"], mode, ["onset", "grade", "outcome", "seriousness"])


def _care(included: QuerySet[Patient], keys: pl.DataFrame, mode: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    plans = _read(
        CarePlan.objects.filter(patient__in=included),
        {"patient_id": pl.Int64, "modalities": pl.List(pl.String), "_at": UTC_TS},
        {"_at": "updated_at"},
    )
    plans = _local_dates(plans, keys, {"_at": "updated"}).with_columns(pl.col("modalities").list.sort().list.join("|"))
    plans = plans.select("patient_id", "modalities", "updated")
    steps = _read(
        TaperStep.objects.filter(plan__patient__in=included),
        {"patient_id": pl.Int64, "start": pl.Date, "target_mg": pl.Float64},
        {"patient_id": "plan__patient_id"},
    )
    return (
        _finish(plans, keys, ["updated"], mode, []),
        _finish(steps, keys, ["start"], mode, ["start"]),
    )


ALERT_TIMES = ("first_seen", "last_seen", "acknowledged", "resolved", "condition_cleared")


def _alerts(included: QuerySet[Patient], keys: pl.DataFrame, mode: str) -> pl.DataFrame:
    schema: dict[str, Any] = {
        "patient_id": pl.Int64,
        "rule_id": pl.String,
        "severity": pl.String,
        "status": pl.String,
        **{f"_{t}": UTC_TS for t in ALERT_TIMES},
    }
    frame = _read(Alert.objects.filter(patient__in=included), schema, {f"_{t}": f"{t}_at" for t in ALERT_TIMES})
    frame = _local_dates(frame, keys, {f"_{t}": t for t in ALERT_TIMES})
    frame = frame.select("patient_id", "rule_id", "severity", "status", *ALERT_TIMES)
    return _finish(frame, keys, list(ALERT_TIMES), mode, ["first_seen", "rule_id", "severity", "status", "last_seen"])


# --- files ---------------------------------------------------------------------------------------------------------


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """A table as one CSV file (UTF-8, CRLF) with spreadsheet formulas neutralised (:func:`csv_safe`): the cohort
    report's tables on the web and from the command line."""
    return csv_safe(frame).write_csv(line_terminator="\r\n").encode("utf-8")


def csv_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells a spreadsheet would run as formulas get a leading quote (``core.csvsafe``, vectorised)."""
    texts = [c for c, t in frame.schema.items() if t == pl.String]
    risky = "^[" + re.escape("".join(FORMULA_STARTS)) + "]"
    return frame.with_columns(
        [
            pl.when(pl.col(c).str.contains(risky)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
            for c in texts
        ]
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _doc(column: str) -> str:
    if column.endswith("_study_day"):
        base = column.removesuffix("_study_day")
        what = COLUMN_DOCS.get(base, base).replace(" (shifted)", "")
        return f"{what}: study day (days since enrolment, day 0 = enrolment)"
    return COLUMN_DOCS.get(column, column)


def _redcap_type(dtype: pl.DataType) -> tuple[str, str]:
    if dtype == pl.Date:
        return "text", "date_ymd"
    if dtype == pl.Int8:
        return "yesno", ""
    if dtype.is_integer():
        return "text", "integer"
    if dtype.is_float():
        return "text", "number"
    return "text", ""


def data_dictionary(frames: Mapping[str, pl.DataFrame]) -> bytes:
    """A REDCap data dictionary (its CSV layout, :data:`REDCAP_HEADER`): one form per table, variables named
    ``<table>_<column>`` (REDCap field names are unique per project), ``study_id`` first as the record ID. The
    tables other than participants are repeating instruments in REDCap."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(REDCAP_HEADER)
    blank = [""] * (len(REDCAP_HEADER) - 7)
    writer.writerow(["study_id", "participants", "", "text", "Study ID", "", _doc("study_id"), *blank])
    for table, frame in frames.items():
        for column, dtype in frame.schema.items():
            if column == "study_id":
                continue
            kind, validation = _redcap_type(dtype)
            name = column if table == "participants" else f"{table}_{column}"
            label = column.replace("_", " ").capitalize()
            note = export_nof1.column_doc(table, column) or _doc(column)
            writer.writerow([name, table, "", kind, label, "", note, validation, *blank[1:]])
    return buffer.getvalue().encode("utf-8")


def _knowledge_versions() -> dict[str, dict[str, str]]:
    """Each curated knowledge file: its SHA-256 and the latest ``as_of`` date it names."""
    out: dict[str, dict[str, str]] = {}
    folder = resources.files("kratomwatch.knowledge").joinpath("data")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        data = entry.read_bytes()
        dates = re.findall(rb"as_of:\s*['\"]?(\d{4}-\d{2}-\d{2})", data)
        out[entry.name] = {"sha256": hashlib.sha256(data).hexdigest(), "as_of": max(dates).decode() if dates else ""}
    return out


def _readme(request: ExportRequest, program: Program | None, counts: Mapping[str, int], anon: deid.KAnonymity) -> str:
    dates = (
        "Every date is shifted by a per-participant offset of 1 to 180 days, earlier or later (the same offset for "
        "all of a participant's dates, so intervals within a participant are exact; calendar dates, weekdays and "
        "seasons are not)."
        if request.dates == "shifted"
        else "Dates are given as study days: days since the participant's enrolment (day 0 = the day of enrolment)."
    )
    paragraphs = [
        f"Program: {program.slug if program else 'all programs'}. Export project: {request.project}. Research "
        f"consent snapshot as of {request.now.astimezone(dt.UTC).isoformat()}.",
        "Only participants whose research consent was active at that instant are included. The data are "
        "de-identified (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)): no names, codes, logins, e-mail addresses or "
        "internal ids; a study ID from a keyed hash (stable within this export project only); age at enrolment in "
        f"bands with 90 and over as 90+; free text dropped. {dates}",
        f"k-anonymity (k = {anon.k}) on age band, sex, jurisdiction and conditions: {anon.generalisation.describe()}; "
        f"{int(anon.suppressed.sum())} participant(s) suppressed (quasi-identifiers shown as *), "
        f"{int((~anon.released).sum())} withheld. Every released class: {K_REPORT}.",
        "These are observational data from clinical monitoring (self-report, confounding, selection): they cannot "
        "establish efficacy or safety on their own. kratomwatch never recommends a kratom dose.",
    ]
    closing = (
        "Every table is given as CSV (UTF-8; text that a spreadsheet would run as a formula starts with ') and/or "
        f"Parquet. Columns are described in {DICTIONARY}, a REDCap data dictionary: one form per table, variables "
        "named <table>_<column> (participants: <column>), the tables other than participants as repeating "
        "instruments. manifest.json lists every file with its SHA-256."
    )
    if "fhir" in request.formats:
        closing += (
            " The same content is in fhir/ as FHIR R4 Bulk Data NDJSON (Patient, Observation, QuestionnaireResponse, "
            "MedicationStatement, AdverseEvent; one resource per line); manifest.json's fhir entry says how dates "
            f"were written; {export_nof1.NOT_IN_FHIR}."
        )
    lines = [
        "# kratomwatch research export",
        "",
        *[line for p in paragraphs for line in (*textwrap.wrap(p, 112), "")],
        "## Tables",
        "",
        "| table | rows | what |",
        "|---|---|---|",
        *[f"| {t} | {counts.get(t, 0)} | {TABLE_DOCS[t]} |" for t in TABLES],
        "",
        *textwrap.wrap(closing, 112),
        "",
    ]
    return "\n".join(lines)


def _batches(
    table: _Table,
    included: QuerySet[Patient],
    keys: pl.DataFrame,
    mode: str,
    scratch: Path,
    *,
    arrow: _ArrowReader | None = None,
) -> Iterator[pl.DataFrame]:
    """``table`` for :data:`BATCH_PARTICIPANTS` participants at a time, in study ID order: each frame is sorted by
    study ID first, so the frames one after another are the whole table in its order. At least one frame.

    SQLite reads each batch by its participants' ids (an index range per participant), through ``arrow`` if given.
    PostgreSQL, with more than one batch, reads the table once (:func:`_split`: a per-batch query would scan the
    whole table each time), in ``scratch`` (removed at the end)."""
    ordered = keys.sort("study_id")
    starts = range(0, max(ordered.height, 1), BATCH_PARTICIPANTS)
    if connection.vendor != "postgresql" or len(starts) == 1:
        for start in starts:
            part = ordered.slice(start, BATCH_PARTICIPANTS)
            yield table.read(part["patient_id"].to_list(), part, mode, arrow)
        return
    try:
        split = _split(table, included, ordered, scratch)
        for n, start in enumerate(starts):
            files = sorted((split / f"_batch={n}").glob("*.parquet"))
            frame = pl.read_parquet(files) if files else pl.DataFrame(schema=dict(table.schema))
            yield table.finish(frame, ordered.slice(start, BATCH_PARTICIPANTS), mode)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _split(table: _Table, included: QuerySet[Patient], ordered: pl.DataFrame, scratch: Path) -> Path:
    """PostgreSQL: one ``COPY`` of ``table`` for every participant, spooled as CSV into ``scratch``, then split by
    Polars (streaming: bounded memory) into one Parquet directory per batch, ``_batch=<n>/``, typed."""
    raw = {column: _raw_type(target, text=True) for column, target in table.schema.items()}
    sql, params = _select(table.query(included), table.schema, table.fields)
    scratch.mkdir()
    spool = scratch / "spool.csv"
    with spool.open("wb") as handle:
        _copy_to(handle, sql, params)
    split = scratch / "split"
    if spool.stat().st_size:
        batch = ordered.select("patient_id", (pl.int_range(pl.len()) // BATCH_PARTICIPANTS).alias("_batch"))
        rows = pl.scan_csv(spool, schema=raw, **CSV_OPTIONS)
        rows = rows.with_columns([_typed(c, raw[c], table.schema[c]) for c in table.schema])
        rows.join(batch.lazy(), on="patient_id", how="inner").sink_parquet(
            pl.PartitionBy(split, key="_batch", include_key=False), compression="lz4", statistics=False
        )
    spool.unlink()
    return split


def _batched_table(
    tmp: Path, name: str, frames: Iterable[pl.DataFrame], request: ExportRequest
) -> tuple[pl.DataFrame, int]:
    """Write one table frame by frame into ``tmp``: CSV appended; Parquet from one Arrow IPC part per frame, joined
    into one file by a streaming copy (a table of one frame is written exactly as :func:`_write_all` writes it).
    Returns the table's columns (an empty frame, for the data dictionary) and its number of rows."""
    parts: list[Path] = []
    rows = 0
    columns: pl.DataFrame | None = None
    with ExitStack() as stack:
        handle = stack.enter_context((tmp / f"{name}.csv").open("wb")) if "csv" in request.formats else None
        for n, frame in enumerate(frames):
            columns = frame.clear() if columns is None else columns
            rows += frame.height
            if handle is not None:
                csv_safe(frame).write_csv(handle, include_header=n == 0, line_terminator="\r\n")
            if "parquet" in request.formats:
                parts.append(tmp / f".{name}.part-{n:05d}.arrow")
                frame.write_ipc(parts[-1], compression="uncompressed")
    target = tmp / f"{name}.parquet"
    if len(parts) == 1:
        pl.read_ipc(parts[0]).write_parquet(target, compression="zstd", statistics=True)
    elif parts:
        pl.scan_ipc(parts).sink_parquet(target, compression="zstd", statistics=True, maintain_order=True)
    for part in parts:
        part.unlink()
    assert columns is not None  # _batches yields at least one frame
    return columns, rows


def _write_all(
    tmp: Path, frames: Mapping[str, pl.DataFrame], request: ExportRequest, extra: Mapping[str, bytes]
) -> dict[str, str]:
    for name, frame in frames.items():
        if "csv" in request.formats:
            csv_safe(frame).write_csv(tmp / f"{name}.csv", line_terminator="\r\n")
        if "parquet" in request.formats:
            frame.write_parquet(tmp / f"{name}.parquet", compression="zstd", statistics=True)
    for name, data in extra.items():
        (tmp / name).write_bytes(data)
    return {p.relative_to(tmp).as_posix(): _sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()}


def _tables(
    tmp: Path,
    included: QuerySet[Patient],
    keys: pl.DataFrame,
    request: ExportRequest,
    *,
    participants: pl.DataFrame,
    done: Callable[[str], None],
) -> tuple[dict[str, pl.DataFrame], dict[str, int], list[str]]:
    """Every table after participants: (frames, rows per table, the tables already written batch by batch into
    ``tmp``, whose frame is only their columns)."""
    mode = request.dates
    frames: dict[str, pl.DataFrame] = {"participants": participants}
    counts: dict[str, int] = {}
    batched = [] if "fhir" in request.formats else list(LARGE)
    with _large_table_reader() as arrow:  # SQLite file: both large tables in one read transaction of their own
        for name, table in LARGE.items():
            batches = _batches(table, included, keys, mode, tmp / f".{name}.scratch", arrow=arrow)
            if name in batched:
                frames[name], counts[name] = _batched_table(tmp, name, batches, request)
            elif arrow is not None:  # whole frames (FHIR): the batches one after another are the table in order
                frames[name] = pl.concat(list(batches))
            else:
                frames[name] = table.read(included, keys, mode)
            done(name)
    frames["assessments"], frames["assessment_items"], frames["assessment_scores"] = _assessments(included, keys, mode)
    for name in ("assessments", "assessment_items", "assessment_scores"):
        done(name)
    frames["medications"] = _medications(included, keys, mode)
    done("medications")
    frames["labs"] = _labs(included, keys, mode)
    done("labs")
    frames["adverse_events"] = _adverse_events(included, keys, mode)
    done("adverse_events")
    frames["care_plans"], frames["taper_steps"] = _care(included, keys, mode)
    done("care_plans")
    done("taper_steps")
    frames["alerts"] = _alerts(included, keys, mode)
    done("alerts")
    for name, frame in export_nof1.tables(included, keys, mode, finish=_finish).items():
        frames[name] = frame
        done(name)
    return frames, {name: counts.get(name, frame.height) for name, frame in frames.items()}, batched


def export(
    patients: QuerySet[Patient],
    request: ExportRequest,
    *,
    actor: Actor,
    secret: str,
    program: Program | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the export described in the module docstring into ``request.out`` and audit it (who, program, counts;
    no identifiers). ``patients``: those the actor may see (already narrowed to ``program`` if one is named)."""
    check_request(request)
    key = deid.project_key(secret, request.project)
    step = 0

    def done(name: str) -> None:
        nonlocal step
        step += 1
        if progress is not None:
            progress(name, step, len(STEPS))

    included = with_active_scope(patients, "research")
    eligible, consented = patients.count(), included.count()
    done("consent")
    out = request.out
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as exc:
        raise InputError("out", str(out), f"cannot write beside the output directory: {exc.strerror}") from None
    try:
        participants, keys, anon = _participants(included, key, request)
        done("participants")
        frames, counts, batched = _tables(tmp, included, keys, request, participants=participants, done=done)
        k_report = pl.DataFrame(
            anon.classes(),
            schema={
                "age_band": pl.String,
                "sex": pl.String,
                "jurisdiction": pl.String,
                "conditions": pl.String,
                "size": pl.Int64,
            },
            orient="row",
        )
        extra = {
            README: _readme(request, program, counts, anon).encode("utf-8"),
            DICTIONARY: data_dictionary(frames),
            K_REPORT: csv_safe(k_report).write_csv(line_terminator="\r\n").encode("utf-8"),
        }
        withheld = int((~anon.released).sum())
        fhir = export_fhir.write_ndjson(tmp / "fhir", frames, request.dates) if "fhir" in request.formats else None
        unwritten = {name: frame for name, frame in frames.items() if name not in batched}
        files = _write_all(tmp, unwritten, request, extra)
        manifest = {
            "manifest_version": MANIFEST_VERSION,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "program": program.slug if program else None,
            "project": request.project,
            "software": {"kratomwatch": kratomwatch.__version__, "polars": pl.__version__, "numpy": np.__version__},
            "knowledge": _knowledge_versions(),
            "instruments": {d.id: d.version for d in ins.all_definitions()},
            "consent": {
                "scope": "research",
                "as_of": request.now.astimezone(dt.UTC).isoformat(),
                "eligible": eligible,
                "included": consented - withheld,
                "excluded_without_research_consent": eligible - consented,
                "withheld_small_cells": withheld,
            },
            "deidentification": {
                "standard": "HIPAA Safe Harbor, 45 CFR 164.514(b)(2)",
                "source": deid.SAFE_HARBOR_URL,
                "dates": request.dates,
                "k": anon.k,
                "generalisation_level": anon.generalisation.level,
                "generalisation": anon.generalisation.describe(),
                "suppressed": int(anon.suppressed.sum()),
                "withheld": withheld,
            },
            "formats": list(request.formats),
            "counts": counts,
            "files": files,
            **({"fhir": {**fhir, "not_included": export_nof1.NOT_IN_FHIR}} if fhir is not None else {}),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        try:
            if out.exists():
                out.rmdir()  # empty (checked above); the rename below puts the complete export in its place
            tmp.rename(out)
        except OSError as exc:
            raise InputError(
                "out", str(out), f"the output directory could not be put in place: {exc.strerror}"
            ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    done("files")
    record(
        actor,
        "research.export",
        object_type="program" if program else "registry",
        object_id=program.pk if program else "",
        program_id=program.pk if program else None,
        detail={
            "project": request.project,
            "formats": list(request.formats),
            "dates": request.dates,
            "k": anon.k,
            "included": consented - withheld,
            "excluded": eligible - consented,
            "withheld": withheld,
            "counts": counts,
        },
    )
    return ExportResult(
        out=out,
        counts=counts,
        included=consented - withheld,
        excluded=eligible - consented,
        withheld=withheld,
        suppressed=int(anon.suppressed.sum()),
        generalisation=anon.generalisation.describe(),
        files=files,
    )
