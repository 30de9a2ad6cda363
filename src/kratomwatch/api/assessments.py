"""Outcome-instrument endpoints: definitions, stored assessments, trajectories, schedules and the FHIR R4 export.

Contract: access through ``kratomwatch.access`` (a patient the user may not see is a 404; writing needs a care role
or the patient's own record, and active care consent); stored rows are read through ``assessments.queries``;
writes go through ``assessments.actions``; scoring and change analysis are the pure core's, the FHIR mapping is
``research.fhir_instruments`` (docs/fhir.md). Bad answers come back as 400 in the one error shape, naming the item
and the value.
"""

import datetime as dt
from typing import Annotated, Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kratomwatch import access
from kratomwatch.api.limits import Pages
from kratomwatch.assessments import actions, analysis, queries
from kratomwatch.assessments.models import Assessment
from kratomwatch.assessments.schedules import GRACE_LABEL, ScheduleStatus, statuses_for
from kratomwatch.audit.log import Actor
from kratomwatch.core import exposure
from kratomwatch.core import instruments as ins
from kratomwatch.core.errors import InputError, NotFound
from kratomwatch.records.models import Patient
from kratomwatch.research import fhir_instruments as fhir

router = Router(tags=["assessments"])

#: An instrument filter in a query string: absent, or an instrument id (never empty).
Instrument = Annotated[str | None, Field(min_length=1)]

Number = int | float


# --- definition schemas ----------------------------------------------------------------------


class CitationOut(Schema):
    label: str
    supports: str
    as_of: dt.date
    pmid: str | None
    doi: str | None
    url: str | None


class OptionOut(Schema):
    value: int
    label: str


class ItemOut(Schema):
    id: str
    position: int
    label: str = Field(description="Short identifier or paraphrase (always shipped)")
    text: str | None = Field(description="Verbatim wording, or null where the licence does not let it ship")
    options: list[OptionOut]
    loinc: str | None


class BandOut(Schema):
    id: str
    label: str
    low: int
    high: int
    basis: str
    note: str | None


class ImportantChangeOut(Schema):
    points: float
    basis: str
    note: str | None
    citation: CitationOut


class ScaleOut(Schema):
    id: str
    label: str
    aggregation: str
    item_ids: list[str]
    score_min: Number
    score_max: Number
    excluded_when_supervised: list[str]
    bands: list[BandOut]
    important_change: ImportantChangeOut | None
    immpact_pain_intensity: bool
    loinc: str | None
    note: str | None


class FlagRuleOut(Schema):
    id: str
    label: str
    kind: str
    target_id: str
    at_or_above: float
    basis: str
    note: str | None


class InstrumentOut(Schema):
    id: str
    version: str
    title: str
    recall_period: str
    clinician_administered: bool
    ships_item_text: bool
    items: list[ItemOut]
    primary_scale_id: str
    scales: list[ScaleOut]
    mcid: float | None = Field(description="Clinically important change of the primary scale, where published")
    flags: list[FlagRuleOut]
    default_missing_policy: str
    supported_missing_policies: list[str]
    missing_policy_note: str
    loinc_panel: str | None
    licence: str
    sources: list[CitationOut]
    notes: list[str]
    not_confirmed: list[str]


# --- assessment schemas ----------------------------------------------------------------------


class AssessmentIn(Schema):
    instrument: str = Field(min_length=1, examples=["phq9"])
    answers: list[Any] = Field(
        description="One integer per item in item order (null for a blank); checked against each item's answers",
        examples=[[1, 0, 2, 1, 0, 1, 0, 0, 0]],
    )
    administered_at: dt.datetime = Field(description="ISO 8601 with offset, e.g. 2026-11-20T08:30:00-06:00")
    supervised: bool = Field(
        default=False, description="Substance taken solely under medical supervision (DSM-5 criteria 10-11)"
    )
    source: Literal["self_report", "clinician", "import"] | None = Field(
        default=None, description="Ignored for patients (always self_report); defaults to clinician"
    )


class BandRef(Schema):
    id: str
    label: str


class FlagRef(Schema):
    id: str
    label: str


class AssessmentFields(Schema):
    id: int
    patient_code: str
    instrument: str
    instrument_version: str
    answers: list[int | None]
    supervised: bool
    missing_policy: str
    scores: dict[str, Number | None]
    total: float | None
    band: BandRef | None
    flags: list[FlagRef]
    valid: bool
    reasons: list[str]
    administered_at: dt.datetime
    source: str
    created_at: dt.datetime


