"""Set-based bulk loading (records.bulk): columns in, doses, daily exposure and one audit event out.

Runs on whatever database is configured (SQLite, or PostgreSQL through COPY when DATABASE_URL is set).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.db import IntegrityError, connection, transaction

from kratomwatch.accounts import actions as account_actions
from kratomwatch.accounts import program_settings
from kratomwatch.audit.log import verify_chain
from kratomwatch.audit.models import AuditEvent
from kratomwatch.core import units
from kratomwatch.core.errors import InputError
from kratomwatch.records import actions, bulk, potency
from kratomwatch.records.models import DailyExposure, Dose, Patient

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def registry(db: Any, system: Any) -> Any:
    from benchmarks import generate

    return generate.make_registry(actor=system, patients=9, days=12, seed=7, slug="bulk")


def copy_columns(reg: Any) -> dict[str, Any]:
    out = {}
    for name, value in reg.columns.items():
        out[name] = value.to_numpy().copy() if hasattr(value, "to_numpy") else np.array(value, copy=True)
    return out


def bulk_events() -> int:
    return AuditEvent.objects.filter(action="dose.bulk_load").count()


# --- loading --------------------------------------------------------------------------------
# The column form of the mg conversion (core.units.dose_mg_columns) is checked against one dose at a time in
# tests/core/test_units.py; here the stored rows are checked against the per-dose write path.


def test_bulk_load_writes_doses_daily_exposure_and_one_audit_event(registry: Any, system: Any) -> None:
    before = AuditEvent.objects.count()
    n = bulk.load_dose_columns(actor=system, columns=registry.columns)
    assert n == registry.n_doses == Dose.objects.count()
    assert 9 * 12 <= n <= 9 * 12 * 4
    # Every patient-day has 1-4 doses, so every patient-day has one daily row.
    assert DailyExposure.objects.count() == 9 * 12
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.order_by("-id").first()
    assert event is not None and event.action == "dose.bulk_load"
    assert event.detail["rows"] == n and event.detail["patients"] == 9 and event.detail["refreshed"] is True
    assert event.program_id == registry.program.pk
    assert verify_chain().ok


def test_stored_mg_and_local_day_equal_the_per_dose_write_path(registry: Any, system: Any) -> None:
    bulk.load_dose_columns(actor=system, columns=registry.columns)
    bases = set(Dose.objects.values_list("basis", flat=True))
    assert bases == {"certificate", "estimated", "unknown"}
    every_fifth = list(Dose.objects.order_by("id").values_list("id", flat=True))[::5]
    sample = Dose.objects.select_related("patient", "lot__product").filter(id__in=every_fifth)
    assert len(sample) >= 20
    for dose in sample:
        mg = potency.compute_mg(
            dose.amount, units.Unit(dose.unit), potency.lot_potency(dose.lot), program_settings.defaults()
        )
        stored = {name: getattr(dose, name) for name in bulk.MG_COLUMNS}
        assert stored == mg.columns(), dose.pk  # exact, also after the database round trip
        local = dose.taken_at.astimezone(ZoneInfo(dose.patient.time_zone))
        assert (dose.local_date, dose.local_minute) == (local.date(), local.hour * 60 + local.minute)


def test_rows_cross_chunk_and_statement_boundaries_intact(
    registry: Any, system: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks and statements, so several chunks (built one ahead on a worker thread on SQLite) and a
    # remainder statement are all exercised; every row must arrive once and unchanged.
    monkeypatch.setattr(bulk, "CHUNK_ROWS", 37)
    monkeypatch.setattr(bulk, "SQLITE_ROWS_PER_STATEMENT", 5)
    cols = copy_columns(registry)
    n = bulk.load_dose_columns(actor=system, columns=registry.columns)
    assert n == len(cols["patient_id"]) > 3 * 37
    want = {
        (int(p), str(k)): (None if math.isnan(m) else float(m), str(b))
        for p, k, m, b in zip(
            cols["patient_id"], cols["idempotency_key"], cols["mitragynine_mg"], cols["basis"], strict=True
        )
    }
    got = {
        (p, k): (m, b)
        for p, k, m, b in Dose.objects.values_list("patient_id", "idempotency_key", "mitragynine_mg", "basis")
    }
    assert len(got) == n and got == want


def test_daily_exposure_equals_python_recomputation(registry: Any, system: Any) -> None:
    bulk.load_dose_columns(actor=system, columns=registry.columns)
    for patient_id in registry.patient_ids[[0, 4, 8]].tolist():
        days: dict[dt.date, list[Dose]] = defaultdict(list)
        for dose in Dose.objects.filter(patient_id=patient_id):
            days[dose.local_date].append(dose)
        stored = {d.day: d for d in DailyExposure.objects.filter(patient_id=patient_id)}
        assert set(stored) == set(days) and len(days) == 12
        for day, doses in days.items():
            row = stored[day]
            assert row.mitragynine_mg == pytest.approx(sum(d.mitragynine_mg or 0.0 for d in doses), rel=1e-12)
            assert row.seven_oh_mg == pytest.approx(sum(d.seven_oh_mg or 0.0 for d in doses), rel=1e-12)
            assert row.doses == len(doses)
            assert row.unknown_doses == sum(d.basis == "unknown" for d in doses)
            assert row.estimated_doses == sum(d.basis == "estimated" for d in doses)
            assert row.first_dose_minute == min(d.local_minute for d in doses)


def test_without_refresh_daily_exposure_is_untouched(registry: Any, system: Any) -> None:
    n = bulk.load_dose_columns(actor=system, columns=registry.columns, refresh=False)
    assert Dose.objects.count() == n > 0
    assert DailyExposure.objects.count() == 0
    assert AuditEvent.objects.order_by("-id").first().detail["refreshed"] is False


def test_a_key_already_stored_aborts_the_whole_load(registry: Any, system: Any) -> None:
    n = bulk.load_dose_columns(actor=system, columns=registry.columns)
    events = bulk_events()
    with pytest.raises(IntegrityError):
        bulk.load_dose_columns(actor=system, columns=registry.columns)
    assert Dose.objects.count() == n
    assert bulk_events() == events


def _dose_schema() -> set[tuple[str, str]]:
    """Names and definitions of the dose table's constraints and indexes (PostgreSQL)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'records_dose'::regclass"
        )
        found = {(str(n), str(d)) for n, d in cur.fetchall()}
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'records_dose'")
        return found | {(str(n), str(d)) for n, d in cur.fetchall()}


