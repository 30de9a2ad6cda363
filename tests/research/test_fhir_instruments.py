"""FHIR R4 export of the outcome instruments, validated with fhir.resources (R4B models, which share
Questionnaire, QuestionnaireResponse, Observation and Bundle with R4 for everything exported here)."""

from __future__ import annotations

import ast
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError

import kratomwatch.research.fhir_instruments as fhir_module
from kratomwatch.core import instruments as ins
from kratomwatch.core.instruments import InstrumentDefinition, ScoreResult
from kratomwatch.research.fhir_instruments import (
    LOINC_SYSTEM,
    ORDINAL_VALUE_URL,
    FhirExportError,
    answer_system,
    band_system,
    bundle,
    questionnaire,
    questionnaire_canonical,
    questionnaire_response,
    scale_system,
    score_observations,
)

DEFINITIONS = ins.all_definitions()
IDS = [definition.id for definition in DEFINITIONS]
AUTHORED = dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
PATIENT = "Patient/p-1"


def _export(
    definition: InstrumentDefinition, answers: list[int | None], **score_kwargs: Any
) -> tuple[ScoreResult, dict[str, Any], list[dict[str, Any]]]:
    result = ins.score(definition, answers, **score_kwargs)
    response = questionnaire_response(
        definition, answers, result, patient_reference=PATIENT, authored=AUTHORED, response_id="qr-1"
    )
    observations = score_observations(
        definition, result, patient_reference=PATIENT, effective=AUTHORED, response_id="qr-1"
    )
    return result, response, observations


def _observation_for(observations: list[dict[str, Any]], scale_id: str) -> dict[str, Any]:
    matches = [o for o in observations if o["id"] == f"qr-1-{scale_id.replace('_', '-')}"]
    assert len(matches) == 1
    return matches[0]


def _notes(observation: dict[str, Any]) -> str:
    return " | ".join(note["text"] for note in observation.get("note", []))


def _option_codings(q: dict[str, Any]) -> dict[str, list[tuple[str, str, str]]]:
    return {
        item["linkId"]: [
            (opt["valueCoding"]["system"], opt["valueCoding"]["code"], opt["valueCoding"]["display"])
            for opt in item["answerOption"]
        ]
        for item in q["item"]
    }


# -- Questionnaire ------------------------------------------------------------------------------------


@pytest.mark.parametrize("definition", DEFINITIONS, ids=IDS)
def test_questionnaire_validates_and_mirrors_the_definition(definition: InstrumentDefinition) -> None:
    q = questionnaire(definition)
    model = Questionnaire.model_validate(q)
    assert model.status == "active"
    assert q["url"].endswith("/Questionnaire/" + definition.id.replace("_", "-"))
    assert q["version"] == definition.version
    assert q["title"] == definition.title
    assert q["subjectType"] == ["Patient"]
    assert q["copyright"] == definition.licence
    assert [item["linkId"] for item in q["item"]] == [item.id for item in definition.items]
    if definition.loinc_panel is None:
        assert "code" not in q
    else:
        assert q["code"] == [{"system": LOINC_SYSTEM, "code": definition.loinc_panel}]
    for item, exported in zip(definition.items, q["item"], strict=True):
        assert exported["type"] == "choice"
        assert exported["text"] == (item.text if item.text is not None else item.label)
        if item.loinc is None:
            assert "code" not in exported
        else:
            assert exported["code"] == [{"system": LOINC_SYSTEM, "code": item.loinc}]
        system = answer_system(definition, item)
        assert [
            (
                opt["valueCoding"]["system"],
                opt["valueCoding"]["code"],
                opt["valueCoding"]["display"],
                opt["extension"],
            )
            for opt in exported["answerOption"]
        ] == [
            (system, str(option.value), option.label, [{"url": ORDINAL_VALUE_URL, "valueDecimal": option.value}])
            for option in item.options
        ]


@pytest.mark.parametrize("definition", DEFINITIONS, ids=IDS)
def test_one_code_never_carries_two_displays_within_a_system(definition: InstrumentDefinition) -> None:
    displays: dict[tuple[str, str], str] = {}
    for codings in _option_codings(questionnaire(definition)).values():
        for system, code, display in codings:
            assert displays.setdefault((system, code), display) == display


def test_items_that_label_scores_differently_get_their_own_answer_system() -> None:
    cows = ins.get("cows")
    systems = {answer_system(cows, item) for item in cows.items}
    assert len(systems) == len(cows.items)
    phq9 = ins.get("phq9")
    assert {answer_system(phq9, item) for item in phq9.items} == {
        "https://kratomwatch.example/fhir/CodeSystem/phq9-answer"
    }


