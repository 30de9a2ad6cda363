"""The demo patients: places, conditions and history flags follow the patient index."""

from __future__ import annotations

import datetime as dt

import numpy as np

from kratomwatch.accounts.models import Program
from kratomwatch.audit.log import Actor
from kratomwatch.demo.data import CONDITION_SETS, PLACES
from kratomwatch.records import actions
from kratomwatch.records.models import Patient


def patient_code(index: int) -> str:
    return f"KW-{index + 1:03d}"


def create_patient(
    actor: Actor, program: Program, index: int, rng: np.random.Generator, *, enrolled_on: dt.date | None = None
) -> Patient:
    """Demo patient ``index``: one of them is pregnant; some have liver, seizure, QT or respiratory history.
    ``enrolled_on`` is the first day of the demo history, so the patient's own pages accept entries since then."""
    time_zone, jurisdiction = PLACES[index % len(PLACES)]
    return actions.create_patient(
        actor=actor,
        program=program,
        code=patient_code(index),
        birth_year=int(rng.integers(1958, 2003)),
        sex=str(rng.choice(["female", "male"])),
        time_zone=time_zone,
        jurisdiction=jurisdiction,
        conditions=CONDITION_SETS[index % len(CONDITION_SETS)],
        pregnant=index == 11,
        liver_disease=index % 13 == 5,
        seizure_disorder=index % 17 == 3,
        cardiac_qt=index % 11 == 7,
        respiratory_disease=index % 19 == 8,
        enrolled_on=enrolled_on,
    )


def create_other_clinic_patient(actor: Actor, program: Program) -> Patient:
    """The one patient of the other clinic, whom no demo-program login may see."""
    return actions.create_patient(
        actor=actor,
        program=program,
        code="OC-001",
        birth_year=1980,
        sex="male",
        time_zone="America/Chicago",
        jurisdiction="US-TX",
        conditions=["chronic_pain"],
    )
