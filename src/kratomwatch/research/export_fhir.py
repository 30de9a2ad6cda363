"""The research export as FHIR R4 NDJSON, the layout of a FHIR Bulk Data ``$export``
(https://hl7.org/fhir/uv/bulkdata/): one file per resource type under ``fhir/``, one resource per line.

Built from the SAME de-identified frames the CSV and Parquet files are written from (``research/export.py``): study
IDs as Patient ids, shifted dates or study days, no free text. Nothing here reads the database. The instrument
resources are ``research.fhir_instruments``' own (``questionnaire_response`` and ``score_observations``); the dose's
MedicationStatement and mg Observation are ``research.patient_export.dose_resources``.

* ``Patient``: id = study ID; gender from the (possibly generalised) sex; age band, jurisdiction, conditions and
  the yes/no history as extensions (no birth date: age leaves only as a band).
* ``Observation``: per dose, the mg of mitragynine and 7-OH as components with the basis in ``method`` and the
  estimate's range (``partOf`` the dose's MedicationStatement); per lab result, the value with the LOINC code of
  the test (:data:`LAB_LOINC`; the knowledge data carry none, these are LOINC's published codes, each checked by its
  check digit in the tests) and kratomwatch's own code; per scale score, the instruments' survey Observations.
* ``QuestionnaireResponse``: each administration, re-scored with the current definition (as
  ``fhir_instruments.responses_bundle`` does).
* ``MedicationStatement``: per dose (the kratom product form and the amount as ``doseQuantity``; no product or lot
  name) and per medication (the curated ingredient, or "not matched" without the name as typed).
* ``AdverseEvent``: onset, seriousness (ICH E2A criteria), CTCAE grade, outcome; the term (free text) is dropped.

Dates: FHIR dates are calendar dates without a time (the time zone does not leave, and a dateTime with a time needs
an offset). In study-days mode a study day ``n`` is written as the date :data:`STUDY_DAY_EPOCH` + ``n`` days; the
manifest's ``fhir`` entry states this epoch. Daily exposure, care plans, taper steps and alerts have no resource
here (CSV/Parquet only).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from kratomwatch.core import instruments as ins
from kratomwatch.research import fhir_instruments as fhir
from kratomwatch.research.patient_export import CODE_SYSTEM, dose_resources

JSON = dict[str, Any]
BULK_DATA_SPEC = "https://hl7.org/fhir/uv/bulkdata/"
STUDY_DAY_EPOCH = dt.date(2000, 1, 1)
"""In study-days mode, study day ``n`` is written as this date plus ``n`` days (day 0 = enrolment)."""
FOLDER = "fhir"
RESOURCE_TYPES = ("Patient", "Observation", "QuestionnaireResponse", "MedicationStatement", "AdverseEvent")
UCUM = fhir.UCUM_SYSTEM
EXTENSION = f"{fhir.DEFAULT_BASE_URL}/StructureDefinition"

#: LOINC codes of the lab tests, per (test, unit), with LOINC's long common name; a (test, unit) not listed gets
#: kratomwatch's code only. As of 2026-12-02 each code, name and unit was confirmed in NLM's LOINC flowsheet table
#: (https://github.com/LHNCBC/flowsheet-lhc, src/stores/h17.js at 53b8283, columns LONG_COMMON_NAME_LOINC and
#: UCUM_EX) and in one more source per code, listed with the table in docs/fhir.md ("LOINC codes of lab results").
#: Sodium in mEq/L has no LOINC code here: 2951-2 is a [Moles/volume] term, and no LOINC source read says that a
#: result reported in mEq/L takes it, so that pairing is recorded as unconfirmed rather than assumed.
LAB_LOINC: dict[tuple[str, str], tuple[str, str]] = {
    ("alt", "U/L"): ("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma"),
    ("ast", "U/L"): ("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma"),
    ("alp", "U/L"): ("6768-6", "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma"),
    ("total_bilirubin", "mg/dL"): ("1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma"),
    ("total_bilirubin", "umol/L"): ("14631-6", "Bilirubin.total [Moles/volume] in Serum or Plasma"),
    ("sodium", "mmol/L"): ("2951-2", "Sodium [Moles/volume] in Serum or Plasma"),
    ("qtc", "ms"): ("8636-3", "Q-T interval corrected"),
}
LAB_UCUM = {"U/L": "U/L", "mg/dL": "mg/dL", "umol/L": "umol/L", "ms": "ms", "mmol/L": "mmol/L", "mEq/L": "meq/L"}
GENDER = {"female": "female", "male": "male", "other": "other"}
AE_OUTCOME = {
    "recovered": "resolved",
    "recovering": "recovering",
    "not_recovered": "ongoing",
    "recovered_with_sequelae": "resolvedWithSequelae",
    "fatal": "fatal",
    "unknown": "unknown",
}


def _day(row: Mapping[str, Any], column: str) -> str | None:
    """The row's day ``column`` as a FHIR date: the shifted date, or the epoch plus the study day."""
    if column in row:
        value = row[column]
        return None if value is None else str(value.isoformat())
    days = row.get(f"{column}_study_day")
    return None if days is None else (STUDY_DAY_EPOCH + dt.timedelta(days=int(days))).isoformat()


