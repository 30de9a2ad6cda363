"""Record endpoints: programs, patients, products, lots, doses, medications, labs, adverse events,
and the patient exposure summary.

Contract: every read and every authorization goes through ``kratomwatch.access`` (a patient, product or lot the
user may not see is a 404; a missing care role a 403; missing care consent a 403 ``consent_required``); reads
anchored to a fetched patient go through ``records.queries``; writes go through ``records.actions`` with
``Actor.of(request.user)`` (the client address comes from the request context). Routers stay 2-6 lines.
"""

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from kratomwatch import access
from kratomwatch.accounts import actions as account_actions
from kratomwatch.api.limits import Id, OptionalId, Pages, check_as_of
from kratomwatch.audit.log import Actor
from kratomwatch.core import exposure as core_exposure
from kratomwatch.core.errors import Forbidden, InputError
from kratomwatch.core.units import Basis, ContentUnit, Form
from kratomwatch.records import actions, queries
from kratomwatch.records.models import (
    ActionTaken,
    AeOutcome,
    Causality,
    Condition,
    LabTest,
    Lot,
    Patient,
    Seriousness,
    Sex,
)
from kratomwatch.records.summary import exposure_summary

router = Router()


# --- schemas ---------------------------------------------------------------------------------


class ProgramOut(Schema):
    id: int
    slug: str
    name: str


class ProgramIn(Schema):
    slug: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")
    name: str = Field(min_length=1, max_length=200)


class PatientIn(Schema):
    program_id: int
    code: str = Field(min_length=1, max_length=32)
    birth_year: int
    sex: Sex
    time_zone: str = Field(min_length=1, examples=["America/Chicago"])
    jurisdiction: str = Field(min_length=1, examples=["US-TX"], description="ISO 3166-1 alpha-2 or ISO 3166-2")
    conditions: list[Condition] = []
    pregnant: bool = False
    breastfeeding: bool = False
    liver_disease: bool = False
    seizure_disorder: bool = False
    cardiac_qt: bool = False
    respiratory_disease: bool = False


class PatientPatch(Schema):
    time_zone: str | None = Field(None, min_length=1)
    jurisdiction: str | None = Field(None, min_length=1)
    conditions: list[Condition] | None = None
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    liver_disease: bool | None = None
    seizure_disorder: bool | None = None
    cardiac_qt: bool | None = None
    respiratory_disease: bool | None = None


class PatientOut(Schema):
    code: str
    program_id: int
    birth_year: int
    sex: str
    time_zone: str
    jurisdiction: str
    conditions: list[str]
    pregnant: bool
    breastfeeding: bool
    liver_disease: bool
    seizure_disorder: bool
    cardiac_qt: bool
    respiratory_disease: bool

    @staticmethod
    def resolve_conditions(obj: Patient) -> list[str]:
        return obj.condition_codes


class ProductIn(Schema):
    program_id: int
    vendor: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    form: Form


class ProductOut(Schema):
    id: int
    program_id: int
    vendor: str
    name: str
    form: str


class CertificateSchema(Schema):
    content_unit: ContentUnit
    mitragynine: float = Field(ge=0, description="mg per content unit")
    seven_oh: float = Field(ge=0, description="mg 7-hydroxymitragynine per content unit")
    other_alkaloids: dict[str, float] = {}
    lab_name: str = ""
    test_date: dt.date | None = None


class LotIn(Schema):
    lot_code: str = Field(min_length=1, max_length=64)
    certificate: CertificateSchema | None = None
    unit_mass_mg: float | None = Field(default=None, gt=0)
    grams_per_teaspoon: float | None = Field(default=None, gt=0)
    recalled: bool = False


class LotUpdate(Schema):
    certificate: CertificateSchema | None = None
    unit_mass_mg: float | None = Field(default=None, gt=0)
    grams_per_teaspoon: float | None = Field(default=None, gt=0)
    recalled: bool | None = None


