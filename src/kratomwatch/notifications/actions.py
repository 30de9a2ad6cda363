"""The only write path for notifications: queue a message (once), claim it, record how the attempt went, retry.

* :func:`queue` records one :class:`Notification` per message (``dedupe_key`` unique: a message is never queued
  twice, even by two workers at once) and hands it to the task queue when the transaction commits.
* :func:`claim` and :func:`record_attempt` bracket one attempt (``notifications.tasks.deliver``): the claim is a
  conditional UPDATE, so two workers never send the same message; the sending itself runs outside any transaction.
* A failed attempt is tried again after ``KRATOMWATCH_NOTIFY_BACKOFF_SECONDS`` x 2^(attempt - 1) (at most an hour),
  up to ``max_attempts``; then the message is ``failed`` and listed by ``kratomwatch notifications list --failed``.
* :func:`requeue_stale` (every worker tick) hands back to the queue a message whose task was lost (a crash
  between commit and enqueue, or during a send). Sent and failed messages are audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from kratomwatch import access
from kratomwatch.accounts.models import Membership, Program
from kratomwatch.alerts.models import Alert, AlertSeverity, AlertStatus
from kratomwatch.assessments.schedules import statuses_for
from kratomwatch.audit.log import Actor, record
from kratomwatch.core.errors import InputError
from kratomwatch.notifications import messages, tasks
from kratomwatch.notifications.models import Channel, Kind, Notification, ReminderPreference, Status
from kratomwatch.records.models import Patient

MAX_BACKOFF_SECONDS = 3600.0
STALE_SENDING = dt.timedelta(minutes=10)
"""A message still ``sending`` this long after its claim is taken as lost (the worker died) and tried again."""
STALE_PENDING = dt.timedelta(minutes=2)
"""A message due this long ago and still waiting is handed to the queue again (its task was lost)."""
SYSTEM = Actor.system("notifications")


def backoff(attempts: int) -> dt.timedelta:
    """The wait before the next attempt after ``attempts`` failed ones: base x 2^(attempts - 1), at most an hour."""
    seconds = settings.KRATOMWATCH_NOTIFY_BACKOFF_SECONDS * 2 ** max(0, attempts - 1)
    return dt.timedelta(seconds=min(seconds, MAX_BACKOFF_SECONDS))


def _enqueue_on_commit(pk: int, when: dt.datetime | None = None) -> None:
    def go() -> None:
        task = tasks.deliver if when is None else tasks.deliver.using(run_after=when)
        task.enqueue(pk)

    transaction.on_commit(go)


def queue(
    *,
    kind: str,
    channel: str,
    recipient: str,
    subject: str,
    dedupe_key: str,
    body: str = "",
    payload: dict[str, Any] | None = None,
    user: Any = None,
    program: Program | None = None,
    alert_id: int | None = None,
    status: str = Status.PENDING,
    last_error: str = "",
) -> Notification | None:
    """Record one message (or nothing if ``dedupe_key`` exists) and queue its delivery on commit."""
    try:
        with transaction.atomic():
            note, created = Notification.objects.get_or_create(
                dedupe_key=dedupe_key,
                defaults={
                    "kind": kind,
                    "channel": channel,
                    "recipient": recipient,
                    "subject": subject,
                    "body": body,
                    "payload": payload or {},
                    "user": user,
                    "program": program,
                    "alert_id": alert_id,
                    "status": status,
                    "last_error": last_error,
                    "max_attempts": settings.KRATOMWATCH_NOTIFY_MAX_ATTEMPTS,
                    "next_attempt_at": timezone.now(),
                },
            )
    except IntegrityError:  # queued at the same moment by another worker: theirs is the one
        return None
    if not created:
        return None
    if note.status == Status.PENDING:
        _enqueue_on_commit(note.pk)
    return note


# --- who hears about what --------------------------------------------------------------------------------


def care_team(program_id: int) -> list[Any]:
    """Active care-team members (clinicians, program admins) of a program with an email address."""
    user_ids = Membership.objects.filter(program_id=program_id, role__in=access.CARE_ROLES).values("user_id")
    users = get_user_model().objects.filter(pk__in=user_ids, is_active=True).exclude(email="").order_by("pk")
    return list(users)


def queue_urgent(alert_ids: Iterable[int]) -> list[Notification]:
    """One email per alert to each responsible clinician, and one webhook call per alert if configured.

    A program whose care team has no email address gets a ``failed`` record saying so (never silence):
    ``kratomwatch notifications list --failed`` shows it, and ``notifications retry`` addresses it again.
    """
    out: list[Notification] = []
    teams: dict[int, list[Any]] = {}
    webhook = settings.KRATOMWATCH_ALERT_WEBHOOK_URL
    for alert in Alert.objects.filter(pk__in=list(alert_ids)).select_related("patient__program").order_by("pk"):
        program = alert.patient.program
        # Never the patient's own login, even one with a care role (D13: nobody is the care team of their own record).
        team = [u for u in teams.setdefault(program.pk, care_team(program.pk)) if u.pk != alert.patient.user_id]
        subject = messages.urgent_subject(program.name)
        body = messages.urgent_body(alert.pk, program.name)
        common: dict[str, Any] = {
            "kind": Kind.URGENT_ALERT,
            "program": program,
            "alert_id": alert.pk,
            "subject": subject,
        }
        for user in team:
            note = queue(
                **common,
                channel=Channel.EMAIL,
                recipient=user.email,
                user=user,
                body=body,
                dedupe_key=f"alert.urgent:{alert.pk}:email:{user.pk}",
            )
            out += [note] if note else []
        if not team:
            note = queue(
                **common,
                channel=Channel.EMAIL,
                recipient="",
                body=body,
                dedupe_key=f"alert.urgent:{alert.pk}:email:nobody",
                status=Status.FAILED,
                last_error=f"no care-team member of {program.name} has an email address",
            )
            out += [note] if note else []
        if webhook:
            note = queue(
                **common,
                channel=Channel.WEBHOOK,
                recipient=webhook,
                payload=messages.urgent_payload(alert.pk, program.name),
                dedupe_key=f"alert.urgent:{alert.pk}:webhook",
            )
            out += [note] if note else []
    return out


def on_urgent_alerts(sender: Any, alert_ids: Sequence[int], **_: Any) -> None:
    """Receiver of ``alerts.actions.urgent_alerts_raised`` (in the evaluation's transaction)."""
    queue_urgent(alert_ids)


def queue_digests(*, day: dt.date) -> list[Notification]:
    """One email per care-team member per day: counts of open alerts that are not urgent, by severity, and a link.

    Nothing is sent to someone with no such alert. ``day`` is the schedule's local date (the message's key).
    """
    out: list[Notification] = []
    members = Membership.objects.filter(role__in=access.CARE_ROLES).values("user_id")
    users = get_user_model().objects.filter(pk__in=members, is_active=True).exclude(email="").order_by("pk")
    for user in users:
        rows = (
            access.alerts_for(user)
            .filter(status=AlertStatus.OPEN)
            .exclude(severity=AlertSeverity.URGENT)
            .order_by()
            .values("severity")
            .annotate(n=Count("id"))
            .values_list("severity", "n")
        )
        counts = dict(rows)
        if not any(counts.values()):
            continue
        note = queue(
            kind=Kind.ALERT_DIGEST,
            channel=Channel.EMAIL,
            recipient=user.email,
            user=user,
            subject=messages.digest_subject(day),
            body=messages.digest_body(counts, day),
            dedupe_key=f"alert.digest:{user.pk}:{day.isoformat()}",
        )
        out += [note] if note else []
    return out


def queue_questionnaire_reminders(*, now: dt.datetime) -> tuple[int, list[Notification]]:
    """Find questionnaires newly overdue for patients who opted in, and queue one reminder per schedule and due date.

    Returns (overdue schedules found, reminders queued now). A reminder already sent for a due date is not sent
    again; the next due date (after the patient fills it in, or never) gets its own.
    """
    overdue = 0
    out: list[Notification] = []
    prefs = ReminderPreference.objects.filter(questionnaires=True).select_related("patient__user", "patient__program")
    for pref in prefs.order_by("patient_id"):
        patient = pref.patient
        email = getattr(patient.user, "email", "") if patient.user_id else ""
        for status in statuses_for(patient, now=now, include_inactive=False):
            if status.status != "overdue":
                continue
            overdue += 1
            if not email:
                continue
            note = queue(
                kind=Kind.QUESTIONNAIRE_REMINDER,
                channel=Channel.EMAIL,
                recipient=email,
                user=patient.user,
                program=patient.program,
                subject=messages.REMINDER_SUBJECT,
                body=messages.reminder_body(),
                dedupe_key=f"reminder.questionnaire:{status.schedule.pk}:{status.next_due.isoformat()}",
            )
            out += [note] if note else []
    return overdue, out


# --- one attempt -----------------------------------------------------------------------------------------------


def claim(pk: int, *, now: dt.datetime | None = None) -> Notification | None:
    """Take a waiting message for one attempt; None if it is not waiting (sent, failed, or another worker has it)."""
    now = now or timezone.now()
    with transaction.atomic():
        taken = Notification.objects.filter(pk=pk, status=Status.PENDING).update(status=Status.SENDING, claimed_at=now)
    return Notification.objects.get(pk=pk) if taken else None


def record_attempt(note: Notification, *, error: str | None, now: dt.datetime | None = None) -> Notification:
    """Record one attempt: sent; or failed and queued again after the backoff; or failed for good."""
    now = now or timezone.now()
    with transaction.atomic():
        note.attempts += 1
        note.claimed_at = None
        if error is None:
            note.status, note.sent_at, note.last_error, note.next_attempt_at = Status.SENT, now, "", None
        elif note.attempts >= note.max_attempts:
            note.status, note.last_error, note.next_attempt_at = Status.FAILED, error[:2000], None
        else:
            note.status, note.last_error = Status.PENDING, error[:2000]
            note.next_attempt_at = now + backoff(note.attempts)
            _enqueue_on_commit(note.pk, note.next_attempt_at)
        note.save(update_fields=["attempts", "claimed_at", "status", "sent_at", "last_error", "next_attempt_at"])
        if note.status in (Status.SENT, Status.FAILED):
            record(
                SYSTEM,
                f"notification.{note.status}",
                object_type="notification",
                object_id=note.pk,
                program_id=note.program_id,
                detail={
                    "kind": note.kind,
                    "channel": note.channel,
                    "attempts": note.attempts,
                    "alert_id": note.alert_id,
                },
            )
    return note


def requeue_stale(*, now: dt.datetime | None = None) -> int:
    """Hand back to the queue the messages whose delivery task was lost; returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        Notification.objects.filter(status=Status.SENDING, claimed_at__lt=now - STALE_SENDING).update(
            status=Status.PENDING, claimed_at=None, next_attempt_at=now - STALE_PENDING
        )
        stale = list(
            Notification.objects.filter(status=Status.PENDING, next_attempt_at__lte=now - STALE_PENDING).values_list(
                "pk", flat=True
            )
        )
        Notification.objects.filter(pk__in=stale).update(next_attempt_at=now)
        for pk in stale:
            _enqueue_on_commit(pk)
    return len(stale)


def retry_failed(*, actor: Actor, ids: Sequence[int] | None = None) -> int:
    """Give failed messages a fresh set of attempts (after fixing the mail server, say); audited.

    An urgent alert that reached nobody (no address) is addressed again to the care team as it is now.
    """
    with transaction.atomic():
        failed = Notification.objects.select_for_update().filter(status=Status.FAILED)
        if ids:
            failed = failed.filter(pk__in=list(ids))
        count = 0
        readdress: list[int] = []
        for note in failed.order_by("pk"):
            if note.kind == Kind.URGENT_ALERT and not note.recipient and note.alert_id:
                if care_team(note.program_id or 0):
                    readdress.append(note.alert_id)
                    note.delete()
                    count += 1
                continue
            note.status, note.attempts, note.next_attempt_at = Status.PENDING, 0, timezone.now()
            note.save(update_fields=["status", "attempts", "next_attempt_at"])
            _enqueue_on_commit(note.pk)
            count += 1
        queue_urgent(readdress)
        record(
            actor,
            "notification.retry",
            object_type="notification",
            detail={"count": count, "readdressed_alert_ids": readdress},
        )
    return count


# --- the patient's choice --------------------------------------------------------------------------------------


def set_questionnaire_reminders(*, actor: Actor, patient: Patient, enabled: bool) -> ReminderPreference:
    """Turn the patient's questionnaire reminders on or off (audited). Not an alert input: no rule reads it."""
    if not isinstance(enabled, bool):
        raise InputError("reminders", enabled, "choose on or off")
    with transaction.atomic():
        pref, _ = ReminderPreference.objects.get_or_create(patient=patient)
        pref.questionnaires = enabled
        pref.save(update_fields=["questionnaires", "updated_at"])
        record(
            actor,
            "notification.reminders",
            object_type="patient",
            object_id=patient.pk,
            program_id=patient.program_id,
            patient_code=patient.code,
            detail={"questionnaires": enabled},
        )
    return pref


def set_contact_email(*, actor: Actor, user: Any, email: str) -> Any:
    """Set the address a staff member's (or a patient's) notifications go to (audited; empty removes it)."""
    email = email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise InputError("email", email, f"{email!r} is not an email address") from None
    with transaction.atomic():
        user.email = email
        user.save(update_fields=["email"])
        record(actor, "notification.contact", object_type="user", object_id=user.pk, detail={"has_email": bool(email)})
    return user
