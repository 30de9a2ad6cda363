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


OUT_OF_RANGE = [
    ("alice", "/patients?page=9223372036854775807", "page"),
    ("alice", "/patients?page=36893488147419103232&page_size=5560&program_id=1", "page"),
    ("alice", "/patients?program_id=99999999999999999999", "program_id"),
    ("alice", "/patients?program_id=-131808424460731577915321145563807744", "program_id"),
    ("alice", "/products?page=12944826495505092608&program_id=1&page_size=499", "page"),
    ("alice", "/products/99999999999999999999/lots", "product_id"),
    ("alice", "/alerts?status=all&page=4776547454696500685300714962944&program_id=1", "page"),
    ("alice", "/alerts?program_id=159671700759322951680", "program_id"),
    ("alice", "/patients/P-001/alerts?page=5970690554214581037778862080", "page"),
    ("carol", "/patients/P-001/assessments?instrument=phq9&page=12158316733104308224", "page"),
    ("carol", "/patients/P-001/doses?page_size=99999999999999999999", "page_size"),
]


@pytest.mark.parametrize(("user", "path", "field"), OUT_OF_RANGE)
def test_out_of_range_query_numbers_are_422_not_500(world: Any, user: str, path: str, field: str) -> None:
    status, payload = call(world, user, "get", path)
    assert status == 422, payload
    assert_error(payload, "validation_error", field)


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31", "1899-12-31"])
def test_absurd_exposure_day_is_400_not_500(world: Any, as_of: str) -> None:
    for user in ("alice", "carol"):
        status, payload = call(world, user, "get", f"/patients/P-001/exposure?as_of={as_of}")
        assert status == 400, payload
        assert_error(payload, "invalid", "as_of")


def test_in_range_pages_and_days_still_answer(world: Any) -> None:
    status, payload = call(world, "alice", "get", "/patients?page=1000000&program_id=1")
    assert status == 200 and payload["items"] == [], payload
    status, payload = call(world, "alice", "get", "/patients/P-001/exposure?as_of=2026-11-20&days=7")
    assert status == 200 and payload["as_of"] == "2026-11-20", payload


def test_a_year_0001_dose_time_is_400_and_nothing_is_written(world: Any) -> None:
    from kratomwatch.records.models import Dose

    body = {"lot_id": world.leaf_cert_lot.pk, "taken_at": "0001-01-01T00:30:00+05:00", "amount": 1, "unit": "g"}
    status, payload = call(world, "alice", "post", "/patients/P-001/doses", body)
    assert status == 400, payload
    assert_error(payload, "invalid", "taken_at")
    assert Dose.objects.count() == 0
