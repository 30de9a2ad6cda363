"""API: success and error paths, one error shape, auth, pagination, and no cross-program leaks."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from kratomwatch.records.models import Dose

pytestmark = pytest.mark.django_db


def call(w: Any, user: str | None, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {w.tokens[user]}"} if user else {}
    fn = getattr(client, method)
    if body is None:
        response = fn(f"/api/v1{path}", **headers)
    else:
        response = fn(f"/api/v1{path}", data=json.dumps(body), content_type="application/json", **headers)
    return response.status_code, response.json()


def assert_error(payload: Any, code: str, field: str | None = None) -> None:
    assert set(payload) == {"error"}
    assert set(payload["error"]) == {"code", "message", "field"}
    assert payload["error"]["code"] == code
    if field is not None:
        assert payload["error"]["field"] == field


def test_openapi_schema_is_served(world: Any) -> None:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/patients/{code}/doses" in paths and "/api/v1/patients/{code}/exposure" in paths


def test_anonymous_requests_get_401_in_the_error_shape(world: Any) -> None:
    status, body = call(world, None, "get", "/patients")
    assert status == 401
    assert_error(body, "unauthenticated")


def test_revoked_token_is_refused(world: Any, system: Any) -> None:
    from kratomwatch.accounts.actions import revoke_token
    from kratomwatch.accounts.models import ApiToken

    revoke_token(actor=system, token=ApiToken.objects.get(user=world.alice))
    status, _ = call(world, "alice", "get", "/patients")
    assert status == 401


def test_clinician_lists_only_their_programs_patients_with_pagination(world: Any) -> None:
    status, body = call(world, "alice", "get", "/patients")
    assert status == 200
    assert body["count"] == 1 and [p["code"] for p in body["items"]] == ["P-001"]
    assert body["items"][0]["conditions"] == ["chronic_pain"]


@pytest.mark.parametrize("user", ["bob", "carol"])
def test_no_leak_to_other_programs_or_other_patients(world: Any, user: str) -> None:
    for foreign in ("/patients/Q-001", "/patients/Q-001/doses", "/patients/Q-001/exposure", "/patients/Q-001/labs"):
        path = foreign.replace("Q-001", "P-001") if user == "bob" else foreign
        status, body = call(world, user, "get", path)
        assert status == 404, path
        assert_error(body, "not_found")


def test_patient_logs_own_dose_and_reads_exposure(world: Any) -> None:
    body = {
        "lot_id": world.leaf_cert_lot.pk,
        "taken_at": "2026-11-20T08:00:00-06:00",
        "amount": 2,
        "unit": "g",
        "source": "clinician",
        "idempotency_key": "phone-1",
    }
    status, created = call(world, "carol", "post", "/patients/P-001/doses", body)
    assert status == 201 and created["created"] is True
    assert created["dose"]["mitragynine_mg"] == pytest.approx(30.0)
    assert created["dose"]["source"] == "self_report"  # a patient cannot claim a clinician entry
    status, again = call(world, "carol", "post", "/patients/P-001/doses", body)
    assert status == 200 and again["created"] is False and again["dose"]["id"] == created["dose"]["id"]
    status, summary = call(world, "carol", "get", "/patients/P-001/exposure?as_of=2026-11-20&days=3")
    assert status == 200
    assert [d["mitragynine_mg"] for d in summary["days"]] == [0.0, 0.0, pytest.approx(30.0)]
    assert "never recommends a dose" in summary["note"]


def test_patient_cannot_log_for_another_patient(world: Any) -> None:
    body = {"lot_id": world.leaf_cert_lot.pk, "taken_at": "2026-11-20T08:00:00Z", "amount": 2, "unit": "g"}
    status, _payload = call(world, "carol", "post", "/patients/Q-001/doses", body)
    assert status == 404
    assert Dose.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"unit": "bucket"}, 400, "unknown_unit", "unit"),
        ({"amount": -1}, 400, "implausible_amount", "amount"),
        ({"unit": "mL"}, 400, "unit_form_mismatch", "unit"),
        ({"taken_at": "2030-01-01T00:00:00Z"}, 400, "invalid", "taken_at"),
        ({"taken_at": "yesterday"}, 422, "validation_error", "taken_at"),
        ({"amount": "lots"}, 422, "validation_error", "amount"),
        ({"lot_id": 424242}, 400, "invalid", "lot_id"),
    ],
)
def test_bad_doses_get_a_clear_error_and_nothing_is_written(
    world: Any, change: dict[str, Any], status: int, code: str, field: str
) -> None:
    body = {"lot_id": world.leaf_cert_lot.pk, "taken_at": "2026-11-20T08:00:00Z", "amount": 2, "unit": "g"} | change
    got, payload = call(world, "alice", "post", "/patients/P-001/doses", body)
    assert got == status
    assert_error(payload, code, field)
    assert Dose.objects.count() == 0


def test_create_patient_and_errors(world: Any) -> None:
    body = {
        "program_id": world.program.pk,
        "code": "P-002",
        "birth_year": 1988,
        "sex": "male",
        "time_zone": "America/New_York",
        "jurisdiction": "US-FL",
        "conditions": ["adhd"],
    }
    status, created = call(world, "alice", "post", "/patients", body)
    assert status == 201 and created["jurisdiction"] == "US-FL"
    status, dup = call(world, "alice", "post", "/patients", body)
    assert status == 409
    assert_error(dup, "conflict", "code")
    status, bad = call(world, "alice", "post", "/patients", body | {"code": "P-003", "time_zone": "Nowhere/City"})
    assert status == 400
    assert_error(bad, "invalid", "time_zone")
    status, bad = call(world, "alice", "post", "/patients", body | {"code": "P-003", "jurisdiction": "XX-99"})
    assert_error(bad, "unknown_jurisdiction", "jurisdiction")
    status, bad = call(world, "alice", "post", "/patients", body | {"code": "P-003", "conditions": ["gout"]})
    assert status == 422
    assert_error(bad, "validation_error", "conditions.0")
    status, bad = call(world, "bob", "post", "/patients", body | {"code": "P-004"})
    assert status == 404  # bob cannot see the program at all


def test_certificate_correction_via_api_recomputes(world: Any) -> None:
    call(
        world,
        "alice",
        "post",
        "/patients/P-001/doses",
        {"lot_id": world.leaf_plain_lot.pk, "taken_at": "2026-11-20T08:00:00Z", "amount": 2, "unit": "g"},
    )
    status, forbidden = call(
        world,
        "alice",
        "put",
        f"/lots/{world.leaf_plain_lot.pk}",
        {"certificate": {"content_unit": "mg/g", "mitragynine": 12, "seven_oh": 0.1}},
    )
    assert status == 403  # clinicians cannot edit the catalogue; program admins can
    assert_error(forbidden, "forbidden")
    status, body = call(
        world,
        "pa",
        "put",
        f"/lots/{world.leaf_plain_lot.pk}",
        {"certificate": {"content_unit": "mg/g", "mitragynine": 12, "seven_oh": 0.1}},
    )
    assert status == 200 and body["doses_recomputed"] == 1
    assert Dose.objects.get().mitragynine_mg == pytest.approx(24.0)


def test_medications_labs_adverse_events_round_trip(world: Any) -> None:
    status, med = call(
        world,
        "alice",
        "post",
        "/patients/P-001/medications",
        {"name": "Xanax", "dose_text": "0.5 mg PRN", "start": "2026-10-01"},
    )
    assert status == 201 and med["name"] == "Xanax"
    status, _lab = call(
        world,
        "alice",
        "post",
        "/patients/P-001/labs",
        {"test": "alt", "value": 130, "unit": "U/L", "upper_limit_normal": 40, "taken_at": "2026-11-19T10:00:00Z"},
    )
    assert status == 201
    status, bad = call(
        world,
        "alice",
        "post",
        "/patients/P-001/labs",
        {"test": "alt", "value": 130, "unit": "mmol", "upper_limit_normal": 40, "taken_at": "2026-11-19T10:00:00Z"},
    )
    assert status == 400
    assert_error(bad, "unit_mismatch", "unit")
    status, ae = call(
        world,
        "alice",
        "post",
        "/patients/P-001/adverse-events",
        {
            "term": "Seizure",
            "onset": "2026-11-10",
            "grade": 3,
            "seriousness": ["hospitalization"],
            "outcome": "recovered",
            "causality": "possible",
            "action_taken": "kratom_stopped",
        },
    )
    assert status == 201 and ae["serious"] is True
    status, listing = call(world, "alice", "get", "/patients/P-001/adverse-events")
    assert status == 200 and listing["count"] == 1
    status, bad = call(
        world, "alice", "post", "/patients/P-001/adverse-events", {"term": "x", "onset": "2026-11-10", "grade": 7}
    )
    assert status == 422
    assert_error(bad, "validation_error", "grade")


def test_malformed_json_is_a_clear_error(world: Any) -> None:
    response = Client().post(
        "/api/v1/patients/P-001/doses",
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.tokens['alice']}",
    )
    assert response.status_code in (400, 422)
    assert set(response.json()) == {"error"}


def test_reads_are_audited(world: Any) -> None:
    from kratomwatch.audit.models import AuditEvent

    call(world, "alice", "get", "/patients/P-001")
    event = AuditEvent.objects.order_by("-id").first()
    assert event is not None and event.action == "patient.read.view" and event.actor_label == "alice"
    assert event.patient_code == "P-001"
    assert dt.datetime.now(dt.UTC) - event.at < dt.timedelta(minutes=1)


def test_screening_legal_and_evidence_endpoints(world: Any) -> None:
    status, body = call(world, "alice", "post", "/screening/interactions", {"medications": ["Xanax", "gabapentn"]})
    assert status == 200 and body["highest_severity"] == "major"
    assert any(m["entered"] == "gabapentn" for m in body["unresolved"])
    status, bad = call(world, "alice", "post", "/screening/interactions", {"medications": []})
    assert status == 422
    status, legal = call(world, "alice", "get", "/legal/US-AL?on=2016-05-10")
    assert status == 200 and legal["status"] == "banned" and legal["sources"]
    status, bad = call(world, "alice", "get", "/legal/XX-00")
    assert status == 400
    assert_error(bad, "unknown_jurisdiction", "code")
    status, claims = call(world, "alice", "get", "/evidence")
    assert status == 200 and len(claims) >= 8
    status, _missing = call(world, "alice", "get", "/evidence/nope")
    assert status == 404
