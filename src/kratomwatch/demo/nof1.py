"""The demo's completed n-of-1 trial (synthetic): KW-001 compared the usual kratom routine with a reduced one.

The clinician's design (made up for the demo, not a recommendation): condition A, the usual routine (reference),
against B, the same routine at about half the amount with the care plan's other pain measures; 3 blocks of two
7-day periods, 2 washout days at the start of each period, a 3-day run-in; primary outcome the daily pain rating
(0-10, lower is better), with the nightly sleep rating beside it. The trial ended a week before the demo's "now",
so its card, letter and chart show at once.

The synthetic patient followed the protocol: their dose history (``demo.doses``) is halved on B days before it is
imported, and a pain rating is written for most trial days through ``record_assessment`` (a made-up outcome with
B about half a point worse than A, day-to-day noise and AR(1) correlation). Reads go through ``demo._scope``;
writes through the actions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.contrib.auth import get_user_model

from kratomwatch.accounts.models import Program
from kratomwatch.assessments.actions import record_assessment
from kratomwatch.audit.log import Actor
from kratomwatch.core import nof1_design
from kratomwatch.demo._scope import patients_of
from kratomwatch.demo.data import PATIENT_LOGIN_CODE
from kratomwatch.nof1 import actions as nof1_actions
from kratomwatch.nof1.models import Trial
from kratomwatch.records import actions as record_actions
from kratomwatch.records import queries as record_queries
from kratomwatch.records.models import Patient

TRIAL_PATIENT = PATIENT_LOGIN_CODE  # KW-001, whose login is "patient": the patient sees the card too
CLINICIAN_LOGIN = "clinician"
SEED = 20261202
ENDED_DAYS_AGO = 7
DESIGN = nof1_design.Design(
    conditions=("A", "B"), reference="A", period_days=7, blocks=3, washout_days=2, run_in_days=3
)
REDUCED = 0.5
"""B's amounts are half of the usual ones in this synthetic history."""
TRUE_EFFECT = 0.5
"""The made-up difference in pain (B minus A, points on 0-10) the synthetic ratings are drawn with."""


def trial_start(today: dt.date) -> dt.date:
    """The first run-in day: the trial's last day is :data:`ENDED_DAYS_AGO` days before ``today``."""
    return today - dt.timedelta(days=DESIGN.total_days + ENDED_DAYS_AGO - 1)


def b_days(today: dt.date, seed: int = SEED) -> set[dt.date]:
    """The days of condition B of the trial that ended :data:`ENDED_DAYS_AGO` days before ``today``."""
    slots = nof1_design.schedule(DESIGN, seed, trial_start(today))
    days = nof1_design.day_roles(DESIGN, trial_start(today), slots)
    return {d.day for d in days if d.condition == "B"}


def shape_doses(doses: Sequence[record_actions.DoseIn], today: dt.date, capsules: bool) -> list[record_actions.DoseIn]:
    """The trial patient's doses with B days halved (the protocol followed); other patients' doses unchanged."""
    reduced = b_days(today)
    shaped = []
    for dose in doses:
        local_day = dose.taken_at.date()  # the demo's doses are made in the patient's zone
        if dose.patient_code != TRIAL_PATIENT or local_day not in reduced:
            shaped.append(dose)
            continue
        amount = max(1.0, round(dose.amount * REDUCED)) if capsules else max(0.25, round(dose.amount * REDUCED, 2))
        shaped.append(replace(dose, amount=amount))
    return shaped


def _pain_ratings(
    actor: Actor, patient: object, today: dt.date, rng: np.random.Generator, *, seed: int, effect: float
) -> int:
    """A pain rating on about 90% of the trial's days, in the evening of the patient's zone."""
    start = trial_start(today)
    reduced = b_days(today, seed)
    zone = ZoneInfo(patient.time_zone)  # type: ignore[attr-defined]
    noise = 0.0
    written = 0
    for offset in range(DESIGN.total_days):
        day = start + dt.timedelta(days=offset)
        noise = 0.4 * noise + float(rng.normal(0.0, 0.9))
        if rng.random() < 0.1:
            continue  # a missed day
        value = 5.2 + (effect if day in reduced else 0.0) + noise
        answer = int(min(10, max(0, round(value))))
        when = dt.datetime.combine(day, dt.time(20, int(rng.integers(0, 50))), zone)
        record_assessment(
            actor=actor,
            patient=patient,  # type: ignore[arg-type]
            instrument_id="pain_nrs",
            answers=[answer],
            administered_at=when,
            source="self_report",
        )
        written += 1
    return written


