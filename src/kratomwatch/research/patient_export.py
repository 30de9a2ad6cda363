"""A patient's own record to take away: a ZIP of CSV files and a FHIR R4 Bundle (``/me/download/``).

The caller passes a patient that ``access.get_own_patient_for`` returned; reads go through the selectors
(``records/queries.py``, ``assessments/queries.py``). Voided entries are left out (``voided_at`` set).

**CSV.** One ZIP, one CSV per kind (each with its own columns, so it opens cleanly in a spreadsheet), UTF-8 with
a byte-order mark: ``doses.csv`` (local date and time in the patient's zone with the zone named, product, lot,
amount, unit, mg mitragynine and 7-OH with their basis and the estimate's range), ``questionnaires.csv``
(local date and time, questionnaire, total, band, flags), ``side_effects.csv`` (onset, what, CTCAE grade,
seriousness, outcome) and ``medications.csv`` (name, dose, start, stop), plus ``README.txt`` saying what
each column means.

**FHIR R4.** A ``collection`` Bundle: one ``Patient`` with only the pseudonymous code as identifier (no name,
no birth date); per dose a ``MedicationStatement`` (product and lot as text, the amount as ``doseQuantity``) and
an ``Observation`` part of it with the mg of mitragynine and 7-OH as components (``dataAbsentReason`` when not
known, the basis in ``method``); the questionnaires as ``QuestionnaireResponse`` + score ``Observation`` exactly
as ``research.fhir_instruments.responses_bundle`` writes them; side effects as ``AdverseEvent``; medications as
``MedicationStatement``. Times carry the patient's UTC offset.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kratomwatch.assessments import queries as assessment_queries
from kratomwatch.assessments.models import Assessment
from kratomwatch.core import exposure
from kratomwatch.core import instruments as ins
from kratomwatch.core.csvsafe import safe_row
from kratomwatch.records import queries as record_queries
from kratomwatch.records.models import AdverseEvent, Dose, Medication, Patient
from kratomwatch.research import fhir_instruments as fhir

JSON = dict[str, Any]
UCUM = fhir.UCUM_SYSTEM
CODE_SYSTEM = f"{fhir.DEFAULT_BASE_URL}/CodeSystem"
UCUM_UNITS = {"g": "g", "mg": "mg", "mL": "mL", "capsule": "{capsule}", "tablet": "{tablet}"}
UCUM_UNITS.update({"teaspoon": "[tsp_us]", "tablespoon": "[tbs_us]"})
BASIS_TEXT = {
    "certificate": "from the lot's lab certificate",
    "estimated": "estimated from a published reference content (no lab certificate)",
    "unknown": "not known: the product's strength is not known",
}


@dataclass(frozen=True)
class PatientRecord:
    patient: Patient
    doses: Sequence[Dose]
    assessments: Sequence[Assessment]
    side_effects: Sequence[AdverseEvent]
    medications: Sequence[Medication]


def _active(rows: Iterable[Any]) -> list[Any]:
    return [r for r in rows if getattr(r, "voided_at", None) is None]


def gather(patient: Patient) -> PatientRecord:
    """Everything the patient may take away, voided entries left out."""
    doses = record_queries.doses_of(patient).filter(voided_at__isnull=True).select_related("lot__product")
    return PatientRecord(
        patient=patient,
        doses=list(doses.order_by("taken_at", "id")),
        assessments=list(assessment_queries.assessments_of(patient).order_by("administered_at", "id")),
        side_effects=_active(record_queries.adverse_events(patient)),
        medications=_active(record_queries.medications(patient)),
    )


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")


def _local(when: dt.datetime, patient: Patient) -> dt.datetime:
    return when.astimezone(exposure.zone(patient.time_zone))


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(safe_row(row) for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _titles() -> dict[str, str]:
    return {d.id: d.title for d in ins.all_definitions()}


README = """Your kratomwatch record, downloaded {today} (patient code {code}).

doses.csv          one row per dose you or your care team recorded (corrected or removed entries are left out).
                   date and time are local in the zone named in time_zone; zone_abbreviation is that day's
                   abbreviation. mitragynine_mg and seven_oh_mg are the mg of each alkaloid; basis says how they
                   were worked out (certificate: the lot's lab certificate; estimated: a published reference
                   content, with the likely range in the _low/_high columns; unknown: the strength is not known,
                   so the mg are left empty). source: self_report, clinician or import.
questionnaires.csv one row per questionnaire answered, with its total score, band and flags.
side_effects.csv   one row per side effect (adverse event), with its CTCAE grade (1 mild to 5 death).
medications.csv    your other medications as recorded.

