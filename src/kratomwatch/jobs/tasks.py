"""The background tasks (django-tasks ``@task``): the daily jobs. Each is safe to run twice (idempotent writes).

* ``registry_sweep``: the alert sweep over every patient (``alerts.actions.sweep``), with its progress recorded;
  new urgent alerts it finds are sent to the care team at once (``notifications``); consent overrides past their
  expiry get their end recorded and audited (``consent.actions.close_lapsed_overrides``); n-of-1 trials past
  their last period are marked completed (``nof1.actions.complete_ended_trials``);
* ``questionnaire_reminders``: newly overdue questionnaires of patients who opted in get one reminder each;
* ``alert_digest``: one email per clinician per day with the counts of open alerts that are not urgent;
* ``export_doses`` / ``import_doses``: the long jobs a program admin starts from the web (``jobs.long_jobs``);
* ``research_export``: the de-identified research export a researcher starts from the web or the API;
* ``research_snapshot``: a new analysis snapshot of a program for its cohort analytics (web or API).
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
from kratomwatch.consent import actions as consent_actions
from kratomwatch.jobs import long_jobs, progress
from kratomwatch.nof1 import actions as nof1_actions
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
    overrides_closed = consent_actions.close_lapsed_overrides(actor=SCHEDULER)
    checkpoint = audit_checkpoints.scheduled_checkpoint()  # signed and anchored daily (docs/security.md)
    removed = long_jobs.remove_old_files()  # export and import files older than KRATOMWATCH_JOB_FILES_DAYS
    trials_completed = nof1_actions.complete_ended_trials(actor=SCHEDULER)  # n-of-1 trials past their last period
    return {
        "job_id": job,
        "local_date": local_date,
        "audit_checkpoint": checkpoint,
        "job_folders_removed": removed,
        "consent_overrides_closed": overrides_closed,
        "nof1_trials_completed": trials_completed,
        **result.as_dict(),
    }


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


@task()
def export_doses(job_id: str, user_id: int, program_id: int) -> dict[str, Any]:
    """A program's dose CSV, written under KRATOMWATCH_HOME/jobs/ for the person who asked for it."""
    return long_jobs.run_dose_export(job_id, user_id, program_id)


@task()
def import_doses(job_id: str, user_id: int, program_id: int) -> dict[str, Any]:
    """An uploaded dose CSV imported into a program (the same importer as ``kratomwatch import doses``)."""
    return long_jobs.run_dose_import(job_id, user_id, program_id)


@task()
def research_export(job_id: str, user_id: int, program_id: int) -> dict[str, Any]:
    """A program's de-identified research export as one ZIP (the same export as ``kratomwatch research export``)."""
    return long_jobs.run_research_export(job_id, user_id, program_id)


@task()
def research_snapshot(job_id: str, user_id: int, program_id: int) -> dict[str, Any]:
    """A new analysis snapshot of a program (``research.snapshot``; the same as ``kratomwatch research snapshot``)."""
    return long_jobs.run_research_snapshot(job_id, user_id, program_id)