def _as_date(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def _subject(study_id: str) -> JSON:
    return {"reference": f"Patient/{study_id}"}


def _ext(name: str, **value: Any) -> JSON:
    return {"url": f"{EXTENSION}/{name}", **value}


def _patients(frame: pl.DataFrame) -> Iterator[JSON]:
    history = [c for c in frame.columns if frame.schema[c] == pl.Int8]
    for row in frame.iter_rows(named=True):
        extensions = [
            _ext(name, valueString=row[name])
            for name in ("age_band", "jurisdiction", "conditions")
            if row.get(name) not in (None, "", "*")
        ]
        extensions += [
            _ext(name.replace("_", "-"), valueBoolean=bool(row[name])) for name in history if row[name] is not None
        ]
        resource: JSON = {"resourceType": "Patient", "id": row["study_id"]}
        if extensions:
            resource["extension"] = extensions
        resource["gender"] = GENDER.get(row.get("sex") or "", "unknown")
        yield resource


def _doses(frame: pl.DataFrame) -> Iterator[tuple[JSON, JSON]]:
    for n, row in enumerate(frame.iter_rows(named=True), start=1):
        form = row.get("product_form") or "unknown form"
        statement, observation = dose_resources(
            statement_id=f"{row['study_id']}-dose-{n}",
            medication={
                "coding": [{"system": f"{CODE_SYSTEM}/product-form", "code": form}],
                "text": f"kratom ({form})",
            },
            subject=_subject(row["study_id"]),
            when=_day(row, "date") or "",
            source=row["source"],
            amount=row["amount"],
            unit=row["unit"],
            basis=row["basis"],
            mitragynine_mg=row["mitragynine_mg"],
            seven_oh_mg=row["seven_oh_mg"],
            low_mg=row["mitragynine_low_mg"],
            high_mg=row["mitragynine_high_mg"],
        )
        yield statement, observation


#: Results that are not laboratory tests: the QTc comes from an ECG, an electrodiagnostic procedure, category
#: "procedure" in HL7's observation-category code system (https://terminology.hl7.org/CodeSystem-observation-category.html:
#: "observations resulting from interventional and non-interventional procedures excluding laboratory and imaging
#: (e.g., cardiology catheterization, endoscopy, electrodiagnostics, etc.)"; as of 2026-12-02).
LAB_CATEGORY = {"qtc": ("procedure", "Procedure")}


def _labs(frame: pl.DataFrame) -> Iterator[JSON]:
    for n, row in enumerate(frame.iter_rows(named=True), start=1):
        test, unit = row["test"], row["unit"]
        codings: list[JSON] = []
        loinc = LAB_LOINC.get((test, unit))
        if loinc is not None:
            codings.append({"system": fhir.LOINC_SYSTEM, "code": loinc[0], "display": loinc[1]})
        codings.append({"system": f"{CODE_SYSTEM}/lab-test", "code": test})
        quantity = {"unit": unit, "system": UCUM, "code": LAB_UCUM.get(unit, unit)}
        category = LAB_CATEGORY.get(test, ("laboratory", "Laboratory"))
        resource: JSON = {
            "resourceType": "Observation",
            "id": f"{row['study_id']}-lab-{n}",
            "status": "final",
            "category": [
                {"coding": [{"system": fhir.OBSERVATION_CATEGORY_SYSTEM, "code": category[0], "display": category[1]}]}
            ],
            "code": {"coding": codings, "text": test},
            "subject": _subject(row["study_id"]),
            "effectiveDateTime": _day(row, "date"),
            "valueQuantity": {"value": row["value"], **quantity},
        }
        limits = {
            k: {"value": row[c], **quantity}
            for k, c in (("low", "lower_limit_normal"), ("high", "upper_limit_normal"))
            if row[c] is not None
        }
        if limits:
            resource["referenceRange"] = [limits]
        yield resource


def _assessments(assessments: pl.DataFrame, items: pl.DataFrame) -> Iterator[tuple[JSON, list[JSON]]]:
    answers = (
        items.sort("assessment_no", "item_no").group_by("assessment_no", maintain_order=True).agg(pl.col("answer"))
    )
    joined = assessments.join(answers, on="assessment_no", how="left")
    for row in joined.sort("assessment_no").iter_rows(named=True):
        try:
            definition = ins.get(row["instrument_id"])
        except ins.UnknownInstrument:
            continue  # a retired instrument: as in fhir_instruments.responses_bundle
        given = list(row["answer"] or [])
        given += [None] * (len(definition.items) - len(given))
        result = ins.score(definition, given, supervised=bool(row["supervised"]))
        day = _as_date(_day(row, "date"))
        assert day is not None  # administrations always have a day
        response_id = f"{row['study_id']}-a{row['assessment_no']}"
        subject = f"Patient/{row['study_id']}"
        response = fhir.questionnaire_response(
            definition, given, result, patient_reference=subject, authored=day, response_id=response_id
        )
        observations = fhir.score_observations(
            definition, result, patient_reference=subject, effective=day, response_id=response_id
        )
        yield response, observations


def _medications(frame: pl.DataFrame) -> Iterator[JSON]:
    for n, row in enumerate(frame.iter_rows(named=True), start=1):
        ingredient = row["ingredient_id"]
        if ingredient is None:
            concept: JSON = {"text": f"not matched to a curated ingredient ({row['match_status']})"}
        else:
            concept = {"coding": [{"system": f"{CODE_SYSTEM}/ingredient", "code": ingredient}], "text": ingredient}
        start, stop = _day(row, "start"), _day(row, "stop")
        resource: JSON = {
            "resourceType": "MedicationStatement",
            "id": f"{row['study_id']}-medication-{n}",
            "status": "completed" if stop is not None else "active",
            "medicationCodeableConcept": concept,
            "subject": _subject(row["study_id"]),
        }
        period = {k: v for k, v in (("start", start), ("end", stop)) if v is not None}
        if period:
            resource["effectivePeriod"] = period
        if row["interaction_classes"]:
            resource["note"] = [{"text": f"Interaction classes with kratom: {row['interaction_classes']}"}]
        yield resource


def _adverse_events(frame: pl.DataFrame) -> Iterator[JSON]:
    for n, row in enumerate(frame.iter_rows(named=True), start=1):
        criteria = row["seriousness"] or ""
        extensions = [
            _ext("who-umc-causality", valueCode=row["causality"]),
            _ext("action-taken-with-kratom", valueCode=row["action_taken"]),
        ]
        yield {
            "resourceType": "AdverseEvent",
            "id": f"{row['study_id']}-ae-{n}",
            "extension": extensions,
            "actuality": "actual",
            "subject": _subject(row["study_id"]),
            "date": _day(row, "onset"),
            "seriousness": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness",
                        "code": "serious" if criteria else "non-serious",
                    }
                ],
                "text": criteria.replace("|", "; ") or "not serious",
            },
            "severity": {
                "coding": [{"system": f"{CODE_SYSTEM}/ctcae-grade", "code": str(row["grade"])}],
                "text": f"CTCAE grade {row['grade']}",
            },
            "outcome": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
                        "code": AE_OUTCOME.get(row["outcome"], "unknown"),
                    }
                ],
                "text": row["outcome"],
            },
        }