The same record as a FHIR R4 Bundle (for health apps and records) is on the same page.
kratomwatch records and measures; it does not recommend any amount.
"""


def csv_zip(record: PatientRecord, *, today: dt.date) -> bytes:
    """The ZIP of CSV files described in the module docstring."""
    patient = record.patient
    titles = _titles()
    doses = _csv(
        [
            "date",
            "time",
            "time_zone",
            "zone_abbreviation",
            "product",
            "lot",
            "amount",
            "unit",
            "mitragynine_mg",
            "seven_oh_mg",
            "basis",
            "mitragynine_low_mg",
            "mitragynine_high_mg",
            "source",
        ],
        (
            [
                (local := _local(d.taken_at, patient)).date().isoformat(),
                local.strftime("%H:%M"),
                patient.time_zone,
                local.tzname() or "",
                str(d.lot.product),
                d.lot.lot_code,
                _num(d.amount),
                d.unit,
                _num(d.mitragynine_mg),
                _num(d.seven_oh_mg),
                d.basis,
                _num(d.mitragynine_low_mg),
                _num(d.mitragynine_high_mg),
                d.source,
            ]
            for d in record.doses
        ),
    )
    questionnaires = _csv(
        ["date", "time", "time_zone", "questionnaire", "total", "band", "flags", "complete"],
        (
            [
                (local := _local(a.administered_at, patient)).date().isoformat(),
                local.strftime("%H:%M"),
                patient.time_zone,
                titles.get(a.instrument_id, a.instrument_id),
                _num(a.total),
                a.band_label,
                "; ".join(str(f) for f in a.flags),
                "yes" if a.valid else "no",
            ]
            for a in record.assessments
        ),
    )
    side_effects = _csv(
        ["onset", "what", "grade", "serious", "outcome", "action_taken"],
        (
            [
                ae.onset.isoformat(),
                ae.term,
                ae.grade,
                "; ".join(ae.seriousness) or "no",
                ae.get_outcome_display(),
                ae.get_action_taken_display(),
            ]
            for ae in record.side_effects
        ),
    )
    medications = _csv(
        ["name", "dose", "start", "stop"],
        (
            [m.name, m.dose_text, m.start.isoformat() if m.start else "", m.stop.isoformat() if m.stop else ""]
            for m in record.medications
        ),
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README.format(today=today.isoformat(), code=patient.code))
        archive.writestr("doses.csv", doses)
        archive.writestr("questionnaires.csv", questionnaires)
        archive.writestr("side_effects.csv", side_effects)
        archive.writestr("medications.csv", medications)
    return out.getvalue()


# --- FHIR R4 ----------------------------------------------------------------------------------------------


def _patient_id(patient: Patient) -> str:
    try:
        return fhir.fhir_id(patient.code)
    except fhir.FhirExportError:
        return "patient"


def _mg_component(label: str, code: str, value: float | None, basis: str) -> JSON:
    component: JSON = {"code": {"coding": [{"system": f"{CODE_SYSTEM}/alkaloid", "code": code}], "text": label}}
    if value is None:
        component["dataAbsentReason"] = {
            "coding": [{"system": fhir.DATA_ABSENT_REASON_SYSTEM, "code": "unknown", "display": "Unknown"}],
            "text": BASIS_TEXT.get(basis, basis),
        }
    else:
        component["valueQuantity"] = {"value": round(value, 3), "unit": "mg", "system": UCUM, "code": "mg"}
    return component


def dose_resources(
    *,
    statement_id: str,
    medication: JSON,
    subject: JSON,
    when: str,
    source: str,
    amount: float,
    unit: str,
    basis: str,
    mitragynine_mg: float | None,
    seven_oh_mg: float | None,
    low_mg: float | None,
    high_mg: float | None,
) -> list[JSON]:
    """One dose as a ``MedicationStatement`` (``medication`` is its ``medicationCodeableConcept``, the amount as
    ``doseQuantity``) and an ``Observation`` part of it with the mg of mitragynine and 7-OH as components (the
    basis in ``method``, the estimate's range). Shared by the patient's Bundle and the research export's NDJSON."""
    statement: JSON = {
        "resourceType": "MedicationStatement",
        "id": statement_id,
        "status": "completed",
        "medicationCodeableConcept": medication,
        "subject": subject,
        "effectiveDateTime": when,
        "informationSource": subject if source != "clinician" else {"display": "care team"},
        "dosage": [
            {
                "text": f"{amount:g} {unit}",
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": amount,
                            "unit": unit,
                            "system": UCUM,
                            "code": UCUM_UNITS.get(unit, unit),
                        }
                    }
                ],
            }
        ],
    }
    observation: JSON = {
        "resourceType": "Observation",
        "id": f"{statement_id}-mg",
        "partOf": [{"reference": f"MedicationStatement/{statement_id}"}],
        "status": "final",
        "code": {
            "coding": [{"system": f"{CODE_SYSTEM}/observation", "code": "dose-alkaloid-mg"}],
            "text": "Alkaloid content of the dose (mg)",
        },
        "subject": subject,
        "effectiveDateTime": when,
        "method": {
            "coding": [{"system": f"{CODE_SYSTEM}/dose-basis", "code": basis}],
            "text": BASIS_TEXT.get(basis, basis),
        },
        "component": [
            _mg_component("Mitragynine", "mitragynine", mitragynine_mg, basis),
            _mg_component("7-hydroxymitragynine (7-OH)", "7-oh", seven_oh_mg, basis),
        ],
    }
    if low_mg is not None and high_mg is not None:
        observation["component"][0]["referenceRange"] = [
            {
                "low": {"value": round(low_mg, 3), "unit": "mg", "system": UCUM, "code": "mg"},
                "high": {"value": round(high_mg, 3), "unit": "mg", "system": UCUM, "code": "mg"},
                "text": "likely range of the estimate",
            }
        ]
    return [statement, observation]


