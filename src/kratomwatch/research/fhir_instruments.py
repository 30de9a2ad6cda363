"""FHIR R4 export of the validated outcome instruments.

Four pure functions turn an :class:`~kratomwatch.core.instruments.InstrumentDefinition` and a
:class:`~kratomwatch.core.instruments.ScoreResult` into JSON-ready FHIR R4 resources (plain ``dict`` /
``list`` / ``str`` / ``int`` / ``float``, so ``json.dumps`` needs no ``default``):

* :func:`questionnaire` - the instrument as a ``Questionnaire``;
* :func:`questionnaire_response` - one administration as a ``QuestionnaireResponse``;
* :func:`score_observations` - one ``Observation`` per scale of the score;
* :func:`bundle` - a ``collection`` Bundle of the response and its observations;
* :func:`responses_bundle` - a ``collection`` Bundle of a patient's stored administrations (each scored with
  the current definition), served by ``GET /api/v1/patients/{code}/assessments/fhir`` and
  ``kratomwatch fhir responses``; :func:`questionnaire` is served by ``GET /api/v1/instruments/{id}/fhir`` and
  ``kratomwatch fhir questionnaire``.

Nothing here imports Django or a FHIR library, reads a clock, a file or the network. Times are
parameters and must be timezone-aware. Item wording is exported only where the definition ships it
(``Item.text``); otherwise the short, shippable ``Item.label`` stands in. Scores are exported at full
precision (a PEG mean of 5/3 stays ``1.6666666666666667``). Flags are exported as notes for clinician
review; nothing here, like the rest of kratomwatch, recommends a dose. The mapping is documented in
``docs/fhir.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, tzinfo
from typing import Any, Protocol

from kratomwatch.core.instruments import (
    FlagKind,
    InstrumentDefinition,
    Item,
    ScaleScore,
    ScoreResult,
    UnknownInstrument,
    get,
    score,
)
from kratomwatch.core.instruments.scoring import Answer, check_answers

JSON = dict[str, Any]
"""A JSON-ready FHIR resource or element."""

FHIR_VERSION = "4.0.1"
DEFAULT_BASE_URL = "https://kratomwatch.example/fhir"
LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"
ORDINAL_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
OBSERVATION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
SCORE_UNIT = "{score}"

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class FhirExportError(ValueError):
    """The inputs cannot be exported consistently (mismatched result, naive time, invalid id, ...)."""


# -- identifiers and code systems -------------------------------------------------------------------


def fhir_id(value: str) -> str:
    """``value`` as a FHIR ``id`` (underscores become hyphens); raises FhirExportError when the result
    is not a valid id (1-64 characters of ``A-Z a-z 0-9 - .``)."""
    candidate = value.replace("_", "-")
    if not _FHIR_ID.match(candidate):
        raise FhirExportError(f"{value!r} cannot be used as a FHIR id (1-64 characters of A-Z a-z 0-9 - .)")
    return candidate


def _base(base_url: str) -> str:
    return base_url.rstrip("/")


def questionnaire_url(definition: InstrumentDefinition, *, base_url: str = DEFAULT_BASE_URL) -> str:
    """Canonical URL of the instrument's Questionnaire (without version)."""
    return f"{_base(base_url)}/Questionnaire/{fhir_id(definition.id)}"


def questionnaire_canonical(definition: InstrumentDefinition, *, base_url: str = DEFAULT_BASE_URL) -> str:
    """Versioned canonical ``url|version`` that a QuestionnaireResponse points to."""
    return f"{questionnaire_url(definition, base_url=base_url)}|{definition.version}"


def _labels_agree(definition: InstrumentDefinition) -> bool:
    """True when every item gives the same label to the same score, so one code system fits them all."""
    seen: dict[int, str] = {}
    for item in definition.items:
        for option in item.options:
            if seen.setdefault(option.value, option.label) != option.label:
                return False
    return True


