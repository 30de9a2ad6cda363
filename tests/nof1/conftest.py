"""Fixtures of the n-of-1 trial tests: a design, a trial ready to start, and a trial run in the past with its
measures and doses recorded through the ordinary write paths (times in the patient's zone)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kratomwatch.assessments import actions as assessment_actions
from kratomwatch.nof1 import actions, queries
from kratomwatch.nof1.models import Trial
from kratomwatch.records import actions as record_actions
from kratomwatch.records import writes


def trial_in(**changes: Any) -> actions.TrialIn:
    fields: dict[str, Any] = {
        "title": "Usual regimen against a reduced one",
        "question": "Does the reduced regimen change my daily pain?",
        "conditions": [
            actions.ConditionIn("A", "Usual regimen", "Your usual leaf powder", True, 30.0, None),
            actions.ConditionIn("B", "Reduced regimen", "Half your usual leaf powder", False, 15.0, None),
        ],
        "primary_instrument": "pain_nrs",
        "period_days": 5,
        "blocks": 2,
        "washout_days": 1,
        "run_in_days": 2,
        "mcid": 1.0,
        "mcid_program_choice": True,
        "stopping_rules": ["Pain 9 or more on three days in a row"],
        "secondary_instruments": [("peg", 7)],
        "seed": 20261202,
    }
    return actions.TrialIn(**(fields | changes))


@pytest.fixture
def design() -> Callable[..., actions.TrialIn]:
    return trial_in


@pytest.fixture
def draft(world: Any, system: Any) -> Trial:
    return actions.create_trial(actor=system, patient=world.patient, user=world.alice, design=trial_in())


@pytest.fixture
def signed(world: Any, system: Any, draft: Trial) -> Trial:
    trial = actions.sign_as_clinician(actor=system, trial=draft, user=world.alice)
    return actions.sign_as_patient(actor=system, trial=trial, signed_name="Carol Patient")


def urgent_alert(world: Any, system: Any) -> None:
    """PHQ-9 item 9 answered above 0 a minute ago: the urgent suicidality alert opens (the ordinary alert path)."""
    assessment_actions.record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="phq9",
        answers=[0] * 8 + [1],
        administered_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
        source="self_report",
    )


def run_in_past(world: Any, system: Any, trial: Trial, *, effect: float = -3.0, skip: int = 0) -> Trial:
    """Start ``trial`` so that it ended yesterday (patient's zone) and record one pain rating a day at noon (pain
    5 under A, 5 + ``effect`` under B, a small wobble; ``skip`` analysed days left unmeasured) and a daily dose of
    the certified leaf (2 g = 30 mg mitragynine under A, 1 g under B)."""
    patient = world.patient
    tz = ZoneInfo(patient.time_zone)
    design = queries.design_of(trial)
    start = patient.local_today() - dt.timedelta(days=design.total_days)
    trial = actions.start_trial(actor=system, trial=trial, user=world.alice, start_date=start)
    roles = {p.start + dt.timedelta(days=i): p for p in queries.periods_of(trial) for i in range(trial.period_days)}
    skipped = 0
    with writes.batch():
        for i in range(design.total_days):
            day = start + dt.timedelta(days=i)
            period = roles.get(day)
            code = period.condition.code if period else "A"
            if period and day >= period.analysed_from and skipped < skip:
                skipped += 1
            else:
                pain = round(5 + (effect if code == "B" else 0) + (1 if i % 4 == 0 else 0))
                assessment_actions.record_assessment(
                    actor=system,
                    patient=patient,
                    instrument_id="pain_nrs",
                    answers=[pain],
                    administered_at=dt.datetime.combine(day, dt.time(12), tzinfo=tz),
                    source="self_report",
                )
            grams = 2.0 if code == "A" else 1.0
            record_actions.record_dose(
                actor=system,
                patient=patient,
                dose=record_actions.DoseIn(
                    patient.code,
                    world.leaf_cert_lot.pk,
                    dt.datetime.combine(day, dt.time(9), tzinfo=tz),
                    grams,
                    "g",
                    idempotency_key=f"nof1-{i}",
                ),
            )
    return trial
