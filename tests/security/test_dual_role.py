"""D13: one login that is a patient and a clinician. The pages and the API decide care-team rights with the same
function (``access.require_care_team_for``): a care role in *that patient's* program, and never on the login's own
record. Built as the review built it (a clinician's login linked to a patient record; no page makes one), in two
forms: the clinician of another program (the review's account) and the clinician of the patient's own program.

Every care-team page and API write for the login's own record is refused (403 for the record's routes, 404 for an
alert, as the API answers) and changes nothing; the same login acting on a patient of its clinic (the control) is
allowed and the change is made. The login lands on its clinician home, with its own patient pages in the menu."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone

from kratomwatch.accounts.actions import create_user, issue_token
from kratomwatch.alerts.models import Alert, AlertStatus
from kratomwatch.api.app import api as ninja_api
from kratomwatch.assessments.models import Schedule
from kratomwatch.careplans.models import CarePlan
from kratomwatch.consent import actions as consent_actions
from kratomwatch.consent.status import latest_document
from kratomwatch.core import exposure
from kratomwatch.nof1 import actions as nof1_actions
from kratomwatch.nof1.models import Trial
from kratomwatch.records import actions
from kratomwatch.records.models import AdverseEvent, Dose, LabResult, Medication, Patient
from tests.helpers import api
from tests.nof1.conftest import trial_in

pytestmark = pytest.mark.django_db

PW = "correct-horse-battery-9"


@pytest.fixture(autouse=True)
def _no_2fa(settings: Any) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False


@dataclass
class Record:
    """One patient record as the tests drive it: its code, an entry to correct, one to void, an open alert and a
    lot of its program's catalogue."""

    patient: Patient
    correct_pk: int
    void_pk: int
    alert: Alert
    lot_pk: int
    trial_pk: int = 0  # a draft n-of-1 trial of the record

    @property
    def code(self) -> str:
        return self.patient.code


def _record(system: Any, program: Any, code: str, lot_pk: int, user: Any = None) -> Record:
    patient = actions.create_patient(
        actor=system,
        program=program,
        code=code,
        birth_year=1980,
        sex="female",
        time_zone="America/Chicago",
        jurisdiction="US-TX",
        user=user,
    )
    document = latest_document(program.pk)
    assert document is not None
    consent_actions.sign(actor=system, patient=patient, document=document, scopes=["care"], typed_name="Test Patient")
    to_correct = actions.record_medication(actor=system, patient=patient, name="tramadol 50 mg")
    to_void = actions.record_medication(actor=system, patient=patient, name="sertraline 50 mg")
    alert = Alert.objects.filter(patient=patient, status=AlertStatus.OPEN).order_by("pk").first()
    assert alert is not None, "tramadol on file raises an interaction alert"
    return Record(patient, to_correct.pk, to_void.pk, alert, lot_pk)


@dataclass
class Dual:
    user: Any
    own: Record  # the login's own patient record, in the pain program
    other: Record  # a patient of the program where the login is a clinician (the control)
    world: Any


@pytest.fixture(params=["clinician_of_another_program", "clinician_of_the_same_program"])
def dual(request: Any, world: Any, system: Any) -> Dual:
    elsewhere = request.param == "clinician_of_another_program"
    clinic = world.other_program if elsewhere else world.program
    user, _ = create_user(actor=system, username="dual", password=PW, role="clinician", program_slug=clinic.slug)
    world.tokens["dual"] = issue_token(actor=system, user=user, name="t")
    if elsewhere:
        product = actions.create_product(actor=system, program=clinic, vendor="W", name="Leaf", form="leaf_powder")
        lot_pk = actions.create_lot(actor=system, product=product, lot_code="W1").pk
    else:
        lot_pk = world.leaf_plain_lot.pk
    # The link no page makes (the review made it with SQL): the clinician's login is this patient record's login.
    own = _record(system, world.program, "D-030", world.leaf_plain_lot.pk, user=user)
    other = _record(system, clinic, "C-001", lot_pk)
    for record in (own, other):
        record.trial_pk = nof1_actions.create_trial(
            actor=system, patient=record.patient, user=world.alice, design=trial_in()
        ).pk
    assert Patient.objects.get(code="D-030").user_id == user.pk
    return Dual(user, own, other, world)


