"""A demo care plan with a clinician-entered taper, so the taper line, its planned steps and the patient's list of
targets are visible after ``make run``. The targets are synthetic demo entries standing for what a clinician typed;
kratomwatch itself never proposes a dose."""

from __future__ import annotations

import datetime as dt

from kratomwatch.accounts.models import Program
from kratomwatch.audit.log import Actor
from kratomwatch.careplans.actions import save_care_plan
from kratomwatch.demo._scope import patients_of

TAPER_PATIENT = "KW-001"
#: (days from today, the clinician's daily target in mg mitragynine): two past steps and two planned ones.
TAPER_STEPS = ((-28, 140.0), (-14, 120.0), (3, 100.0), (10, 80.0))


def create_demo_care_plan(actor: Actor, program: Program, today: dt.date) -> None:
    """Give the demo patient KW-001 a care plan with past and future taper steps (once)."""
    patient = patients_of(program).filter(code=TAPER_PATIENT).first()
    if patient is None:
        return
    save_care_plan(
        actor=actor,
        patient=patient,
        goals="Reduce daily kratom use gradually while keeping pain manageable (demo plan).",
        modalities=["counselling", "physiotherapy"],
        notes="Demo: taper steps entered by the clinician together with the patient.",
        taper=[(today + dt.timedelta(days=d), mg) for d, mg in TAPER_STEPS],
    )
