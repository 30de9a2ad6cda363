"""The demo load, step by step: programs, catalogue, patients with their doses and clinical data, logins,
assessments, consent, the synthetic research cohort (``research_cohort``), then one alert sweep. All in one
transaction; a second call finds the program and changes nothing. After the commit, the demo program's first analysis
snapshot (de-identified, for the researcher's cohort pages) when a research secret is available, and the synthetic
FAERS-format surveillance sample (``demo/surveillance.py``), ingested and scanned for the researcher's kratom page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from kratomwatch.accounts import actions as account_actions
from kratomwatch.accounts.models import Program
from kratomwatch.alerts.actions import sweep
from kratomwatch.audit.log import Actor
from kratomwatch.core.errors import InputError
from kratomwatch.demo import nof1 as demo_nof1
from kratomwatch.demo import surveillance as surveillance_demo
from kratomwatch.demo._scope import dose_count, find_program, patients_of
from kratomwatch.demo.assessments import load_demo_assessments
from kratomwatch.demo.careplans import create_demo_care_plan
from kratomwatch.demo.catalogue import DemoLot, create_catalogue, lot_for
from kratomwatch.demo.clinical import record_clinical_data
from kratomwatch.demo.consent import sign_consents
from kratomwatch.demo.data import DEMO_NAME, DEMO_SLUG, OTHER_NAME, OTHER_SLUG
from kratomwatch.demo.doses import dose_history, import_demo_doses
from kratomwatch.demo.logins import create_logins
from kratomwatch.demo.patients import create_other_clinic_patient, create_patient
from kratomwatch.demo.research_cohort import load_research_cohort
from kratomwatch.records.actions import DoseIn
from kratomwatch.research import export as research_export
from kratomwatch.research import snapshot

Step = Callable[[int, int], None]


def load_demo(
    *,
    patients: int = 36,
    days: int = 90,
    seed: int = 20261121,
    step: Step | None = None,
    now: dt.datetime | None = None,
    research_cohort: bool = True,
) -> dict[str, Any]:
    """Create the demo program once. A second call finds it and changes nothing. ``research_cohort=False`` leaves
    out the synthetic research cohort (``research_cohort``: 120 patients, a year of data), for small test demos.

    Returns the program name, ``status`` ("created" or "already loaded"), and the numbers of patients and
    doses. ``step(n, total)`` is called after each demo patient.
    """
    existing = find_program(DEMO_SLUG)
    if existing is not None:
        # Count both demo programs, as the first run does (the other clinic has one patient).
        programs = [p for p in (existing, find_program(OTHER_SLUG)) if p is not None]
        if research_cohort and not surveillance_demo.sample_exists():
            surveillance_demo.load_surveillance_sample()
        return {
            "program": existing.name,
            "status": "already loaded",
            "patients": sum(patients_of(p).count() for p in programs),
            "programs": len(programs),
            "doses": sum(dose_count(p) for p in programs),
        }
    instant = now or timezone.now()
    with transaction.atomic():
        summary = _load(
            patients=patients,
            days=days,
            seed=seed,
            step=step or (lambda n, t: None),
            now=instant,
            research_cohort=research_cohort,
        )
    summary["analysis_snapshot"] = _analysis_snapshot(instant) if research_cohort else None
    # The researcher's surveillance page: a synthetic FAERS-format sample, ingested and scanned (not in the
    # database: the analytical store under KRATOMWATCH_HOME/surveillance/).
    summary["surveillance"] = surveillance_demo.load_surveillance_sample()["name"] if research_cohort else None
    return summary


def _analysis_snapshot(now: dt.datetime) -> str | None:
    """The demo program's first analysis snapshot (``research.snapshot``), so the researcher's cohort pages show
    analyses at once; written after the demo's transaction commits. Without a research secret (the test suite; a
    server without ``KRATOMWATCH_RESEARCH_SECRET`` and not in development) there is none, and the researcher's page
    says what to set. Returns the snapshot id."""
    program = find_program(DEMO_SLUG)
    if program is None:
        return None
    try:
        research_export.project_secret(program)
    except InputError:
        return None
    made = snapshot.build(patients_of(program), program=program, actor=Actor.system("demo"), now=now)
    return made.snapshot_id


def _patient_record(
    actor: Actor,
    program: Program,
    lots: list[DemoLot],
    index: int,
    *,
    days: int,
    now: dt.datetime,
    rng: np.random.Generator,
) -> list[DoseIn]:
    """Create patient ``index`` with its clinical data; returns its doses (imported later, in one batch)."""
    patient = create_patient(actor, program, index, rng, enrolled_on=now.date() - dt.timedelta(days=days))
    # The patient's own calendar day: in the evening in America/Chicago, UTC is already tomorrow.
    today = patient.local_today(now)
    lot = lot_for(lots, index)
    doses = dose_history(patient, lot, index, days=days, today=today, rng=rng)
    doses = demo_nof1.shape_doses(doses, today, capsules=lot.unit in ("capsule", "tablet"))
    record_clinical_data(actor, patient, index, days=days, now=now, rng=rng)
    return doses


def _load(
    *, patients: int, days: int, seed: int, step: Step, now: dt.datetime, research_cohort: bool
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)  # one generator for every step, in this order
    actor = Actor.system("demo")
    program = account_actions.create_program(actor=actor, slug=DEMO_SLUG, name=DEMO_NAME)
    other = account_actions.create_program(actor=actor, slug=OTHER_SLUG, name=OTHER_NAME)
    lots = create_catalogue(actor, program)
    doses: list[DoseIn] = []
    for index in range(patients):
        doses += _patient_record(actor, program, lots, index, days=days, now=now, rng=rng)
        step(index + 1, patients)
    create_other_clinic_patient(actor, other)
    created = import_demo_doses(actor, doses, now)
    create_logins(actor)
    load_demo_assessments(program, now, rng)
    sign_consents(actor, (program, other), now)
    create_demo_care_plan(actor, program, now.date())
    if days >= demo_nof1.DESIGN.total_days + demo_nof1.ENDED_DAYS_AGO:
        demo_nof1.create_demo_trial(actor, program, now, rng)  # KW-001's completed n-of-1 trial
    cohort = {"patients": 0, "doses": 0}
    if research_cohort:
        cohort = load_research_cohort(actor, program, lots, now)  # synthetic research cohort KW-R001..
    sweep(actor=actor, program=program, now=now)
    return {
        "program": program.name,
        "status": "created",
        "patients": patients + 1 + cohort["patients"],
        "programs": 2,
        "doses": created + cohort["doses"],
    }