class AssessmentOut(AssessmentFields):
    @staticmethod
    def resolve_patient_code(obj: Assessment) -> str:
        return obj.patient.code

    @staticmethod
    def resolve_instrument(obj: Assessment) -> str:
        return obj.instrument_id

    @staticmethod
    def resolve_band(obj: Assessment) -> dict[str, str] | None:
        return {"id": obj.band_id, "label": obj.band_label} if obj.band_id else None

    @staticmethod
    def resolve_flags(obj: Assessment) -> list[dict[str, str]]:
        return analysis.flags_out(obj)


class FlagDetail(Schema):
    id: str
    label: str
    reason: str
    basis: str


class ScaleResultOut(Schema):
    scale_id: str
    label: str
    value: Number | None
    valid: bool
    band: BandRef | None
    reasons: list[str]
    notes: list[str]


class NoticeOut(Schema):
    title: str
    message: str
    crisis_line: str
    url: str


class AssessmentCreated(AssessmentFields):
    scales: list[ScaleResultOut]
    flag_details: list[FlagDetail]
    notes: list[str]
    urgent_notice: NoticeOut | None = Field(description="Shown for PHQ-9 item 9 above 0; never dose advice")


# --- trajectory and schedule schemas ---------------------------------------------------------


class PointOut(Schema):
    at: dt.datetime
    value: Number | None
    valid: bool
    band_id: str | None


class ChangeOut(Schema):
    absolute_change: Number
    percent_change: float | None
    improved: bool
    worsened: bool
    important_change_points: float | None
    important_improvement: bool | None
    important_worsening: bool | None
    responder: bool | None
    responder_rule: str | None
    immpact_category: str | None
    citations: list[CitationOut]


class PainIntensityOut(Schema):
    item_id: str
    label: str
    baseline: int
    latest: int
    percent_change: float | None
    immpact_category: str | None
    citation: CitationOut


class TrajectoryOut(Schema):
    instrument: str
    title: str
    scale_id: str
    scale_label: str
    valid_points: int
    baseline: PointOut | None
    latest: PointOut | None
    change: ChangeOut | None
    responder: bool | None
    pain_intensity: PainIntensityOut | None = Field(
        description="IMMPACT category of the 0-10 pain-intensity item of the PEG or BPI"
    )
    points: list[PointOut]


class ScheduleIn(Schema):
    instrument: str = Field(min_length=1, examples=["peg"])
    every_days: int = Field(examples=[7])
    start: dt.date | None = Field(default=None, description="Defaults to today in the patient's time zone")
    active: bool = True


class ScheduleOut(Schema):
    instrument: str
    every_days: int
    start: dt.date
    active: bool
    status: Literal["upcoming", "due", "overdue", "inactive"]
    next_due: dt.date
    days_overdue: int
    last_administered_at: dt.datetime | None
    grace_days: int
    grace_basis: str


def _schedule_out(s: ScheduleStatus) -> dict[str, Any]:
    return {
        "instrument": s.schedule.instrument_id,
        "every_days": s.schedule.every_days,
        "start": s.schedule.start,
        "active": s.schedule.active,
        "status": s.status,
        "next_due": s.next_due,
        "days_overdue": s.days_overdue,
        "last_administered_at": s.last_at,
        "grace_days": s.grace_days,
        "grace_basis": GRACE_LABEL,
    }


# --- definitions -----------------------------------------------------------------------------


@router.get("/instruments", response=list[InstrumentOut])
def list_instruments(request: HttpRequest) -> Any:
    return [analysis.definition_out(d) for d in ins.all_definitions()]


@router.get("/instruments/{instrument_id}", response=InstrumentOut)
def get_instrument(request: HttpRequest, instrument_id: str) -> Any:
    return analysis.definition_out(_definition(instrument_id))


@router.get("/instruments/{instrument_id}/fhir", response=dict[str, Any], tags=["fhir"])
def get_instrument_fhir(request: HttpRequest, instrument_id: str) -> Any:
    """The instrument as a FHIR R4 Questionnaire (item wording only where its licence lets it ship)."""
    return fhir.questionnaire(_definition(instrument_id))


def _definition(instrument_id: str) -> ins.InstrumentDefinition:
    try:
        return ins.get(instrument_id)
    except ins.UnknownInstrument as exc:
        raise NotFound("instrument", instrument_id, str(exc)) from None


# --- assessments -----------------------------------------------------------------------------


@router.post("/patients/{code}/assessments", response={201: AssessmentCreated})
def create_assessment(request: HttpRequest, code: str, payload: AssessmentIn) -> Any:
    patient = access.get_writable_patient_for(request.user, code, self_report_ok=True)
    source = "self_report" if access.is_own_record(request.user, patient) else (payload.source or "clinician")
    definition = actions.definition_for(payload.instrument)
    assessment = actions.record_assessment(
        actor=Actor.of(request.user),
        patient=patient,
        instrument_id=definition.id,
        answers=payload.answers,
        administered_at=payload.administered_at,
        source=source,
        supervised=payload.supervised,
    )
    return Status(201, _created_out(assessment, definition, patient))


