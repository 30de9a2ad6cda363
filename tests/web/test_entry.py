"""Care-team data entry on the web: enrol, medications (with the interaction check), labs, adverse events,
clinic-observed doses and the consent rule, with permissions (researcher and patient 403, another clinic 404).

Every bad input is shown next to its field in the form's words (HTTP 400) and saves nothing. Data is created
through the actions; two-factor enforcement is off here (tests/security covers it).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kratomwatch.accounts.actions import create_user
from kratomwatch.alerts.models import Alert
from kratomwatch.audit.models import AuditEvent
from kratomwatch.consent import actions as consent_actions
from kratomwatch.records.models import AdverseEvent, Dose, LabResult, Medication, Patient

pytestmark = pytest.mark.django_db

P = "/clinic/patients/P-001/"
INTERNAL = re.compile(r"taken_at|leaf_powder|upper_limit_normal|lower_limit_normal|lot_id|birth_year|every_days")


@pytest.fixture(autouse=True)
def _no_2fa(settings: Any) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def errors_of(response: Any) -> dict[str, str]:
    """Inline errors as shown: the id of the field's error element -> its text."""
    html = response.content.decode()
    return dict(re.findall(r'<small id="e-([\w]+)" class="entry-error">([^<]*)</small>', html))


def assert_bad(response: Any, field: str, words: str) -> None:
    assert response.status_code == 400, response.status_code
    errors = errors_of(response)
    assert field in errors, errors
    assert words.lower() in errors[field].lower(), errors[field]
    html = response.content.decode()
    summary = html.split('id="form-errors"', 1)[1].split("</div>", 1)[0]
    assert f'href="#f-{field}"' in summary
    words_shown = re.sub(r"<[^>]+>", " ", summary) + " ".join(errors.values())
    assert not INTERNAL.search(words_shown), words_shown


def local_now(patient: Any, hours_ago: float = 1) -> str:
    from kratomwatch.core import exposure

    when = timezone.now() - dt.timedelta(hours=hours_ago)
    return when.astimezone(exposure.zone(patient.time_zone)).strftime("%Y-%m-%dT%H:%M")


# --- enrolment ------------------------------------------------------------------------------------------------


def enrol_post(w: Any, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "program": str(w.program.pk),
        "code": "P-900",
        "birth_year": "1985",
        "sex": "male",
        "time_zone": "America/Denver",
        "jurisdiction": "US-CO",
        "conditions": ["chronic_pain", "opioid_use_disorder"],
        "liver_disease": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_enrol_creates_the_patient_through_the_action_and_opens_the_patient_page(world: Any) -> None:
    client = login(world.alice)
    page = client.get("/clinic/patients/new/")
    assert page.status_code == 200 and "Enrol a patient" in page.content.decode()
    assert "Other clinic" not in page.content.decode()  # only the user's care programs
    response = client.post("/clinic/patients/new/", enrol_post(world), follow=True)
    assert response.redirect_chain[-1][0] == "/clinic/patients/P-900/"
    assert "Patient P-900 enrolled" in response.content.decode()
    patient = Patient.objects.get(code="P-900")
    assert patient.program == world.program and patient.time_zone == "America/Denver"
    assert patient.liver_disease and not patient.pregnant
    assert patient.condition_codes == ["chronic_pain", "opioid_use_disorder"]
    assert AuditEvent.objects.filter(action="patient.create", patient_code="P-900").exists()


def test_enrol_other_time_zone_typed_is_validated(world: Any) -> None:
    client = login(world.admin)
    ok = client.post("/clinic/patients/new/", enrol_post(world, time_zone="other", time_zone_other="Europe/Madrid"))
    assert ok.status_code == 302
    assert Patient.objects.get(code="P-900").time_zone == "Europe/Madrid"
    bad = client.post(
        "/clinic/patients/new/", enrol_post(world, code="P-901", time_zone="other", time_zone_other="Mars/Olympus")
    )
    assert_bad(bad, "time_zone", "not a known time zone")
    assert not Patient.objects.filter(code="P-901").exists()


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"code": "P 900!"}, "code", "letters, digits"),
        ({"code": ""}, "code", "Enter the patient code"),
        ({"birth_year": "1850"}, "birth_year", "year between 1900"),
        ({"sex": "x"}, "sex", "Choose"),
        ({"jurisdiction": "ZZ"}, "jurisdiction", "from the list"),
        ({"conditions": ["flu"]}, "conditions", "listed conditions"),
        ({"time_zone": ""}, "time_zone", "time zone"),
    ],
)
def test_enrol_bad_input_names_the_field_and_saves_nothing(
    world: Any, changes: dict[str, Any], field: str, words: str
) -> None:
    before = Patient.objects.count()
    assert_bad(login(world.alice).post("/clinic/patients/new/", enrol_post(world, **changes)), field, words)
    assert Patient.objects.count() == before


