"""Consent: versioned documents, typed-name signature with a frozen PDF, withdrawal, re-consent, research scope."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from django.test import Client

from kratomwatch.consent import actions, status
from kratomwatch.consent.models import ConsentDocument, ConsentRecord
from kratomwatch.core.errors import InputError
from kratomwatch.records.models import Patient
from tests.helpers import api

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_consent")]
BODY = "We record your kratom use, medications and questionnaires to monitor benefits and harms."


@pytest.fixture
def no_consent(world: Any) -> None:
    """These tests start from a program with no consent document (the shared fixture signs one)."""
    ConsentRecord.objects.all().delete()
    ConsentDocument.objects.all().delete()


@pytest.fixture
def doc(world: Any, system: Any) -> Any:
    return actions.publish_document(
        actor=system, program=world.program, title="Monitoring consent", body=BODY, scopes=["care", "research"]
    )


def test_sign_stores_a_frozen_pdf_and_activates_scopes(world: Any, system: Any, doc: Any) -> None:
    records = actions.sign(
        actor=system, patient=world.patient, document=doc, scopes=["care"], typed_name="  Carol   Example "
    )
    assert len(records) == 1 and records[0].signed_name == "Carol Example"
    pdf = bytes(records[0].pdf)
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == records[0].pdf_sha256
    assert status.has_active(world.patient, "care") and not status.has_active(world.patient, "research")


def test_new_version_asks_for_reconsent(world: Any, system: Any, doc: Any) -> None:
    actions.sign(actor=system, patient=world.patient, document=doc, scopes=["care", "research"], typed_name="Carol")
    assert not any(s.needs_reconsent for s in status.scope_status(world.patient))
    v2 = actions.publish_document(
        actor=system, program=world.program, title="Monitoring consent", body=BODY + " v2", scopes=["care", "research"]
    )
    assert v2.version == 2
    assert all(s.needs_reconsent and s.active for s in status.scope_status(world.patient))
    with pytest.raises(InputError) as info:
        actions.sign(actor=system, patient=world.patient, document=doc, scopes=["care"], typed_name="Carol")
    assert info.value.field == "document_id"


def test_withdrawal_removes_patient_from_research_scope(world: Any, system: Any, doc: Any) -> None:
    actions.sign(actor=system, patient=world.patient, document=doc, scopes=["care", "research"], typed_name="Carol")
    assert list(status.with_active_scope(Patient.objects.all(), "research")) == [world.patient]
    actions.withdraw(actor=system, patient=world.patient, scope="research")
    assert list(status.with_active_scope(Patient.objects.all(), "research")) == []
    assert status.has_active(world.patient, "care")
    with pytest.raises(InputError) as info:
        actions.withdraw(actor=system, patient=world.patient, scope="research")
    assert info.value.field == "scope"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["marketing"]}, "scopes"),
        ({"scopes": ["data_sharing"]}, "scopes"),
        ({"typed_name": " "}, "typed_name"),
    ],
)
def test_bad_signatures_write_nothing(world: Any, system: Any, doc: Any, kwargs: dict[str, Any], field: str) -> None:
    base = {"scopes": ["care"], "typed_name": "Carol"}
    with pytest.raises(InputError) as info:
        actions.sign(actor=system, patient=world.patient, document=doc, **(base | kwargs))
    assert info.value.field == field
    assert ConsentRecord.objects.count() == 0


def test_override_is_documented_and_expires(world: Any, system: Any) -> None:
    now = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    assert not status.care_allowed(world.patient, now, care_team=True)
    with pytest.raises(InputError) as short:
        actions.override_care_consent(
            actor=system, patient=world.patient, clinician=world.alice, grounds="awaiting_signature", reason="x"
        )
    assert short.value.field == "reason"
    actions.override_care_consent(
        actor=system,
        patient=world.patient,
        clinician=world.alice,
        grounds="awaiting_signature",
        reason="Acute withdrawal visit; consent discussion scheduled",
        now=now,
    )
    assert status.care_allowed(world.patient, now + dt.timedelta(hours=71), care_team=True)
    assert not status.care_allowed(world.patient, now + dt.timedelta(hours=71)), "never the patient's self-report"
    assert not status.care_allowed(world.patient, now + dt.timedelta(hours=72), care_team=True)


def test_api_patient_signs_and_withdraws_clinician_cannot_sign(world: Any, doc: Any) -> None:
    body = {"document_id": doc.pk, "scopes": ["care", "research"], "typed_name": "Carol Example"}
    assert api(world, "alice", "post", "/patients/P-001/consent/sign", body).status_code == 403
    assert api(world, "bob", "get", "/patients/P-001/consent").status_code == 404
    signed = api(world, "carol", "post", "/patients/P-001/consent/sign", body)
    assert signed.status_code == 201
    scopes = {s["scope"]: s for s in signed.json()["scopes"]}
    assert scopes["research"]["active"] and scopes["care"]["signed_version"] == 1
    pdf = api(world, "alice", "get", f"/patients/P-001/consent/records/{scopes['care']['record_id']}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    out = api(world, "carol", "post", "/patients/P-001/consent/withdraw", {"scope": "research"})
    assert out.status_code == 200
    assert {s["scope"]: s["active"] for s in out.json()["scopes"]} == {"care": True, "research": False}
    bad = api(world, "carol", "post", "/patients/P-001/consent/withdraw", {"scope": "research"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "scope"


def test_program_admin_publishes_clinician_cannot(world: Any) -> None:
    body = {"title": "Consent", "body": BODY, "scopes": ["care"]}
    assert api(world, "alice", "post", f"/programs/{world.program.pk}/consent-documents", body).status_code == 403
    made = api(world, "pa", "post", f"/programs/{world.program.pk}/consent-documents", body)
    assert made.status_code == 201 and made.json()["version"] == 1
    bad = api(world, "pa", "post", f"/programs/{world.program.pk}/consent-documents", body | {"scopes": ["spam"]})
    assert bad.status_code == 422


def test_consent_web_page_sign_flow(world: Any, doc: Any) -> None:
    client = Client()
    client.force_login(world.carol)
    page = client.get("/consent/P-001/")
    assert page.status_code == 200 and b"Monitoring consent" in page.content
    client.post("/consent/P-001/", {"action": "sign", "scopes": ["care"], "typed_name": "Carol Example"})
    assert status.has_active(world.patient, "care")
    foreign = Client()
    foreign.force_login(world.bob)
    assert foreign.get("/consent/P-001/").status_code == 404
