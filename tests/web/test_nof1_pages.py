"""N-of-1 trial pages: the clinician designs (errors inline in clinician words, nothing saved), signs, starts and
stops; the patient signs, sees today's condition and measures, and reads the result card; the clinician reads the
adherence, the results and downloads the letter; a blinded schedule stays hidden; access stays with the care team
and the patient themself. Data through the actions (``nof1.actions``, records, assessments)."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
from django.test import Client

from kratomwatch.consent import actions as consent_actions
from kratomwatch.nof1 import actions
from kratomwatch.nof1.models import Trial, TrialStatus
from tests.nof1.conftest import run_in_past, trial_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_2fa(settings: Any) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def base(code: str = "P-001") -> str:
    return f"/clinic/patients/{code}/nof1/"


def valid_post(**changes: str) -> dict[str, str]:
    post = {
        "title": "Usual regimen against a reduced one",
        "question": "Does the reduced regimen change my pain?",
        "conditions.0.code": "A",
        "conditions.0.label": "Usual regimen",
        "conditions.0.description": "Your usual leaf powder",
        "conditions.0.target_mitragynine_mg": "30",
        "conditions.1.code": "B",
        "conditions.1.label": "Reduced regimen",
        "conditions.1.description": "Half your usual leaf powder",
        "conditions.1.target_mitragynine_mg": "15",
        "conditions.2.code": "",
        "conditions.2.label": "",
        "reference": "0",
        "primary_instrument": "pain_nrs",
        "measure_every_days": "1",
        "lower_is_better": "lower",
        "mcid": "1",
        "mcid_source": "",
        "mcid_program_choice": "on",
        "secondary.0.instrument_id": "peg",
        "secondary.0.every_days": "7",
        "period_days": "5",
        "blocks": "2",
        "washout_days": "1",
        "run_in_days": "2",
        "stopping_rules": "Pain 9 or more on three days in a row\n",
    }
    post.update(changes)
    return post


def error_summary(html: str) -> str:
    m = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert m, "no error summary on the page"
    return re.sub(r"<[^>]+>", " ", m.group(0))


def test_the_patient_page_links_the_trials_and_the_design_form_opens(world: Any) -> None:
    client = login(world.alice)
    page = client.get("/clinic/patients/P-001/").content.decode()
    assert f'href="{base()}"' in page
    listing = client.get(base())
    assert listing.status_code == 200
    assert f'href="{base()}new/"' in listing.content.decode()
    form = client.get(base() + "new/")
    assert form.status_code == 200
    html = form.content.decode()
    assert 'name="conditions.0.code"' in html and 'name="period_days"' in html
    assert "never proposes a condition, a target or a dose" in html


@pytest.mark.parametrize(
    ("changes", "words", "message"),
    [
        ({"washout_days": "5"}, "Washout", "must be shorter than the period"),
        ({"blocks": "1"}, "Number of blocks", "between 2 and"),
        ({"reference": ""}, "Reference condition", "reference"),
        ({"period_days": ""}, "Period length", "enter the period length"),
        ({"period_days": "two"}, "Period length", "whole number"),
        ({"conditions.1.target_mitragynine_mg": "lots"}, "Condition 2, daily mitragynine target (mg)", "number of mg"),
        ({"conditions.1.label": ""}, "Condition 2, name", "label"),
        ({"mcid_program_choice": ""}, "Source of the MCID", "published source"),
        ({"secondary.0.instrument_id": "pain_nrs"}, "Other outcome 1, questionnaire", "already an outcome"),
        ({"conditions.1.code": "A"}, "Conditions", "named twice"),
        (
            {f"conditions.1.{name}": "" for name in ("code", "label", "description", "target_mitragynine_mg")},
            "Conditions",
            "two",
        ),
    ],
)
def test_a_bad_design_is_shown_again_with_the_error_in_clinician_words_and_nothing_is_saved(
    world: Any, changes: dict[str, str], words: str, message: str
) -> None:
    client = login(world.alice)
    response = client.post(base() + "new/", valid_post(**changes))
    assert response.status_code == 400
    summary = error_summary(response.content.decode())
    assert words in summary
    assert message in summary
    assert not re.search(r"period_days|washout_days|target_mitragynine_mg|conditions\.\d", summary)
    assert Trial.objects.count() == 0
    # What was typed is shown again.
    assert 'value="Usual regimen"' in response.content.decode()


def test_the_clinician_designs_signs_and_the_patient_signs_from_their_home_page(world: Any) -> None:
    client = login(world.alice)
    response = client.post(base() + "new/", valid_post())
    assert response.status_code == 302
    trial = Trial.objects.get()
    assert response["Location"] == f"{base()}{trial.pk}/?saved=design"
    assert trial.status == TrialStatus.DRAFT and trial.mcid_program_choice
    assert [(c.code, c.is_reference, c.target_mitragynine_mg) for c in trial.conditions.order_by("code")] == [
        ("A", True, 30.0),
        ("B", False, 15.0),
    ]
    assert trial.secondary_instruments == [{"instrument_id": "peg", "every_days": 7}]
    page = client.get(f"{base()}{trial.pk}/").content.decode()
    assert "Sign the protocol as clinician" in page and "program choice" in page
    # Edit the draft: the change is kept.
    edited = client.post(f"{base()}{trial.pk}/design/", valid_post(title="Usual against reduced, edited"))
    assert edited.status_code == 302
    trial.refresh_from_db()
    assert trial.title == "Usual against reduced, edited"
    assert client.post(f"{base()}{trial.pk}/", {"action": "sign"}).status_code == 302
    trial.refresh_from_db()
    assert trial.clinician_signed_at is not None and trial.protocol_sha256

    carol = login(world.carol)
    home = carol.get("/me/").content.decode()
    assert "Your trial plan is ready to sign" in home
    assert f'href="/me/nof1/{trial.pk}/"' in home
    sign_page = carol.get(f"/me/nof1/{trial.pk}/")
    assert sign_page.status_code == 200 and "Sign the plan" in sign_page.content.decode()
    assert "Pain intensity numeric rating scale (0-10), every day; PEG" in sign_page.content.decode()
    assert "You can leave the trial at any time" in sign_page.content.decode()
    refused = carol.post(f"/me/nof1/{trial.pk}/", {"action": "sign", "signed_name": "Carol Patient"})
    assert refused.status_code == 400 and "tick the box" in refused.content.decode()
    trial.refresh_from_db()
    assert trial.status == TrialStatus.DRAFT
    signed = carol.post(f"/me/nof1/{trial.pk}/", {"action": "sign", "signed_name": "Carol Patient", "agree": "yes"})
    assert signed.status_code == 302
    trial.refresh_from_db()
    assert trial.status == TrialStatus.SIGNED and trial.patient_signed_name == "Carol Patient"
    protocol = carol.get(f"/me/nof1/{trial.pk}/protocol.pdf")
    assert protocol.status_code == 200 and protocol.content.startswith(b"%PDF")


def test_start_shows_the_schedule_and_the_patient_sees_today_on_their_home_page(world: Any, system: Any) -> None:
    trial = actions.create_trial(actor=system, patient=world.patient, user=world.alice, design=trial_in(run_in_days=0))
    actions.sign_as_clinician(actor=system, trial=trial, user=world.alice)
    actions.sign_as_patient(actor=system, trial=trial, signed_name="Carol Patient")
    client = login(world.alice)
    bad = client.post(f"{base()}{trial.pk}/", {"action": "start", "start_date": "02/12/2026"})
    assert bad.status_code == 400 and "is not a date" in bad.content.decode()
    today = world.patient.local_today()
    assert client.post(f"{base()}{trial.pk}/", {"action": "start", "start_date": today.isoformat()}).status_code == 302
    trial.refresh_from_db()
    assert trial.status == TrialStatus.ACTIVE
    page = client.get(f"{base()}{trial.pk}/").content.decode()
    assert 'id="schedule"' in page
    assert "period 1 of 4, day 1 of 5" in page
    first = trial.periods.get(position=1).condition

    home = login(world.carol).get("/me/").content.decode()
    assert "Your trial today" in home
    assert "Period <strong>1</strong> of 4, day 1 of 5" in home
    assert first.label in home
    assert "/assessments/P-001/pain_nrs/" in home  # today's measure links to its questionnaire
    running = login(world.carol).get(f"/me/nof1/{trial.pk}/").content.decode()
    assert first.label in running and "Leave the trial" in running


def test_without_care_consent_the_home_card_says_why_no_questionnaire_is_offered(world: Any, system: Any) -> None:
    trial = actions.create_trial(actor=system, patient=world.patient, user=world.alice, design=trial_in(run_in_days=0))
    actions.sign_as_clinician(actor=system, trial=trial, user=world.alice)
    actions.sign_as_patient(actor=system, trial=trial, signed_name="Carol Patient")
    actions.start_trial(actor=system, trial=trial, user=world.alice, start_date=world.patient.local_today())
    consent_actions.withdraw(actor=system, patient=world.patient, scope="care")
    home = login(world.carol).get("/me/").content.decode()
    card = home[home.index(f'id="nof1-card-{trial.pk}"') :].split("</section>")[0]
    assert "Until you sign your consent for care again" in card
    assert "/assessments/" not in card


def test_a_blinded_trial_hides_its_schedule_and_conditions_until_it_ends(world: Any, system: Any) -> None:
    trial = actions.create_trial(
        actor=system, patient=world.patient, user=world.alice, design=trial_in(blinded=True, run_in_days=0)
    )
    actions.sign_as_clinician(actor=system, trial=trial, user=world.alice)
    actions.sign_as_patient(actor=system, trial=trial, signed_name="Carol Patient")
    actions.start_trial(actor=system, trial=trial, user=world.alice, start_date=world.patient.local_today())
    page = login(world.alice).get(f"{base()}{trial.pk}/").content.decode()
    assert 'id="schedule"' not in page and "hidden until the trial ends" in page
    assert "condition hidden (blinded)" in page
    assert str(trial.seed) not in page
    assert login(world.alice).get(f"{base()}{trial.pk}/letter.pdf")["Location"] == f"{base()}{trial.pk}/"
    home = login(world.carol).get("/me/").content.decode()
    first = trial.periods.get(position=1).condition
    assert "stays hidden until the trial ends" in home
    assert "Now: <strong" not in home and first.description not in home


def test_a_completed_trial_shows_results_adherence_card_and_the_letter(world: Any, system: Any) -> None:
    trial = actions.create_trial(actor=system, patient=world.patient, user=world.alice, design=trial_in())
    actions.sign_as_clinician(actor=system, trial=trial, user=world.alice)
    actions.sign_as_patient(actor=system, trial=trial, signed_name="Carol Patient")
    run_in_past(world, system, trial, effect=-3.0)
    client = login(world.alice)
    page = client.get(f"{base()}{trial.pk}/").content.decode()
    trial.refresh_from_db()
    assert trial.status == TrialStatus.COMPLETED  # the page completes a trial past its last period
    assert 'id="estimates"' in page and 'id="adherence"' in page and "<svg" in page
    assert "more than 20 % from the target (a program choice)" in page
    assert "B: Reduced regimen" in page
    assert "What this does not mean" in page
    letter = client.get(f"{base()}{trial.pk}/letter.pdf")
    assert letter.status_code == 200 and letter["Content-Type"] == "application/pdf"
    assert letter.content.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=letter.content, capture_output=True, check=True
        ).stdout.decode()
        assert "clinician letter" in text and "Adherence by period" in text and "P-001" in text
        assert "never recommends a kratom dose" in text

    carol = login(world.carol)
    home = carol.get("/me/").content.decode()
    assert "Your trial has ended" in home
    card = carol.get(f"/me/nof1/{trial.pk}/result/")
    assert card.status_code == 200
    html = card.content.decode()
    assert "What was compared" in html and "How sure we are" in html and "What this does not mean" in html
    assert "Reduced regimen" in html and "<svg" in html


def test_stop_needs_a_reason_and_confirmation_and_the_patient_can_leave(world: Any, system: Any) -> None:
    trial = actions.create_trial(actor=system, patient=world.patient, user=world.alice, design=trial_in())
    actions.sign_as_clinician(actor=system, trial=trial, user=world.alice)
    actions.sign_as_patient(actor=system, trial=trial, signed_name="Carol Patient")
    actions.start_trial(actor=system, trial=trial, user=world.alice, start_date=world.patient.local_today())
    client = login(world.alice)
    unconfirmed = client.post(f"{base()}{trial.pk}/", {"action": "stop", "reason": "Stopping rule met"})
    assert unconfirmed.status_code == 400 and "tick the box" in unconfirmed.content.decode()
    no_reason = client.post(f"{base()}{trial.pk}/", {"action": "stop", "reason": "", "confirm": "yes"})
    assert no_reason.status_code == 400 and "reason for stopping" in no_reason.content.decode()
    trial.refresh_from_db()
    assert trial.status == TrialStatus.ACTIVE
    carol = login(world.carol)
    left = carol.post(f"/me/nof1/{trial.pk}/", {"action": "withdraw", "reason": "", "confirm": "yes"})
    assert left.status_code == 302
    trial.refresh_from_db()
    assert trial.status == TrialStatus.STOPPED and "Withdrawn by the patient" in trial.stop_reason


def test_only_the_care_team_and_the_patient_open_a_trial(world: Any, system: Any) -> None:
    trial = actions.create_trial(actor=system, patient=world.patient, user=world.alice, design=trial_in())
    url = f"{base()}{trial.pk}/"
    assert login(world.bob).get(url).status_code == 404  # another program: not found
    assert login(world.bob).post(base() + "new/", valid_post()).status_code == 404
    assert login(world.carol).get(url).status_code == 403  # a patient is not a clinician
    assert login(world.alice).get(f"/clinic/patients/Q-001/nof1/{trial.pk}/").status_code == 404
    assert login(world.alice).get(f"{base()}{trial.pk + 1000}/").status_code == 404
    other = actions.create_trial(
        actor=system, patient=world.foreign_patient, user=world.bob, design=trial_in(title="Other patient's")
    )
    assert login(world.carol).get(f"/me/nof1/{other.pk}/").status_code == 404
    not_ended = login(world.carol).get(f"/me/nof1/{trial.pk}/result/")
    assert not_ended.status_code == 302 and not_ended["Location"] == f"/me/nof1/{trial.pk}/"
    assert Trial.objects.filter(patient=world.patient).count() == 1