def test_enrol_duplicate_code_and_foreign_program(world: Any) -> None:
    client = login(world.alice)
    assert_bad(client.post("/clinic/patients/new/", enrol_post(world, code="P-001")), "code", "already in use")
    foreign = client.post("/clinic/patients/new/", enrol_post(world, program=str(world.other_program.pk)))
    assert_bad(foreign, "program", "one of your programs")
    assert not Patient.objects.filter(code="P-900").exists()


def test_enrol_is_for_the_care_team_only(world: Any, researcher: Any) -> None:
    for user in (researcher, world.carol):
        client = login(user)
        assert client.get("/clinic/patients/new/").status_code == 403
        assert client.post("/clinic/patients/new/", enrol_post(world)).status_code == 403
    assert not Patient.objects.filter(code="P-900").exists()


# --- permissions on the patient's entry pages -------------------------------------------------------------------

PAGES = ("medications/new/", "labs/new/", "adverse-events/new/", "doses/new/", "invite/")


@pytest.fixture
def researcher(world: Any, system: Any) -> Any:
    user, _ = create_user(
        actor=system, username="rita", password="correct-horse-battery-9", role="researcher", program_slug="pain"
    )
    return user


@pytest.mark.parametrize("suffix", PAGES)
def test_entry_pages_permissions(world: Any, researcher: Any, suffix: str) -> None:
    assert login(world.alice).get(P + suffix).status_code == 200
    assert login(world.admin).get(P + suffix).status_code == 200
    assert login(researcher).get(P + suffix).status_code == 403
    assert login(world.carol).get(P + suffix).status_code == 403
    assert login(world.carol).post(P + suffix, {"name": "x"}).status_code == 403
    assert login(world.bob).get(P + suffix).status_code == 404
    assert login(world.bob).post(P + suffix, {"name": "sertraline", "action": "save"}).status_code == 404
    assert Client().get(P + suffix).status_code == 302  # to the login page
    assert not Medication.objects.filter(patient=world.patient).exists()


def test_patient_page_has_the_entry_buttons(world: Any) -> None:
    html = login(world.alice).get(P).content.decode()
    for text in ("Add medication", "Add lab", "Add adverse event", "Record observed dose", "Record COWS"):
        assert text in html
    assert "/assessments/P-001/cows/" in html
    assert "Invite patient" not in html  # P-001 has a login (carol)
    patient = Patient.objects.get(code="Q-001")
    assert "Invite patient" in login(world.bob).get(f"/clinic/patients/{patient.code}/").content.decode()


def test_clinician_records_cows_on_the_assessment_form(world: Any) -> None:
    from kratomwatch.assessments.models import Assessment
    from kratomwatch.core import instruments as ins

    client = login(world.alice)
    page = client.get("/assessments/P-001/cows/")
    assert page.status_code == 200
    definition = ins.get("cows")
    answers = {f"item_{item.id}": str(item.options[0].value) for item in definition.items}
    response = client.post("/assessments/P-001/cows/", answers)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Assessment.objects.filter(patient=world.patient, instrument_id="cows").count() == 1


# --- medications ---------------------------------------------------------------------------------------------------


def test_medication_check_shows_findings_without_saving(world: Any) -> None:
    response = login(world.alice).post(P + "medications/new/", {"name": "tramadol", "action": "check"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Interaction check for" in html and "Management:" in html and "Sources" in html
    assert not Medication.objects.filter(patient=world.patient).exists()


def test_medication_check_asks_to_confirm_an_approximate_name(world: Any) -> None:
    response = login(world.alice).post(P + "medications/new/", {"name": "sertralin", "action": "check"})
    assert "Confirm this medication" in response.content.decode()
    assert not Medication.objects.filter(patient=world.patient).exists()


def test_medication_save_records_audits_and_reports(world: Any) -> None:
    data = {"name": "tramadol", "dose_text": "50 mg twice daily", "start": "2026-11-01", "action": "save"}
    response = login(world.alice).post(P + "medications/new/", data, follow=True)
    assert response.redirect_chain[-1][0] == P
    med = Medication.objects.get(patient=world.patient)
    assert med.name == "tramadol" and med.start == dt.date(2026, 11, 1)
    assert AuditEvent.objects.filter(action="medication.create", object_id=str(med.pk)).exists()
    assert "Medication tramadol saved" in response.content.decode()


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"name": ""}, "name", "Enter the medication name"),
        ({"name": "x", "start": "yesterday"}, "start", "as a date"),
        ({"name": "x", "start": "2026-11-02", "stop": "2026-11-01"}, "stop", "before the start"),
    ],
)
def test_medication_bad_input(world: Any, data: dict[str, str], field: str, words: str) -> None:
    assert_bad(login(world.alice).post(P + "medications/new/", {**data, "action": "save"}), field, words)
    assert not Medication.objects.filter(patient=world.patient).exists()