def _write(path: Path, resources: Iterable[JSON]) -> int:
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for resource in resources:
            handle.write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
    return count


def write_ndjson(folder: Path, frames: Mapping[str, pl.DataFrame], dates: str) -> JSON:
    """Write ``<folder>/<ResourceType>.ndjson`` from the export's frames; the manifest's ``fhir`` entry (the Bulk
    Data ``output`` list: type, url relative to the export, count; and how dates were written)."""
    folder.mkdir()
    doses = list(_doses(frames["doses"]))
    answered = list(_assessments(frames["assessments"], frames["assessment_items"]))
    by_type: dict[str, Iterable[JSON]] = {
        "Patient": _patients(frames["participants"]),
        "Observation": (
            *(o for _, o in doses),
            *_labs(frames["labs"]),
            *(o for _, obs in answered for o in obs),
        ),
        "QuestionnaireResponse": (r for r, _ in answered),
        "MedicationStatement": (*(s for s, _ in doses), *_medications(frames["medications"])),
        "AdverseEvent": _adverse_events(frames["adverse_events"]),
    }
    output = [
        {"type": kind, "url": f"{FOLDER}/{kind}.ndjson", "count": _write(folder / f"{kind}.ndjson", by_type[kind])}
        for kind in RESOURCE_TYPES
    ]
    return {
        "spec": BULK_DATA_SPEC,
        "fhir_version": fhir.FHIR_VERSION,
        "dates": (
            "shifted calendar dates (no time of day)"
            if dates == "shifted"
            else f"study day n written as {STUDY_DAY_EPOCH.isoformat()} + n days (day 0 = enrolment); not real dates"
        ),
        "study_day_epoch": STUDY_DAY_EPOCH.isoformat() if dates != "shifted" else None,
        "output": output,
    }