def trial_clinician() -> Any:
    """The demo clinician who designs the trials, or None before the logins exist."""
    return get_user_model().objects.filter(username=CLINICIAN_LOGIN).first()


def create_demo_trial(actor: Actor, program: Program, now: dt.datetime, rng: np.random.Generator) -> Trial | None:
    """The completed trial of :data:`TRIAL_PATIENT` (once; after the doses and the logins exist)."""
    patient = patients_of(program).filter(code=TRIAL_PATIENT).first()
    clinician = trial_clinician()
    if patient is None or clinician is None:
        return None
    return create_trial(actor, patient, clinician, now, rng, signed_name="Demo Patient One")


def create_trial(
    actor: Actor,
    patient: Patient,
    clinician: Any,
    now: dt.datetime,
    rng: np.random.Generator,
    *,
    signed_name: str,
    seed: int = SEED,
    effect: float = TRUE_EFFECT,
) -> Trial:
    """A completed trial of :data:`DESIGN` for ``patient`` (randomized with ``seed``), ended
    :data:`ENDED_DAYS_AGO` days before ``now``, with made-up pain ratings (B minus A about ``effect`` points). The
    patient's doses must already follow it (halved on B days: :func:`shape_doses`, :func:`b_days`)."""
    today = patient.local_today(now)
    start = trial_start(today)
    run_in = record_queries.daily_mg_rows([patient.pk], start, start + dt.timedelta(days=DESIGN.run_in_days - 1))
    usual = round(float(np.mean([mg for _pk, _day, mg in run_in])) / 5) * 5 if run_in else None
    _pain_ratings(actor, patient, today, rng, seed=seed, effect=effect)
    design = nof1_actions.TrialIn(
        title="Usual kratom routine or a reduced one: which leaves my pain lower?",
        question="Is my pain any different when I take about half my usual kratom, with my other pain measures?",
        conditions=[
            nof1_actions.ConditionIn(
                code="A",
                label="Usual routine",
                description="Kratom as I take it now.",
                is_reference=True,
                target_mitragynine_mg=usual,
            ),
            nof1_actions.ConditionIn(
                code="B",
                label="Reduced routine",
                description="About half my usual kratom, with the heat pad and stretches from my care plan.",
                target_mitragynine_mg=None if usual is None else round(usual * REDUCED / 5) * 5,
            ),
        ],
        primary_instrument="pain_nrs",
        lower_is_better=True,
        measure_every_days=1,
        mcid=1.0,
        mcid_source="Program choice for this demo (1 point on the 0-10 pain scale)",
        mcid_program_choice=True,
        period_days=DESIGN.period_days,
        blocks=DESIGN.blocks,
        washout_days=DESIGN.washout_days,
        run_in_days=DESIGN.run_in_days,
        stopping_rules=[
            "Stop if pain is 9 or 10 on two days in a row.",
            "Stop if withdrawal symptoms make daily life hard.",
        ],
        seed=seed,
    )
    # Stamped as the story goes (designed and signed the week before the start, completed the day after the last
    # period), never at the moment the demo is loaded.
    zone = ZoneInfo(patient.time_zone)

    def at(day: dt.date, hour: int) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour), zone)

    trial = nof1_actions.create_trial(
        actor=actor, patient=patient, user=clinician, design=design, now=at(start - dt.timedelta(days=7), 10)
    )
    trial = nof1_actions.sign_as_clinician(
        actor=actor, trial=trial, user=clinician, now=at(start - dt.timedelta(days=7), 11)
    )
    trial = nof1_actions.sign_as_patient(
        actor=actor, trial=trial, signed_name=signed_name, now=at(start - dt.timedelta(days=6), 19)
    )
    trial = nof1_actions.start_trial(actor=actor, trial=trial, user=clinician, start_date=start, now=at(start, 9))
    last = start + dt.timedelta(days=DESIGN.total_days - 1)
    return nof1_actions.complete_if_ended(
        actor=actor, trial=trial, today=today, now=min(at(last + dt.timedelta(days=1), 8), now)
    )