# --- labs ----------------------------------------------------------------------------------------------------------


def test_lab_above_five_times_uln_saves_flags_and_raises_the_liver_alert(world: Any) -> None:
    data = {"test": "alt", "value": "250", "unit": "U/L", "lln": "7", "uln": "40", "taken_at": local_now(world.patient)}
    response = login(world.alice).post(P + "labs/new/", data, follow=True)
    assert response.redirect_chain[-1][0] == P
    lab = LabResult.objects.get(patient=world.patient)
    assert (lab.value, lab.upper_limit_normal, lab.lower_limit_normal) == (250, 40, 7)
    html = response.content.decode()
    assert "ALT 250 U/L H" in html and "CST" in html
    assert AuditEvent.objects.filter(action="lab.create", object_id=str(lab.pk)).exists()
    assert Alert.objects.filter(patient=world.patient, rule_id__icontains="liver").exists()


def test_lab_time_is_read_in_the_patients_zone(world: Any) -> None:
    typed = local_now(world.patient, hours_ago=0.5)
    login(world.alice).post(P + "labs/new/", {"test": "qtc", "value": "430", "unit": "ms", "taken_at": typed})
    lab = LabResult.objects.get(patient=world.patient)
    chicago = dt.datetime.fromisoformat(typed).replace(tzinfo=zoneinfo.ZoneInfo("America/Chicago"))
    assert lab.taken_at == chicago and lab.taken_at.utcoffset() == dt.timedelta(0)  # stored in UTC


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"test": ""}, "test", "Choose the test"),
        ({"value": "high"}, "value", "as a number"),
        ({"unit": "ms"}, "unit", "does not fit ALT"),
        ({"uln": ""}, "uln", "upper limit of normal"),
        ({"lln": "50"}, "lln", "below the upper limit"),
        ({"taken_at": "tomorrow"}, "taken_at", "date and time"),
        ({"taken_at": "2030-01-01T10:00"}, "taken_at", "future"),
    ],
)
def test_lab_bad_input(world: Any, changes: dict[str, str], field: str, words: str) -> None:
    data = {"test": "alt", "value": "50", "unit": "U/L", "uln": "40", **changes}
    assert_bad(login(world.alice).post(P + "labs/new/", data), field, words)
    assert not LabResult.objects.filter(patient=world.patient).exists()


def test_lab_form_labels_name_the_zone(world: Any) -> None:
    html = login(world.alice).get(P + "labs/new/").content.decode()
    assert "Sample taken (America/Chicago time)" in html


# --- adverse events ---------------------------------------------------------------------------------------------


def test_adverse_event_saved_with_all_fields(world: Any) -> None:
    data = {
        "term": "Seizure",
        "onset": world.patient.local_today().isoformat(),
        "grade": "3",
        "seriousness": ["hospitalization"],
        "outcome": "recovering",
        "causality": "possible",
        "action_taken": "kratom_stopped",
    }
    response = login(world.admin).post(P + "adverse-events/new/", data, follow=True)
    assert response.redirect_chain, errors_of(response)
    assert response.redirect_chain[-1][0] == P
    ae = AdverseEvent.objects.get(patient=world.patient)
    assert (ae.grade, ae.seriousness, ae.causality, ae.action_taken) == (
        3,
        ["hospitalization"],
        "possible",
        "kratom_stopped",
    )
    assert AuditEvent.objects.filter(action="adverse_event.create", object_id=str(ae.pk)).exists()
    assert Alert.objects.filter(patient=world.patient).exists()  # a serious AE raises an alert


