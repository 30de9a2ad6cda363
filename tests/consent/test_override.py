"""D6: a clinician's override of a withdrawn care consent is documented (grounds and a reason), limited in time and
in number, covers the care team's recording only, is shown to the patient, and is audited with its end."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kratomwatch.accounts.program_settings import consent_override_policy
from kratomwatch.audit.models import AuditEvent
from kratomwatch.consent import actions, status
from kratomwatch.consent.models import CareOverride, ConsentDocument, ConsentRecord, OverrideGrounds
from kratomwatch.core.errors import Conflict, InputError
from kratomwatch.records.models import AdverseEvent, Dose, Patient
from kratomwatch.web.templatetags.kwtime import local
from tests.helpers import api

pytestmark = pytest.mark.django_db

REASON = "Open urgent alert: escalating doses with withdrawal symptoms; monitoring until the review on Friday"
P = "/clinic/patients/P-001/"


def _dose(world: Any, minutes_ago: int) -> dict[str, Any]:
    taken = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return {"lot_id": world.leaf_cert_lot.pk, "taken_at": taken.isoformat(), "amount": 2, "unit": "g"}


def _override(world: Any, system: Any, now: dt.datetime | None = None, grounds: str = "clinical_safety") -> Any:
    return actions.override_care_consent(
        actor=system, patient=world.patient, clinician=world.alice, grounds=grounds, reason=REASON, now=now
    )


def _resign(world: Any, system: Any) -> None:
    doc = ConsentDocument.objects.filter(program=world.program).order_by("-version").first()
    actions.sign(actor=system, patient=world.patient, document=doc, scopes=["care"], typed_name="Carol Example")


def test_review_reproduction_override_after_withdrawal(world: Any) -> None:
    """The review's steps: the patient withdraws; the clinician overrides; who may record what, and for how long."""
    assert api(world, "carol", "post", "/patients/P-001/consent/withdraw", {"scope": "care"}).status_code == 200
    state = api(world, "alice", "get", "/patients/P-001/consent").json()["care"]
    assert state["state"] == "withdrawn" and state["withdrawn_at"] and state["override"] is None

    # The review's request (no grounds) and a reason too short are refused with 400 naming the field.
    bare = api(
        world, "alice", "post", "/patients/P-001/consent/override", {"reason": "clinician override after withdrawal"}
    )
    assert bare.status_code in (400, 422) and "grounds" in bare.content.decode()
    short = api(
        world, "alice", "post", "/patients/P-001/consent/override", {"grounds": "legal_obligation", "reason": "x" * 19}
    )
    assert short.status_code == 400 and short.json()["error"]["field"] == "reason"
    pending = {"grounds": "awaiting_signature", "reason": REASON}
    after_withdrawal = api(world, "alice", "post", "/patients/P-001/consent/override", pending)
    assert after_withdrawal.status_code == 400 and after_withdrawal.json()["error"]["field"] == "grounds"
    assert not CareOverride.objects.exists()

    before = timezone.now()
    made = api(
        world, "alice", "post", "/patients/P-001/consent/override", {"grounds": "clinical_safety", "reason": REASON}
    )
    assert made.status_code == 201, made.content
    body = made.json()
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert before + dt.timedelta(hours=72) <= expires <= timezone.now() + dt.timedelta(hours=72)
    assert body["clinician_role"] == "clinician" and body["grounds"] == "clinical_safety"

    # The care team records; the patient's own self-reports stay refused with the consent message.
    assert api(world, "alice", "post", "/patients/P-001/doses", _dose(world, 30)).status_code == 201
    for path, payload in (
        ("/patients/P-001/doses", _dose(world, 20)),
        (
            "/patients/P-001/adverse-events",
            {"term": "Nausea", "onset": world.patient.local_today().isoformat(), "grade": 1},
        ),
    ):
        own = api(world, "carol", "post", path, payload)
        assert own.status_code == 403 and own.json()["error"]["code"] == "consent_required", path
        assert "care team" in own.json()["error"]["message"]
    assert Dose.objects.filter(patient=world.patient).count() == 1
    assert not AdverseEvent.objects.filter(patient=world.patient).exists()

    # No stacking: a second override is refused with 409 naming the active one's expiry.
    again = api(
        world, "alice", "post", "/patients/P-001/consent/override", {"grounds": "legal_obligation", "reason": REASON}
    )
    assert again.status_code == 409 and body["expires_at"][:16] in again.json()["error"]["message"]
    assert CareOverride.objects.count() == 1

    # Both sides see the state and the override (role, never a name).
    for who in ("alice", "carol"):
        care = api(world, who, "get", "/patients/P-001/consent").json()["care"]
        assert care["state"] == "withdrawn_with_override" and care["override"]["reason"] == REASON
        assert care["override"]["clinician_role"] == "clinician" and "alice" not in str(care)
        assert care["overrides_used"] == 1 and care["overrides_allowed"] == 1


