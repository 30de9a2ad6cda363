"""D11 on the web: a form field holding a NUL character is refused on every page with a 400 page naming the field,
and nothing is saved; the same form without it saves (the control)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kratomwatch.careplans.models import CarePlan

pytestmark = pytest.mark.django_db

CARE_PLAN = "/clinic/patients/P-001/care-plan/"


@pytest.fixture(autouse=True)
def _no_2fa(settings: Any) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_nul_in_a_care_plan_field_is_refused_naming_it_and_nothing_changes(world: Any) -> None:
    alice = _client(world.alice)
    before = CarePlan.objects.filter(patient=world.patient).values_list("goals", flat=True).first()
    bad = alice.post(CARE_PLAN, {"form": "plan", "goals": "Walk\x00 daily", "modalities": ["cbt"]})
    page = bad.content.decode()
    assert bad.status_code == 400 and "Nothing was saved" in page and "<strong>Goals</strong>" in page
    assert "\x00" not in page and "Traceback" not in page
    assert CarePlan.objects.filter(patient=world.patient).values_list("goals", flat=True).first() == before
    good = alice.post(CARE_PLAN, {"form": "plan", "goals": "Walk daily", "modalities": ["cbt"]})
    assert good.status_code == 302
    assert CarePlan.objects.get(patient=world.patient).goals == "Walk daily"


def test_a_nul_in_a_patient_form_or_a_field_name_is_refused_too(world: Any) -> None:
    carol = _client(world.carol)
    response = carol.post("/me/side-effect/", {"term": "Nausea\x00", "severity": "mild"})
    assert response.status_code == 400 and "control character" in response.content.decode()
    assert carol.post("/me/side-effect/", {"te\x00rm": "x"}).status_code == 400


def test_api_requests_are_left_to_the_api_error_shape(world: Any) -> None:
    alice = _client(world.alice)
    response = alice.post("/api/v1/screening/interactions", {"medications": "a\x00"})
    assert response.status_code != 500 and "Nothing was saved" not in response.content.decode()