class LotOut(Schema):
    id: int
    product_id: int
    lot_code: str
    certificate: CertificateSchema | None
    unit_mass_mg: float | None
    grams_per_teaspoon: float | None
    recalled: bool

    @staticmethod
    def resolve_certificate(obj: Lot) -> dict[str, Any] | None:
        if not obj.cert_content_unit:
            return None
        return {
            "content_unit": obj.cert_content_unit,
            "mitragynine": obj.cert_mitragynine,
            "seven_oh": obj.cert_seven_oh,
            "other_alkaloids": obj.cert_other_alkaloids,
            "lab_name": obj.cert_lab_name,
            "test_date": obj.cert_test_date,
        }


class LotUpdateOut(Schema):
    lot: LotOut
    doses_recomputed: int


class DoseIn(Schema):
    lot_id: int
    taken_at: dt.datetime = Field(description="ISO 8601 with offset, e.g. 2026-11-20T08:30:00-06:00")
    amount: float
    unit: str = Field(min_length=1, examples=["g"], description="g, mg, capsule, tablet, mL, teaspoon, tablespoon")
    source: Literal["self_report", "clinician", "import"] = "self_report"
    idempotency_key: str | None = Field(default=None, max_length=128)


class VoidMark(Schema):
    """How an entry stands: ``voided_at`` is set on a voided entry (listed only with ``include_voided=true``), and
    ``corrects_id`` names the entry a correction replaced."""

    voided_at: dt.datetime | None = None
    voided_by: str = ""
    void_reason: str = ""
    corrects_id: int | None = None


class DoseOut(VoidMark):
    id: int
    lot_id: int
    taken_at: dt.datetime
    local_date: dt.date
    amount: float
    unit: str
    source: str
    idempotency_key: str
    mitragynine_mg: float | None
    seven_oh_mg: float | None
    basis: Basis
    mitragynine_low_mg: float | None
    mitragynine_high_mg: float | None
    seven_oh_share_percent: float | None
    enhanced: bool | None


class DoseCreated(Schema):
    created: bool
    dose: DoseOut


class MedicationIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    dose_text: str = ""
    start: dt.date | None = None
    stop: dt.date | None = None


class MedicationOut(VoidMark):
    id: int
    name: str
    dose_text: str
    start: dt.date | None
    stop: dt.date | None


class LabIn(Schema):
    test: LabTest
    value: float
    unit: str = Field(min_length=1)
    upper_limit_normal: float | None = None
    taken_at: dt.datetime


class LabOut(VoidMark):
    id: int
    test: str
    value: float
    unit: str
    upper_limit_normal: float | None
    taken_at: dt.datetime


class AdverseEventIn(Schema):
    term: str = Field(min_length=1, max_length=200)
    onset: dt.date
    grade: int = Field(ge=1, le=5, description="CTCAE grade 1-5")
    seriousness: list[Seriousness] = []
    outcome: AeOutcome = AeOutcome.UNKNOWN
    causality: Causality = Causality.UNASSESSABLE
    action_taken: ActionTaken = ActionTaken.UNKNOWN


class AdverseEventOut(VoidMark):
    id: int
    term: str
    onset: dt.date
    grade: int
    seriousness: list[str]
    serious: bool
    outcome: str
    causality: str
    action_taken: str


class DailyOut(Schema):
    day: dt.date
    mitragynine_mg: float
    seven_oh_mg: float
    doses: int
    unknown_doses: int
    first_dose_minute: int | None


class TrendOut(Schema):
    as_of: dt.date
    recent_mean_mg: float
    baseline_mean_mg: float
    ratio: float | None
    recent_doses_per_day: float
    baseline_doses_per_day: float
    recent_mean_gap_hours: float | None
    baseline_mean_gap_hours: float | None
    recent_mean_first_dose_minute: float | None
    baseline_mean_first_dose_minute: float | None


class ExposureOut(Schema):
    patient_code: str
    time_zone: str
    as_of: dt.date
    days: list[DailyOut]
    trend: TrendOut
    doses_by_basis: dict[str, int]
    note: str


# --- programs --------------------------------------------------------------------------------


@router.get("/programs", response=list[ProgramOut], tags=["programs"])
@paginate(Pages, page_size=50)
def list_programs(request: HttpRequest) -> Any:
    return access.programs_for(request.user)


