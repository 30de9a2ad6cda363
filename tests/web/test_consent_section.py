"""The consent section of the clinician's patient page: a patient who has not signed is "not active" with the
version they can sign (not "re-consent needed"), and a documented override is shown with its grounds and end."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_2fa(settings: Any) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False


def _consent_section(world: Any, code: str) -> str:
    client = Client()
    client.force_login(world.alice)
    html = client.get(f"/clinic/patients/{code}/").content.decode()
    return html.split('id="h-consent"', 1)[1].split("</section>", 1)[0]


def test_a_patient_who_never_signed_is_not_asked_to_re_consent(world: Any) -> None:
    from tests.helpers import add_patient

    add_patient(world, "P-NEW")
    section = _consent_section(world, "P-NEW")
    assert "not active" in section and "the patient can sign version" in section
    assert "re-consent needed" not in section and 'id="care-override"' not in section


def test_a_documented_override_is_shown_with_its_grounds_and_end(world: Any, system: Any) -> None:
    from kratomwatch.consent import actions as consent_actions
    from tests.helpers import add_patient

    patient = add_patient(world, "P-NEW")
    consent_actions.override_care_consent(
        actor=system,
        patient=patient,
        clinician=world.alice,
        grounds="awaiting_signature",
        reason="Enrolled at today's visit; signs at home tonight.",
    )
    section = _consent_section(world, "P-NEW")
    assert 'id="care-override"' in section and "documented override (consent pending" in section
    assert "CST" in section or "CDT" in section  # the end, in the patient's zone
