"""D6 under concurrency: overrides sent at the same moment for one patient never stack (PostgreSQL, real threads)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from kratomwatch.audit.log import Actor, verify_chain
from kratomwatch.consent import actions
from kratomwatch.consent.models import CareOverride
from kratomwatch.core.errors import Conflict
from tests.server.test_concurrency import run_together

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # The in-memory SQLite test database cannot hold two writer threads (see tests/server/test_concurrency.py).
    pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need PostgreSQL"),
]


def test_simultaneous_overrides_give_exactly_one(world: Any) -> None:
    actor = Actor.system("test")
    actions.withdraw(actor=actor, patient=world.patient, scope="care")

    def work(i: int) -> int:
        item = actions.override_care_consent(
            actor=actor,
            patient=world.patient,
            clinician=world.alice,
            grounds="clinical_safety",
            reason=f"Open urgent alert number {i}: monitoring the escalation until review",
        )
        return item.pk

    results = run_together(5, work)
    made = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(made) == 1 and len(refused) == 4, results
    assert CareOverride.objects.filter(patient=world.patient).count() == 1
    assert verify_chain().ok