def test_fast_initial_load_stores_the_same_and_restores_every_constraint(registry: Any, system: Any) -> None:
    schema = _dose_schema() if connection.vendor == "postgresql" else set()
    n = bulk.load_dose_columns(actor=system, columns=registry.columns, fast_initial_load=True)
    assert n == registry.n_doses == Dose.objects.count()
    assert DailyExposure.objects.count() == 9 * 12
    assert AuditEvent.objects.order_by("-id").first().detail["fast_initial_load"] is True
    if connection.vendor == "postgresql":
        assert _dose_schema() == schema
        assert any(d.startswith("FOREIGN KEY (patient_id)") for _, d in schema)
        assert any(d.startswith("FOREIGN KEY (lot_id)") for _, d in schema)
    # The restored constraints are enforced again: a key already stored, an unknown patient.
    with pytest.raises(IntegrityError):
        bulk.load_dose_columns(actor=system, columns=registry.columns)
    dose = Dose.objects.order_by("id").first()
    assert dose is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        Dose.objects.filter(pk=dose.pk).update(patient_id=int(registry.patient_ids.max()) + 1000)
        with connection.cursor() as cur:  # the FKs are deferred: check them now
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE" if connection.vendor == "postgresql" else "SELECT 1")
        if connection.vendor == "sqlite":
            connection.check_constraints(table_names=["records_dose"])


def test_fast_initial_load_refuses_a_table_with_doses(registry: Any, system: Any) -> None:
    cols = copy_columns(registry)
    first = cols["patient_id"] == cols["patient_id"][0]
    bulk.load_dose_columns(actor=system, columns={k: v[first] if v.ndim else v for k, v in cols.items()})
    rest = {k: v[~first] if v.ndim else v for k, v in cols.items()}
    if connection.vendor == "postgresql":
        with pytest.raises(InputError, match="empty"):
            bulk.load_dose_columns(actor=system, columns=rest, fast_initial_load=True)
        assert Dose.objects.count() == int(first.sum())
    else:  # no-op on SQLite
        bulk.load_dose_columns(actor=system, columns=rest, fast_initial_load=True)
        assert Dose.objects.count() == registry.n_doses


def test_bad_rows_abort_a_fast_initial_load(registry: Any, system: Any) -> None:
    cols = copy_columns(registry)
    cols["amount"][5] = -1.0
    with pytest.raises(InputError):
        bulk.load_dose_columns(actor=system, columns=cols, fast_initial_load=True)
    assert Dose.objects.count() == 0


