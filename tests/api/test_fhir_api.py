"""FHIR R4 export over the API: an instrument as a Questionnaire, and a patient's responses as a collection Bundle
(read through access, audited), both validated with fhir.resources (R4B models)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire

from kratomwatch.audit.models import AuditEvent
from tests.helpers import api

pytestmark = pytest.mark.django_db


def _record(world: Any, system: Any, instrument: str, answers: list[int | None], days_ago: int) -> Any:
    from kratomwatch.assessments import actions

    return actions.record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id=instrument,
        answers=answers,
        administered_at=world.now - dt.timedelta(days=days_ago),
        source="clinician",
        now=world.now,
    )


def test_an_instrument_as_a_questionnaire(world: Any) -> None:
    response = api(world, "carol", "get", "/instruments/phq9/fhir")
    assert response.status_code == 200
    body = response.json()
    Questionnaire.model_validate(body)
    assert body["id"] == "phq9" and len(body["item"]) == 9
    missing = api(world, "alice", "get", "/instruments/phq10/fhir")
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "instrument"


def test_a_patients_responses_as_a_bundle_audited(world: Any, system: Any) -> None:
    older = _record(world, system, "phq9", [2, 2, 2, 2, 1, 1, 1, 1, 1], days_ago=9)
    newer = _record(world, system, "peg", [5, 5, 5], days_ago=2)
    response = api(world, "alice", "get", "/patients/P-001/assessments/fhir")
    assert response.status_code == 200, response.content
    body = response.json()
    Bundle.model_validate(body)
    responses = [e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse"]
    assert [r["id"] for r in responses] == [f"assessment-{newer.pk}", f"assessment-{older.pk}"]
    assert {r["subject"]["reference"] for r in responses} == {"Patient/P-001"}
    assert responses[1]["authored"].endswith("-06:00")  # Chicago in November
    event = AuditEvent.objects.filter(action="patient.read.fhir").latest("id")
    assert event.actor_label == "alice" and event.patient_code == "P-001"

    only_phq9 = api(world, "alice", "get", "/patients/P-001/assessments/fhir?instrument=phq9&questionnaires=true")
    kinds = [e["resource"]["resourceType"] for e in only_phq9.json()["entry"]]
    assert kinds == ["Questionnaire", "QuestionnaireResponse", "Observation"]


def test_the_patient_reads_their_own_and_nobody_else_does(world: Any, system: Any) -> None:
    _record(world, system, "peg", [5, 5, 5], days_ago=1)
    assert api(world, "carol", "get", "/patients/P-001/assessments/fhir").status_code == 200
    for user in ("bob",):
        denied = api(world, user, "get", "/patients/P-001/assessments/fhir")
        assert denied.status_code == 404 and "MARKER" not in denied.content.decode()
    assert api(world, "carol", "get", "/patients/Q-001/assessments/fhir").status_code == 404


def test_no_responses_is_an_empty_collection_and_a_bad_instrument_names_the_field(world: Any) -> None:
    empty = api(world, "alice", "get", "/patients/P-001/assessments/fhir")
    assert empty.status_code == 200 and empty.json() == {"resourceType": "Bundle", "type": "collection"}
    bad = api(world, "alice", "get", "/patients/P-001/assessments/fhir?instrument=phq10")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "instrument"