def _login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _local(patient: Patient, hours_ago: float = 1) -> str:
    when = timezone.now() - dt.timedelta(hours=hours_ago)
    return when.astimezone(exposure.zone(patient.time_zone)).strftime("%Y-%m-%dT%H:%M")


# --- the care-team pages of one record ------------------------------------------------------------------------------


def web_requests(r: Record) -> list[tuple[str, str, dict[str, Any]]]:
    """Every care-team page of the record, GET and POST, each POST with input that saves when allowed."""
    base = f"/clinic/patients/{r.code}/"
    today = r.patient.local_today().isoformat()
    correct = f"{base}medication/{r.correct_pk}/correct/"
    void = f"{base}medication/{r.void_pk}/void/"
    lab = {"test": "alt", "value": "50", "unit": "U/L", "uln": "40", "taken_at": _local(r.patient)}
    ae = {
        "term": "Nausea",
        "onset": today,
        "grade": "1",
        "outcome": "recovering",
        "causality": "possible",
        "action_taken": "none",
    }
    dose = {"form_id": "dual-1", "lot": str(r.lot_pk), "amount": "2", "unit": "g", "taken_at": _local(r.patient)}
    return [
        ("get", base, {}),
        ("get", base + "care-plan/", {}),
        ("post", base + "care-plan/", {"form": "plan", "goals": "x", "taper_start_0": today, "taper_mg_0": "500"}),
        (
            "post",
            base + "care-plan/",
            {"form": "schedule", "instrument_id": "gad7", "every_days": "28", "start": today},
        ),
        ("post", base + "care-plan/", {"form": "deactivate", "instrument_id": "gad7", "confirm": "yes"}),
        ("get", base + "summary.pdf", {}),
        ("get", base + "medications/new/", {}),
        ("post", base + "medications/new/", {"name": "naltrexone", "action": "save"}),
        ("get", base + "labs/new/", {}),
        ("post", base + "labs/new/", lab),
        ("get", base + "adverse-events/new/", {}),
        ("post", base + "adverse-events/new/", ae),
        ("get", base + "doses/new/", {}),
        ("post", base + "doses/new/", dose),
        ("get", base + "invite/", {}),
        ("post", base + "invite/", {}),
        ("post", base + "consent-override/", {"grounds": "clinical_safety", "reason": "Acute visit, unable to sign"}),
        ("get", correct, {}),
        ("post", correct, {"name": "tramadol 100 mg", "dose_text": "", "start": "", "stop": "", "reason": "typo"}),
        ("get", void, {}),
        ("post", void, {"reason": "entered for the wrong patient"}),
        ("get", base + "nof1/", {}),
        ("get", base + "nof1/new/", {}),
        ("post", base + "nof1/new/", NOF1_FORM),
        ("get", f"{base}nof1/{r.trial_pk}/", {}),
        ("get", f"{base}nof1/{r.trial_pk}/design/", {}),
        ("get", f"{base}nof1/{r.trial_pk}/protocol.pdf", {}),
        ("get", f"{base}nof1/{r.trial_pk}/letter.pdf", {}),
        ("get", f"{base}nof1/{r.trial_pk}/card/", {}),
        ("post", f"{base}nof1/{r.trial_pk}/", {"action": "sign"}),
    ]


NOF1_FORM = {
    "title": "Usual regimen against a reduced one",
    "conditions.0.code": "A",
    "conditions.0.label": "Usual regimen",
    "conditions.1.code": "B",
    "conditions.1.label": "Reduced regimen",
    "reference": "0",
    "primary_instrument": "pain_nrs",
    "period_days": "7",
    "blocks": "2",
}


