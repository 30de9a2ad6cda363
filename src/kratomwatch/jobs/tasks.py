"""The background tasks (django-tasks ``@task``): the daily jobs. Each is safe to run twice (idempotent writes).

* ``registry_sweep``: the alert sweep over every patient (``alerts.actions.sweep``), with its progress recorded;
  new urgent alerts it finds are sent to the care team at once (``notifications``);
* ``questionnaire_reminders``: newly overdue questionnaires of patients who opted in get one reminder each;
* ``alert_digest``: one email per clinician per day with the counts of open alerts that are not urgent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from kratomwatch.alerts import actions as alert_actions
from kratomwatch.audit import checkpoints as audit_checkpoints
from kratomwatch.audit.log import Actor
from kratomwatch.jobs import progress
from kratomwatch.notifications import actions as notify

SCHEDULER = Actor.system("scheduler")


@task()
def registry_sweep(local_date: str | None = None) -> dict[str, Any]:
    """Evaluate the alert rules for every patient (each on today in the patient's own zone)."""
    job = progress.start("registry-sweep")
    try:
        result = alert_actions.sweep(
            actor=SCHEDULER, progress=lambda done, total: progress.update(job, done=done, total=total)
        )
    except Exception as exc:
        progress.finish(job, error=f"{type(exc).__name__}: {exc}")
        raise
    progress.finish(job)
    checkpoint = audit_checkpoints.scheduled_checkpoint()  # signed and anchored daily (docs/security.md)
    return {"job_id": job, "local_date": local_date, "audit_checkpoint": checkpoint, **result.as_dict()}


@task()
def questionnaire_reminders(local_date: str | None = None) -> dict[str, Any]:
    """Queue reminders for questionnaires newly overdue (patients who opted in only)."""
    with transaction.atomic():
        overdue, queued = notify.queue_questionnaire_reminders(now=timezone.now())
    return {"local_date": local_date, "overdue": overdue, "reminders_queued": len(queued)}


@task()
def alert_digest(local_date: str | None = None) -> dict[str, Any]:
    """Queue today's summary of open, not urgent alerts for each clinician who has any."""
    day = dt.date.fromisoformat(local_date) if local_date else timezone.now().date()
    with transaction.atomic():
        queued = notify.queue_digests(day=day)
    return {"local_date": day.isoformat(), "digests_queued": len(queued)}