def test_copyrighted_bpi_exports_labels_only_and_says_so() -> None:
    bpi = ins.get("bpi_sf")
    assert not bpi.ships_item_text  # precondition: the definition withholds the wording
    q = questionnaire(bpi)
    assert [item["text"] for item in q["item"]] == [item.label for item in bpi.items]
    assert all(len(item["text"]) <= 45 for item in q["item"])  # short labels, not questions
    assert "not distributed" in q["description"]
    assert "Cleeland" in q["copyright"]


@pytest.mark.parametrize("definition", [d for d in DEFINITIONS if not d.ships_item_text], ids=lambda d: d.id)
def test_no_unshipped_instrument_exports_anything_but_labels(definition: InstrumentDefinition) -> None:
    q = questionnaire(definition)
    texts = [item["text"] for item in q["item"]]
    assert texts == [item.label for item in definition.items]
    assert "not distributed" in q["description"]


def test_shipped_wording_is_exported_verbatim() -> None:
    phq9 = ins.get("phq9")
    q = questionnaire(phq9)
    assert q["item"][8]["text"] == "Thoughts that you would be better off dead or of hurting yourself in some way"
    assert "not distributed" not in q["description"]


def test_base_url_is_honoured_everywhere() -> None:
    q = questionnaire(ins.get("gad7"), base_url="https://fhir.example.org/r4/")
    assert q["url"] == "https://fhir.example.org/r4/Questionnaire/gad7"
    assert q["item"][0]["answerOption"][0]["valueCoding"]["system"] == (
        "https://fhir.example.org/r4/CodeSystem/gad7-answer"
    )


# -- responses and observations for extreme answers ---------------------------------------------------


def _extreme(definition: InstrumentDefinition, which: str) -> list[int | None]:
    return [item.min_value if which == "min" else item.max_value for item in definition.items]


@pytest.mark.parametrize("which", ["min", "max"])
@pytest.mark.parametrize("definition", DEFINITIONS, ids=IDS)
def test_extreme_answers_export_valid_resources_that_line_up(definition: InstrumentDefinition, which: str) -> None:
    answers = _extreme(definition, which)
    result, response, observations = _export(definition, answers)
    q = questionnaire(definition)

    QuestionnaireResponse.model_validate(response)
    assert response["status"] == "completed"
    assert response["questionnaire"] == f"{q['url']}|{q['version']}"
    assert response["subject"] == {"reference": PATIENT}
    assert response["authored"] == "2026-11-21T09:30:00-05:00"
    options = _option_codings(q)
    q_text = {item["linkId"]: item["text"] for item in q["item"]}
    assert [item["linkId"] for item in response["item"]] == [item.id for item in definition.items]
    for exported, answer in zip(response["item"], answers, strict=True):
        (coding,) = [a["valueCoding"] for a in exported["answer"]]
        assert (coding["system"], coding["code"], coding["display"]) in options[exported["linkId"]]
        assert coding["code"] == str(answer)
        assert coding["extension"] == [{"url": ORDINAL_VALUE_URL, "valueDecimal": answer}]
        assert exported["text"] == q_text[exported["linkId"]]

    assert len(observations) == len(result.scales)
    for observation, scale in zip(observations, result.scales, strict=True):
        model = Observation.model_validate(observation)
        assert model.status == "final"
        assert observation["category"][0]["coding"][0]["code"] == "survey"
        assert observation["valueQuantity"]["value"] == scale.value
        assert type(observation["valueQuantity"]["value"]) is type(scale.value)
        assert model.valueQuantity is not None
        assert model.valueQuantity.value == Decimal(str(scale.value))
        assert observation["valueQuantity"]["unit"] == "{score}"
        assert "dataAbsentReason" not in observation
        assert observation["derivedFrom"] == [{"reference": "QuestionnaireResponse/qr-1"}]
        rule = definition.scale(scale.scale_id)
        codings = observation["code"]["coding"]
        assert codings[-1] == {"system": scale_system(definition), "code": rule.id, "display": rule.label}
        loinc = [c["code"] for c in codings if c["system"] == LOINC_SYSTEM]
        assert loinc == ([rule.loinc] if rule.loinc else [])
        if scale.band is None:
            assert "interpretation" not in observation
        else:
            assert observation["interpretation"][0]["coding"][0]["code"] == f"{scale.scale_id}.{scale.band.id}"
            assert observation["interpretation"][0]["coding"][0]["system"] == band_system(definition)
    json.dumps([q, response, observations])  # JSON-ready without a default


