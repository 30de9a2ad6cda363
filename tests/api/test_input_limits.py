"""API input limits: a patient's own adverse event is graded 1-3 (as on the web form), and out-of-range query
integers and absurd dates answer 400/422 in the one error shape, never 500. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from kratomwatch.records.models import AdverseEvent
from tests.api.test_api import assert_error, call

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("grade", [4, 5])
def test_patient_cannot_self_report_a_grade_4_or_5_adverse_event(world: Any, grade: int) -> None:
    body = {"term": "Chest pain", "onset": timezone.localdate().isoformat(), "grade": grade}
    status, payload = call(world, "carol", "post", "/patients/P-001/adverse-events", body)
    assert status == 400, payload
    assert_error(payload, "invalid", "grade")
    assert "care team" in payload["error"]["message"]
    assert AdverseEvent.objects.count() == 0


def test_patient_self_reports_grade_3_and_the_care_team_records_grade_5(world: Any) -> None:
    onset = timezone.localdate().isoformat()
    status, payload = call(
        world, "carol", "post", "/patients/P-001/adverse-events", {"term": "Vomiting", "onset": onset, "grade": 3}
    )
    assert status == 201 and payload["grade"] == 3, payload
    status, payload = call(
        world, "alice", "post", "/patients/P-001/adverse-events", {"term": "Seizure", "onset": onset, "grade": 5}
    )
    assert status == 201 and payload["grade"] == 5 and "death" in payload["seriousness"], payload
    assert sorted(AdverseEvent.objects.values_list("grade", flat=True)) == [3, 5]