def _dose_resources(dose: Dose, patient: Patient, subject: JSON) -> list[JSON]:
    return dose_resources(
        statement_id=f"dose-{dose.pk}",
        medication={"text": f"{dose.lot.product} (lot {dose.lot.lot_code})"},
        subject=subject,
        when=_local(dose.taken_at, patient).isoformat(),
        source=dose.source,
        amount=dose.amount,
        unit=dose.unit,
        basis=dose.basis,
        mitragynine_mg=dose.mitragynine_mg,
        seven_oh_mg=dose.seven_oh_mg,
        low_mg=dose.mitragynine_low_mg,
        high_mg=dose.mitragynine_high_mg,
    )


def _adverse_event(ae: AdverseEvent, subject: JSON) -> JSON:
    resource: JSON = {
        "resourceType": "AdverseEvent",
        "id": f"side-effect-{ae.pk}",
        "actuality": "actual",
        "event": {"text": ae.term},
        "subject": subject,
        "date": ae.onset.isoformat(),
        "seriousness": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness",
                    "code": "serious" if ae.seriousness else "non-serious",
                }
            ],
            "text": "; ".join(ae.seriousness) or "not serious",
        },
        "severity": {"text": f"CTCAE grade {ae.grade}"},
        "outcome": {"text": ae.get_outcome_display()},
    }
    return resource


def _medication(med: Medication, subject: JSON, today: dt.date) -> JSON:
    resource: JSON = {
        "resourceType": "MedicationStatement",
        "id": f"medication-{med.pk}",
        "status": "completed" if med.stop is not None and med.stop < today else "active",
        "medicationCodeableConcept": {"text": med.name},
        "subject": subject,
    }
    period = {k: v.isoformat() for k, v in (("start", med.start), ("end", med.stop)) if v is not None}
    if period:
        resource["effectivePeriod"] = period
    if med.dose_text:
        resource["dosage"] = [{"text": med.dose_text}]
    return resource


def fhir_bundle(record: PatientRecord, *, now: dt.datetime, base_url: str = fhir.DEFAULT_BASE_URL) -> JSON:
    """The FHIR R4 ``collection`` Bundle described in the module docstring (JSON-ready); ``now`` is aware."""
    patient = record.patient
    today = _local(now, patient).date()
    patient_id = _patient_id(patient)
    subject = {"reference": f"Patient/{patient_id}"}
    resources: list[JSON] = [
        {
            "resourceType": "Patient",
            "id": patient_id,
            "identifier": [{"system": f"{base_url.rstrip('/')}/patient-code", "value": patient.code}],
        }
    ]
    for dose in record.doses:
        resources.extend(_dose_resources(dose, patient, subject))
    answered = fhir.responses_bundle(
        record.assessments,
        patient_reference=subject["reference"],
        time_zone=exposure.zone(patient.time_zone),
        base_url=base_url,
    )
    resources.extend(entry["resource"] for entry in answered.get("entry", []))
    resources.extend(_adverse_event(ae, subject) for ae in record.side_effects)
    resources.extend(_medication(m, subject, today) for m in record.medications)
    bundle: JSON = {"resourceType": "Bundle", "id": f"record-{patient_id}", "type": "collection"}
    bundle["timestamp"] = _local(now, patient).isoformat(timespec="seconds")
    bundle["entry"] = [
        {"fullUrl": f"{base_url.rstrip('/')}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources
    ]
    return bundle
