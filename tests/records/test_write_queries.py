"""The number of SQL statements of one dose write, and which tables it reads: a regression guard on write throughput.

A dose POST costs Python CPU per statement (building and compiling each ORM query), so the count is the write's
cost. The bounds are the measured counts plus a little slack, so a per-rule or per-family query coming back (the
full alert evaluation reads 5 more families), a second chain-head read per audit append or an extra read before
the insert fails here. See benchmarks/README.md for the profile.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kratomwatch.audit.log import Actor, verify_chain
from kratomwatch.audit.models import AuditEvent
from kratomwatch.records import actions
from kratomwatch.records.models import Dose

pytestmark = pytest.mark.django_db

#: Statements that do work (transaction control aside: SAVEPOINT, RELEASE, BEGIN, COMMIT depend on the caller's
#: transaction). Measured: 14 (action) and 20 (API) on SQLite, 16 and 23 on PostgreSQL, which adds an advisory lock
#: per chain append and the daily row's per-patient lock. Before the restricted evaluation the action took 22 on
#: SQLite; before the open and resolved alerts were one read, 15.
ACTION_MAX = {"sqlite": 15, "postgresql": 17}
API_MAX = {"sqlite": 21, "postgresql": 24}
CONTROL = re.compile(r"^\s*(SAVEPOINT|RELEASE|BEGIN|COMMIT|ROLLBACK)\b", re.IGNORECASE)
#: Tables of the data families no rule that reads doses needs (assessments, pain, labs, adverse events, schedules).
NOT_READ_ON_A_DOSE = ("assessments_assessment", "assessments_schedule", "records_labresult", "records_adverseevent")


def _statements(captured: CaptureQueriesContext) -> list[str]:
    """The statements that do work (not transaction control)."""
    return [q["sql"] for q in captured.captured_queries if not CONTROL.match(q["sql"])]


def _reads(statements: list[str], table: str) -> list[str]:
    return [s for s in statements if re.search(rf'\b"?{table}"?\b', s)]


def _dose(w: Any, key: str, minutes_ago: int = 30) -> actions.DoseIn:
    taken = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return actions.DoseIn(w.patient.code, w.leaf_cert_lot.pk, taken, 2.0, "g", idempotency_key=key)


def test_a_dose_write_runs_a_bounded_number_of_statements_and_reads_only_the_dose_families(world: Any) -> None:
    w = world
    actor = Actor.system("test")
    actions.record_dose(actor=actor, patient=w.patient, dose=_dose(w, "warm", 90))  # first-use costs aside
    with CaptureQueriesContext(connection) as captured:
        _, created = actions.record_dose(actor=actor, patient=w.patient, dose=_dose(w, "measured"))
    assert created
    statements = _statements(captured)
    assert len(statements) <= ACTION_MAX[connection.vendor], "\n".join(statements)
    for table in NOT_READ_ON_A_DOSE:
        assert not _reads(statements, table), f"a dose write read {table}: a non-dose rule was evaluated"
    # The chain head (last hash and last checkpoint) is one statement per append.
    assert len(_reads(statements, "audit_auditcheckpoint")) == 1
    assert len(_reads(statements, "records_dose")) <= 4  # the insert, the daily upsert and delete, the window read
    # The dose rules' open and resolved alerts are one read.
    assert len([s for s in _reads(statements, "alerts_alert") if s.lstrip().upper().startswith("SELECT")]) == 1


def test_a_repeat_of_the_key_reads_the_stored_dose_and_evaluates_nothing(world: Any) -> None:
    w = world
    actor = Actor.system("test")
    dose = _dose(w, "same")
    first, created = actions.record_dose(actor=actor, patient=w.patient, dose=dose)
    assert created
    with CaptureQueriesContext(connection) as captured:
        again, created = actions.record_dose(actor=actor, patient=w.patient, dose=dose)
    assert not created and again.pk == first.pk
    statements = _statements(captured)
    assert not _reads(statements, "alerts_alert"), "a repeat changes no input: no alert evaluation"
    assert not _reads(statements, "audit_auditevent")
    assert Dose.objects.filter(patient=w.patient, idempotency_key="same").count() == 1


def test_the_dose_post_is_bounded_and_still_audits_the_access_and_the_write(world: Any) -> None:
    w = world
    client = Client(HTTP_AUTHORIZATION=f"Bearer {w.tokens['alice']}")

    def post(key: str) -> Any:
        body = {
            "lot_id": w.leaf_cert_lot.pk,
            "taken_at": (timezone.now() - dt.timedelta(minutes=5)).isoformat(),
            "amount": 1.0,
            "unit": "g",
            "idempotency_key": key,
        }
        return client.post(
            f"/api/v1/patients/{w.patient.code}/doses", json.dumps(body), content_type="application/json"
        )

    assert post("api-warm").status_code == 201
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with CaptureQueriesContext(connection) as captured:
        response = post("api-measured")
    assert response.status_code == 201, response.content
    statements = _statements(captured)
    assert len(statements) <= API_MAX[connection.vendor], "\n".join(statements)
    events = list(AuditEvent.objects.filter(id__gt=before).order_by("id").values_list("action", "patient_code"))
    assert events == [("patient.read.write", w.patient.code), ("dose.create", w.patient.code)]
    assert verify_chain().ok


@pytest.mark.parametrize("refusal", ["unknown lot", "consent withdrawn", "conflicting repeat"])
def test_a_refused_dose_post_keeps_its_audited_access_and_saves_nothing(world: Any, refusal: str) -> None:
    """On SQLite the access event is appended in the write's transaction: a refusal rolls both back, and the
    access is then recorded again on its own (on PostgreSQL it has its own transaction from the start)."""
    from kratomwatch.consent import actions as consent_actions

    w = world
    client = Client(HTTP_AUTHORIZATION=f"Bearer {w.tokens['alice']}")
    body = {
        "lot_id": w.leaf_cert_lot.pk,
        "taken_at": (timezone.now() - dt.timedelta(minutes=5)).isoformat(),
        "amount": 1.0,
        "unit": "g",
        "idempotency_key": "refused",
    }
    url = f"/api/v1/patients/{w.patient.code}/doses"
    if refusal == "unknown lot":
        body["lot_id"] = 2**31 - 1
    elif refusal == "consent withdrawn":
        consent_actions.withdraw(actor=Actor.system("test"), patient=w.patient, scope="care")
    else:
        first = client.post(url, json.dumps(body), content_type="application/json")
        assert first.status_code == 201
        body["amount"] = 3.0
    doses = Dose.objects.count()
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = client.post(url, json.dumps(body), content_type="application/json")
    assert 400 <= response.status_code < 500, response.content
    assert Dose.objects.count() == doses
    events = list(AuditEvent.objects.filter(id__gt=before).order_by("id").values_list("action", "patient_code"))
    assert events == [("patient.read.write", w.patient.code)]
    assert verify_chain().ok