def test_partial_refresh_equals_the_full_rebuild(registry: Any, system: Any) -> None:
    bulk.load_dose_columns(actor=system, columns=registry.columns)

    def rows() -> list[tuple[Any, ...]]:
        return list(DailyExposure.objects.order_by("patient_id", "day").values_list(*FIELDS))

    full = rows()
    last = max(day for _, day, *_ in full)
    DailyExposure.objects.filter(day=last).delete()
    ids = registry.patient_ids.tolist()
    assert actions.refresh_daily_exposure(patient_ids=ids, days=[last]) == 9
    assert rows() == full
    assert actions.refresh_daily_exposure() == len(full)
    assert rows() == full


FIELDS = (
    "patient_id",
    "day",
    "mitragynine_mg",
    "seven_oh_mg",
    "doses",
    "unknown_doses",
    "estimated_doses",
    "first_dose_minute",
)


def _corrupt(reg: Any, what: str, request: Any) -> tuple[dict[str, Any], str, dict[str, Any]]:
    cols = copy_columns(reg)
    kwargs: dict[str, Any] = {}
    i = 5
    if what == "mg":
        i = int(np.flatnonzero(~np.isnan(cols["mitragynine_mg"]))[3])
        cols["mitragynine_mg"][i] = np.nextafter(cols["mitragynine_mg"][i], np.inf)
        field = "mitragynine_mg"
    elif what == "local_date":
        cols["local_date"][i] += np.timedelta64(1, "D")
        field = "local_date"
    elif what == "foreign_lot":
        cols["lot_id"][i] = request.getfixturevalue("world").leaf_cert_lot.pk  # another program's lot
        field = "lot_id"
    elif what == "unknown_patient":
        cols["patient_id"][i] = int(cols["patient_id"].max()) + 1000
        field = "patient_id"
    elif what == "duplicate_key":
        same = np.flatnonzero(cols["patient_id"] == cols["patient_id"][0])
        cols["idempotency_key"][same[1]] = cols["idempotency_key"][same[0]]
        field = "idempotency_key"
    elif what == "future":
        kwargs["now"] = dt.datetime.combine(reg.start + dt.timedelta(days=3), dt.time(), tzinfo=dt.UTC)
        field = "taken_at"
    elif what == "amount":
        cols["amount"][i] = -1.0
        field = "amount"
    else:  # basis says unknown but mg is present
        cols["basis"] = cols["basis"].astype(object)
        i = int(np.flatnonzero(cols["basis"] == "certificate")[0])
        cols["basis"][i] = "unknown"
        field = "mitragynine_mg"
    return cols, field, kwargs


@pytest.mark.parametrize(
    "what",
    ["mg", "local_date", "foreign_lot", "unknown_patient", "duplicate_key", "future", "amount", "basis"],
)
def test_bad_rows_are_rejected_and_nothing_is_written(registry: Any, system: Any, request: Any, what: str) -> None:
    cols, field, kwargs = _corrupt(registry, what, request)
    events = AuditEvent.objects.count()
    with pytest.raises(InputError) as info:
        bulk.load_dose_columns(actor=system, columns=cols, **kwargs)
    assert info.value.field == field
    assert Dose.objects.count() == 0 and DailyExposure.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_missing_or_ragged_columns_are_rejected(registry: Any, system: Any) -> None:
    cols = copy_columns(registry)
    del cols["enhanced"]
    with pytest.raises(InputError, match="missing columns"):
        bulk.load_dose_columns(actor=system, columns=cols)
    cols = copy_columns(registry)
    cols["amount"] = cols["amount"][:-1]
    with pytest.raises(InputError, match="differ in length"):
        bulk.load_dose_columns(actor=system, columns=cols)
    assert Dose.objects.count() == 0


def test_empty_load_writes_nothing(db: Any, system: Any) -> None:
    empty = {name: np.array([]) for name in bulk.DOSE_COLUMNS}
    assert bulk.load_dose_columns(actor=system, columns=empty) == 0
    assert bulk_events() == 0


def test_database_matches_the_configured_vendor(db: Any) -> None:
    url = os.environ.get("DATABASE_URL", "")
    assert connection.vendor == ("postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite")


# --- patients -------------------------------------------------------------------------------


