"""Finding a patient from the dashboard without a URL (a whole code opens the patient's page, part of a code lists
the matching patients, and a patient of another clinic is never found), and the next step after enrolling (the
invite) offered as the page's main button."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_2fa(settings: Any) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_dashboard_has_a_labelled_find_box(world: Any) -> None:
    html = _client(world.alice).get("/clinic/").content.decode()
    assert 'role="search"' in html and 'for="find"' in html and 'name="find"' in html


def test_a_whole_code_in_any_case_opens_the_patient_page(world: Any) -> None:
    response = _client(world.alice).get("/clinic/", {"find": " p-001 "})
    assert response.status_code == 302 and response["Location"] == "/clinic/patients/P-001/"


def test_part_of_a_code_lists_the_matching_patients(world: Any) -> None:
    from tests.helpers import add_patient

    add_patient(world, "X-777")
    html = _client(world.alice).get("/clinic/", {"find": "-0"}).content.decode()
    assert 'data-code="P-001"' in html and 'data-code="X-777"' not in html
    assert "Patients whose code contains <strong>-0</strong>: 1." in html and "Show all patients" in html


def test_a_patient_of_another_clinic_is_not_found(world: Any) -> None:
    response = _client(world.alice).get("/clinic/", {"find": "Q-001"})
    html = response.content.decode()
    assert response.status_code == 200 and 'data-code="Q-001"' not in html
    assert "No patient you can see has a code containing <strong>Q-001</strong>." in html


def test_after_enrolment_the_next_step_is_the_invite(world: Any) -> None:
    response = _client(world.alice).post(
        "/clinic/patients/new/",
        {
            "program": str(world.program.pk),
            "code": "P-950",
            "birth_year": "1980",
            "sex": "female",
            "time_zone": "America/Chicago",
            "jurisdiction": "US-TX",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Next: invite them to create their own login, so they can sign the consent." in html
    assert 'id="invite-patient"' in html and 'href="/clinic/patients/P-950/invite/"' in html
