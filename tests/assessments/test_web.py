"""Web questionnaires: rendered from the definitions, phone-friendly markup, CSRF, access through
kratomwatch.access, results with the urgent notice for PHQ-9 item 9."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from kratomwatch.assessments import actions
from kratomwatch.assessments.models import Assessment
from kratomwatch.core import instruments as ins

pytestmark = pytest.mark.django_db


def client_for(user: Any, **kw: Any) -> Client:
    c = Client(**kw)
    c.force_login(user)
    return c


def test_login_is_required(world: Any) -> None:
    response = Client().get("/assessments/P-001/phq9/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_patient_sees_a_phone_friendly_form_built_from_the_definition(world: Any) -> None:
    response = client_for(world.carol).get("/assessments/P-001/phq9/")
    assert response.status_code == 200
    html = response.content.decode()
    definition = ins.get("phq9")
    assert html.count("<fieldset") == 9 and html.count("<legend>") == 9
    assert "web/base.html" in [t.name for t in response.templates]
    assert 'name="viewport"' in html and "<script" not in html
    assert 'name="csrfmiddlewaretoken"' in html
    for item in definition.items:
        assert item.text is not None and item.text in html.replace("&#x27;", "'")
        assert html.count(f'name="item_{item.id}"') == len(item.options)
        for option in item.options:  # every radio has its own label
            assert f'for="{item.id}-{option.value}"' in html and f'id="{item.id}-{option.value}"' in html
    # Large touch targets, from a static stylesheet (the CSP forbids inline styles).
    assert "assessments/form.css" in html and "<style" not in html
    from pathlib import Path

    import kratomwatch.assessments as assessments_pkg

    css = Path(assessments_pkg.__file__).parent / "static" / "assessments" / "form.css"
    assert "min-height:44px" in css.read_text()
    widths = [int(w) for w in re.findall(r"width:\s*(\d+)px", html)]
    assert all(w <= 375 for w in widths)  # nothing forces the page wider than a 375 px phone


def test_bpi_form_shows_labels_only_because_its_text_is_not_shipped(world: Any) -> None:
    html = client_for(world.carol).get("/assessments/P-001/bpi_sf/").content.decode()
    assert "1. worst pain" in html and "wording of this questionnaire is not included" in html
    assert html.count("<fieldset") == 11


def test_patient_submits_phq9_and_sees_result_with_urgent_notice(world: Any) -> None:
    c = client_for(world.carol)
    answers = [2, 1, 1, 0, 0, 1, 0, 0, 1]
    data = {f"item_phq9_{i + 1}": str(v) for i, v in enumerate(answers)}
    response = c.post("/assessments/P-001/phq9/", data)
    assert response.status_code == 302
    stored = Assessment.objects.get()
    assert stored.answers == answers and stored.source == "self_report" and stored.total == 6
    assert stored.flags == list(ins.score(ins.get("phq9"), answers).flag_ids) and "suicidality" in stored.flags
    assert response["Location"] == f"/assessments/P-001/results/{stored.pk}/"
    html = c.get(response["Location"]).content.decode()
    assert 'id="urgent-notice"' in html and "Please talk to your clinician now" in html and "988" in html
    assert '<dd id="total"><strong>6</strong></dd>' in html and '<dd id="band">mild</dd>' in html
    assert "dose" not in html.split('id="urgent-notice"')[1].split("</section>")[0].lower()


def test_no_urgent_notice_without_item_9(world: Any) -> None:
    c = client_for(world.carol)
    response = c.post("/assessments/P-001/gad7/", {f"item_gad7_{i}": "3" for i in range(1, 8)})
    html = c.get(response["Location"]).content.decode()
    assert "urgent-notice" not in html and "<strong>21</strong>" in html and '<dd id="band">severe</dd>' in html


def test_missing_answer_re_renders_with_the_question_named_and_stores_nothing(world: Any) -> None:
    data = {f"item_phq9_{i}": "1" for i in range(1, 9)}  # item 9 left out
    response = client_for(world.carol).post("/assessments/P-001/phq9/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Question 9 (thoughts of death or self-harm) is not answered." in html
    assert 'id="q-phq9_9" aria-invalid="true"' in html
    assert 'value="1" checked' in html  # earlier answers are kept
    assert Assessment.objects.count() == 0


def test_tampered_value_is_refused_naming_the_item(world: Any) -> None:
    data = {f"item_phq9_{i}": "1" for i in range(1, 10)}
    data["item_phq9_3"] = "9"
    response = client_for(world.carol).post("/assessments/P-001/phq9/", data)
    assert response.status_code == 400
    assert "item phq9_3 (position 3) got 9" in response.content.decode()
    assert Assessment.objects.count() == 0


def test_csrf_is_enforced(world: Any) -> None:
    c = client_for(world.carol, enforce_csrf_checks=True)
    response = c.post("/assessments/P-001/peg/", {"item_peg_pain": "1", "item_peg_enjoyment": "1"})
    assert response.status_code == 403
    assert Assessment.objects.count() == 0


@pytest.mark.parametrize(
    "path", ["/assessments/P-001/", "/assessments/P-001/phq9/", "/assessments/Q-001/", "/assessments/P-001/results/1/"]
)
def test_foreign_users_get_404(world: Any, system: Any, path: str) -> None:
    actions.record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="peg",
        answers=[1, 1, 1],
        administered_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        source="clinician",
    )
    user = world.carol if "Q-001" in path else world.bob
    path = path.replace("/1/", f"/{Assessment.objects.get().pk}/")
    assert client_for(user).get(path).status_code == 404
    assert client_for(world.bob).post("/assessments/P-001/peg/", {"item_peg_pain": "1"}).status_code == 404
    assert Assessment.objects.count() == 1


def test_unknown_instrument_is_404(world: Any) -> None:
    assert client_for(world.alice).get("/assessments/P-001/nope/").status_code == 404


def test_clinician_records_cows_but_the_patient_cannot(world: Any) -> None:
    cows = ins.get("cows")
    assert client_for(world.carol).get("/assessments/P-001/cows/").status_code == 403
    data = {f"item_{item.id}": str(item.allowed_values[1]) for item in cows.items}
    response = client_for(world.alice).post("/assessments/P-001/cows/", data)
    assert response.status_code == 302
    stored = Assessment.objects.get()
    assert stored.source == "clinician" and stored.instrument_id == "cows"
    assert stored.total == sum(item.allowed_values[1] for item in cows.items)


def test_clinician_can_mark_dsm5_as_supervised(world: Any) -> None:
    data = {f"item_{item.id}": "1" for item in ins.get("dsm5_sud").items}
    form = client_for(world.alice).get("/assessments/P-001/dsm5_sud/").content.decode()
    assert 'name="supervised"' in form
    client_for(world.alice).post("/assessments/P-001/dsm5_sud/", {**data, "supervised": "on"})
    stored = Assessment.objects.get()
    assert stored.supervised is True and stored.total == 9


def test_list_page_shows_due_and_overdue_questionnaires(world: Any, system: Any) -> None:
    today = dt.datetime.now(ZoneInfo(world.patient.time_zone)).date()  # the patient's calendar
    actions.set_schedule(
        actor=system,
        patient=world.patient,
        instrument_id="phq9",
        every_days=14,
        start=today - dt.timedelta(days=20),
    )
    actions.set_schedule(actor=system, patient=world.patient, instrument_id="peg", every_days=7, start=today)
    actions.set_schedule(
        actor=system, patient=world.patient, instrument_id="gad7", every_days=7, start=today + dt.timedelta(days=30)
    )
    actions.set_schedule(actor=system, patient=world.patient, instrument_id="cows", every_days=28, start=today)
    response = client_for(world.carol).get("/assessments/P-001/")
    assert response.status_code == 200
    html = response.content.decode()
    due = html.split('id="due"')[1].split("</ul>")[0]
    assert "Overdue by" in due and "Patient Health Questionnaire-9" in due
    assert "kw-status-due" in due and "PEG" in due
    assert "GAD-7" not in due  # due next month: "Coming up" with its date, not "Due now" (UX review finding 14)
    coming = html.split('id="coming"')[1].split("</ul>")[0]
    assert "GAD-7" in coming and "next due" in coming
    assert 'href="/me/"' in html  # back to My day
    assert "COWS" not in due  # clinician-administered: not offered to the patient
    assert 'href="/assessments/P-001/cows/"' not in html
    clinician_html = client_for(world.alice).get("/assessments/P-001/").content.decode()
    assert 'href="/assessments/P-001/cows/"' in clinician_html


def test_clinician_sees_the_suicidality_flag_as_a_safety_prompt(world: Any) -> None:
    c = client_for(world.alice)
    response = c.post("/assessments/P-001/phq9/", {f"item_phq9_{i}": "0" if i < 9 else "2" for i in range(1, 10)})
    html = c.get(response["Location"]).content.decode()
    notice = html.split('id="urgent-notice"')[1].split("</section>")[0]
    assert "Suicidality flag" in notice and "safety protocol" in notice and "988" in notice
    assert "dose" not in notice.lower()
    assert Assessment.objects.get().source == "clinician"


def test_a_supervised_dsm5_result_shows_what_the_exclusion_covers(world: Any, system: Any) -> None:
    """DSM-5 drops tolerance and withdrawal only for medicines taken as prescribed under supervision: the result
    page says so whenever an administration was scored as supervised."""
    from kratomwatch.core.instruments.dsm5_sud import SUPERVISED_WARNING

    answers = [1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1]
    supervised = actions.record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="dsm5_sud",
        answers=answers,
        administered_at=dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC),
        source="clinician",
        supervised=True,
    )
    plain = actions.record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="dsm5_sud",
        answers=answers,
        administered_at=dt.datetime(2026, 11, 20, 16, 0, tzinfo=dt.UTC),
        source="clinician",
    )
    client = client_for(world.alice)
    shown = client.get(f"/assessments/P-001/results/{supervised.pk}/").content.decode()
    assert "kw-warning" in shown and "supervis" in shown.lower()
    assert SUPERVISED_WARNING.split(".")[0] in shown.replace("&#x27;", "'")
    assert "kw-warning" not in client.get(f"/assessments/P-001/results/{plain.pk}/").content.decode()


def test_recent_answers_print_a_peg_mean_to_one_decimal_as_published(world: Any, system: Any) -> None:
    actions.record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="peg",
        answers=[4, 4, 5],  # mean 4.333...
        administered_at=dt.datetime(2026, 11, 1, 15, tzinfo=dt.UTC),
        source="clinician",
    )
    html = client_for(world.carol).get("/assessments/P-001/").content.decode()
    recent = html.split("Recent answers", 1)[1]
    assert "<td>4.3</td>" in recent and "4.33" not in recent