def test_an_override_is_limited_per_withdrawal_and_resets_when_the_patient_consents_again(
    world: Any, system: Any
) -> None:
    now = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
    actions.withdraw(actor=system, patient=world.patient, scope="care", now=now - dt.timedelta(hours=1))
    first = _override(world, system, now)
    assert first.expires_at == now + dt.timedelta(hours=72)
    assert status.care_allowed(world.patient, now + dt.timedelta(hours=71, minutes=59), care_team=True)
    later = now + dt.timedelta(hours=72)
    assert not status.care_allowed(world.patient, later, care_team=True)
    assert status.care_state(world.patient, later).state == status.WITHDRAWN
    with pytest.raises(Conflict) as used:
        _override(world, system, later)
    assert "must consent again" in used.value.message
    first.refresh_from_db()
    assert first.ended_at is None, "a refused request writes nothing"

    # The patient consents again (which records the lapse of the first, once), then withdraws again: a new gap
    # allows one new override.
    _resign(world, system)
    first.refresh_from_db()
    assert first.ended_at == first.expires_at and first.end_reason == "expired"
    ends = AuditEvent.objects.filter(action="consent.override.end", object_id=str(first.pk))
    assert [e.detail["reason"] for e in ends] == ["expired"]
    assert status.care_state(world.patient).state == status.ACTIVE
    with pytest.raises(Conflict) as needless:
        _override(world, system)
    assert "no override is needed" in needless.value.message
    actions.withdraw(actor=system, patient=world.patient, scope="care")
    second = _override(world, system)
    assert second.withdrawal is not None and second.withdrawal != first.withdrawal


