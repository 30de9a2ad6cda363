"""Read selectors for a patient's n-of-1 trials.

Contract: functions take a patient or a trial already fetched through ``kratomwatch.access`` and check no
permission; they write nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from django.db.models import QuerySet

from kratomwatch.core import nof1_design
from kratomwatch.nof1.models import Condition, Period, Trial
from kratomwatch.records.models import Patient


def trials_of(patient: Patient) -> QuerySet[Trial]:
    """The patient's trials, newest first."""
    return (
        Trial.objects.filter(patient=patient)
        .select_related("patient", "patient__program")
        .order_by("-created_at", "-id")
    )


def conditions_of(trial: Trial) -> list[Condition]:
    """The trial's conditions, by code."""
    return list(Condition.objects.filter(trial=trial).order_by("code"))


def periods_of(trial: Trial) -> list[Period]:
    """The dated periods (empty until the trial starts), in trial order."""
    return list(Period.objects.filter(trial=trial).select_related("condition").order_by("position"))


class _Timing(Protocol):
    period_days: int
    blocks: int
    washout_days: int
    run_in_days: int


class _Coded(Protocol):
    code: str
    is_reference: bool


def design_from(timing: _Timing, conditions: Sequence[_Coded]) -> nof1_design.Design:
    """The pure design (``core.nof1_design``) of a trial or of the clinician's input: its timing and conditions."""
    return nof1_design.Design(
        conditions=tuple(c.code for c in conditions),
        reference=next((c.code for c in conditions if c.is_reference), ""),
        period_days=timing.period_days,
        blocks=timing.blocks,
        washout_days=timing.washout_days,
        run_in_days=timing.run_in_days,
    )


def design_of(trial: Trial) -> nof1_design.Design:
    """The pure design of a stored trial."""
    return design_from(trial, conditions_of(trial))


def slots_of(trial: Trial) -> list[nof1_design.PeriodSlot]:
    """The stored periods as the pure module's slots."""
    return [
        nof1_design.PeriodSlot(
            position=p.position,
            block=p.block,
            condition=p.condition.code,
            start=p.start,
            end=p.end,
            analysed_from=p.analysed_from,
        )
        for p in periods_of(trial)
    ]
