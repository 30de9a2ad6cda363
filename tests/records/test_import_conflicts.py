"""`kratomwatch import doses`: a row that reuses an idempotency key for a different dose (earlier in the file or
already stored) is a rejected row naming the line, what differs and the key (D4), by the same rule as the API's
409; an identical repeat is still a silent skip. Rows of patients without active care consent are written with a
warning and counted in the audit event (I2). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from typer.testing import CliRunner

from kratomwatch.audit.models import AuditEvent
from kratomwatch.cli import app
from kratomwatch.records import actions, validation
from kratomwatch.records.models import Dose
from tests.api.test_api import assert_error, call

runner = CliRunner()
HEADER = "patient_code,lot_id,taken_at,amount,unit,source,idempotency_key\n"

pytestmark = pytest.mark.django_db


def _when(hours_ago: float) -> str:
    """A time within the last day, with an offset: valid at any hour."""
    return (timezone.now() - dt.timedelta(hours=hours_ago)).astimezone(dt.timezone(dt.timedelta(hours=-6))).isoformat()


def _row(
    w: Any, key: str, *, amount: float = 1, when: str | None = None, unit: str = "g", source: str = "import"
) -> str:
    return f"P-001,{w.leaf_cert_lot.pk},{when or _when(3)},{amount},{unit},{source},{key}\n"


def _import(tmp_path: Path, body: str, *extra: str) -> tuple[int, str]:
    path = tmp_path / "doses.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    result = runner.invoke(app, ["import", "doses", str(path), *extra])
    return result.exit_code, " ".join(result.output.split())  # Rich wraps at the terminal width


def test_conflicting_repeat_in_the_file_is_rejected_and_nothing_is_written(world: Any, tmp_path: Path) -> None:
    when = _when(3)
    body = _row(world, "other", when=_when(5)) + _row(world, "dup-17", when=when) + _row(world, "dup-17", amount=9)
    code, text = _import(tmp_path, body)
    assert code == 1, text
    assert "line 4: idempotency_key='dup-17'" in text, text
    assert "(line 3)" in text and "time taken and amount differ" in text, text
    assert "created 0, skipped 0, rejected 1 (nothing written" in text, text
    assert Dose.objects.count() == 0


def test_conflicting_repeat_with_allow_partial_writes_the_rest(world: Any, tmp_path: Path) -> None:
    when = _when(3)
    body = _row(world, "other", when=_when(5)) + _row(world, "dup-17", when=when)
    code, text = _import(tmp_path, body + _row(world, "dup-17", when=when, amount=9), "--allow-partial")
    assert code == 1, text
    assert "line 4: idempotency_key='dup-17'" in text and "amount differs" in text, text
    assert "created 2, skipped 0, rejected 1" in text, text
    assert sorted(Dose.objects.values_list("idempotency_key", "amount")) == [("dup-17", 1.0), ("other", 1.0)]


def test_conflicting_repeat_of_a_stored_dose_is_rejected(world: Any, tmp_path: Path) -> None:
    when = _when(3)
    assert _import(tmp_path, _row(world, "dup-18", when=when))[0] == 0
    body = _row(world, "fresh", when=_when(4)) + _row(world, "dup-18", amount=2, when=_when(2), unit="mg")
    code, text = _import(tmp_path, body)
    assert code == 1, text
    assert "line 3: idempotency_key='dup-18'" in text, text
    assert "the dose already stored for P-001" in text, text
    assert "time taken, amount and unit differ" in text, text
    assert "created 0, skipped 0, rejected 1" in text, text
    assert list(Dose.objects.values_list("idempotency_key", "amount", "unit")) == [("dup-18", 1.0, "g")]


def test_a_different_lot_or_source_is_a_conflict_too(world: Any, tmp_path: Path) -> None:
    when = _when(3)
    assert _import(tmp_path, _row(world, "k", when=when))[0] == 0
    other_lot = f"P-001,{world.leaf_plain_lot.pk},{when},1,g,import,k\n"
    k2 = _row(world, "k2", when=when) + _row(world, "k2", when=when, source="clinician")
    code, text = _import(tmp_path, other_lot + k2)
    assert code == 1, text
    assert "line 2: idempotency_key='k'" in text and "lot differs" in text, text
    assert "line 4: idempotency_key='k2'" in text and "source differs" in text, text
    assert Dose.objects.count() == 1


def test_identical_repeats_are_still_silent_skips(world: Any, tmp_path: Path) -> None:
    when = _when(3)
    body = _row(world, "same", when=when) + _row(world, "same", when=when) + _row(world, "b", when=_when(1))
    code, text = _import(tmp_path, body)
    assert code == 0 and "created 2, skipped 1, rejected 0" in text, text
    code, text = _import(tmp_path, body)  # re-run: idempotent
    assert code == 0 and "created 0, skipped 3, rejected 0" in text, text
    assert Dose.objects.count() == 2


def test_the_api_and_the_importer_use_one_rule(world: Any, tmp_path: Path) -> None:
    """A dose stored through the API, then imported with another amount under the same key: both refuse it."""
    when = _when(3)
    body = {"lot_id": world.leaf_cert_lot.pk, "taken_at": when, "amount": 1, "unit": "g", "idempotency_key": "api-1"}
    assert call(world, "alice", "post", "/patients/P-001/doses", body)[0] == 201
    status, payload = call(world, "alice", "post", "/patients/P-001/doses", {**body, "amount": 2})
    assert status == 409, payload
    assert_error(payload, "conflict", "idempotency_key")
    assert "(amount differs)" in payload["error"]["message"], payload
    code, text = _import(tmp_path, _row(world, "api-1", when=when, amount=2, source="self_report"))
    assert code == 1 and "amount differs" in text, text
    code, text = _import(tmp_path, _row(world, "api-1", when=when, source="self_report"))
    assert code == 0 and "created 0, skipped 1" in text, text
    stored = Dose.objects.get(idempotency_key="api-1")
    assert validation.dose_differences(validation.dose_content(stored), validation.dose_content(stored)) == []


def test_the_comparison_with_the_database_is_one_query_per_chunk(world: Any, system: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    start = timezone.now() - dt.timedelta(hours=20)
    rows = [
        (
            i,
            actions.DoseIn(
                patient_code="P-001",
                lot_id=world.leaf_cert_lot.pk,
                taken_at=start + dt.timedelta(seconds=i),
                amount=1,
                unit="g",
                source="import",
                idempotency_key=f"n-{i}",
            ),
        )
        for i in range(2000)
    ]
    assert actions.import_doses(actor=system, rows=rows).created == 2000
    with CaptureQueriesContext(connection) as queries:
        result = actions.import_doses(actor=system, rows=rows)
    assert (result.created, result.skipped, result.rejected) == (0, 2000, [])
    reads = [q["sql"] for q in queries.captured_queries if '"records_dose"' in q["sql"] and "SELECT" in q["sql"]]
    assert len(reads) == 3, reads  # 2000 keys in chunks of 900


def test_rows_of_patients_without_active_care_consent_are_written_with_a_warning(
    world: Any, tmp_path: Path, system: Any
) -> None:
    from kratomwatch.consent import actions as consent_actions
    from kratomwatch.consent.models import ConsentRecord

    record = ConsentRecord.objects.get(patient=world.patient, scope="care", withdrawn_at__isnull=True)
    consent_actions.withdraw(actor=system, patient=world.patient, scope="care")
    assert not ConsentRecord.objects.filter(pk=record.pk, withdrawn_at__isnull=True).exists()
    code, text = _import(tmp_path, _row(world, "h1", when=_when(3)) + _row(world, "h2", when=_when(2)))
    assert code == 0, text
    assert "warning: 2 rows concern patients whose care consent is not active: P-001" in text, text
    assert "created 2" in text and Dose.objects.count() == 2
    event = AuditEvent.objects.filter(action="dose.import").latest("id")
    assert event.detail["rows_without_care_consent"] == 2
    assert event.detail["patients_without_care_consent"] == ["P-001"]


def test_no_warning_when_care_consent_is_active(world: Any, tmp_path: Path) -> None:
    code, text = _import(tmp_path, _row(world, "c1"))
    assert code == 0 and "warning" not in text, text
    event = AuditEvent.objects.filter(action="dose.import").latest("id")
    assert event.detail["rows_without_care_consent"] == 0


# --- the registry loader (records.bulk) applies the same edges: no NUL in a key, no day before the birth year ------


@pytest.mark.parametrize("what", ["nul", "before_birth"])
def test_the_registry_loader_refuses_a_nul_key_and_a_day_before_birth(db: Any, system: Any, what: str) -> None:
    import numpy as np
    from benchmarks import generate

    from kratomwatch.core.errors import InputError
    from kratomwatch.records import bulk
    from kratomwatch.records.models import Patient

    reg = generate.make_registry(actor=system, patients=3, days=5, seed=7, slug="bulk")
    cols = {
        k: v.to_numpy().copy() if hasattr(v, "to_numpy") else np.array(v, copy=True) for k, v in reg.columns.items()
    }
    if what == "nul":
        cols["idempotency_key"] = cols["idempotency_key"].astype(object)
        cols["idempotency_key"][4] = "k\x00x"
        field = "idempotency_key"
    else:
        Patient.objects.filter(pk=int(cols["patient_id"][4])).update(birth_year=reg.start.year + 1)
        field = "local_date"
    with pytest.raises(InputError) as info:
        bulk.load_dose_columns(actor=system, columns=cols)
    assert info.value.field == field, info.value.message
    assert "row" in info.value.message
    assert Dose.objects.count() == 0
