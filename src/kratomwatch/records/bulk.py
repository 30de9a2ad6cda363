"""Set-based bulk loading for the write path: whole registries of doses as column arrays.

``actions.import_doses`` validates and builds one ``Dose`` object per row, which is right for CSV
imports of a few thousand rows and far too slow for migrating a registry (millions of rows). This
module takes NumPy columns and writes them in one transaction with one statement stream:

* PostgreSQL: ``COPY records_dose (...) FROM STDIN (FORMAT csv)`` through psycopg 3. COPY skips
  per-statement parsing, planning and per-row protocol round trips; the CSV text is produced by
  polars (``write_csv``, multi-threaded, no Python loop per row) in chunks of ``CHUNK_ROWS``.
* SQLite: ``executemany`` of one prepared ``INSERT ... VALUES (...), ... (...)`` of 100 rows over
  the columns (see ``SQLITE_ROWS_PER_STATEMENT``); the loop over statements runs in the sqlite3 C
  module.

Both use the raw DB-API connection, inside Django's ``transaction.atomic`` and under
``connection.wrap_database_errors`` (so failures are still ``django.db`` errors such as
IntegrityError). Why raw: COPY is psycopg's own API, outside the DB-API that Django's cursor
wrapper models; for SQLite the raw connection takes ``?`` placeholders as they are, without the
wrapper's placeholder rewriting and, under DEBUG (the default here), its logging of every
1,700-parameter statement.

Bypassing per-row objects must not bypass the rules, so before writing the loader checks, set-based:
the model's database constraints (so errors name a row instead of aborting with a bare
IntegrityError), that patients and lots exist and belong to the same program, that keys are unique
within the load and hold no NUL character, that no dose is in the future or before its patient's
birth year, and (``verify=True``, the default) recomputes the derived columns:
``local_date``/``local_minute`` from each patient's time zone and the mg columns from each lot
with ``core.units.dose_mg_columns`` (the column form of ``compute_dose_mg``, the same code, so the
floats are bit-identical to the per-dose write path). A key already stored for the patient
aborts the whole load with IntegrityError: this loader is all-or-nothing and does not skip repeats
(use ``actions.import_doses`` for idempotent, partial imports).

Conventions for columns: NULL in a float column is NaN; the nullable ``enhanced`` is a float
column (1.0, 0.0, NaN) or a plain bool column; ``taken_at`` is UTC ``datetime64`` or int64
microseconds since the epoch; ``local_date`` is ``datetime64[D]``. Text columns (and any other) may
be a scalar, broadcast to every row, or a polars Series.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from kratomwatch.accounts import program_settings
from kratomwatch.accounts.models import Program
from kratomwatch.audit.log import Actor, record
from kratomwatch.core import exposure, units
from kratomwatch.core.errors import Conflict, InputError
from kratomwatch.core.units import MG_COLUMNS, dose_mg_columns
from kratomwatch.records import daily, potency, validation
from kratomwatch.records.models import Dose, DoseSource, Lot, Patient

#: The columns ``load_dose_columns`` takes, in the order they are written.
DOSE_COLUMNS: tuple[str, ...] = (
    "patient_id",
    "lot_id",
    "taken_at",
    "local_date",
    "local_minute",
    "amount",
    "unit",
    "source",
    "idempotency_key",
    *MG_COLUMNS,
)
#: Rows per COPY write / executemany call: bounds the memory of the text or Python objects in flight.
CHUNK_ROWS = 200_000
#: Rows per SQLite INSERT statement. SQLite re-creates the lookup table of every ``col IN (...)``
#: CHECK constraint on each statement execution, so one row per statement spends half its time
#: there; 100 rows (1,700 parameters, far below the 32,766 limit) amortize it.
SQLITE_ROWS_PER_STATEMENT = 100
_FLOAT_COLUMNS: tuple[str, ...] = (
    "amount",
    "mitragynine_mg",
    "seven_oh_mg",
    "mitragynine_low_mg",
    "mitragynine_high_mg",
    "seven_oh_share_percent",
)
_TEXT_COLUMNS = ("unit", "source", "idempotency_key", "basis")
_ID_CHUNK = 900  # ids per IN (...) lookup, under every backend's bind-parameter limit

# --- vectorized derivations ------------------------------------------------------------------


def lot_mg_columns(lot: Lot, amount: npt.ArrayLike, unit: units.Unit | str) -> dict[str, np.ndarray]:
    """``dose_mg_columns`` with the lot's potency and its program's settings (as ``potency.compute_mg``)."""
    config = program_settings.for_program(lot.product.program_id)
    return dose_mg_columns(
        amount,
        unit,
        potency.lot_potency(lot),
        leaf_reference=potency.leaf_content(),
        volumetric_default=potency.volumetric_default(config),
        seven_oh_cap_percent=config.seven_oh_cap_percent,
    )


def local_columns(taken_at: npt.ArrayLike, time_zone: str) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.int16]]:
    """Patient-local calendar day and minute after midnight of UTC instants in one IANA zone.

    Vectorized with polars' time-zone conversion (DST-aware), the same definition as
    ``core.exposure``: the local day is the date of the instant in the patient's zone.
    """
    exposure.zone(time_zone)
    local = pl.Series("t", _epoch_us(np.asarray(taken_at)), dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))
    local = local.dt.convert_time_zone(time_zone)
    minute = (local.dt.hour().cast(pl.Int16) * 60 + local.dt.minute().cast(pl.Int16)).to_numpy()
    return local.dt.date().to_numpy().astype("datetime64[D]"), minute.astype(np.int16)


def _epoch_us(values: np.ndarray) -> npt.NDArray[np.int64]:
    if np.issubdtype(values.dtype, np.datetime64):
        return values.astype("datetime64[us]").view(np.int64)
    if np.issubdtype(values.dtype, np.integer):
        return values.astype(np.int64)
    raise InputError("taken_at", str(values.dtype), "taken_at must be datetime64 (UTC) or int64 epoch microseconds")


# --- patients --------------------------------------------------------------------------------


@transaction.atomic
def load_patients(
    *,
    actor: Actor,
    program: Program,
    codes: Sequence[str],
    birth_years: npt.ArrayLike,
    sexes: Sequence[str] | str,
    time_zones: Sequence[str] | str,
    jurisdictions: Sequence[str] | str,
    today: dt.date | None = None,
) -> npt.NDArray[np.int64]:
    """Create many patients of one program with ``bulk_create`` and one ``patient.bulk_load`` event.

    Applies the rules of ``actions.create_patient`` (code format and uniqueness, birth year, sex,
    time zone, jurisdiction) to each distinct value; conditions are not set. Returns the new ids in
    input order.
    """
    n = len(codes)
    years = np.broadcast_to(np.asarray(birth_years, dtype=np.int64), (n,))
    cols = {name: _text(v, n) for name, v in (("sex", sexes), ("time_zone", time_zones), ("jur", jurisdictions))}
    clean = [validation.patient_code(c) for c in codes]
    repeated = [code for code, count in Counter(clean).items() if count > 1]
    if repeated:
        raise Conflict("code", repeated[0], f"patient code {repeated[0]!r} appears more than once in the load")
    for start in range(0, n, _ID_CHUNK):
        taken = Patient.objects.filter(code__in=clean[start : start + _ID_CHUNK]).values_list("code", flat=True)
        for code in taken[:1]:
            raise Conflict("code", code, f"patient code {code!r} is already in use")
    now_date = today or timezone.localdate()
    for year in np.unique(years).tolist():
        validation.birth_year(int(year), now_date)
    for sex in set(cols["sex"]):
        validation.sex(sex)
    for tz in set(cols["time_zone"]):
        exposure.zone(tz)
    jur = {j: validation.jurisdiction(j) for j in set(cols["jur"])}
    patients = Patient.objects.bulk_create(
        [
            Patient(program=program, code=code, birth_year=int(y), sex=s, time_zone=tz, jurisdiction=jur[j])
            for code, y, s, tz, j in zip(
                clean, years.tolist(), cols["sex"], cols["time_zone"], cols["jur"], strict=True
            )
        ],
        batch_size=2000,
    )
    ids = np.array([p.pk for p in patients], dtype=np.int64)  # PostgreSQL and SQLite >= 3.35 return ids
    record(actor, "patient.bulk_load", object_type="patient", program_id=program.pk, detail={"rows": n})
    return ids


def _text(value: Sequence[str] | str, n: int) -> list[str]:
    if isinstance(value, str):
        return [value] * n
    out = [str(v) for v in value]
    if len(out) != n:
        raise InputError("columns", len(out), f"expected {n} values, got {len(out)}")
    return out


# --- doses -----------------------------------------------------------------------------------


def _series(name: str, value: Any, n: int | None) -> pl.Series:
    if isinstance(value, pl.Series):
        return value.alias(name)
    arr = np.asarray(value)
    if arr.ndim == 0:
        if n is None:
            raise InputError(name, value, f"column {name} is a scalar but no column gives the row count")
        return pl.repeat(arr.item(), n, eager=True).alias(name)
    if name == "taken_at":
        return pl.Series(name, _epoch_us(arr), dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))
    if name == "local_date":
        integer = np.issubdtype(arr.dtype, np.integer)
        days = arr.astype(np.int64) if integer else arr.astype("datetime64[D]").view(np.int64)
        return pl.Series(name, days.astype(np.int32)).cast(pl.Date)
    if name in _FLOAT_COLUMNS or (name == "enhanced" and np.issubdtype(arr.dtype, np.floating)):
        return pl.Series(name, arr.astype(np.float64), nan_to_null=True)
    return pl.Series(name, arr)


def _frame(columns: Mapping[str, Any]) -> pl.DataFrame:
    missing = [c for c in DOSE_COLUMNS if c not in columns]
    extra = [c for c in columns if c not in DOSE_COLUMNS]
    if missing or extra:
        raise InputError("columns", sorted(missing + extra), f"missing columns {missing}, unknown columns {extra}")
    lengths = {len(v) for v in columns.values() if isinstance(v, pl.Series) or np.ndim(v) > 0}
    if len(lengths) > 1:
        raise InputError("columns", sorted(lengths), f"columns differ in length: {sorted(lengths)}")
    n = lengths.pop() if lengths else None
    if n == 0:
        return pl.DataFrame()
    frame = pl.DataFrame([_series(c, columns[c], n) for c in DOSE_COLUMNS])
    try:
        return frame.cast(
            {
                "patient_id": pl.Int64,
                "lot_id": pl.Int64,
                "taken_at": pl.Datetime("us", "UTC"),
                "local_date": pl.Date,
                "local_minute": pl.Int32,
                "enhanced": pl.Boolean,
                **dict.fromkeys(_FLOAT_COLUMNS, pl.Float64),
                **dict.fromkeys(_TEXT_COLUMNS, pl.String),
            }
        )
    except (pl.exceptions.PolarsError, TypeError, ValueError) as err:
        raise InputError("columns", None, f"a column has the wrong type: {err}") from None


def _first_bad(frame: pl.DataFrame, bad: pl.Expr, field: str, message: str) -> None:
    rows = frame.with_row_index("row").filter(bad.fill_null(False)).head(1)
    if rows.height:
        row = rows.row(0, named=True)
        raise InputError(field, row[field], f"row {row['row']}: {message} (got {row[field]!r})")


def _check_constraints(frame: pl.DataFrame, now: dt.datetime) -> None:
    """The model's CHECK and NOT NULL constraints, the idempotency rule and the future-time rule."""
    c = pl.col
    key_length = c("idempotency_key").str.len_chars()
    limits = {u.value: v for u, v in units.MAX_AMOUNT.items()}
    config: dict[str, Any] = settings.KRATOMWATCH
    tolerance = dt.timedelta(minutes=int(config["FUTURE_TOLERANCE_MINUTES"]))
    required = ("patient_id", "lot_id", "taken_at", "local_date", "local_minute", "amount", "unit", "source")
    rules: list[tuple[str, pl.Expr, str]] = [
        *((name, c(name).is_null(), f"{name} must not be empty") for name in (*required, "idempotency_key", "basis")),
        ("amount", ~c("amount").is_finite() | (c("amount") <= 0), "amount must be a positive number"),
        ("unit", ~c("unit").is_in([u.value for u in units.Unit]), "unknown unit"),
        ("source", ~c("source").is_in(DoseSource.values), "unknown source"),
        ("basis", ~c("basis").is_in([b.value for b in units.Basis]), "unknown basis"),
        ("amount", c("amount") > c("unit").replace_strict(limits, default=None), "amount above plausibility limit"),
        ("local_minute", (c("local_minute") < 0) | (c("local_minute") >= 1440), "minute must be 0-1439"),
        ("idempotency_key", (key_length == 0) | (key_length > 128), "idempotency_key must be 1-128 characters"),
        (
            "idempotency_key",
            c("idempotency_key").str.contains(validation.NUL, literal=True),
            "idempotency_key contains a NUL character (\\x00), which cannot be stored",
        ),
        (
            "mitragynine_mg",
            (c("basis") == units.Basis.UNKNOWN.value) != c("mitragynine_mg").is_null(),
            "mg must be NULL exactly when basis is unknown",
        ),
        ("mitragynine_mg", c("mitragynine_mg") < 0, "mg must not be negative"),
        (
            "idempotency_key",
            pl.struct("patient_id", "idempotency_key").is_duplicated(),
            "the same (patient, idempotency_key) appears twice in the load",
        ),
        ("taken_at", c("taken_at") > now + tolerance, f"dose time is in the future (now is {now.isoformat()})"),
    ]
    for field, bad, message in rules:
        _first_bad(frame, bad, field, message)


