"""Care data needs active care consent or a documented clinician override (kratomwatch.consent.guard)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kratomwatch.consent import actions
from tests.helpers import api

pytestmark = pytest.mark.django_db


def test_care_writes_need_consent_or_a_documented_override(world: Any, system: Any) -> None:
    """Care data is refused without active care consent; a clinician override allows it (time-limited)."""
    from kratomwatch.records.models import Dose

    actions.withdraw(actor=system, patient=world.patient, scope="care")
    body = {"lot_id": world.leaf_cert_lot.pk, "taken_at": "2026-11-20T08:00:00Z", "amount": 2, "unit": "g"}
    refused = api(world, "alice", "post", "/patients/P-001/doses", body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "consent_required"
    assert (
        api(
            world,
            "carol",
            "post",
            "/patients/P-001/adverse-events",
            {"term": "Nausea", "onset": "2026-11-10", "grade": 1},
        ).status_code
        == 403
    )
    assert Dose.objects.count() == 0
    made = api(
        world,
        "alice",
        "post",
        "/patients/P-001/consent/override",
        {"grounds": "clinical_safety", "reason": "Patient in clinic with withdrawal symptoms; consent to be revisited"},
    )
    assert made.status_code == 201
    assert api(world, "alice", "post", "/patients/P-001/doses", body).status_code == 201
    assert Dose.objects.count() == 1
    own = api(world, "carol", "post", "/patients/P-001/doses", body | {"taken_at": "2026-11-20T09:00:00Z"})
    assert own.status_code == 403 and own.json()["error"]["code"] == "consent_required", "never the self-report"
    assert Dose.objects.count() == 1


def test_patient_page_refuses_dose_after_care_withdrawal(world: Any, system: Any) -> None:
    from kratomwatch.records.models import Dose

    actions.withdraw(actor=system, patient=world.patient, scope="care")
    client = Client()
    client.force_login(world.carol)
    client.post(
        "/me/dose/",
        {"lot_id": world.leaf_cert_lot.pk, "amount": "2", "unit": "g", "form": "other", "idempotency_key": "k-consent"},
    )
    assert Dose.objects.count() == 0
