"""Care plan endpoints: read (the care team or the patient), write (a care role in the patient's program, with
active care consent). Access through ``kratomwatch.access``; reads through ``careplans.queries``; the write
through ``careplans.actions``. The taper is the clinician's entry, read back as stored: never a proposed dose.
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from kratomwatch import access
from kratomwatch.audit.log import Actor
from kratomwatch.careplans import actions, queries
from kratomwatch.careplans.models import CarePlan, Modality
from kratomwatch.records.models import Patient

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


def _out(patient: Patient, plan: CarePlan | None) -> dict[str, Any]:
    return {
        "patient_code": patient.code,
        "goals": plan.goals if plan else "",
        "modalities": plan.modalities if plan else [],
        "notes": plan.notes if plan else "",
        "taper": [{"start": s.start, "target_mg": s.target_mg} for s in queries.taper_steps(plan)],
        "updated_at": plan.updated_at if plan else None,
        "note": NOTE,
    }


@router.get("/patients/{code}/care-plan", response=CarePlanOut)
def get_plan(request: HttpRequest, code: str) -> Any:
    patient = access.get_patient_for(request.user, code, purpose="care_plan")
    return _out(patient, queries.care_plan(patient))


@router.put("/patients/{code}/care-plan", response=CarePlanOut)
def put_plan(request: HttpRequest, code: str, payload: CarePlanIn) -> Any:
    patient = access.get_writable_patient_for(request.user, code)
    plan = actions.save_care_plan(
        actor=Actor.of(request.user),
        patient=patient,
        goals=payload.goals,
        modalities=[str(m) for m in payload.modalities],
        notes=payload.notes,
        user=request.user,
        taper=None if payload.taper is None else [(s.start, s.target_mg) for s in payload.taper],
    )
    return _out(patient, plan)