def _lookup(model: Any, ids: np.ndarray, fields: Sequence[str]) -> dict[int, tuple[Any, ...]]:
    found: dict[int, tuple[Any, ...]] = {}
    for start in range(0, ids.size, _ID_CHUNK):
        chunk = ids[start : start + _ID_CHUNK].tolist()
        found.update((row[0], row[1:]) for row in model.objects.filter(pk__in=chunk).values_list("pk", *fields))
    return found


def _check_references(frame: pl.DataFrame, verify: bool) -> set[int]:
    """Patients and lots exist and share a program; with ``verify``, recompute local day and mg.

    Returns the ids of the programs the doses belong to.
    """
    pids = frame["patient_id"].unique().sort().to_numpy()
    lids = frame["lot_id"].unique().sort().to_numpy()
    patients = _lookup(Patient, pids, ("program_id", "time_zone", "birth_year"))
    lots = {lot.pk: lot for lot in Lot.objects.select_related("product").filter(pk__in=lids.tolist())}
    for ids, known, name in ((pids, patients, "patient_id"), (lids, lots, "lot_id")):
        unknown = [int(i) for i in ids if int(i) not in known]
        if unknown:
            raise InputError(name, unknown[0], f"{name} {unknown[0]} does not exist ({len(unknown)} unknown)")
    p_program = pl.DataFrame({"patient_id": pids, "p_program": [patients[int(i)][0] for i in pids]})
    l_program = pl.DataFrame({"lot_id": lids, "l_program": [lots[int(i)].product.program_id for i in lids]})
    pairs = frame.select("patient_id", "lot_id").unique().join(p_program, on="patient_id").join(l_program, on="lot_id")
    foreign = pairs.filter(pl.col("p_program") != pl.col("l_program"))
    if foreign.height:
        lot_id = foreign["lot_id"][0]
        patient_id = foreign["patient_id"][0]
        raise InputError("lot_id", lot_id, f"lot {lot_id} is not in the catalogue of patient {patient_id}")
    births = pl.DataFrame({"patient_id": pids, "birth_year": [patients[int(i)][2] for i in pids]})
    early = frame.select("patient_id", "local_date").join(births, on="patient_id", how="left", maintain_order="left")
    _first_bad(
        early,
        pl.col("local_date").dt.year() < pl.col("birth_year"),
        "local_date",
        "the dose's day is before the patient's birth year; check the year",
    )
    if verify:
        _verify_local(frame, {int(i): patients[int(i)][1] for i in pids})
        _verify_mg(frame, lots)
    return set(pairs["p_program"].unique().to_list())