def _created_out(assessment: Assessment, definition: ins.InstrumentDefinition, patient: Patient) -> dict[str, Any]:
    result = analysis.rescore(assessment, definition)
    body = AssessmentOut.model_validate(assessment).model_dump()
    body.update(
        scales=[
            {
                "scale_id": s.scale_id,
                "label": s.label,
                "value": s.value,
                "valid": s.valid,
                "band": {"id": s.band.id, "label": s.band.label} if s.band is not None else None,
                "reasons": list(s.reasons),
                "notes": list(s.notes),
            }
            for s in result.scales
        ],
        flag_details=[{"id": f.id, "label": f.label, "reason": f.reason, "basis": f.basis.value} for f in result.flags],
        notes=list(result.notes),
        urgent_notice=analysis.urgent_notice(assessment.flags, patient.jurisdiction),
    )
    return body


def _assessments_of(
    request: HttpRequest, code: str, instrument: str | None, purpose: str
) -> tuple[Patient, QuerySet[Assessment]]:
    """The patient (an audited read) and their assessments, newest first, optionally of one instrument."""
    if instrument is not None:
        actions.definition_for(instrument)
    patient = access.get_patient_for(request.user, code, purpose=purpose)
    qs = queries.assessments_of(patient).select_related("patient")
    return patient, qs.filter(instrument_id=instrument) if instrument is not None else qs


@router.get("/patients/{code}/assessments", response=list[AssessmentOut])
@paginate(Pages, page_size=50)
def list_assessments(request: HttpRequest, code: str, instrument: Instrument = None) -> Any:
    return _assessments_of(request, code, instrument, "assessments")[1]


@router.get("/patients/{code}/assessments/fhir", response=dict[str, Any], tags=["fhir"])
def assessments_fhir(
    request: HttpRequest, code: str, instrument: Instrument = None, questionnaires: bool = False
) -> Any:
    """The patient's questionnaire responses as a FHIR R4 collection Bundle: each QuestionnaireResponse with its
    score Observations (newest first); with ``questionnaires``, each instrument's Questionnaire first."""
    patient, rows = _assessments_of(request, code, instrument, "fhir")
    return _bundle(patient, rows, questionnaires)


def _bundle(patient: Patient, rows: QuerySet[Assessment], questionnaires: bool) -> dict[str, Any]:
    try:
        return fhir.responses_bundle(
            rows,
            patient_reference=f"Patient/{patient.code}",
            time_zone=exposure.zone(patient.time_zone),
            include_questionnaires=questionnaires,
        )
    except fhir.FhirExportError as exc:
        raise InputError("code", patient.code, str(exc), code="fhir_export") from None


@router.get("/patients/{code}/trajectories", response=list[TrajectoryOut])
def list_trajectories(request: HttpRequest, code: str, instrument: Instrument = None) -> Any:
    if instrument is not None:
        actions.definition_for(instrument)
    patient = access.get_patient_for(request.user, code, purpose="trajectories")
    return analysis.trajectories_for(patient, instrument)


# --- schedules -------------------------------------------------------------------------------


@router.get("/patients/{code}/schedules", response=list[ScheduleOut])
def list_schedules(request: HttpRequest, code: str) -> Any:
    patient = access.get_patient_for(request.user, code, purpose="schedules")
    return [_schedule_out(s) for s in statuses_for(patient, now=timezone.now())]


def _status_of(patient: Patient, instrument_id: str) -> dict[str, Any]:
    for s in statuses_for(patient, now=timezone.now()):
        if s.schedule.instrument_id == instrument_id:
            return _schedule_out(s)
    raise NotFound("instrument", instrument_id, f"no {instrument_id} schedule")  # pragma: no cover


@router.post("/patients/{code}/schedules", response={201: ScheduleOut, 200: ScheduleOut})
def set_schedule(request: HttpRequest, code: str, payload: ScheduleIn) -> Any:
    patient = access.get_writable_patient_for(request.user, code)
    start = payload.start or patient.local_today()
    schedule, created = actions.set_schedule(
        actor=Actor.of(request.user),
        patient=patient,
        instrument_id=payload.instrument,
        every_days=payload.every_days,
        start=start,
        active=payload.active,
    )
    return Status(201 if created else 200, _status_of(patient, schedule.instrument_id))


@router.delete("/patients/{code}/schedules/{instrument_id}", response=ScheduleOut)
def deactivate_schedule(request: HttpRequest, code: str, instrument_id: str) -> Any:
    patient = access.get_writable_patient_for(request.user, code)
    schedule = actions.deactivate_schedule(actor=Actor.of(request.user), patient=patient, instrument_id=instrument_id)
    return _status_of(patient, schedule.instrument_id)
