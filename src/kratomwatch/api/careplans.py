"""Care plan endpoints: read (clinician or the patient), write (clinicians of the program)."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from kratomwatch import access
from kratomwatch.api.records import actor_of, require_care
from kratomwatch.careplans import actions
from kratomwatch.careplans.models import CarePlan, Modality
from kratomwatch.consent.guard import require_care_consent

router = Router(tags=["care plans"])


class TaperStepSchema(Schema):
    start: dt.date
    target_mg: float = Field(ge=0, le=5000, description="Clinician's daily mitragynine target (mg)")


class CarePlanIn(Schema):
    goals: str = Field(default="", max_length=5000)
    modalities: list[Modality] = []
    notes: str = ""
    taper: list[TaperStepSchema] | None = None


class CarePlanOut(Schema):
    patient_code: str
    goals: str
    modalities: list[str]
    notes: str
    taper: list[TaperStepSchema]
    updated_at: dt.datetime | None
    note: str


NOTE = "The taper schedule is the clinician's plan; kratomwatch records and charts it and never proposes a dose."


def _out(patient: Any, plan: CarePlan | None) -> dict[str, Any]:
    return {
        "patient_code": patient.code,
        "goals": plan.goals if plan else "",
        "modalities": plan.modalities if plan else [],
        "notes": plan.notes if plan else "",
        "taper": list(plan.taper_steps.values("start", "target_mg")) if plan else [],
        "updated_at": plan.updated_at if plan else None,
        "note": NOTE,
    }


@router.get("/patients/{code}/care-plan", response=CarePlanOut)
def get_plan(request: HttpRequest, code: str) -> Any:
    patient = access.get_patient_for(request.user, code, actor=actor_of(request), purpose="care_plan")
    return _out(patient, CarePlan.objects.filter(patient=patient).first())


@router.put("/patients/{code}/care-plan", response=CarePlanOut)
def put_plan(request: HttpRequest, code: str, payload: CarePlanIn) -> Any:
    patient = access.get_patient_for(request.user, code, actor=actor_of(request), purpose="care_plan")
    require_care(request, patient.program)
    require_care_consent(patient)
    plan = actions.save_care_plan(
        actor=actor_of(request),
        patient=patient,
        goals=payload.goals,
        modalities=[str(m) for m in payload.modalities],
        notes=payload.notes,
        user=request.user,
        taper=None if payload.taper is None else [(s.start, s.target_mg) for s in payload.taper],
    )
    return _out(patient, plan)