def alert_requests(r: Record) -> list[tuple[str, str, dict[str, Any]]]:
    pk = r.alert.pk
    return [
        ("post", f"/clinic/alerts/{pk}/acknowledge/", {}),
        ("post", f"/clinic/alerts/{pk}/resolve/", {"note": "Reviewed with the patient"}),
        ("post", "/clinic/alerts/bulk/", {"ids": [str(pk)]}),
    ]


# The control patient has signed care consent, so the care team's override may be answered "not needed" after the
# access check passed (the page: 302 or 400; the API: 409) or be recorded (201): anything but a refusal.
NO_OVERRIDE_NEEDED = (201, 302, 400, 409)


def _state(r: Record) -> dict[str, Any]:
    """What a care-team write would change on the record."""
    p = r.patient
    return {
        "plan": CarePlan.objects.filter(patient=p).exists(),
        "schedules": Schedule.objects.filter(patient=p).count(),
        "medications": Medication.objects.filter(patient=p).count(),
        "voided": Medication.objects.filter(patient=p, voided_at__isnull=False).count(),
        "labs": LabResult.objects.filter(patient=p).count(),
        "aes": AdverseEvent.objects.filter(patient=p).count(),
        "doses": Dose.objects.filter(patient=p).count(),
        "overrides": p.care_overrides.count(),
        "trials": list(Trial.objects.filter(patient=p).values_list("pk", "status", "clinician_signed_at")),
        "alert": Alert.objects.get(pk=r.alert.pk).status,
    }


def test_every_care_team_page_of_the_logins_own_record_is_refused(dual: Dual) -> None:
    client = _login(dual.user)
    before = _state(dual.own)
    for method, path, data in web_requests(dual.own):
        response = getattr(client, method)(path, data)
        assert response.status_code == 403, (method, path, response.status_code)
    for method, path, data in alert_requests(dual.own):
        response = getattr(client, method)(path, data)
        assert response.status_code == 404, (method, path, response.status_code)
    assert _state(dual.own) == before
    assert before["alert"] == AlertStatus.OPEN and not before["plan"]
    queue = client.get("/clinic/alerts/?status=all").content.decode()
    assert f'id="alert-{dual.own.alert.pk}"' not in queue and f'id="alert-{dual.other.alert.pk}"' in queue


def test_the_same_login_is_the_care_team_of_its_clinics_patient(dual: Dual) -> None:
    client = _login(dual.user)
    for method, path, data in [*web_requests(dual.other), *alert_requests(dual.other)]:
        response = getattr(client, method)(path, data)
        allowed = NO_OVERRIDE_NEEDED if path.endswith("consent-override/") else (200, 302)
        assert response.status_code in allowed, (method, path, response.status_code)
        if response.status_code == 302:
            assert "/login/" not in response["Location"], path
    p = dual.other.patient
    plan = CarePlan.objects.get(patient=p)
    assert [(s.start, s.target_mg) for s in plan.taper_steps.all()] == [(p.local_today(), 500.0)]
    assert Schedule.objects.get(patient=p, instrument_id="gad7").active is False
    assert Medication.objects.filter(patient=p, name="naltrexone").exists()
    assert Medication.objects.filter(patient=p, name="tramadol 100 mg").exists()
    assert Medication.objects.get(pk=dual.other.void_pk).voided_at is not None
    assert LabResult.objects.filter(patient=p).count() == 1 and AdverseEvent.objects.filter(patient=p).count() == 1
    assert Dose.objects.filter(patient=p, source="clinician").count() == 1
    assert Alert.objects.get(pk=dual.other.alert.pk).status == AlertStatus.RESOLVED
    assert Trial.objects.filter(patient=p).count() == 2  # the designed trial beside the fixture's draft
    assert Trial.objects.get(pk=dual.other.trial_pk).clinician_signed_at is not None


def _patient_routes() -> set[str]:
    """Every URL pattern under /clinic/patients/<code>/ (the care team's pages of one record)."""
    out: set[str] = set()

    def walk(patterns: Any, prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern) and (prefix + str(p.pattern)).startswith("clinic/patients/<str:code>/"):
                out.add(str(p.name))

    walk(get_resolver().url_patterns, "")
    return out


