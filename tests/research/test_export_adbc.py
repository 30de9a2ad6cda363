"""The research export's columnar read of a SQLite file (ADBC): the same frames and the same files as the cursor.

The test database is in memory, which the ADBC driver (its own SQLite library) cannot open; each test copies it
into a file with SQLite's backup API and points the columnar read at that file. PostgreSQL reads with COPY: skipped
there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import adbc_driver_manager
import polars as pl
import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from kratomwatch.research import export
from tests.research.test_export import _run

pytestmark = pytest.mark.django_db

AMOUNTS = (2 / 3, 0.1 + 0.2, 1.2345678901234567, 3.0, 0.1)
"""Dose amounts whose shortest decimal text has many digits (and two that have few)."""


@pytest.fixture(autouse=True)
def _sqlite_only() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL reads the large tables with COPY; the columnar read is SQLite's")


@pytest.fixture
def participants(world: Any, system: Any) -> list[Any]:
    """Six research-consented participants (k = 5 keeps them); the first doses recorded are of unknown strength
    (mg, range and 7-OH share NULL), then certified and capsule lots: the first rows of each column are NULL, the
    later ones are floats with many digits, booleans and dates."""
    from kratomwatch.consent import actions as consent_actions
    from kratomwatch.consent.models import ConsentDocument
    from kratomwatch.records import actions, writes
    from tests.helpers import add_patient

    now = timezone.now()
    doc = ConsentDocument.objects.get(program=world.program)
    people = [world.patient]
    with writes.batch():
        for n in range(2, 7):
            person = add_patient(world, f"P-10{n}", conditions=["chronic_pain"])
            consent_actions.sign(
                actor=system, patient=person, document=doc, scopes=["care", "research"], typed_name="Test Patient"
            )
            people.append(person)
        lots = [
            (world.shot_lot, "mL"),
            (world.leaf_plain_lot, "g"),
            (world.leaf_cert_lot, "g"),
            (world.caps_lot, "capsule"),
        ]
        for lot, unit in lots:
            for n, person in enumerate(people):
                for days in (1, 4):
                    amount = AMOUNTS[(n + days) % len(AMOUNTS)] * (2 if unit == "capsule" else 1)
                    taken = now - dt.timedelta(days=days, minutes=7 * n + lots.index((lot, unit)))
                    dose = actions.DoseIn(person.code, lot.pk, taken, amount, unit)
                    actions.record_dose(actor=system, patient=person, dose=dose, now=now)
    return people


def _file_copy(folder: Path) -> Path:
    """The in-memory test database, the test's own uncommitted writes included, written into a file. Not with the
    backup API: inside the test's open write transaction its steps stay busy (the shared-cache in-memory database
    is locked by that transaction) and it never ends; ``serialize`` reads the pages as this connection sees them."""
    connection.ensure_connection()
    target = folder / "copy.sqlite3"
    target.write_bytes(connection.connection.serialize())
    return target


def test_the_columnar_read_gives_the_cursors_frames(
    world: Any, participants: list[Any], tmp_path: Path, monkeypatch: Any
) -> None:
    """Doses and daily exposure read through ADBC equal the cursor's frames: NULLs where the cursor has them,
    every float's bits, booleans, dates; with record batches of 3 rows, so that a column's first batch is all NULL
    and a later one holds doubles."""
    from kratomwatch.consent.status import with_active_scope
    from kratomwatch.records.models import Patient

    path = _file_copy(tmp_path)
    monkeypatch.setattr(export, "ARROW_BATCH_ROWS", 3)
    ids = sorted(p.pk for p in participants)
    reader = export._ArrowReader(path)
    try:
        for name, table in export.LARGE.items():
            cursor = export._read(table.query(ids), table.schema, table.fields)
            columnar = export._read(table.query(ids), table.schema, table.fields, reader)
            assert cursor.height > 0 and columnar.schema == cursor.schema, name
            assert columnar.equals(cursor), name
            for column, kind in cursor.schema.items():
                if kind == pl.Float64:  # bit for bit, not only within equality's tolerance of -0.0 and the like
                    assert [_bits(v) for v in columnar[column]] == [_bits(v) for v in cursor[column]], column
        doses = export._read(export.DOSES.query(ids), export.DOSES.schema, export.DOSES.fields, reader)
        assert doses["mitragynine_mg"].null_count() > 0 and doses["mitragynine_mg"].drop_nulls().len() > 0
        assert set(doses["enhanced"].to_list()) >= {None, False}
        assert {2 / 3, 0.1 + 0.2, 1.2345678901234567} <= set(doses["amount"].to_list())
        assert doses["date"].dtype == pl.Date and doses["date"].null_count() == 0
        # The participants' whole query (its consent subquery's parameters bound) reads the same rows too.
        included = with_active_scope(Patient.objects.filter(program=world.program), "research")
        whole = export._read(export.DOSES.query(included), export.DOSES.schema, export.DOSES.fields)
        assert export._read(export.DOSES.query(included), export.DOSES.schema, export.DOSES.fields, reader).equals(
            whole
        )
        empty = export._read(export.DOSES.query([-1]), export.DOSES.schema, export.DOSES.fields, reader)
        assert empty.height == 0 and empty.schema == pl.Schema(export.DOSES.schema)
    finally:
        reader.close()


def _bits(value: float | None) -> str | None:
    return None if value is None else float(value).hex() + ("-" if math.copysign(1, value) < 0 else "+")


@pytest.mark.parametrize("dates", export.DATE_MODES)
def test_the_export_through_the_columnar_read_writes_the_same_bytes(
    world: Any, participants: list[Any], tmp_path: Path, monkeypatch: Any, dates: str
) -> None:
    """Every file of every format (CSV, Parquet, FHIR, batch by batch and whole), byte for byte, and the manifest
    but for its creation instant."""
    path = _file_copy(tmp_path)
    monkeypatch.setattr(export, "BATCH_PARTICIPANTS", 4)  # 6 participants: 2 batches
    monkeypatch.setattr(export, "ARROW_BATCH_ROWS", 5)
    for formats in (("csv", "parquet"), ("csv", "parquet", "fhir")):
        label = "-".join(formats)
        cursor_out, columnar_out = tmp_path / f"cursor-{label}", tmp_path / f"columnar-{label}"
        assert export.columnar_database() is None  # the test database is in memory
        _run(world, cursor_out, formats=formats, dates=dates)
        monkeypatch.setattr(export, "columnar_database", lambda: path)
        _run(world, columnar_out, formats=formats, dates=dates)
        with connection.cursor() as cursor:  # turned off while the reader was open, then back
            cursor.execute("PRAGMA wal_autocheckpoint")
            assert cursor.fetchone() == (1000,)
        monkeypatch.undo()
        monkeypatch.setattr(export, "BATCH_PARTICIPANTS", 4)
        monkeypatch.setattr(export, "ARROW_BATCH_ROWS", 5)
        files = sorted(p.relative_to(cursor_out).as_posix() for p in cursor_out.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(columnar_out).as_posix() for p in columnar_out.rglob("*") if p.is_file())
        assert {"doses.csv", "doses.parquet", "daily_exposure.csv", "daily_exposure.parquet"} <= set(files)
        for name in files:
            expected, got = (cursor_out / name).read_bytes(), (columnar_out / name).read_bytes()
            if name == export.MANIFEST:
                expected_json, got_json = json.loads(expected), json.loads(got)
                expected_json.pop("created_at"), got_json.pop("created_at")
                assert got_json == expected_json
            else:
                assert got == expected, (label, name)
        manifest = json.loads((columnar_out / export.MANIFEST).read_text())
        assert manifest["counts"]["doses"] == 48 and manifest["consent"]["included"] == 6


def test_the_columnar_read_is_read_only_and_sees_one_snapshot(
    world: Any, participants: list[Any], tmp_path: Path
) -> None:
    """Every read of one reader sees the database (WAL, as the application's files are) as of its first read: a
    delete committed meanwhile by another process is not seen until a new reader. It cannot write."""
    path = _file_copy(tmp_path)
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode=wal").fetchone() == ("wal",)
    raw = {"doses": pl.Int64}
    count = 'SELECT CAST(COUNT(*) AS INTEGER) FROM "records_dose" WHERE "patient_id" = %s'
    patient = participants[0].pk
    delete = (
        "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
        "db.execute('DELETE FROM records_dose WHERE patient_id = ?', (int(sys.argv[2]),)); db.commit(); db.close()"
    )
    reader = export._ArrowReader(path)
    try:
        before = reader.frame(count, [patient], raw).item()
        subprocess.run([sys.executable, "-c", delete, str(path), str(patient)], check=True, timeout=60)
        assert before == 8
        assert reader.frame(count, [patient], raw).item() == before  # the same snapshot
        statement = adbc_driver_manager.AdbcStatement(reader._connection)
        try:
            statement.set_sql_query('DELETE FROM "records_dose"')
            with pytest.raises(adbc_driver_manager.Error, match="readonly"):
                statement.execute_update()
        finally:
            statement.close()
    finally:
        reader.close()
    again = export._ArrowReader(path)
    try:
        assert again.frame(count, [patient], raw).item() == 0
    finally:
        again.close()


def test_the_columnar_read_is_chosen_for_a_database_file_in_wal_mode_only(tmp_path: Path, monkeypatch: Any) -> None:
    """By the connection's NAME (a file yes; the test suite's in-memory database, either spelling, no) and only in
    WAL mode, the application's."""
    assert export.columnar_database() is None
    monkeypatch.setitem(connection.settings_dict, "NAME", str(tmp_path / "kratomwatch.sqlite3"))
    assert export.columnar_database() is None  # the connection itself is still the in-memory database's
    for memory in (":memory:", "file:memorydb_default?mode=memory&cache=shared", ""):
        assert export.columnar_file(memory, "wal") is None
    assert export.columnar_file(str(tmp_path / "kratomwatch.sqlite3"), "wal") == tmp_path / "kratomwatch.sqlite3"
    assert export.columnar_file(str(tmp_path / "kratomwatch.sqlite3"), "delete") is None