def answer_system(definition: InstrumentDefinition, item: Item, *, base_url: str = DEFAULT_BASE_URL) -> str:
    """kratomwatch CodeSystem of an item's answers; the code is the numeric score as a string.

    One system per instrument (``.../CodeSystem/<instrument>-answer``) when all its items label each score
    the same way (PHQ-9, GAD-7, DN4, ...). Where items label the same score differently (COWS, PEG, SOWS
    ...), one code could otherwise carry two displays, so each item gets its own system
    (``.../CodeSystem/<instrument>-answer-<item>``).
    """
    root = f"{_base(base_url)}/CodeSystem/{fhir_id(definition.id)}-answer"
    if _labels_agree(definition):
        return root
    return f"{root}-{item.id.replace('_', '-')}"


def scale_system(definition: InstrumentDefinition, *, base_url: str = DEFAULT_BASE_URL) -> str:
    """kratomwatch CodeSystem of an instrument's scales; the code is the scale id (e.g. ``total``)."""
    return f"{_base(base_url)}/CodeSystem/{fhir_id(definition.id)}-scale"


def band_system(definition: InstrumentDefinition, *, base_url: str = DEFAULT_BASE_URL) -> str:
    """kratomwatch CodeSystem of an instrument's severity bands; the code is ``<scale>.<band>``."""
    return f"{_base(base_url)}/CodeSystem/{fhir_id(definition.id)}-band"


def _resource_name(definition: InstrumentDefinition) -> str:
    """Computer-friendly name (``phq9`` -> ``Phq9``, ``bpi_sf`` -> ``BpiSf``)."""
    return "".join(part[:1].upper() + part[1:] for part in definition.id.split("_"))


def _item_text(item: Item) -> str:
    """The verbatim wording when the definition ships it, otherwise the shippable short label."""
    return item.text if item.text is not None else item.label


def _ordinal(value: int) -> JSON:
    return {"url": ORDINAL_VALUE_URL, "valueDecimal": value}


def _answer_coding(definition: InstrumentDefinition, item: Item, value: int, *, base_url: str, ordinal: bool) -> JSON:
    label = item.label_for(value)
    if label is None:
        raise FhirExportError(f"{definition.id}: {value!r} is not an allowed answer of item {item.id}")
    coding: JSON = {}
    if ordinal:
        coding["extension"] = [_ordinal(value)]
    coding.update({"system": answer_system(definition, item, base_url=base_url), "code": str(value), "display": label})
    return coding


# -- Questionnaire ----------------------------------------------------------------------------------


def questionnaire(definition: InstrumentDefinition, *, base_url: str = DEFAULT_BASE_URL) -> JSON:
    """The instrument as a FHIR R4 Questionnaire.

    One ``choice`` item per definition item (``linkId`` = item id), each answer an ``answerOption`` whose
    ``valueCoding`` carries the score as code and the label as display, with the score again in the
    ``ordinalValue`` extension. LOINC panel and item codes appear only where the definition has them.
    """
    items: list[JSON] = []
    for item in definition.items:
        entry: JSON = {"linkId": item.id}
        if item.loinc is not None:
            entry["code"] = [{"system": LOINC_SYSTEM, "code": item.loinc}]
        entry["text"] = _item_text(item)
        entry["type"] = "choice"
        entry["answerOption"] = [
            {
                "extension": [_ordinal(option.value)],
                "valueCoding": _answer_coding(definition, item, option.value, base_url=base_url, ordinal=False),
            }
            for option in item.options
        ]
        items.append(entry)

    description = f"{definition.title}. Recall period: {definition.recall_period}."
    if any(item.text is None for item in definition.items):
        description += (
            " Item wording is not distributed with kratomwatch (licence or unconfirmed permission); items carry"
            " short identifying labels only. Administer from the licensed form."
        )
    resource: JSON = {
        "resourceType": "Questionnaire",
        "id": fhir_id(definition.id),
        "url": questionnaire_url(definition, base_url=base_url),
        "version": definition.version,
        "name": _resource_name(definition),
        "title": definition.title,
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": "kratomwatch",
        "description": description,
        "copyright": definition.licence,
    }
    if definition.loinc_panel is not None:
        resource["code"] = [{"system": LOINC_SYSTEM, "code": definition.loinc_panel}]
    resource["item"] = items
    return resource