def test_the_refusal_test_drives_every_care_team_page_of_a_record(dual: Dual) -> None:
    driven = {resolve(path).url_name for _, path, _ in web_requests(dual.own)}
    assert _patient_routes() <= driven, f"add the new pages to web_requests: {_patient_routes() - driven}"


# --- the API ---------------------------------------------------------------------------------------------------------


def api_requests(r: Record) -> list[tuple[str, str, Any]]:
    """Every care-team API write of the record (and its alert list), with a body that saves when allowed."""
    c = r.code
    taken = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    return [
        (
            "put",
            f"/patients/{c}/care-plan",
            {"taper": [{"start": r.patient.local_today().isoformat(), "target_mg": 500}]},
        ),
        ("patch", f"/patients/{c}", {"liver_disease": True}),
        (
            "post",
            f"/patients/{c}/labs",
            {"test": "alt", "value": 50, "unit": "U/L", "upper_limit_normal": 40, "taken_at": taken},
        ),
        ("post", f"/patients/{c}/schedules", {"instrument": "gad7", "every_days": 28}),
        ("delete", f"/patients/{c}/schedules/gad7", None),
        (
            "post",
            f"/patients/{c}/consent/override",
            {"grounds": "clinical_safety", "reason": "Acute visit, unable to sign"},
        ),
        (
            "post",
            f"/patients/{c}/medication/{r.correct_pk}/correct",
            {"reason": "typo", "values": {"name": "tramadol 100 mg"}},
        ),
        ("post", f"/patients/{c}/medication/{r.void_pk}/void", {"reason": "entered for the wrong patient"}),
        ("post", f"/patients/{c}/nof1-trials", NOF1_DESIGN),
        ("get", f"/patients/{c}/alerts", None),
    ]


NOF1_DESIGN = {
    "title": "Usual regimen against a reduced one",
    "conditions": [{"code": "A", "label": "Usual", "is_reference": True}, {"code": "B", "label": "Reduced"}],
    "primary_instrument": "pain_nrs",
    "period_days": 7,
    "blocks": 2,
}


def api_alert_requests(r: Record) -> list[tuple[str, str, Any]]:
    return [
        ("post", f"/alerts/{r.alert.pk}/acknowledge", None),
        ("post", f"/alerts/{r.alert.pk}/resolve", {"note": "Reviewed with the patient"}),
    ]


# Writes under /patients/{code} a patient makes on their own record (self-report, consent): not care-team writes.
SELF_SERVICE = {
    ("POST", "/api/v1/patients/{code}/doses"),
    ("POST", "/api/v1/patients/{code}/medications"),
    ("POST", "/api/v1/patients/{code}/adverse-events"),
    ("POST", "/api/v1/patients/{code}/assessments"),
    ("POST", "/api/v1/patients/{code}/consent/sign"),
    ("POST", "/api/v1/patients/{code}/consent/withdraw"),
}


def test_every_care_team_api_write_on_the_logins_own_record_is_refused(dual: Dual) -> None:
    w = dual.world
    before = _state(dual.own)
    for method, path, body in api_requests(dual.own):
        response = api(w, "dual", method, path, body)
        assert response.status_code == 403, (method, path, response.status_code, response.content[:200])
    for method, path, body in api_alert_requests(dual.own):
        response = api(w, "dual", method, path, body)
        assert response.status_code == 404, (method, path, response.status_code)
    assert _state(dual.own) == before
    queue = api(w, "dual", "get", "/alerts?status=all").json()["items"]
    assert dual.own.alert.pk not in {a["id"] for a in queue} and dual.other.alert.pk in {a["id"] for a in queue}
    # As a patient the login still self-reports: the dose is its own report, whatever source it claims.
    dose = {"lot_id": dual.own.lot_pk, "taken_at": (timezone.now() - dt.timedelta(hours=1)).isoformat()}
    created = api(w, "dual", "post", "/patients/D-030/doses", {**dose, "amount": 1, "unit": "g", "source": "clinician"})
    assert created.status_code == 201 and Dose.objects.get(patient=dual.own.patient).source == "self_report"