@router.post("/programs", response={201: ProgramOut}, tags=["programs"])
def create_program(request: HttpRequest, payload: ProgramIn) -> Any:
    if not getattr(request.user, "is_staff", False):
        raise Forbidden("role", "staff", "only staff administrators can create programs")
    program = account_actions.create_program(actor=Actor.of(request.user), slug=payload.slug, name=payload.name)
    return Status(201, program)


# --- patients --------------------------------------------------------------------------------


@router.get("/patients", response=list[PatientOut], tags=["patients"])
@paginate(Pages, page_size=50)
def list_patients(request: HttpRequest, program_id: OptionalId = None) -> Any:
    qs = access.patients_for(request.user).prefetch_related("conditions").order_by("code")
    access.audit_list(request.user, "patients", program_id=program_id)
    return qs.filter(program_id=program_id) if program_id is not None else qs


@router.post("/patients", response={201: PatientOut}, tags=["patients"])
def create_patient(request: HttpRequest, payload: PatientIn) -> Any:
    program = access.get_program_for(request.user, payload.program_id)
    access.require_care_role(request.user, program)
    fields = payload.dict(exclude={"program_id"})
    return Status(201, actions.create_patient(actor=Actor.of(request.user), program=program, **fields))


@router.get("/patients/{code}", response=PatientOut, tags=["patients"])
def get_patient(request: HttpRequest, code: str) -> Any:
    return access.get_patient_for(request.user, code)


@router.patch("/patients/{code}", response=PatientOut, tags=["patients"])
def patch_patient(request: HttpRequest, code: str, payload: PatientPatch) -> Any:
    patient = access.get_writable_patient_for(request.user, code)
    changes = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    return actions.update_patient(actor=Actor.of(request.user), patient=patient, **changes)


# --- products and lots -----------------------------------------------------------------------


@router.get("/products", response=list[ProductOut], tags=["products"])
@paginate(Pages, page_size=50)
def list_products(request: HttpRequest, program_id: OptionalId = None) -> Any:
    return access.products_for(request.user, program_id)


@router.post("/products", response={201: ProductOut}, tags=["products"])
def create_product(request: HttpRequest, payload: ProductIn) -> Any:
    program = access.get_program_for(request.user, payload.program_id)
    access.require_care_role(request.user, program, admin=True)
    fields = payload.dict(exclude={"program_id"})
    return Status(201, actions.create_product(actor=Actor.of(request.user), program=program, **fields))


@router.get("/products/{product_id}/lots", response=list[LotOut], tags=["products"])
@paginate(Pages, page_size=50)
def list_lots(request: HttpRequest, product_id: Id) -> Any:
    product = access.get_product_for(request.user, product_id)
    return access.lots_for(request.user, product_id=product.pk)


@router.post("/products/{product_id}/lots", response={201: LotOut}, tags=["products"])
def create_lot(request: HttpRequest, product_id: Id, payload: LotIn) -> Any:
    product = access.get_product_for(request.user, product_id)
    access.require_care_role(request.user, product.program, admin=True)
    lot = actions.create_lot(actor=Actor.of(request.user), product=product, **_lot_fields(payload))
    return Status(201, lot)


@router.put("/lots/{lot_id}", response=LotUpdateOut, tags=["products"])
def update_lot(request: HttpRequest, lot_id: Id, payload: LotUpdate) -> Any:
    lot = access.get_lot_for(request.user, lot_id)
    access.require_care_role(request.user, lot.product.program, admin=True)
    lot, count = actions.update_lot(actor=Actor.of(request.user), lot=lot, **_lot_fields(payload))
    return {"lot": lot, "doses_recomputed": count}


def _lot_fields(payload: LotIn | LotUpdate) -> dict[str, Any]:
    fields = payload.dict(exclude={"certificate"})
    fields["certificate"] = actions.CertificateIn(**payload.certificate.dict()) if payload.certificate else None
    return fields


# --- doses and exposure ----------------------------------------------------------------------


@router.get("/patients/{code}/doses", response=list[DoseOut], tags=["doses"])
@paginate(Pages, page_size=100)
def list_doses(request: HttpRequest, code: str, since: dt.date | None = None, include_voided: bool = False) -> Any:
    patient = access.get_patient_for(request.user, code, purpose="doses")
    return queries.doses_of(patient, since=since, include_voided=include_voided)