def _verify_local(frame: pl.DataFrame, zones: dict[int, str]) -> None:
    zone_of = pl.DataFrame({"patient_id": list(zones), "zone": list(zones.values())})
    rows = frame.select("patient_id", "taken_at", "local_date", "local_minute").with_row_index("row")
    rows = rows.join(zone_of, on="patient_id", how="left", maintain_order="left")
    for (zone,), part in rows.partition_by("zone", as_dict=True).items():
        day, minute = local_columns(part["taken_at"].cast(pl.Int64).to_numpy(), str(zone))
        wrong = (part["local_date"].to_numpy() != day) | (part["local_minute"].to_numpy() != minute)
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise InputError(
                "local_date",
                str(part["local_date"][i]),
                f"row {part['row'][i]}: local_date/local_minute do not match taken_at in {zone} "
                f"(expected {day[i]} minute {minute[i]})",
            )


def _verify_mg(frame: pl.DataFrame, lots: Mapping[int, Lot]) -> None:
    rows = frame.select("lot_id", "unit", "amount", *MG_COLUMNS).with_row_index("row")
    for (lot_id, unit), part in rows.partition_by("lot_id", "unit", as_dict=True).items():
        expected = lot_mg_columns(lots[int(lot_id)], part["amount"].to_numpy(), str(unit))
        for name in MG_COLUMNS:
            got = part[name]
            want = expected[name]
            if name == "basis":
                same = got.to_numpy() == want
            else:
                values = got.cast(pl.Float64).fill_null(np.nan).to_numpy()
                same = (values == want) | (np.isnan(values) & np.isnan(want))
            if not same.all():
                i = int(np.flatnonzero(~same)[0])
                raise InputError(
                    name,
                    got[i],
                    f"row {part['row'][i]}: {name} does not match lot {lot_id} ({unit}): expected {want[i]!r}",
                )