def test_load_patients_validates_and_audits(db: Any, system: Any) -> None:
    program = account_actions.create_program(actor=system, slug="bp", name="Bulk patients")
    ids = bulk.load_patients(
        actor=system,
        program=program,
        codes=["BP-1", "BP-2", "BP-3"],
        birth_years=[1970, 1985, 2001],
        sexes=["female", "male", "female"],
        time_zones="Europe/London",
        jurisdictions="gb",
    )
    assert len(ids) == 3 and len(set(ids.tolist())) == 3
    stored = Patient.objects.get(pk=int(ids[1]))
    assert (stored.code, stored.birth_year, stored.jurisdiction) == ("BP-2", 1985, "GB")
    event = AuditEvent.objects.order_by("-id").first()
    assert event.action == "patient.bulk_load" and event.detail == {"rows": 3}
    for bad, error in [
        ({"codes": ["BP-1", "BP-9", "BP-8"]}, actions.Conflict),
        ({"codes": ["BP-7", "BP-7", "BP-8"]}, actions.Conflict),
        ({"time_zones": "Mars/Olympus"}, InputError),
        ({"birth_years": [1970, 1850, 2001]}, InputError),
        ({"codes": ["BP 7", "BP-8", "BP-9"]}, InputError),
    ]:
        args: dict[str, Any] = {
            "codes": ["BP-7", "BP-8", "BP-9"],
            "birth_years": [1970, 1985, 2001],
            "sexes": "male",
            "time_zones": "Asia/Bangkok",
            "jurisdictions": "TH",
        } | bad
        with pytest.raises(error):
            bulk.load_patients(actor=system, program=program, **args)
    assert Patient.objects.filter(program=program).count() == 3


# --- benchmark smoke ------------------------------------------------------------------------


def _postgres_test_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_benchmark_quick_run_writes_the_report(db: Any, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KRATOMWATCH_BENCH_POSTGRES_URL")}
    env["KRATOMWATCH_HOME"] = str(tmp_path)
    vendors = ["sqlite"]
    if connection.vendor == "postgresql":  # a fresh schema in the test database, dropped afterwards
        env["KRATOMWATCH_BENCH_POSTGRES_URL"] = _postgres_test_url()
        vendors.append("postgresql")
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["parameters"]["quick"] is True and report["machine"]["cpus"] >= 1
    assert set(report["results"]) == set(vendors)
    for vendor in vendors:
        result = report["results"][vendor]
        assert result["vendor"] == vendor
        assert (result["registry"]["patients"], result["registry"]["days"]) == (200, 30)
        load = result["bulk_load"]
        assert load["rows"] == result["registry"]["dose_rows"] >= 200 * 30
        assert load["seconds"] > 0 and load["rows_per_second"] > 0 and isinstance(load["pass"], bool)
        assert load["target_rows_per_second"] == {"sqlite": 100_000, "postgresql": 300_000}[vendor]
        assert load["fast_initial_load"] is (vendor == "postgresql")
        assert result["daily_exposure_incremental"]["rows"] == 200  # every patient doses every day
        rebuild = result["daily_exposure_rebuild"]
        assert rebuild["daily_rows"] == 200 * 30 and rebuild["target_seconds"] == 5.0
        assert rebuild["at_target_size"] is False and isinstance(rebuild["pass"], bool)
        sweep = result["alert_sweep"]
        assert sweep["first_sweep"]["created"] > 0 and sweep["idempotent"] is True
        assert sweep["second_sweep"]["created"] == sweep["second_sweep"]["updated"] == 0
        assert sweep["next_day_sweep"]["patients"] == 200 and sweep["target_seconds"] == 10.0
        assert isinstance(sweep["pass"], bool) and sweep["at_target_size"] is False
        for phase in ("empty_table", "replace_all"):
            assert rebuild[phase]["rows"] == 200 * 30
            assert {"seconds", "python_heap_peak_mb", "process_rss_peak_delta_mb"} <= set(rebuild[phase])
    assert not list((tmp_path / "var" / "bench").glob("*.sqlite3"))  # the fresh database is removed


@pytest.mark.parametrize(
    ("module", "args", "message"),
    [
        ("benchmarks.sweep", ["--doses-per-day", "0-9"], "--doses-per-day"),
        ("benchmarks.sweep", ["--patients", "0"], "--patients must be at least 1, got 0"),
        ("benchmarks.run", ["--doses-per-day", "5"], "within 1-4"),
        ("benchmarks.run", ["--scale-patients", "-1"], "--scale-patients must be 0 (skip) or more"),
    ],
)
def test_benchmark_commands_name_the_bad_argument(module: str, args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, *args], check=False, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and message in done.stderr, done.stderr[-2000:]