@router.post("/patients/{code}/doses", response={201: DoseCreated, 200: DoseCreated}, tags=["doses"])
def create_dose(request: HttpRequest, code: str, payload: DoseIn) -> Any:
    with access.writing_patient_for(request.user, code, self_report_ok=True) as patient:
        dose_in = _dose_in(request, patient, payload)
        dose, created = actions.record_dose(actor=Actor.of(request.user), patient=patient, dose=dose_in)
    return Status(201 if created else 200, {"created": created, "dose": dose})


def _dose_in(request: HttpRequest, patient: Patient, payload: DoseIn) -> actions.DoseIn:
    """The action's dose; a patient's own entry is always ``self_report``, whatever the payload says."""
    source = "self_report" if access.is_own_record(request.user, patient) else payload.source
    return actions.DoseIn(
        patient_code=patient.code,
        lot_id=payload.lot_id,
        taken_at=payload.taken_at,
        amount=payload.amount,
        unit=payload.unit,
        source=source,
        idempotency_key=payload.idempotency_key,
    )


@router.get("/patients/{code}/exposure", response=ExposureOut, tags=["doses"])
def get_exposure(
    request: HttpRequest, code: str, as_of: dt.date | None = None, days: Annotated[int, Field(ge=1, le=366)] = 35
) -> Any:
    if not (1 <= days <= 366):
        raise InputError("days", days, "days must be between 1 and 366")
    patient = access.get_patient_for(request.user, code, purpose="exposure")
    return exposure_summary(patient, check_as_of(as_of) or _today(patient), days)


def _today(patient: Patient) -> dt.date:
    """Today on the patient's local calendar."""
    return timezone.now().astimezone(core_exposure.zone(patient.time_zone)).date()


# --- medications, labs, adverse events -------------------------------------------------------


@router.get("/patients/{code}/medications", response=list[MedicationOut], tags=["medications"])
@paginate(Pages, page_size=100)
def list_medications(request: HttpRequest, code: str, include_voided: bool = False) -> Any:
    patient = access.get_patient_for(request.user, code, purpose="medications")
    return queries.medications(patient, include_voided=include_voided)


@router.post("/patients/{code}/medications", response={201: MedicationOut}, tags=["medications"])
def create_medication(request: HttpRequest, code: str, payload: MedicationIn) -> Any:
    patient = access.get_writable_patient_for(request.user, code, self_report_ok=True)
    return Status(201, actions.record_medication(actor=Actor.of(request.user), patient=patient, **payload.dict()))


@router.get("/patients/{code}/labs", response=list[LabOut], tags=["labs"])
@paginate(Pages, page_size=100)
def list_labs(request: HttpRequest, code: str, include_voided: bool = False) -> Any:
    return queries.labs(access.get_patient_for(request.user, code, purpose="labs"), include_voided=include_voided)


@router.post("/patients/{code}/labs", response={201: LabOut}, tags=["labs"])
def create_lab(request: HttpRequest, code: str, payload: LabIn) -> Any:
    patient = access.get_writable_patient_for(request.user, code)
    return Status(201, actions.record_lab(actor=Actor.of(request.user), patient=patient, **payload.dict()))


@router.get("/patients/{code}/adverse-events", response=list[AdverseEventOut], tags=["adverse events"])
@paginate(Pages, page_size=100)
def list_adverse_events(request: HttpRequest, code: str, include_voided: bool = False) -> Any:
    patient = access.get_patient_for(request.user, code, purpose="adverse_events")
    return queries.adverse_events(patient, include_voided=include_voided)


@router.post("/patients/{code}/adverse-events", response={201: AdverseEventOut}, tags=["adverse events"])
def create_adverse_event(request: HttpRequest, code: str, payload: AdverseEventIn) -> Any:
    patient = access.get_writable_patient_for(request.user, code, self_report_ok=True)
    own = access.is_own_record(request.user, patient)
    return Status(
        201,
        actions.record_adverse_event(actor=Actor.of(request.user), patient=patient, self_report=own, **payload.dict()),
    )