def test_adverse_event_form_shows_ctcae_help(world: Any) -> None:
    html = login(world.alice).get(P + "adverse-events/new/").content.decode()
    assert "Life-threatening consequences; urgent intervention indicated." in html
    assert "Requires or prolongs hospitalization" in html


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"term": ""}, "term", "Enter the adverse event"),
        ({"onset": ""}, "onset", "Enter the onset date"),
        ({"onset": "2030-01-01"}, "onset", "future"),
        ({"grade": "7"}, "grade", "grade from 1 to 5"),
        ({"seriousness": ["bad"]}, "seriousness", "listed criteria"),
        ({"causality": "maybe"}, "causality", "causality"),
    ],
)
def test_adverse_event_bad_input(world: Any, changes: dict[str, Any], field: str, words: str) -> None:
    data = {"term": "Nausea", "onset": world.patient.local_today().isoformat(), "grade": "1", "outcome": "unknown"}
    data.update({"causality": "unassessable", "action_taken": "unknown", **changes})
    assert_bad(login(world.alice).post(P + "adverse-events/new/", data), field, words)
    assert not AdverseEvent.objects.filter(patient=world.patient).exists()


# --- clinic-observed doses --------------------------------------------------------------------------------------


def dose_data(w: Any, **changes: str) -> dict[str, str]:
    data = {
        "form_id": "abc123",
        "lot": str(w.leaf_cert_lot.pk),
        "amount": "2",
        "unit": "g",
        "taken_at": local_now(w.patient),
    }
    data.update(changes)
    return data


def test_observed_dose_is_recorded_as_clinician_source_once(world: Any) -> None:
    client = login(world.alice)
    response = client.post(P + "doses/new/", dose_data(world), follow=True)
    assert response.redirect_chain[-1][0] == P
    dose = Dose.objects.get(patient=world.patient)
    assert dose.source == "clinician" and dose.amount == 2 and dose.mitragynine_mg == pytest.approx(30.0)
    assert AuditEvent.objects.filter(action="dose.create", object_id=str(dose.pk)).exists()
    again = client.post(P + "doses/new/", dose_data(world), follow=True)  # the same form sent twice
    assert "already saved" in again.content.decode()
    assert Dose.objects.filter(patient=world.patient).count() == 1


def test_dose_form_lists_only_the_programs_lots(world: Any) -> None:
    html = login(world.alice).get(P + "doses/new/").content.decode()
    assert "lot L1" in html and "leaf powder" in html and "leaf_powder" not in html


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"lot": ""}, "lot", "Choose the product and lot"),
        ({"lot": "99999"}, "lot", "Choose the product and lot"),
        ({"amount": "0"}, "amount", "greater than zero"),
        ({"amount": "two"}, "amount", "as a number"),
        ({"unit": "mL"}, "unit", "do not fit a leaf powder product"),
        ({"amount": "5000"}, "amount", "plausibility limit"),
        ({"taken_at": "2030-01-01T10:00"}, "taken_at", "future"),
    ],
)
def test_dose_bad_input(world: Any, changes: dict[str, str], field: str, words: str) -> None:
    assert_bad(login(world.alice).post(P + "doses/new/", dose_data(world, **changes)), field, words)
    assert not Dose.objects.filter(patient=world.patient).exists()


# --- consent -------------------------------------------------------------------------------------------------------


def test_without_care_consent_the_page_explains_and_offers_the_override(world: Any, system: Any) -> None:
    consent_actions.withdraw(actor=system, patient=world.patient, scope="care")
    client = login(world.alice)
    page = client.get(P + "medications/new/").content.decode()
    assert "Care consent needed" in page and "/consent/P-001/" in page
    refused = client.post(P + "medications/new/", {"name": "tramadol", "action": "save"})
    assert refused.status_code == 403 and "Care consent needed" in refused.content.decode()
    assert not Medication.objects.filter(patient=world.patient).exists()
    short = client.post(
        P + "consent-override/", {"grounds": "vital_interest", "reason": "short", "next": P + "medications/new/"}
    )
    assert short.status_code == 400 and "at least 20 characters" in short.content.decode()
    done = client.post(
        P + "consent-override/", {"grounds": "vital_interest", "reason": "Acute visit, unable to sign", "next": P}
    )
    assert done.status_code == 302 and done["Location"] == P
    assert client.post(P + "medications/new/", {"name": "tramadol", "action": "save"}).status_code == 302
    assert Medication.objects.filter(patient=world.patient).count() == 1
    assert login(world.bob).post(P + "consent-override/", {"reason": "x" * 20}).status_code == 404


def test_enrol_url_is_not_a_patient_code(world: Any) -> None:
    from django.urls import resolve

    assert resolve("/clinic/patients/new/").url_name == "clinic-enrol"
    assert resolve("/clinic/patients/P-001/").url_name == "clinic-patient"
