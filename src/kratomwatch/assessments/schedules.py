"""Due and overdue status of assessment schedules, on the patient's own calendar.

Rules (local dates in ``Patient.time_zone``):

* ``next_due`` is the local date of the latest *valid* assessment of the instrument plus ``every_days``;
  with no valid assessment yet it is the schedule's ``start``. It is never before ``start`` (a schedule
  that starts next month is not due today, whatever older assessments exist).
* ``due`` when today >= next_due; ``overdue`` when today > next_due + grace days; otherwise ``upcoming``;
  an inactive schedule is ``inactive``.

An incomplete (invalid) assessment does not satisfy a schedule, since it produced no score.

The grace period is a program choice, not published evidence: the program's ``missed_followup_grace_days``
(``accounts.program_settings``: the program's override, else ``KRATOMWATCH_ASSESSMENT_GRACE_DAYS``, else 3 days),
the same value the missed-follow-up alert uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from django.db.models import Max

from kratomwatch.accounts import program_settings
from kratomwatch.assessments.models import Assessment, Schedule
from kratomwatch.core import exposure
from kratomwatch.records.models import Patient

GRACE_LABEL = "program setting (not published evidence): days past due before a questionnaire counts as overdue"

Status = Literal["upcoming", "due", "overdue", "inactive"]


def grace_days(patient: Patient | None = None) -> int:
    """The labelled program setting for the grace period: the patient's program's, or the deployment default."""
    config = program_settings.for_program(patient.program_id) if patient is not None else program_settings.defaults()
    return config.missed_followup_grace_days


@dataclass(frozen=True)
class ScheduleStatus:
    schedule: Schedule
    today: dt.date
    last_at: dt.datetime | None
    last_local_date: dt.date | None
    next_due: dt.date
    grace_days: int
    status: Status

    @property
    def days_overdue(self) -> int:
        """Days past the due date (0 when not yet due)."""
        return max(0, (self.today - self.next_due).days)

    @property
    def is_due(self) -> bool:
        return self.status in ("due", "overdue")


def compute_status(
    *,
    every_days: int,
    start: dt.date,
    active: bool,
    last_local_date: dt.date | None,
    today: dt.date,
    grace: int,
) -> tuple[dt.date, Status]:
    """(next due date, status) from plain values; the rule in the module docstring."""
    next_due = start if last_local_date is None else max(start, last_local_date + dt.timedelta(days=every_days))
    if not active:
        return next_due, "inactive"
    if today < next_due:
        return next_due, "upcoming"
    if (today - next_due).days > grace:
        return next_due, "overdue"
    return next_due, "due"


def latest_valid(patient: Patient, instrument_ids: Iterable[str] | None = None) -> dict[str, dt.datetime]:
    """Latest valid assessment time per instrument (one grouped query)."""
    qs = Assessment.objects.filter(patient=patient, valid=True)
    if instrument_ids is not None:
        qs = qs.filter(instrument_id__in=list(instrument_ids))
    rows = qs.values("instrument_id").annotate(last=Max("administered_at")).values_list("instrument_id", "last")
    return {instrument_id: last for instrument_id, last in rows if last is not None}


def statuses_for(
    patient: Patient, *, now: dt.datetime, include_inactive: bool = True, grace: int | None = None
) -> list[ScheduleStatus]:
    """Status of every schedule of ``patient`` at ``now``, most urgent first."""
    tz = exposure.zone(patient.time_zone)
    today = now.astimezone(tz).date()
    grace = grace_days(patient) if grace is None else grace
    schedules = list(Schedule.objects.filter(patient=patient).order_by("instrument_id"))
    if not include_inactive:
        schedules = [s for s in schedules if s.active]
    last = latest_valid(patient, [s.instrument_id for s in schedules])
    out: list[ScheduleStatus] = []
    for schedule in schedules:
        last_at = last.get(schedule.instrument_id)
        last_day = last_at.astimezone(tz).date() if last_at is not None else None
        next_due, status = compute_status(
            every_days=schedule.every_days,
            start=schedule.start,
            active=schedule.active,
            last_local_date=last_day,
            today=today,
            grace=grace,
        )
        out.append(ScheduleStatus(schedule, today, last_at, last_day, next_due, grace, status))
    rank = {"overdue": 0, "due": 1, "upcoming": 2, "inactive": 3}
    out.sort(key=lambda s: (rank[s.status], s.next_due, s.schedule.instrument_id))
    return out
