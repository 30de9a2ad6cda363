"""A patient's stored administrations as one FHIR R4 collection Bundle (``responses_bundle``), validated with
fhir.resources (R4B models). Pure: stored rows are stand-ins with the attributes an ``Assessment`` has."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from fhir.resources.R4B.bundle import Bundle

from kratomwatch.core import instruments as ins
from kratomwatch.research.fhir_instruments import (
    DEFAULT_BASE_URL,
    questionnaire_canonical,
    response_id_of,
    responses_bundle,
)

PATIENT = "Patient/P-001"
CHICAGO = ZoneInfo("America/Chicago")


@dataclass
class Stored:
    pk: int
    instrument_id: str
    answers: list[int | None]
    administered_at: dt.datetime
    supervised: bool = False


def _at(day: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, 15, 30, tzinfo=dt.UTC)


ROWS = [
    Stored(7, "phq9", [2, 2, 2, 2, 1, 1, 1, 1, 1], _at(20)),
    Stored(5, "peg", [1, 2, 2], _at(18)),
    Stored(3, "phq9", [0, 0, 0, 0, 0, 0, 0, 0, None], _at(10)),
]


def _kinds(bundle: dict[str, Any]) -> list[str]:
    return [entry["resource"]["resourceType"] for entry in bundle["entry"]]


def test_each_administration_gives_its_response_and_score_observations_in_order() -> None:
    b = responses_bundle(ROWS, patient_reference=PATIENT, time_zone=CHICAGO, bundle_id="P-001-responses")
    Bundle.model_validate(b)
    assert b["type"] == "collection" and b["id"] == "P-001-responses"
    responses = [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "QuestionnaireResponse"]
    assert [r["id"] for r in responses] == ["assessment-7", "assessment-5", "assessment-3"]
    assert [r["questionnaire"] for r in responses] == [
        questionnaire_canonical(ins.get(i)) for i in ("phq9", "peg", "phq9")
    ]
    assert all(r["subject"] == {"reference": PATIENT} for r in responses)
    assert responses[0]["authored"] == "2026-11-20T09:30:00-06:00"  # the patient's local time, with its offset
    assert _kinds(b) == ["QuestionnaireResponse", "Observation"] * 3


def test_scores_equal_the_core_and_references_resolve_inside_the_bundle() -> None:
    b = responses_bundle(ROWS, patient_reference=PATIENT)
    observations = {
        e["resource"]["derivedFrom"][0]["reference"]: e["resource"]
        for e in b["entry"]
        if e["resource"]["resourceType"] == "Observation"
    }
    assert observations["QuestionnaireResponse/assessment-7"]["valueQuantity"]["value"] == 13
    assert observations["QuestionnaireResponse/assessment-5"]["valueQuantity"]["value"] == 5 / 3  # full precision
    blank = observations["QuestionnaireResponse/assessment-3"]  # item 9 blank: no total, the reason says why
    assert "valueQuantity" not in blank and "phq9_9" in blank["dataAbsentReason"]["text"]
    urls = {e["fullUrl"] for e in b["entry"]}
    for entry in b["entry"]:
        for ref in entry["resource"].get("derivedFrom", []):
            assert f"{DEFAULT_BASE_URL}/{ref['reference']}" in urls


def test_questionnaires_come_first_once_per_instrument() -> None:
    b = responses_bundle(ROWS, patient_reference=PATIENT, include_questionnaires=True, base_url="https://fhir.test/")
    Bundle.model_validate(b)
    assert _kinds(b)[:2] == ["Questionnaire", "Questionnaire"]
    assert [e["resource"]["id"] for e in b["entry"][:2]] == ["phq9", "peg"]
    assert b["entry"][0]["fullUrl"] == "https://fhir.test/Questionnaire/phq9"


def test_supervised_use_is_scored_as_stored() -> None:
    answers: list[int | None] = [1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1]
    plain, supervised = (
        responses_bundle([Stored(1, "dsm5_sud", answers, _at(1), flag)], patient_reference=PATIENT)
        for flag in (False, True)
    )
    assert plain["entry"][1]["resource"]["valueQuantity"]["value"] == 4
    assert supervised["entry"][1]["resource"]["valueQuantity"]["value"] == 2


def test_retired_instruments_are_left_out_and_an_empty_bundle_has_no_entry() -> None:
    b = responses_bundle([Stored(9, "retired_scale", [1], _at(1))], patient_reference=PATIENT)
    Bundle.model_validate(b)
    assert b == {"resourceType": "Bundle", "type": "collection"}


def test_response_ids_are_stable_fhir_ids() -> None:
    assert response_id_of(ROWS[0]) == "assessment-7"