def _copy_postgresql(frame: pl.DataFrame, table: str, columns: Sequence[str]) -> None:
    raw = connection.connection
    assert raw is not None
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for chunk in frame.iter_slices(CHUNK_ROWS):
            buf = io.BytesIO()
            # Nulls are written as unquoted empty fields (NULL in COPY csv), empty strings as "".
            chunk.write_csv(buf, include_header=False, null_value="")
            copy.write(buf.getbuffer())


#: ``fast_initial_load`` on PostgreSQL: memory for rebuilding the indexes after the COPY (this transaction only).
FAST_LOAD_MAINTENANCE_WORK_MEM = "512MB"


def _dose_constraints_and_indexes(table: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The FOREIGN KEY and UNIQUE constraints of ``table`` and its other non-primary-key indexes.

    Returns ``(constraints, indexes)`` as ``(name, definition)`` pairs, definitions as PostgreSQL
    prints them (``pg_get_constraintdef`` / ``pg_get_indexdef``), so they can be re-created exactly.
    """
    with connection.cursor() as cur:
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('f', 'u') ORDER BY conname",
            [table],
        )
        constraints = [(str(n), str(d)) for n, d in cur.fetchall()]
        cur.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY c.relname",
            [table],
        )
        indexes = [(str(n), str(d)) for n, d in cur.fetchall()]
    return constraints, indexes


def _copy_postgresql_initial(frame: pl.DataFrame, table: str, columns: Sequence[str]) -> None:
    """COPY into an empty dose table with its FKs, UNIQUE constraint and secondary indexes dropped,
    then re-create them: each index is built in one sort, and each FK and the UNIQUE constraint is
    validated in one set-based pass instead of one check per row.

    Runs inside the caller's transaction, so a failure (including a violation found while re-adding
    a constraint) rolls everything back, constraints included. ``DROP CONSTRAINT`` takes an ACCESS
    EXCLUSIVE lock on ``table`` (and the FKs a SHARE ROW EXCLUSIVE lock on patients and lots) until
    commit: nobody can read or write doses meanwhile, which is why the table must be empty.
    """
    q = connection.ops.quote_name
    # Run the deferred checks still pending in this transaction (e.g. of lots created in it) now:
    # PostgreSQL refuses to ALTER a table with pending trigger events. Django's PostgreSQL
    # check_constraints is SET CONSTRAINTS ALL IMMEDIATE followed by ALL DEFERRED.
    connection.check_constraints()
    with connection.cursor() as cur:
        cur.execute(f"LOCK TABLE {q(table)} IN ACCESS EXCLUSIVE MODE")
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {q(table)})")
        if cur.fetchone()[0]:
            raise InputError("fast_initial_load", True, f"fast_initial_load needs an empty {table} table")
        constraints, indexes = _dose_constraints_and_indexes(table)
        for name, _ in constraints:
            cur.execute(f"ALTER TABLE {q(table)} DROP CONSTRAINT {q(name)}")
        for name, _ in indexes:
            cur.execute(f"DROP INDEX {q(name)}")
    _copy_postgresql(frame, table, columns)
    with connection.cursor() as cur:
        cur.execute("SET LOCAL maintenance_work_mem = %s", [FAST_LOAD_MAINTENANCE_WORK_MEM])
        for _, definition in indexes:
            cur.execute(definition)
        # UNIQUE first (it builds an index), then the FKs: ADD FOREIGN KEY on a table with rows runs
        # one validating anti-join instead of the per-row trigger checks.
        for name, definition in sorted(constraints, key=lambda c: not c[1].startswith("UNIQUE")):
            cur.execute(f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(name)} {definition}")


def _executemany_sqlite(frame: pl.DataFrame, table: str, columns: Sequence[str]) -> None:
    # Django stores SQLite datetimes as str(naive UTC datetime): no "T", no ".000000" when whole.
    taken = pl.col("taken_at").dt.replace_time_zone(None)
    whole = pl.col("taken_at").dt.microsecond() == 0
    text = frame.with_columns(
        pl.when(whole)
        .then(taken.dt.strftime("%Y-%m-%d %H:%M:%S"))
        .otherwise(taken.dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
        .alias("taken_at"),
        pl.col("local_date").cast(pl.String),
        pl.col("enhanced").cast(pl.Int8),
        pl.col("created_at").dt.replace_time_zone(None).dt.strftime("%Y-%m-%d %H:%M:%S%.6f"),
    )
    raw = connection.connection
    assert raw is not None
    width, per = len(columns), SQLITE_ROWS_PER_STATEMENT
    row = "(" + ", ".join("?" * width) + ")"
    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "

    def parameters(chunk: pl.DataFrame) -> tuple[list[Any], list[Any]]:
        values = np.empty((chunk.height, width), dtype=object)
        for j, name in enumerate(chunk.columns):
            values[:, j] = chunk[name].to_list()
        batched = chunk.height - chunk.height % per
        return values[:batched].reshape(-1, per * width).tolist(), values[batched:].tolist()

    def write(prepared: Future[tuple[list[Any], list[Any]]]) -> None:
        many, rest = prepared.result()
        raw.executemany(insert + ", ".join([row] * per), many)
        raw.executemany(insert + row, rest)

    # sqlite3 releases the GIL while SQLite executes a statement, so the next chunk's Python values are
    # built on the other core meanwhile (one chunk ahead: memory stays at two chunks).
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future[tuple[list[Any], list[Any]]] | None = None
        for chunk in text.iter_slices(CHUNK_ROWS):
            ready, pending = pending, pool.submit(parameters, chunk)
            if ready is not None:
                write(ready)
        if pending is not None:
            write(pending)


def validate_dose_columns(
    columns: Mapping[str, Any], *, verify: bool = True, now: dt.datetime | None = None
) -> tuple[pl.DataFrame, set[int]]:
    """Run every check of ``load_dose_columns`` without writing (a dry run).

    Returns the typed frame and the ids of the programs the doses belong to; raises InputError
    naming the first bad row.
    """
    frame = _frame(columns)
    if frame.height == 0:
        return frame, set()
    _check_constraints(frame, now or timezone.now())
    return frame, _check_references(frame, verify)


def load_dose_columns(
    *,
    actor: Actor,
    columns: Mapping[str, Any],
    refresh: bool = True,
    verify: bool = True,
    now: dt.datetime | None = None,
    fast_initial_load: bool = False,
) -> int:
    """Insert doses given as columns (see ``DOSE_COLUMNS`` and the module docstring) in one transaction.

    Writes one ``dose.bulk_load`` audit event and, with ``refresh``, rebuilds the registry-wide
    ``DailyExposure`` (``daily.refresh_daily_exposure()``). All-or-nothing: an InputError (bad
    row, named by its index) or IntegrityError (key already stored) writes nothing. Returns the
    number of doses inserted.

    ``fast_initial_load`` (PostgreSQL; for migrating a registry into an empty dose table): drop the
    dose table's foreign keys, UNIQUE constraint and secondary indexes, COPY, and re-create them in
    the same transaction, so the database validates each constraint in one pass instead of per row.
    Every check still runs; only its timing changes. The dose table is locked against readers and
    writers until commit, and the load fails with InputError if the table already has rows. On
    SQLite it changes nothing (there, recreating indexes after the load measured no faster).
    """
    now = now or timezone.now()
    table = Dose._meta.db_table
    column_of = {f.attname: str(f.column) for f in Dose._meta.concrete_fields}
    db_columns = [column_of[name] for name in (*DOSE_COLUMNS, "created_at")]
    with transaction.atomic():
        frame, programs = validate_dose_columns(columns, verify=verify, now=now)
        if frame.height == 0:
            return 0
        frame = frame.with_columns(pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("created_at"))
        # The raw connection raises DB-API errors; re-raise them as django.db errors (IntegrityError...).
        with connection.wrap_database_errors:
            if connection.vendor == "postgresql" and fast_initial_load:
                _copy_postgresql_initial(frame, table, db_columns)
            elif connection.vendor == "postgresql":
                _copy_postgresql(frame, table, db_columns)
            elif connection.vendor == "sqlite":
                _executemany_sqlite(frame, table, db_columns)
            else:  # pragma: no cover - settings only configure SQLite or PostgreSQL
                raise RuntimeError(f"kratomwatch supports SQLite and PostgreSQL, not {connection.vendor!r}")
        if refresh:
            daily.refresh_daily_exposure()
        record(
            actor,
            "dose.bulk_load",
            object_type="dose",
            program_id=next(iter(programs)) if len(programs) == 1 else None,
            detail={
                "rows": frame.height,
                "patients": frame["patient_id"].n_unique(),
                "programs": sorted(programs),
                "verified": verify,
                "refreshed": refresh,
                "fast_initial_load": fast_initial_load,
            },
        )
    return frame.height