def test_the_program_may_allow_more_overrides_and_another_duration_within_a_ceiling(
    world: Any, system: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KRATOMWATCH_CONSENT_OVERRIDE_HOURS", "24")
    monkeypatch.setenv("KRATOMWATCH_CONSENT_OVERRIDES_PER_WITHDRAWAL", "2")
    now = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
    actions.withdraw(actor=system, patient=world.patient, scope="care", now=now - dt.timedelta(hours=1))
    assert _override(world, system, now).expires_at == now + dt.timedelta(hours=24)
    assert _override(world, system, now + dt.timedelta(hours=25)).expires_at == now + dt.timedelta(hours=49)
    with pytest.raises(Conflict):
        _override(world, system, now + dt.timedelta(hours=50))
    for variable, value in (
        ("KRATOMWATCH_CONSENT_OVERRIDE_HOURS", "169"),
        ("KRATOMWATCH_CONSENT_OVERRIDES_PER_WITHDRAWAL", "4"),
    ):
        with pytest.raises(InputError) as ceiling:
            consent_override_policy(environ={variable: value})
        assert ceiling.value.field == variable
    assert consent_override_policy(environ={}).hours == 72 and consent_override_policy(environ={}).per_withdrawal == 1


def test_signing_again_ends_the_override_and_the_end_is_audited(world: Any, system: Any) -> None:
    actions.withdraw(actor=system, patient=world.patient, scope="care")
    item = _override(world, system)
    made = AuditEvent.objects.get(action="consent.override", object_id=str(item.pk))
    assert made.detail["grounds"] == "clinical_safety" and made.detail["reason"] == REASON
    assert made.detail["expires_at"] == item.expires_at.isoformat() and made.detail["after_withdrawal_at"]
    _resign(world, system)
    item.refresh_from_db()
    assert item.end_reason == "consented" and item.ended_at is not None and item.ended_at < item.expires_at
    end = AuditEvent.objects.get(action="consent.override.end", object_id=str(item.pk))
    assert end.detail["reason"] == "consented"


def test_the_daily_closing_records_each_lapse_once(world: Any, system: Any) -> None:
    now = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
    actions.withdraw(actor=system, patient=world.patient, scope="care", now=now - dt.timedelta(hours=1))
    item = _override(world, system, now)
    assert actions.close_lapsed_overrides(actor=system, now=now + dt.timedelta(hours=71)) == 0
    assert actions.close_lapsed_overrides(actor=system, now=now + dt.timedelta(hours=73)) == 1
    assert actions.close_lapsed_overrides(actor=system, now=now + dt.timedelta(hours=74)) == 0
    assert AuditEvent.objects.filter(action="consent.override.end", object_id=str(item.pk)).count() == 1


def test_the_daily_sweep_task_records_a_lapsed_override(world: Any, system: Any) -> None:
    from kratomwatch.jobs import tasks

    now = timezone.now()
    actions.withdraw(actor=system, patient=world.patient, scope="care", now=now - dt.timedelta(hours=80))
    item = _override(world, system, now - dt.timedelta(hours=79))
    assert item.ended_at is None and item.expires_at < now
    result = tasks.registry_sweep.call()
    item.refresh_from_db()
    assert result["consent_overrides_closed"] == 1 and item.end_reason == "expired" and item.ended_at is not None
    assert AuditEvent.objects.filter(action="consent.override.end", object_id=str(item.pk)).count() == 1


def test_states_never_consented_active_withdrawn(world: Any, system: Any) -> None:
    assert status.care_state(world.patient).state == status.ACTIVE
    ConsentRecord.objects.filter(patient=world.patient).delete()
    assert status.care_state(world.patient).state == status.NEVER_CONSENTED
    pending = _override(world, system, grounds="awaiting_signature")
    assert pending.withdrawal is None
    assert status.care_state(world.patient).state == status.NEVER_CONSENTED_WITH_OVERRIDE
    # An override given before any withdrawal never covers a later withdrawal.
    _resign(world, system)
    actions.withdraw(actor=system, patient=world.patient, scope="care")
    stale = CareOverride.objects.create(
        patient=world.patient,
        clinician=world.alice,
        grounds=OverrideGrounds.UNSTATED,
        reason="recorded before grounds were required",
        created_at=timezone.now() - dt.timedelta(hours=1),
        expires_at=timezone.now() + dt.timedelta(days=29),
    )
    assert stale.withdrawal is None
    assert status.care_state(world.patient).state == status.WITHDRAWN
    assert not status.care_allowed(world.patient, care_team=True)


def test_an_override_never_covers_research(world: Any, system: Any) -> None:
    actions.withdraw(actor=system, patient=world.patient, scope="care")
    actions.withdraw(actor=system, patient=world.patient, scope="research")
    _override(world, system)
    assert world.patient not in status.with_active_scope(Patient.objects.all(), "research")


def test_patient_consent_page_shows_the_override(world: Any, system: Any) -> None:
    actions.withdraw(actor=system, patient=world.patient, scope="care")
    item = _override(world, system)
    client = Client()
    client.force_login(world.carol)
    page = client.get("/consent/P-001/").content.decode()
    assert 'id="care-override"' in page and "A clinician of your care team" in page
    assert OverrideGrounds.CLINICAL_SAFETY.label in page and REASON in page
    assert local(item.expires_at, world.patient.time_zone) in page, "until when, in the patient's zone"
    assert "alice" not in page.lower()
    assert "withdrawn on" in page
    # The patient's own forms stay closed: the care-needed page, and nothing saved.
    refused = client.post("/me/dose/", {"lot_id": world.leaf_cert_lot.pk, "amount": "2", "unit": "g", "form": "other"})
    assert refused.status_code == 403 and "Your consent for care is needed" in refused.content.decode()
    assert 'id="override-note"' in client.get("/me/dose/").content.decode()
    assert not Dose.objects.filter(patient=world.patient).exists()


def test_clinician_override_page_uses_the_same_rules(world: Any, system: Any) -> None:
    actions.withdraw(actor=system, patient=world.patient, scope="care")
    client = Client()
    client.force_login(world.alice)
    form = client.get(P + "consent-override/?next=" + P + "medications/new/")
    assert form.status_code == 200 and 'name="grounds"' in form.content.decode()
    assert 'value="awaiting_signature"' not in form.content.decode(), "not a ground after a withdrawal"
    bare = client.post(P + "consent-override/", {"reason": REASON})
    assert bare.status_code == 400 and "Choose the grounds" in bare.content.decode()
    short = client.post(P + "consent-override/", {"grounds": "clinical_safety", "reason": "too short"})
    assert short.status_code == 400 and "at least 20 characters" in short.content.decode()
    assert not CareOverride.objects.exists()
    done = client.post(P + "consent-override/", {"grounds": "clinical_safety", "reason": REASON, "next": P})
    assert done.status_code == 302 and done["Location"] == P
    assert client.post(P + "medications/new/", {"name": "tramadol", "action": "save"}).status_code == 302
    item = CareOverride.objects.get()
    again = client.post(P + "consent-override/", {"grounds": "legal_obligation", "reason": REASON})
    text = again.content.decode()
    assert again.status_code == 409 and "already active until" in text
    assert local(item.expires_at, world.patient.time_zone) in text
    assert CareOverride.objects.count() == 1
    assert Client().get(P + "consent-override/").status_code == 302  # anonymous: the login page
    bob = Client()
    bob.force_login(world.bob)
    assert bob.post(P + "consent-override/", {"grounds": "clinical_safety", "reason": REASON}).status_code == 404
