"""Correction pages (Django test client): the care team corrects or voids with a reason and sees both versions;
a patient undoes their own dose within the window; a repeated dose form is recognised and the patient is asked;
the API endpoints with the one error shape."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kratomwatch.accounts.actions import create_user, issue_token
from kratomwatch.audit.models import AuditEvent
from kratomwatch.records import actions, corrections
from kratomwatch.records.models import AdverseEvent, DailyExposure, Dose, LabResult, Medication, Patient
from tests.helpers import api

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _enrolled_last_month(world: Any) -> None:
    Patient.objects.filter(pk=world.patient.pk).update(created_at=timezone.now() - dt.timedelta(days=30))
    world.patient.refresh_from_db()


def _login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _dose(world: Any, actor: Any, *, key: str = "d1", minutes_ago: int = 60, amount: float = 3.0) -> Dose:
    dose, _ = actions.record_dose(
        actor=actor,
        patient=world.patient,
        dose=actions.DoseIn(
            "P-001",
            world.leaf_cert_lot.pk,
            timezone.now() - dt.timedelta(minutes=minutes_ago),
            amount,
            "g",
            idempotency_key=key,
        ),
    )
    return dose


def _url(name: str, kind: str, pk: int, code: str = "P-001") -> str:
    return reverse(name, kwargs={"code": code, "kind_slug": kind, "pk": pk})


def _researcher(world: Any, system: Any) -> Any:
    user, _ = create_user(
        actor=system, username="res", password="correct-horse-battery-9", role="researcher", program_slug="pain"
    )
    return user


# --- the clinician corrects and voids ----------------------------------------------------------------------------


def test_clinician_corrects_a_dose_with_a_reason_and_sees_both_versions(world: Any, system: Any) -> None:
    dose = _dose(world, system)
    client = _login(world.alice)
    page = client.get(_url("clinic-entry-correct", "dose", dose.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert "The entry as recorded" in html and "America/Chicago" in html
    local = dose.taken_at.astimezone(dt.timezone(dt.timedelta(hours=-6)))
    assert f'value="{local:%Y-%m-%dT%H:%M}"' in html, "the form shows the time in the patient's zone"
    response = client.post(
        _url("clinic-entry-correct", "dose", dose.pk),
        {
            "lot_id": world.leaf_cert_lot.pk,
            "amount": "2",
            "unit": "g",
            "taken_at": f"{local:%Y-%m-%dT%H:%M}",
            "reason": "Patient said 2 g, not 3",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("#h-entries")
    dose.refresh_from_db()
    fixed = Dose.objects.get(corrects=dose)
    assert dose.voided_at is not None and fixed.amount == 2.0 and fixed.taken_at == dose.taken_at
    assert DailyExposure.objects.get(patient=world.patient, day=fixed.local_date).mitragynine_mg == pytest.approx(30.0)
    page = client.get(reverse("clinic-patient", kwargs={"code": "P-001"})).content.decode()
    row = page.split(f'id="entry-dose-{dose.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "<del>" in row and "by alice: Patient said 2 g, not 3" in row and re.search(r"C[SD]T by alice", row)
    new_row = page.split(f'id="entry-dose-{fixed.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "corrects entry of" in new_row and "<del>" not in new_row
    changes = page.split('id="h-changes"', 1)[1]
    assert f"Dose {dose.pk} corrected; replaced by dose {fixed.pk}" in changes and "Patient said 2 g, not 3" in changes
    assert f"Dose {fixed.pk} entered" in changes and re.search(r"C[SD]T</td><td>alice</td>", changes)


def test_a_correction_without_a_reason_shows_the_error_and_saves_nothing(world: Any, system: Any) -> None:
    dose = _dose(world, system)
    response = _login(world.alice).post(
        _url("clinic-entry-correct", "dose", dose.pk),
        {"lot_id": world.leaf_cert_lot.pk, "amount": "-1", "unit": "g", "taken_at": "2026-11-30T10:00", "reason": " "},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Give a reason for the correction" in html
    assert "The amount must be a number greater than zero." in html
    assert 'aria-invalid="true"' in html and "taken_at" not in html.split("<form", 1)[1].split("name=", 1)[0]
    assert Dose.objects.filter(patient=world.patient).count() == 1
    assert Dose.objects.get(pk=dose.pk).voided_at is None


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("medication", lambda w, s: actions.record_medication(actor=s, patient=w.patient, name="Sertraline")),
        (
            "lab",
            lambda w, s: actions.record_lab(
                actor=s,
                patient=w.patient,
                test="alt",
                value=90.0,
                unit="U/L",
                upper_limit_normal=40.0,
                taken_at=timezone.now() - dt.timedelta(hours=2),
            ),
        ),
        (
            "adverse-event",
            lambda w, s: actions.record_adverse_event(
                actor=s, patient=w.patient, term="Nausea", onset=timezone.localdate(), grade=1
            ),
        ),
    ],
)
def test_clinician_voids_each_kind_and_it_stays_marked(world: Any, system: Any, kind: str, make: Any) -> None:
    entry = make(world, system)
    client = _login(world.alice)
    assert client.get(_url("clinic-entry-void", kind, entry.pk)).status_code == 200
    response = client.post(_url("clinic-entry-void", kind, entry.pk), {"reason": "Entered for the wrong patient"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.voided_at is not None and entry.void_reason == "Entered for the wrong patient"
    page = client.get(reverse("clinic-patient", kwargs={"code": "P-001"})).content.decode()
    assert f'id="entry-{kind}-{entry.pk}" class="voided"' in page
    again = client.post(_url("clinic-entry-void", kind, entry.pk), {"reason": "twice"})
    assert again.status_code == 400 and "already voided" in again.content.decode()


def test_clinician_corrects_a_lab_and_an_adverse_event(world: Any, system: Any) -> None:
    lab = actions.record_lab(
        actor=system,
        patient=world.patient,
        test="alt",
        value=400.0,
        unit="U/L",
        upper_limit_normal=40.0,
        taken_at=timezone.now() - dt.timedelta(hours=2),
    )
    client = _login(world.admin)
    form = client.get(_url("clinic-entry-correct", "lab", lab.pk)).content.decode()
    when = re.search(r'name="taken_at" value="([^"]+)"', form)
    assert when
    response = client.post(
        _url("clinic-entry-correct", "lab", lab.pk),
        {
            "test": "alt",
            "value": "40",
            "unit": "U/L",
            "upper_limit_normal": "40",
            "taken_at": when.group(1),
            "reason": "Typo",
        },
    )
    assert response.status_code == 302
    assert LabResult.objects.get(corrects=lab).value == 40.0
    ae = actions.record_adverse_event(
        actor=system, patient=world.patient, term="Nausea", onset=timezone.localdate(), grade=1
    )
    response = client.post(
        _url("clinic-entry-correct", "adverse-event", ae.pk),
        {
            "term": "Nausea",
            "onset": ae.onset.isoformat(),
            "grade": "3",
            "seriousness": ["hospitalization"],
            "outcome": "recovering",
            "causality": "possible",
            "action_taken": "kratom_reduced",
            "reason": "Admitted overnight",
        },
    )
    assert response.status_code == 302
    fixed = AdverseEvent.objects.get(corrects=ae)
    assert fixed.grade == 3 and fixed.seriousness == ["hospitalization"] and fixed.causality == "possible"


# --- who may -----------------------------------------------------------------------------------------------------


def test_permission_matrix(world: Any, system: Any) -> None:
    dose = _dose(world, system)
    med = actions.record_medication(actor=system, patient=world.patient, name="Sertraline")
    void = _url("clinic-entry-void", "dose", dose.pk)
    assert _login(_researcher(world, system)).post(void, {"reason": "x"}).status_code == 404, (
        "researchers see no record"
    )
    assert _login(world.bob).post(void, {"reason": "x"}).status_code == 404, "another clinic's patient"
    assert _login(world.carol).post(void, {"reason": "x"}).status_code == 403, "patients use their own undo"
    assert _login(world.alice).get(_url("clinic-entry-void", "dose", 999999)).status_code == 404
    assert _login(world.alice).get(_url("clinic-entry-void", "lab", dose.pk)).status_code == 404, "wrong kind"
    assert _login(world.alice).get(_url("clinic-entry-void", "prescription", dose.pk)).status_code == 404
    assert _login(world.alice).get(_url("clinic-entry-void", "medication", med.pk)).status_code == 200
    assert Dose.objects.get(pk=dose.pk).voided_at is None
    clinic_page = _login(world.alice).get(reverse("clinic-patient", kwargs={"code": "P-001"})).content.decode()
    assert "Changes to this record" in clinic_page


# --- the patient's undo and repeated forms -----------------------------------------------------------------------


def _quick_post(client: Client) -> tuple[dict[str, str], Any]:
    html = client.get(reverse("patient-dose")).content.decode()
    form = html.split('id="quick-form"', 1)[1].split("</form>", 1)[0]
    data = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))
    return data, client.post(reverse("patient-dose"), data)


def test_double_submit_creates_one_dose_and_the_patient_is_asked(world: Any, system: Any) -> None:
    _dose(world, actions_actor(world.carol), key="first")
    client = _login(world.carol)
    data, first = _quick_post(client)
    assert first.status_code == 302
    second = client.post(reverse("patient-dose"), data)  # double tap, or back button and submit again
    assert second.status_code == 302 and second["Location"].endswith("?repeat=1")
    assert Dose.objects.filter(patient=world.patient).count() == 2, "the seed and one new dose"
    page = client.get(second["Location"]).content.decode()
    saved = Dose.objects.get(idempotency_key=data["idempotency_key"])
    local = saved.created_at.astimezone(dt.timezone(dt.timedelta(hours=-6)))
    assert f"This dose was already saved at {local:%H:%M}." in page
    offer = page.split('id="repeat-form"', 1)[1].split("</form>", 1)[0]
    again = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', offer))
    assert again["idempotency_key"] != data["idempotency_key"], "the button submits a fresh key"
    assert client.post(reverse("patient-dose"), again).status_code == 302
    assert Dose.objects.filter(patient=world.patient).count() == 3, "asked and confirmed: a new dose"


def actions_actor(user: Any) -> Any:
    from kratomwatch.audit.log import Actor

    return Actor.of(user)


def test_patient_undoes_their_own_dose_within_the_window(world: Any) -> None:
    client = _login(world.carol)
    _, logged = _quick_post_first(world, client)
    dose = Dose.objects.filter(patient=world.patient).latest("id")
    page = client.get(logged["Location"]).content.decode()
    undo = reverse("patient-dose-undo", kwargs={"pk": dose.pk})
    assert f'href="{undo}"' in page, "the dose-logged page offers Undo"
    home = client.get(reverse("patient-home")).content.decode()
    assert f'href="{undo}"' in home, "so does the list on my page"
    missing = client.post(undo, {"reason": ""})
    assert missing.status_code == 400 and "Give a reason" in missing.content.decode()
    done = client.post(undo, {"reason": "I logged it by mistake"})
    assert done.status_code == 302
    dose.refresh_from_db()
    assert dose.voided_by == "carol" and dose.void_reason == "I logged it by mistake"
    home = client.get(reverse("patient-home")).content.decode()
    assert "<del>" in home and "Undone, not counted" in home
    assert not DailyExposure.objects.filter(patient=world.patient, day=dose.local_date).exists()


def _quick_post_first(world: Any, client: Client) -> tuple[dict[str, str], Any]:
    html = client.get(reverse("patient-dose")).content.decode()
    form = html.split('id="other-form"', 1)[1].split("</form>", 1)[0]
    key = re.search(r'name="idempotency_key" value="([^"]*)"', form)
    assert key
    data = {
        "form": "other",
        "idempotency_key": key.group(1),
        "lot_id": str(world.leaf_cert_lot.pk),
        "amount": "2",
        "unit": "g",
    }
    return data, client.post(reverse("patient-dose"), data)


def test_patient_undo_after_the_window_is_refused_in_plain_words(world: Any) -> None:
    dose = _dose(world, actions_actor(world.carol), key="old")
    Dose.objects.filter(pk=dose.pk).update(created_at=timezone.now() - dt.timedelta(minutes=45))
    client = _login(world.carol)
    undo = reverse("patient-dose-undo", kwargs={"pk": dose.pk})
    assert f'href="{undo}"' not in client.get(reverse("patient-home")).content.decode()
    response = client.post(undo, {"reason": "Wrong amount"})
    assert response.status_code == 403
    assert "within 30 minutes" in response.content.decode() and "ask your care team" in response.content.decode()
    assert Dose.objects.get(pk=dose.pk).voided_at is None
    other = _login(world.alice)
    assert other.get(undo).status_code == 404, "undo is the patient's own page"


# --- the API -----------------------------------------------------------------------------------------------------


def test_api_void_and_correct_with_the_error_shape(world: Any, system: Any) -> None:
    dose = _dose(world, system)
    missing = api(world, "alice", "post", f"/patients/P-001/dose/{dose.pk}/void", {"reason": ""})
    assert missing.status_code == 400
    assert missing.json() == {
        "error": {"code": "invalid", "message": "Give a reason for the correction", "field": "reason"}
    }
    assert api(world, "bob", "post", f"/patients/P-001/dose/{dose.pk}/void", {"reason": "x"}).status_code == 404
    unknown = api(world, "alice", "post", "/patients/P-001/dose/999999/void", {"reason": "x"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    wrong = api(world, "alice", "post", f"/patients/P-001/prescription/{dose.pk}/void", {"reason": "x"})
    assert wrong.status_code == 404 and wrong.json()["error"]["field"] == "kind"
    researcher = _researcher(world, system)
    token = issue_token(actor=system, user=researcher, name="t")
    world.tokens["res"] = token
    assert api(world, "res", "post", f"/patients/P-001/dose/{dose.pk}/void", {"reason": "x"}).status_code == 404
    fixed = api(
        world, "alice", "post", f"/patients/P-001/dose/{dose.pk}/correct", {"reason": "2 g", "values": {"amount": 2}}
    )
    assert fixed.status_code == 200, fixed.content
    body = fixed.json()
    assert body["id"] == dose.pk and body["void_reason"] == "2 g" and body["voided_by"] == "alice"
    replacement = Dose.objects.get(pk=body["replacement_id"])
    assert replacement.corrects_id == dose.pk and replacement.amount == 2.0
    listed = api(world, "alice", "get", "/patients/P-001/doses").json()["items"]
    assert [d["id"] for d in listed] == [replacement.pk] and listed[0]["corrects_id"] == dose.pk
    everything = api(world, "alice", "get", "/patients/P-001/doses?include_voided=true").json()["items"]
    marked = {d["id"]: d["void_reason"] for d in everything}
    assert marked == {replacement.pk: "", dose.pk: "2 g"}
    bad = api(
        world,
        "alice",
        "post",
        f"/patients/P-001/dose/{replacement.pk}/correct",
        {"reason": "r", "values": {"taken_at": "yesterday"}},
    )
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "taken_at"
    assert Dose.objects.get(pk=replacement.pk).voided_at is None
    assert AuditEvent.objects.filter(action="dose.correct", object_id=str(dose.pk)).count() == 1


def test_api_lists_of_medications_labs_and_adverse_events_hide_voided_unless_asked(world: Any, system: Any) -> None:
    med = actions.record_medication(actor=system, patient=world.patient, name="Sertraline")
    corrections.void_entry(actor=system, patient=world.patient, kind="medication", pk=med.pk, reason="never taken")
    assert api(world, "alice", "get", "/patients/P-001/medications").json()["items"] == []
    items = api(world, "alice", "get", "/patients/P-001/medications?include_voided=true").json()["items"]
    assert items[0]["void_reason"] == "never taken" and items[0]["voided_at"]
    assert Medication.objects.filter(pk=med.pk).exists()


def test_back_button_reloads_the_form_with_a_new_key_and_the_patient_is_asked(world: Any, system: Any) -> None:
    client = _login(world.carol)
    data, first = _quick_post_first(world, client)
    assert first.status_code == 302
    fresh, second = _quick_post_first(world, client)  # the form fetched again (back button), same entry
    assert fresh["idempotency_key"] != data["idempotency_key"]
    assert second.status_code == 302 and second["Location"].endswith("?repeat=1")
    assert Dose.objects.filter(patient=world.patient).count() == 1
    page = client.get(second["Location"]).content.decode()
    assert "This dose was already saved at" in page
    offer = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', page.split('id="repeat-form"', 1)[1]))
    assert offer["confirm_new"] == "1"
    assert client.post(reverse("patient-dose"), offer).status_code == 302
    assert Dose.objects.filter(patient=world.patient).count() == 2
    other_amount = dict(fresh, idempotency_key="web:another", amount="1")
    client.post(reverse("patient-dose"), other_amount)
    assert Dose.objects.filter(patient=world.patient).count() == 3, "a different amount is saved at once"


def test_the_same_product_and_amount_typed_for_another_time_is_a_new_dose(world: Any) -> None:
    client = _login(world.carol)
    _data, first = _quick_post_first(world, client)
    assert first.status_code == 302
    fresh, _ = _quick_post_first(world, client)  # asked, not saved
    zone = ZoneInfo(world.patient.time_zone)
    earlier = (timezone.now() - dt.timedelta(hours=3)).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    later = client.post(reverse("patient-dose"), dict(fresh, idempotency_key="web:earlier", taken_at=earlier))
    assert later.status_code == 302 and not later["Location"].endswith("?repeat=1")
    assert Dose.objects.filter(patient=world.patient).count() == 2


def test_patient_undoes_a_side_effect_they_just_reported(world: Any) -> None:
    client = _login(world.carol)
    saved = client.post(
        reverse("patient-side-effect"),
        {
            "term": "Headache",
            "onset": timezone.localdate().isoformat(),
            "grade": "1",
            "outcome": "recovering",
            "action_taken": "none",
        },
    )
    assert saved.status_code == 302, saved.content.decode()[:2000]
    ae = AdverseEvent.objects.get(patient=world.patient, term="Headache")
    page = client.get(saved["Location"]).content.decode()
    undo = reverse("patient-side-effect-undo", kwargs={"pk": ae.pk})
    assert f'href="{undo}"' in page
    assert client.post(undo, {"reason": "other", "reason_other": "Wrong day"}).status_code == 302
    ae.refresh_from_db()
    assert ae.voided_at is not None and ae.void_reason == "Wrong day"
    assert "by you: Wrong day" in client.get(saved["Location"]).content.decode()
