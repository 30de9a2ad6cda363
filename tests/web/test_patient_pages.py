"""Patient pages (Django test client): two-tap dose logging, errors naming fields, own record only, side effects,
and a 375 px layout."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

PATIENT_CSS = Path(__file__).parents[2] / "src" / "kratomwatch" / "web" / "static" / "web" / "patient.css"


def _login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _hidden(html: str, form_id: str, name: str) -> str:
    form = html.split(f'id="{form_id}"', 1)[1].split("</form>", 1)[0]
    match = re.search(rf'name="{name}" value="([^"]*)"', form)
    assert match, f"{name} missing in {form_id}"
    return match.group(1)


def _seed_dose(world: Any, system: Any) -> Any:
    import datetime as dt

    from django.utils import timezone

    from kratomwatch.records import actions

    dose, _ = actions.record_dose(
        actor=system,
        patient=world.patient,
        dose=actions.DoseIn(
            patient_code="P-001",
            lot_id=world.leaf_cert_lot.pk,
            taken_at=timezone.now() - dt.timedelta(seconds=30),
            amount=2.5,
            unit="g",
            idempotency_key="seed-1",
        ),
    )
    return dose


def test_two_tap_logging_preselects_last_entry_and_records_once_on_double_submit(world: Any, system: Any) -> None:
    from kratomwatch.records.models import Dose

    _seed_dose(world, system)
    client = _login(world.carol)
    home = client.get(reverse("patient-home"))
    assert home.status_code == 200
    assert reverse("patient-dose") in home.content.decode()  # tap 1
    page = client.get(reverse("patient-dose"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Your last entry" in html and "Log this dose now" in html
    assert "2.5 g" in html
    data = {
        "form": "quick",
        "idempotency_key": _hidden(html, "quick-form", "idempotency_key"),
        "lot_id": _hidden(html, "quick-form", "lot_id"),
        "amount": _hidden(html, "quick-form", "amount"),
        "unit": _hidden(html, "quick-form", "unit"),
    }
    assert data["lot_id"] == str(world.leaf_cert_lot.pk) and data["amount"] == "2.5" and data["unit"] == "g"
    first = client.post(reverse("patient-dose"), data)  # tap 2
    second = client.post(reverse("patient-dose"), data)  # an accidental double submit
    assert first.status_code == 302 and second.status_code == 302
    assert Dose.objects.filter(patient=world.patient).count() == 2  # the seed + exactly one new dose
    new = Dose.objects.get(patient=world.patient, idempotency_key=data["idempotency_key"])
    assert new.source == "self_report"
    assert "repeat=1" in second["Location"]
    shown = client.get(first["Location"]).content.decode()
    assert "Dose logged" in shown and "certificate" in shown and "37.5 mg" in shown  # 2.5 g x 15 mg/g
    assert "Already logged" in client.get(second["Location"]).content.decode()


def test_unknown_basis_is_shown_honestly(world: Any, system: Any) -> None:
    client = _login(world.carol)
    html = client.get(reverse("patient-dose")).content.decode()
    assert "Log this dose now" not in html  # no previous entry: nothing to repeat, nothing suggested
    response = client.post(
        reverse("patient-dose"),
        {
            "form": "other",
            "idempotency_key": _hidden(html, "other-form", "idempotency_key"),
            "lot_id": world.shot_lot.pk,
            "amount": "15",
            "unit": "mL",
        },
    )
    assert response.status_code == 302
    shown = client.get(response["Location"]).content.decode()
    assert "unknown" in shown and "not counted in mg" in shown
    home = client.get(reverse("patient-home")).content.decode()
    assert "of unknown strength is not counted" in home


def test_errors_name_the_field(world: Any) -> None:
    client = _login(world.carol)
    html = client.get(reverse("patient-dose")).content.decode()
    response = client.post(
        reverse("patient-dose"),
        {
            "form": "other",
            "idempotency_key": _hidden(html, "other-form", "idempotency_key"),
            "lot_id": world.leaf_cert_lot.pk,
            "amount": "lots",
            "unit": "g",
        },
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert 'href="#f-amount">Amount</a>' in body and 'id="f-amount"' in body and 'aria-invalid="true"' in body
    # a unit that does not fit the product is reported by the core, naming the unit field
    response = client.post(
        reverse("patient-dose"),
        {
            "form": "other",
            "idempotency_key": _hidden(html, "other-form", "idempotency_key"),
            "lot_id": world.leaf_cert_lot.pk,
            "amount": "2",
            "unit": "mL",
        },
    )
    assert response.status_code == 400 and 'href="#f-unit">Unit</a>' in response.content.decode()
    # a lot from another program's catalogue is refused
    from kratomwatch.records import actions

    foreign = actions.create_product(
        actor=actions.Actor.system("t"), program=world.other_program, vendor="X", name="Y", form="leaf_powder"
    )
    lot = actions.create_lot(actor=actions.Actor.system("t"), product=foreign, lot_code="Z")
    response = client.post(
        reverse("patient-dose"),
        {"form": "other", "idempotency_key": "k-1", "lot_id": lot.pk, "amount": "2", "unit": "g"},
    )
    assert response.status_code == 400 and 'href="#f-lot_id">Product</a>' in response.content.decode()
    from kratomwatch.records.models import Dose

    assert not Dose.objects.filter(patient=world.patient).exists()


def test_patient_cannot_see_another_patients_pages(world: Any) -> None:
    from kratomwatch.audit.log import Actor
    from kratomwatch.records.actions import create_patient_login

    client = _login(world.carol)
    assert client.get(reverse("patient-home-code", kwargs={"code": "P-001"})).status_code == 200
    for name in ("patient-home-code", "patient-dose-code", "patient-side-effect-code"):
        assert client.get(reverse(name, kwargs={"code": "Q-001"})).status_code == 404
        assert client.get(reverse(name, kwargs={"code": "NOPE"})).status_code == 404
    # a dose or side effect id of another patient is 404 too
    other, _ = create_patient_login(
        actor=Actor.system("t"), patient=world.foreign_patient, username="dave", password="correct-horse-battery-9"
    )
    assert _login(other).get(reverse("patient-home")).status_code == 200
    # clinicians have no patient pages of their own, and cannot open a patient's
    alice = _login(world.alice)
    assert alice.get(reverse("patient-home")).status_code == 404
    assert alice.get(reverse("patient-home-code", kwargs={"code": "P-001"})).status_code == 404
    # anonymous: to the login page
    assert Client().get(reverse("patient-home")).status_code == 302


def test_foreign_dose_and_ae_ids_are_404(world: Any, system: Any) -> None:
    from kratomwatch.records import actions

    dose = _seed_dose(world, system)
    import datetime as dt

    ae = actions.record_adverse_event(
        actor=system, patient=world.patient, term="Nausea", onset=dt.date(2026, 1, 1), grade=1
    )
    from kratomwatch.audit.log import Actor
    from kratomwatch.records.actions import create_patient_login

    other, _ = create_patient_login(
        actor=Actor.system("t"), patient=world.foreign_patient, username="dave", password="correct-horse-battery-9"
    )
    client = _login(other)
    assert client.get(reverse("patient-dose-logged", kwargs={"pk": dose.pk})).status_code == 404
    assert client.get(reverse("patient-side-effect-saved", kwargs={"pk": ae.pk})).status_code == 404


def test_side_effect_form_stores_an_adverse_event(world: Any) -> None:
    from kratomwatch.records.models import AdverseEvent

    client = _login(world.carol)
    page = client.get(reverse("patient-side-effect")).content.decode()
    assert "emergency" in page and "contact your clinician" in page
    assert "Mild" in page and "Severe" in page and "life-threatening" in page
    bad = client.post(reverse("patient-side-effect"), {"term": "", "onset": "2026-01-01"})
    body = bad.content.decode()
    assert bad.status_code == 400
    assert 'href="#f-term">What happened</a>' in body and 'href="#f-grade">How bad</a>' in body
    assert not AdverseEvent.objects.exists()
    response = client.post(
        reverse("patient-side-effect"),
        {
            "term": "Vomiting",
            "onset": world.patient.local_today().isoformat(),  # not before the patient joined (the date floor)
            "grade": "3",
            "seriousness": ["hospitalization"],
            "outcome": "recovering",
            "action_taken": "kratom_reduced",
        },
    )
    assert response.status_code == 302
    ae = AdverseEvent.objects.get(patient=world.patient)
    assert (ae.term, ae.grade, ae.seriousness, ae.outcome, ae.action_taken, ae.causality) == (
        "Vomiting",
        3,
        ["hospitalization"],
        "recovering",
        "kratom_reduced",
        "unassessable",
    )
    assert "Thank you" in client.get(response["Location"]).content.decode()


def test_home_shows_due_questionnaires_plan_consent_and_chart(world: Any, system: Any) -> None:
    import datetime as dt

    from django.utils import timezone

    from kratomwatch.assessments.models import Schedule
    from kratomwatch.careplans.actions import save_care_plan

    _seed_dose(world, system)
    Schedule.objects.create(patient=world.patient, instrument_id="phq9", every_days=14, start=dt.date(2026, 1, 1))
    save_care_plan(
        actor=system,
        patient=world.patient,
        goals="Sleep better",
        modalities=["cbt"],
        taper=[(timezone.localdate() - dt.timedelta(days=10), 30.0)],
    )
    html = _login(world.carol).get(reverse("patient-home")).content.decode()
    assert reverse("assessments:form", kwargs={"code": "P-001", "instrument_id": "phq9"}) in html
    assert "overdue" in html
    assert "Sleep better" in html and "Cognitive behavioural therapy" in html
    assert reverse("consent", kwargs={"code": "P-001"}) in html
    assert "<svg" in html and "clinician&#x27;s plan" in html
    assert "never recommends a kratom dose" in html
    assert "Total today" in html and "37.5 mg" in html


def test_375px_layout_viewport_meta_and_no_wide_fixed_widths(world: Any) -> None:
    html = _login(world.carol).get(reverse("patient-home")).content.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "patient.css" in html and "style=" not in html and "<style" not in html and "<script" not in html
    css = PATIENT_CSS.read_text()
    for prop, value, unit in re.findall(r"(?<![-\w])((?:min-|max-)?width)\s*:\s*([\d.]+)(px|rem|em|vw)?", css):
        size = float(value) * (16 if unit in ("rem", "em") else 1)
        if unit == "vw" or prop == "max-width":
            continue  # a maximum never forces a wider layout
        assert size <= 375, f"{prop}:{value}{unit} is wider than a 375 px screen"
    assert not re.search(r"[^-]width\s*:\s*\d{3,}px", css)