# -- QuestionnaireResponse ---------------------------------------------------------------------------


def _timestamp(value: datetime | date, what: str) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()  # a FHIR dateTime may be a bare date (the research export's de-identified days)
    if not isinstance(value, datetime):
        raise FhirExportError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise FhirExportError(f"{what} must be timezone-aware (FHIR dateTime with a time needs an offset)")
    return value.isoformat()


def _reference(reference: str, what: str) -> JSON:
    if not reference or reference != reference.strip():
        raise FhirExportError(f"{what} must be a non-empty reference such as 'Patient/123'")
    return {"reference": reference}


def _check_result(definition: InstrumentDefinition, result: ScoreResult) -> None:
    if result.instrument_id != definition.id or result.instrument_version != definition.version:
        raise FhirExportError(
            f"score result of {result.instrument_id} {result.instrument_version} cannot be exported with "
            f"definition {definition.id} {definition.version}"
        )


def questionnaire_response(
    definition: InstrumentDefinition,
    answers: Sequence[Answer],
    result: ScoreResult,
    *,
    patient_reference: str,
    authored: datetime | date,
    response_id: str,
    base_url: str = DEFAULT_BASE_URL,
) -> JSON:
    """One administration as a completed QuestionnaireResponse.

    ``answers`` are the item answers in item order (None for a blank) and must be the answers ``result``
    was scored from. Answered items carry a ``valueCoding`` identical to the Questionnaire's answer option
    (plus the ordinalValue extension); unanswered items are omitted.
    """
    _check_result(definition, result)
    checked = check_answers(definition, answers)
    if checked != result.answers:
        raise FhirExportError(f"{definition.id}: the answers are not the ones the score result was computed from")
    items: list[JSON] = []
    for item, answer in zip(definition.items, checked, strict=True):
        if answer is None:
            continue
        items.append(
            {
                "linkId": item.id,
                "text": _item_text(item),
                "answer": [{"valueCoding": _answer_coding(definition, item, answer, base_url=base_url, ordinal=True)}],
            }
        )
    resource: JSON = {
        "resourceType": "QuestionnaireResponse",
        "id": fhir_id(response_id),
        "questionnaire": questionnaire_canonical(definition, base_url=base_url),
        "status": "completed",
        "subject": _reference(patient_reference, "patient_reference"),
        "authored": _timestamp(authored, "authored"),
    }
    if items:
        resource["item"] = items
    return resource


# -- Observations ------------------------------------------------------------------------------------


def _flag_scale_ids(definition: InstrumentDefinition, flag_id: str) -> tuple[str, ...]:
    """Scales whose Observation carries a flag: the flagged scale, or every scale containing the flagged item."""
    for rule in definition.flag_rules:
        if flag_id not in (rule.id, f"{rule.id}_unassessed"):
            continue
        if rule.kind is FlagKind.SCALE_AT_OR_ABOVE:
            return (rule.target_id,)
        owners = tuple(scale.id for scale in definition.scales if rule.target_id in scale.item_ids)
        return owners or (definition.primary_scale_id,)
    return (definition.primary_scale_id,)


def _flag_notes(definition: InstrumentDefinition, result: ScoreResult) -> dict[str, list[str]]:
    notes: dict[str, list[str]] = {}
    rule_notes = {rule.id: rule.note for rule in definition.flag_rules}
    for flag in result.flags:
        text = f"Flag {flag.id}: {flag.label}. {flag.reason} (threshold basis: {flag.basis.value})."
        rule_note = rule_notes.get(flag.id) or rule_notes.get(flag.id.removesuffix("_unassessed"))
        text += f" {rule_note}" if rule_note else " A screening flag for clinician review, not a diagnosis."
        for scale_id in _flag_scale_ids(definition, flag.id):
            notes.setdefault(scale_id, []).append(text)
    return notes


