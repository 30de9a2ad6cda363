"""The daily schedule, run inside ``kratomwatch worker``: each due job is enqueued exactly once per local date.

On every tick each worker computes, for each daily job, today's date and due instant in the schedule's zone
(``KRATOMWATCH_SWEEP_ZONE``, default UTC; the times ``KRATOMWATCH_SWEEP_AT`` 02:00, ``KRATOMWATCH_DIGEST_AT``
07:00 and ``KRATOMWATCH_REMINDERS_AT`` 09:00 are program choices, not evidence). Once the instant has passed, the
worker inserts a :class:`ScheduledRun` (job, local date) and enqueues the task in the same transaction. The unique
(job, local_date) constraint lets exactly one worker win; the others get an integrity error and skip. So any number
of workers, on one machine or several, run each job once a day.

Daylight saving time: a due time that does not exist that day (clocks jump forward over it) runs at the same
wall-clock time plus the jump (02:30 becomes 03:30); a time that happens twice (clocks go back) runs at its first
occurrence. A worker started after the due time runs that day's job at once; days when no worker ran at all are
not replayed (the next sweep evaluates every patient anyway).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import IntegrityError, transaction

from kratomwatch.core.errors import InputError
from kratomwatch.jobs import tasks
from kratomwatch.jobs.models import ScheduledRun

ZONE_LABEL = "program choice (not evidence): the zone of the daily schedule"
_HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class DailyJob:
    name: str
    task: Any  # a django_tasks Task
    setting: str
    """The settings name (and environment variable) of its local time, HH:MM."""
    description: str

    def at(self) -> dt.time:
        return parse_at(self.setting, str(getattr(settings, self.setting)))


JOBS: dict[str, DailyJob] = {
    job.name: job
    for job in (
        DailyJob(
            "registry-sweep",
            tasks.registry_sweep,
            "KRATOMWATCH_SWEEP_AT",
            "evaluate the alert rules for every patient",
        ),
        DailyJob(
            "alert-digest",
            tasks.alert_digest,
            "KRATOMWATCH_DIGEST_AT",
            "email each clinician the counts of open alerts that are not urgent",
        ),
        DailyJob(
            "questionnaire-reminders",
            tasks.questionnaire_reminders,
            "KRATOMWATCH_REMINDERS_AT",
            "remind patients who opted in of overdue questionnaires",
        ),
    )
}


def parse_at(field: str, text: str) -> dt.time:
    """``HH:MM`` (24-hour clock) or ``InputError`` naming the setting."""
    match = _HH_MM.match(text.strip())
    if match is None:
        raise InputError(field, text, f"{field} {text!r} is not a time of day as HH:MM (24-hour clock)")
    return dt.time(int(match.group(1)), int(match.group(2)))


def zone(name: str | None = None) -> ZoneInfo:
    """The schedule's zone (``KRATOMWATCH_SWEEP_ZONE``), or ``InputError`` for an unknown name."""
    name = name if name is not None else settings.KRATOMWATCH_SWEEP_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError("KRATOMWATCH_SWEEP_ZONE", name, f"{name!r} is not an IANA time zone") from None


def due_at(at: dt.time, day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """The instant (UTC) of local time ``at`` on ``day`` in ``tz``, with the DST rule of the module docstring."""
    local = dt.datetime.combine(day, at, tzinfo=tz)  # fold=0: first occurrence; in a gap, the offset before it
    return local.astimezone(dt.UTC)


def next_due(job: DailyJob, now: dt.datetime, tz: ZoneInfo | None = None) -> dt.datetime:
    """When ``job`` runs next: today's due instant unless today's run is taken, else tomorrow's."""
    tz = tz or zone()
    today = now.astimezone(tz).date()
    if ScheduledRun.objects.filter(job=job.name, local_date=today).exists():
        return due_at(job.at(), today + dt.timedelta(days=1), tz)
    return due_at(job.at(), today, tz)


def tick(now: dt.datetime, *, worker_id: str = "", jobs: dict[str, DailyJob] | None = None) -> list[ScheduledRun]:
    """Enqueue every job due at ``now`` that no worker has taken for today yet; returns the runs this worker took."""
    tz = zone()
    today = now.astimezone(tz).date()
    taken: list[ScheduledRun] = []
    for job in (jobs or JOBS).values():
        when = due_at(job.at(), today, tz)
        if now < when or ScheduledRun.objects.filter(job=job.name, local_date=today).exists():
            continue
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(
                    job=job.name, local_date=today, zone=tz.key, due_at=when, enqueued_at=now, worker_id=worker_id
                )
                # The database backend writes the task row in this same transaction: claim and task commit together.
                result = job.task.enqueue(local_date=today.isoformat())
                run.task_id = str(result.id)
                run.save(update_fields=["task_id"])
        except IntegrityError:
            continue  # another worker took it first
        taken.append(run)
    return taken


def last_runs(limit: int = 10) -> list[ScheduledRun]:
    return list(ScheduledRun.objects.order_by("-enqueued_at")[:limit])


def run_now(name: str, on_progress: Callable[[str], None] | None = None) -> Any:
    """Run a daily job at once in this process (``kratomwatch jobs run NAME``); the schedule is not touched."""
    job = JOBS.get(name)
    if job is None:
        raise InputError("job", name, f"no job named {name!r}; jobs: {', '.join(JOBS)}")
    if on_progress is not None:
        on_progress(job.description)
    return job.task.call()
