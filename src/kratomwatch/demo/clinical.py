"""Clinical data of a demo patient: medications, a liver panel, a QTc and an adverse event, by patient index.

Patient 9 has a drug-induced-liver-injury pattern (ALT 6x and bilirubin 2.5x the upper limit), patient 13 a
QTc of 512 ms and patient 15 a serum sodium of 128 mmol/L; the others have values in or near the normal range.
Three patients have a fixed medication list besides their random one (``GIVEN_MEDICATIONS``): an opioid with a
gabapentinoid and no naloxone on file (KW-002), an opioid with naloxone on file (KW-003), and methadone with
alcohol and a benzodiazepine (KW-007).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from kratomwatch.audit.log import Actor
from kratomwatch.demo.data import AES, MEDICATIONS
from kratomwatch.records import actions
from kratomwatch.records.models import Patient

LIVER_INJURY_INDEX = 9
LONG_QT_INDEX = 13
LOW_SODIUM_INDEX = 15
GIVEN_MEDICATIONS: dict[int, tuple[tuple[str, str], ...]] = {
    1: (("oxycodone", "5 mg PRN"), ("gabapentin", "300 mg TID")),
    2: (("oxycodone", "5 mg PRN"), ("Narcan", "nasal spray, kept at home")),
    6: (("methadone", "60 mg daily"), ("alcohol", "3-4 drinks most evenings"), ("Xanax", "0.5 mg PRN")),
}
"""Patient index -> medications recorded for it (with a fixed start 90 days back), after the random ones."""


def _medications(actor: Actor, patient: Patient, index: int, today: dt.date, rng: np.random.Generator) -> None:
    for j in range(int(rng.integers(0, 4))):
        name, dose_text = MEDICATIONS[(index + 3 * j) % len(MEDICATIONS)]
        actions.record_medication(
            actor=actor,
            patient=patient,
            name=name,
            dose_text=dose_text,
            start=today - dt.timedelta(days=int(rng.integers(30, 400))),
        )
    for name, dose_text in GIVEN_MEDICATIONS.get(index, ()):
        actions.record_medication(
            actor=actor, patient=patient, name=name, dose_text=dose_text, start=today - dt.timedelta(days=90)
        )


def _liver_panel(actor: Actor, patient: Patient, index: int, now: dt.datetime, rng: np.random.Generator) -> None:
    """ALT, AST, ALP, total bilirubin and sodium, all taken at the same time."""
    injured = index == LIVER_INJURY_INDEX
    alt_factor = 6.0 if injured else float(rng.uniform(0.4, 1.3))
    bili_factor = 2.5 if injured else float(rng.uniform(0.3, 0.9))
    when = now - dt.timedelta(days=int(rng.integers(1, 60)))

    def lab(test: str, value: float, unit: str, upper_limit_normal: float | None) -> None:
        actions.record_lab(
            actor=actor,
            patient=patient,
            test=test,
            value=value,
            unit=unit,
            upper_limit_normal=upper_limit_normal,
            taken_at=when,
            now=now,
        )

    lab("alt", round(40 * alt_factor, 1), "U/L", 40)
    lab("ast", round(35 * alt_factor * 0.8, 1), "U/L", 35)
    lab("alp", round(float(rng.uniform(50, 140)), 1), "U/L", 120)
    lab("total_bilirubin", round(1.2 * bili_factor, 2), "mg/dL", 1.2)
    lab("sodium", 128.0 if index == LOW_SODIUM_INDEX else 137.0 + index % 5, "mmol/L", None)


def _qtc(actor: Actor, patient: Patient, index: int, now: dt.datetime, rng: np.random.Generator) -> None:
    qtc = 512.0 if index == LONG_QT_INDEX else float(round(rng.uniform(400, 460)))
    actions.record_lab(
        actor=actor,
        patient=patient,
        test="qtc",
        value=qtc,
        unit="ms",
        upper_limit_normal=None,
        taken_at=now - dt.timedelta(days=int(rng.integers(1, 80))),
        now=now,
    )


def _adverse_event(
    actor: Actor, patient: Patient, index: int, *, days: int, today: dt.date, rng: np.random.Generator
) -> None:
    term, grade, serious, outcome = AES[(index // 2) % len(AES)]
    actions.record_adverse_event(
        actor=actor,
        patient=patient,
        term=term,
        onset=today - dt.timedelta(days=int(rng.integers(1, days))),
        grade=grade,
        seriousness=serious,
        outcome=outcome,
        causality="possible",
        action_taken="none",
        today=today,
    )


def record_clinical_data(
    actor: Actor, patient: Patient, index: int, *, days: int, now: dt.datetime, rng: np.random.Generator
) -> None:
    """0-3 medications for everybody; a liver panel for every third patient, a QTc for every fourth (from
    the second), an adverse event for every other one."""
    today = now.date()
    _medications(actor, patient, index, today, rng)
    if index % 3 == 0:
        _liver_panel(actor, patient, index, now, rng)
    if index % 4 == 1:
        _qtc(actor, patient, index, now, rng)
    if index % 2 == 0:
        _adverse_event(actor, patient, index, days=days, today=today, rng=rng)