def test_the_same_login_writes_through_the_api_for_its_clinics_patient(dual: Dual) -> None:
    for method, path, body in [*api_requests(dual.other), *api_alert_requests(dual.other)]:
        response = api(dual.world, "dual", method, path, body)
        allowed = NO_OVERRIDE_NEEDED if path.endswith("/consent/override") else (200, 201)
        assert response.status_code in allowed, (method, path, response.status_code, response.content[:200])
    p = dual.other.patient
    assert [s.target_mg for s in CarePlan.objects.get(patient=p).taper_steps.all()] == [500.0]
    assert Patient.objects.get(pk=p.pk).liver_disease is True
    assert Medication.objects.get(pk=dual.other.void_pk).voided_at is not None
    assert Alert.objects.get(pk=dual.other.alert.pk).status == AlertStatus.RESOLVED


def test_the_api_refusal_test_covers_every_write_on_a_record() -> None:
    schema = ninja_api.get_openapi_schema()
    writes = {
        (method.upper(), path)
        for path, ops in schema["paths"].items()
        if path.startswith("/api/v1/patients/{code}")
        for method in ops
        if method != "get"
    }
    sample = Record(Patient(code="X", time_zone="UTC"), 1, 2, Alert(pk=3), 4)
    driven = {
        (m.upper(), "/api/v1" + re.sub(r"/patients/X", "/patients/{code}", p))
        for m, p, _ in api_requests(sample)
        if m != "get"
    }
    driven = {(m, re.sub(r"/medication/\d+/(void|correct)$", r"/{kind_slug}/{pk}/\1", p)) for m, p in driven}
    driven = {(m, p.replace("/schedules/gad7", "/schedules/{instrument_id}")) for m, p in driven}
    missing = writes - driven - SELF_SERVICE
    assert not missing, f"a write on a patient record that the refusal test does not drive: {sorted(missing)}"


# --- the login's home and menu -------------------------------------------------------------------------------------


def test_the_dual_login_lands_on_its_clinician_home_with_its_own_pages_in_the_menu(dual: Dual) -> None:
    client = _login(dual.user)
    home = client.get("/")
    assert home.status_code == 302 and home["Location"] == "/clinic/"
    page = client.get("/clinic/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/me/"' in html, "its own patient pages are in the menu"
    assert "/clinic/patients/D-030/" not in html, "its own record is not a row of its clinic"
    assert f"/clinic/patients/{dual.other.code}/" in html
    me = client.get("/me/")
    assert me.status_code == 200 and "D-030" in me.content.decode()
    assert client.get("/assessments/D-030/").status_code == 200
    assert client.get("/consent/D-030/").status_code == 200


def test_an_urgent_alert_on_its_own_record_is_emailed_to_its_care_team_not_to_it(dual: Dual, system: Any) -> None:
    from kratomwatch.notifications.actions import set_contact_email
    from kratomwatch.notifications.models import Notification

    w = dual.world
    set_contact_email(actor=system, user=dual.user, email="dual@clinic.example")
    set_contact_email(actor=system, user=w.alice, email="alice@clinic.example")
    for record in (dual.own, dual.other):
        ae = actions.record_adverse_event(
            actor=system,
            patient=record.patient,
            term="seizure",
            onset=record.patient.local_today() - dt.timedelta(days=1),
            grade=3,
            seriousness=["hospitalization"],
        )
        record.alert = Alert.objects.get(subject_key=f"ae:{ae.pk}", severity="urgent")
    own = set(Notification.objects.filter(alert_id=dual.own.alert.pk).values_list("recipient", flat=True))
    other = set(Notification.objects.filter(alert_id=dual.other.alert.pk).values_list("recipient", flat=True))
    assert own == {"alice@clinic.example"}, "the pain program's care team hears of it; the patient's own login never"
    assert "dual@clinic.example" in other, "it is told of its clinic's patients like any clinician"