def _scale_observation(
    definition: InstrumentDefinition,
    scale: ScaleScore,
    *,
    flag_notes: list[str],
    patient_reference: str,
    effective: str,
    response_id: str,
    base_url: str,
) -> JSON:
    rule = definition.scale(scale.scale_id)
    codings: list[JSON] = []
    if rule.loinc is not None:
        codings.append({"system": LOINC_SYSTEM, "code": rule.loinc})
    codings.append({"system": scale_system(definition, base_url=base_url), "code": rule.id, "display": rule.label})
    resource: JSON = {
        "resourceType": "Observation",
        "id": fhir_id(f"{response_id}-{scale.scale_id}"),
        "status": "final",
        "category": [
            {
                "coding": [{"system": OBSERVATION_CATEGORY_SYSTEM, "code": "survey", "display": "Survey"}],
                "text": "Survey",
            }
        ],
        "code": {"coding": codings, "text": rule.label},
        "subject": {"reference": patient_reference},
        "effectiveDateTime": effective,
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{fhir_id(response_id)}"}],
    }
    if scale.valid and scale.value is not None:
        resource["valueQuantity"] = {
            "value": scale.value,
            "unit": SCORE_UNIT,
            "system": UCUM_SYSTEM,
            "code": SCORE_UNIT,
        }
    else:
        resource["dataAbsentReason"] = {
            "coding": [{"system": DATA_ABSENT_REASON_SYSTEM, "code": "unknown", "display": "Unknown"}],
            "text": "; ".join(scale.reasons) or "score could not be computed",
        }
    if scale.band is not None:
        resource["interpretation"] = [
            {
                "coding": [
                    {
                        "system": band_system(definition, base_url=base_url),
                        "code": f"{scale.scale_id}.{scale.band.id}",
                        "display": scale.band.label,
                    }
                ],
                "text": f"{scale.band.label} (threshold basis: {scale.band.basis.value})",
            }
        ]
    notes = [*flag_notes, *scale.notes]
    if notes:
        resource["note"] = [{"text": text} for text in notes]
    return resource


def score_observations(
    definition: InstrumentDefinition,
    result: ScoreResult,
    *,
    patient_reference: str,
    effective: datetime | date,
    response_id: str,
    base_url: str = DEFAULT_BASE_URL,
) -> list[JSON]:
    """One ``final`` survey Observation per scale of ``result``, in definition order.

    A valid scale carries ``valueQuantity`` (full precision, unit ``{score}``); an invalid one carries no
    value but a ``dataAbsentReason`` with the reasons, so that flags raised on it (e.g. PHQ-9
    ``suicidality`` with a blank item elsewhere) are never dropped. Each Observation is derived from
    ``QuestionnaireResponse/<response_id>``; its id is ``<response_id>-<scale id>``.
    """
    _check_result(definition, result)
    subject = _reference(patient_reference, "patient_reference")["reference"]
    when = _timestamp(effective, "effective")
    flag_notes = _flag_notes(definition, result)
    return [
        _scale_observation(
            definition,
            scale,
            flag_notes=flag_notes.get(scale.scale_id, []),
            patient_reference=subject,
            effective=when,
            response_id=response_id,
            base_url=base_url,
        )
        for scale in result.scales
    ]


# -- Bundle ------------------------------------------------------------------------------------------


def bundle(
    definition: InstrumentDefinition,
    answers: Sequence[Answer],
    result: ScoreResult,
    *,
    patient_reference: str,
    authored: datetime,
    response_id: str,
    effective: datetime | None = None,
    bundle_id: str | None = None,
    include_questionnaire: bool = False,
    base_url: str = DEFAULT_BASE_URL,
) -> JSON:
    """A ``collection`` Bundle: (optionally the Questionnaire,) the QuestionnaireResponse and its score
    Observations. ``effective`` defaults to ``authored``. Each entry's ``fullUrl`` is
    ``<base_url>/<resourceType>/<id>``, so the Observations' relative ``derivedFrom`` resolves to the
    response in the same Bundle."""
    response = questionnaire_response(
        definition,
        answers,
        result,
        patient_reference=patient_reference,
        authored=authored,
        response_id=response_id,
        base_url=base_url,
    )
    observations = score_observations(
        definition,
        result,
        patient_reference=patient_reference,
        effective=authored if effective is None else effective,
        response_id=response_id,
        base_url=base_url,
    )
    resources: list[JSON] = []
    if include_questionnaire:
        resources.append(questionnaire(definition, base_url=base_url))
    resources.append(response)
    resources.extend(observations)
    return _collection(resources, bundle_id=bundle_id, base_url=base_url)