ROWS = st.lists(
    st.tuples(
        st.none() | st.floats(allow_nan=False) | st.integers(-(2**53), 2**53),
        st.none() | st.integers(-(2**62), 2**62),
        st.none() | st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, batch=st.integers(1, 8))
def test_column_types_never_depend_on_the_rows(rows: list[tuple[Any, Any, Any]], batch: int) -> None:
    """Columns without a declared type (so NULLs, integers and doubles mixed in any order, any batch size) come back
    as the cursor gives them through the same casts: every double exactly, NULL as NULL."""
    raw = {"f": pl.Float64, "i": pl.Int64, "s": pl.String}
    sql = "SELECT CAST(f AS REAL), CAST(i AS INTEGER), CAST(s AS TEXT) FROM t WHERE n >= %s"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.sqlite3"
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE t (n, f, i, s)")
            db.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [(n, *row) for n, row in enumerate(rows)])
            expected = db.execute(sql.replace("%s", "?"), (0,)).fetchall()
        db.close()
        original = export.ARROW_BATCH_ROWS
        export.ARROW_BATCH_ROWS = batch
        reader = export._ArrowReader(path)
        try:
            frame = reader.frame(sql, [0], raw)
        finally:
            reader.close()
            export.ARROW_BATCH_ROWS = original
    assert frame.schema == pl.Schema(raw)
    got = frame.rows()
    assert [(_bits(f), i, s) for f, i, s in got] == [(_bits(f), i, s) for f, i, s in expected]
