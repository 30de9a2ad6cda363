"""Writes for care plans (audited, transactional)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from kratomwatch.audit.log import Actor, record
from kratomwatch.careplans.models import CarePlan, Modality, TaperStep
from kratomwatch.core.errors import InputError
from kratomwatch.records.models import Patient
from kratomwatch.records.validation import enrolment_date

TAPER_PAST = dt.timedelta(days=365)
TAPER_AHEAD = dt.timedelta(days=5 * 365)
"""A taper step starts no earlier than a year before the patient joined and no later than five years ahead: outside
that window a date is a typing error (a product choice). Steps already on the plan are kept as they are."""


def _check_step_dates(patient: Patient, steps: Sequence[tuple[dt.date, float]]) -> None:
    kept = set(TaperStep.objects.filter(plan__patient=patient).values_list("start", flat=True))
    earliest = enrolment_date(patient) - TAPER_PAST
    latest = patient.local_today() + TAPER_AHEAD
    for index, (start, _target) in enumerate(steps):
        if start in kept or earliest <= start <= latest:
            continue
        raise InputError(
            f"taper.{index}.start",
            start.isoformat(),
            f"{start:%d %b %Y} is outside the plausible range for a taper step ({earliest:%d %b %Y} to "
            f"{latest:%d %b %Y}); check the year",
        )


@transaction.atomic
def save_care_plan(
    *,
    actor: Actor,
    patient: Patient,
    goals: str,
    modalities: Sequence[str],
    notes: str = "",
    taper: Sequence[tuple[dt.date, float]] | None = None,
    user: Any = None,
) -> CarePlan:
    """Create or replace the patient's care plan. ``taper`` replaces the taper schedule when given
    (an empty list removes it)."""
    bad = [m for m in modalities if m not in Modality.values]
    if bad:
        raise InputError("modalities", bad[0], f"unknown modality {bad[0]!r}; use one of: {', '.join(Modality.values)}")
    if len(goals) > 5000:
        raise InputError("goals", goals[:40], "goals must be at most 5000 characters")
    steps: list[tuple[dt.date, float]] = []
    for index, (start, target) in enumerate(taper or []):
        if not isinstance(target, int | float) or not math.isfinite(target) or target < 0 or target > 5000:
            raise InputError(f"taper.{index}.target_mg", target, "a daily target must be between 0 and 5000 mg")
        steps.append((start, float(target)))
    _check_step_dates(patient, steps)
    starts = [s for s, _ in steps]
    if len(set(starts)) != len(starts):
        raise InputError("taper", [s.isoformat() for s in starts], "two taper steps start on the same day")
    plan, _ = CarePlan.objects.update_or_create(
        patient=patient,
        defaults={
            "goals": goals.strip(),
            "modalities": sorted(set(modalities)),
            "notes": notes.strip(),
            "updated_at": timezone.now(),
            "updated_by": user,
        },
    )
    if taper is not None:
        plan.taper_steps.all().delete()
        TaperStep.objects.bulk_create(TaperStep(plan=plan, start=s, target_mg=t) for s, t in sorted(steps))
    record(
        actor,
        "careplan.save",
        object_type="care_plan",
        object_id=plan.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
        detail={"modalities": plan.modalities, "taper_steps": len(steps)},
    )
    return plan


def taper_target_on(plan: CarePlan, day: dt.date) -> float | None:
    """The clinician's target in force on ``day`` (the latest step starting on or before it)."""
    step = plan.taper_steps.filter(start__lte=day).order_by("-start").first()
    return None if step is None else step.target_mg