def _collection(resources: Sequence[JSON], *, bundle_id: str | None, base_url: str) -> JSON:
    resource: JSON = {"resourceType": "Bundle"}
    if bundle_id is not None:
        resource["id"] = fhir_id(bundle_id)
    resource["type"] = "collection"
    if resources:  # FHIR JSON has no empty arrays: an empty collection has no ``entry`` at all
        resource["entry"] = [
            {"fullUrl": f"{_base(base_url)}/{entry['resourceType']}/{entry['id']}", "resource": entry}
            for entry in resources
        ]
    return resource


# -- A patient's stored administrations ----------------------------------------------------------------


class StoredAdministration(Protocol):
    """One stored administration of an instrument (the assessments app's ``Assessment`` rows qualify)."""

    @property
    def pk(self) -> Any: ...

    @property
    def instrument_id(self) -> str: ...

    @property
    def answers(self) -> Any: ...

    @property
    def supervised(self) -> bool: ...

    @property
    def administered_at(self) -> datetime: ...


def response_id_of(administration: StoredAdministration) -> str:
    """The QuestionnaireResponse id of a stored administration: ``assessment-<pk>`` (stable across exports)."""
    return fhir_id(f"assessment-{administration.pk}")


def responses_bundle(
    administrations: Iterable[StoredAdministration],
    *,
    patient_reference: str,
    time_zone: tzinfo | None = None,
    bundle_id: str | None = None,
    include_questionnaires: bool = False,
    base_url: str = DEFAULT_BASE_URL,
) -> JSON:
    """A ``collection`` Bundle of stored administrations: per administration its QuestionnaireResponse and score
    Observations, in the order given; with ``include_questionnaires``, first the Questionnaire of each
    instrument present (once).

    Each administration is scored with the current definition of its instrument (as the trajectories are, so
    one export never mixes definition versions); an instrument without a definition (retired) is left out.
    ``authored`` is the administration time in ``time_zone`` (default: as stored). An empty input gives a
    Bundle without ``entry``.
    """
    questionnaires: dict[str, JSON] = {}
    entries: list[JSON] = []
    for administration in administrations:
        try:
            definition = get(administration.instrument_id)
        except UnknownInstrument:
            continue
        answers = list(administration.answers)
        result = score(definition, answers, supervised=administration.supervised)
        authored = administration.administered_at
        if time_zone is not None:
            authored = authored.astimezone(time_zone)
        if include_questionnaires and definition.id not in questionnaires:
            questionnaires[definition.id] = questionnaire(definition, base_url=base_url)
        response_id = response_id_of(administration)
        entries.append(
            questionnaire_response(
                definition,
                answers,
                result,
                patient_reference=patient_reference,
                authored=authored,
                response_id=response_id,
                base_url=base_url,
            )
        )
        entries.extend(
            score_observations(
                definition,
                result,
                patient_reference=patient_reference,
                effective=authored,
                response_id=response_id,
                base_url=base_url,
            )
        )
    return _collection([*questionnaires.values(), *entries], bundle_id=bundle_id, base_url=base_url)


__all__ = [
    "DEFAULT_BASE_URL",
    "FHIR_VERSION",
    "LOINC_SYSTEM",
    "ORDINAL_VALUE_URL",
    "SCORE_UNIT",
    "FhirExportError",
    "StoredAdministration",
    "answer_system",
    "band_system",
    "bundle",
    "fhir_id",
    "questionnaire",
    "questionnaire_canonical",
    "questionnaire_response",
    "questionnaire_url",
    "response_id_of",
    "responses_bundle",
    "scale_system",
    "score_observations",
]