@pytest.mark.parametrize("definition", DEFINITIONS, ids=IDS)
def test_bundle_validates_and_references_resolve(definition: InstrumentDefinition) -> None:
    answers = _extreme(definition, "max")
    result = ins.score(definition, answers)
    b = bundle(
        definition,
        answers,
        result,
        patient_reference=PATIENT,
        authored=AUTHORED,
        response_id="qr-1",
        bundle_id="b-1",
        include_questionnaire=True,
    )
    Bundle.model_validate(b)
    assert b["type"] == "collection"
    kinds = [entry["resource"]["resourceType"] for entry in b["entry"]]
    assert kinds == ["Questionnaire", "QuestionnaireResponse"] + ["Observation"] * len(result.scales)
    full_urls = [entry["fullUrl"] for entry in b["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    base = "https://kratomwatch.example/fhir/"
    for entry in b["entry"][2:]:
        (derived,) = entry["resource"]["derivedFrom"]
        assert base + derived["reference"] in full_urls
    canonical = b["entry"][1]["resource"]["questionnaire"]
    assert canonical == questionnaire_canonical(definition)
    assert canonical.split("|")[0] == b["entry"][0]["resource"]["url"]


def test_bundle_defaults_leave_out_the_questionnaire_and_use_authored_as_effective() -> None:
    gad7 = ins.get("gad7")
    answers: list[int | None] = [1] * 7
    b = bundle(gad7, answers, ins.score(gad7, answers), patient_reference=PATIENT, authored=AUTHORED, response_id="r")
    assert [e["resource"]["resourceType"] for e in b["entry"]] == ["QuestionnaireResponse", "Observation"]
    assert b["entry"][1]["resource"]["effectiveDateTime"] == "2026-11-21T09:30:00-05:00"
    assert "id" not in b


# -- values, bands, flags, missing items ---------------------------------------------------------------


def test_mean_is_exported_at_full_precision() -> None:
    peg = ins.get("peg")
    _, _, (observation,) = _export(peg, [1, 2, 2])
    assert observation["valueQuantity"]["value"] == 5 / 3
    assert '"value": 1.6666666666666667' in json.dumps(observation)


def test_phq9_total_carries_loinc_band_and_screen_flag() -> None:
    phq9 = ins.get("phq9")
    _, _, (observation,) = _export(phq9, [2, 2, 2, 2, 1, 1, 1, 1, 0])
    assert observation["valueQuantity"]["value"] == 12
    assert observation["code"]["coding"][0] == {"system": LOINC_SYSTEM, "code": "44261-6"}
    assert observation["interpretation"][0]["coding"][0]["display"] == "moderate"
    assert "author_defined" in observation["interpretation"][0]["text"]
    assert "Flag screen_positive" in _notes(observation)
    assert "suicidality" not in _notes(observation)


def test_suicidality_flag_is_noted_whatever_the_total() -> None:
    phq9 = ins.get("phq9")
    _, _, (observation,) = _export(phq9, [0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert observation["valueQuantity"]["value"] == 1
    assert "Flag suicidality" in _notes(observation)
    assert "clinician review" in _notes(observation)


def test_invalid_total_keeps_its_flags_and_marks_data_absent() -> None:
    phq9 = ins.get("phq9")
    result, response, (observation,) = _export(phq9, [1, 1, None, 1, 1, 1, 1, 1, 2])
    assert not result.primary.valid
    Observation.model_validate(observation)
    assert "valueQuantity" not in observation
    assert "interpretation" not in observation
    assert observation["dataAbsentReason"]["coding"][0]["code"] == "unknown"
    assert "phq9_3" in observation["dataAbsentReason"]["text"]
    assert "Flag suicidality" in _notes(observation)
    assert [item["linkId"] for item in response["item"]] == [f"phq9_{n}" for n in (1, 2, 4, 5, 6, 7, 8, 9)]


def test_blank_item_9_raises_the_unassessed_note() -> None:
    phq9 = ins.get("phq9")
    _, response, (observation,) = _export(phq9, [0, 0, 0, 0, 0, 0, 0, 0, None])
    assert "Flag suicidality_unassessed" in _notes(observation)
    assert "phq9_9" not in [item["linkId"] for item in response["item"]]


def test_bpi_prorated_interference_and_invalid_severity() -> None:
    bpi = ins.get("bpi_sf")
    answers: list[int | None] = [5, 3, None, 4, 2, 4, 6, 3, None, None, 5]
    result, response, observations = _export(bpi, answers)
    interference = _observation_for(observations, "interference")
    severity = _observation_for(observations, "severity")
    assert interference["valueQuantity"]["value"] == result.scale("interference").value == 20 / 5
    assert "prorated" in _notes(interference)
    assert "valueQuantity" not in severity
    assert "bpi_average" in severity["dataAbsentReason"]["text"]
    assert len(response["item"]) == 8
    for observation in observations:
        Observation.model_validate(observation)
        assert ("valueQuantity" in observation) != ("dataAbsentReason" in observation)  # obs-6


def test_scale_flag_lands_on_its_own_scale_only() -> None:
    asrs = ins.get("asrs")
    result, _, observations = _export(asrs, [4] * 18)
    assert result.has_flag("screen_positive")
    assert "screen_positive" in _notes(_observation_for(observations, "part_a_shaded"))
    assert "note" not in _observation_for(observations, "part_b_shaded")


def test_supervised_exclusion_is_noted() -> None:
    dsm5 = ins.get("dsm5_sud")
    answers: list[int | None] = [1] * 9 + [None, None]
    _, _, (observation,) = _export(dsm5, answers, supervised=True)
    assert observation["valueQuantity"]["value"] == 9
    assert "supervised use" in _notes(observation)


def test_all_blank_response_has_no_items_and_still_validates() -> None:
    gad7 = ins.get("gad7")
    _, response, (observation,) = _export(gad7, [None] * 7)
    QuestionnaireResponse.model_validate(response)
    assert "item" not in response
    assert "dataAbsentReason" in observation


# -- refusals ------------------------------------------------------------------------------------------


def test_naive_times_are_refused() -> None:
    gad7 = ins.get("gad7")
    answers: list[int | None] = [0] * 7
    result = ins.score(gad7, answers)
    naive = dt.datetime(2026, 11, 21, 9, 30)
    with pytest.raises(FhirExportError, match="timezone-aware"):
        questionnaire_response(gad7, answers, result, patient_reference=PATIENT, authored=naive, response_id="r")
    with pytest.raises(FhirExportError, match="timezone-aware"):
        score_observations(gad7, result, patient_reference=PATIENT, effective=naive, response_id="r")


def test_result_of_another_instrument_or_other_answers_is_refused() -> None:
    gad7, phq9 = ins.get("gad7"), ins.get("phq9")
    phq9_result = ins.score(phq9, [0] * 9)
    with pytest.raises(FhirExportError, match="cannot be exported"):
        score_observations(gad7, phq9_result, patient_reference=PATIENT, effective=AUTHORED, response_id="r")
    result = ins.score(gad7, [0] * 7)
    with pytest.raises(FhirExportError, match="not the ones"):
        questionnaire_response(gad7, [1] * 7, result, patient_reference=PATIENT, authored=AUTHORED, response_id="r")


def test_invalid_ids_and_references_are_refused() -> None:
    gad7 = ins.get("gad7")
    result = ins.score(gad7, [0] * 7)
    with pytest.raises(FhirExportError, match="FHIR id"):
        score_observations(gad7, result, patient_reference=PATIENT, effective=AUTHORED, response_id="a b")
    with pytest.raises(FhirExportError, match="reference"):
        score_observations(gad7, result, patient_reference="", effective=AUTHORED, response_id="r")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda q: q.pop("status"),
        lambda q: q["item"][0].pop("linkId"),
        lambda q: q["item"][0].update(answerText="unknown element"),
        lambda q: q["item"][0]["answerOption"][0]["extension"][0].update(valueDecimal="three"),
        lambda q: q.update(id="bpi_sf"),
    ],
    ids=["no-status", "no-linkId", "unknown-element", "non-decimal-ordinal", "underscore-id"],
)
def test_fhir_resources_validation_is_not_vacuous(mutate: Any) -> None:
    """fhir.resources checks structure, cardinality and primitive formats (not value-set bindings, which
    the tests above assert directly), so a broken export must fail it."""
    q = questionnaire(ins.get("gad7"))
    mutate(q)
    with pytest.raises(ValidationError):
        Questionnaire.model_validate(q)


# -- purity --------------------------------------------------------------------------------------------


def test_module_imports_no_django_and_no_fhir_library() -> None:
    tree = ast.parse(Path(fhir_module.__file__).read_text(encoding="utf-8"))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    roots = {name.split(".")[0] for name in modules}
    assert roots <= {"__future__", "re", "collections", "datetime", "typing", "kratomwatch"}
    assert not any(name.startswith(("kratomwatch.records", "kratomwatch.api", "kratomwatch.web")) for name in modules)
