"""Urgent alerts reach the care team at once, with the minimum necessary; every message is recorded and retried."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from typer.testing import CliRunner

from kratomwatch.alerts.models import Alert
from kratomwatch.audit.models import AuditEvent
from kratomwatch.cli import app
from kratomwatch.notifications import actions, tasks
from kratomwatch.notifications.models import Channel, Notification, Status
from kratomwatch.records import actions as records

pytestmark = pytest.mark.django_db


def serious_event(world: Any, system: Any, term: str = "seizure") -> Alert:
    today = dt.datetime.now(ZoneInfo("America/Chicago")).date()
    ae = records.record_adverse_event(
        actor=system,
        patient=world.patient,
        term=term,
        onset=today - dt.timedelta(days=1),
        grade=3,
        seriousness=["hospitalization"],
    )
    return Alert.objects.get(subject_key=f"ae:{ae.pk}", severity="urgent")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_new_urgent_alert_is_queued_for_each_clinician_of_the_program_with_an_address(
    addressed: Any, system: Any
) -> None:
    alert = serious_event(addressed, system)
    notes = Notification.objects.filter(alert_id=alert.pk)
    assert {(n.recipient, n.channel, n.status) for n in notes} == {
        ("alice@clinic.example", "email", "pending"),
        ("pa@clinic.example", "email", "pending"),
    }  # bob is in the other program; carol is the patient
    # The same alert seen again by a later evaluation is not sent again.
    actions.queue_urgent([alert.pk])
    assert Notification.objects.filter(alert_id=alert.pk).count() == 2


def test_the_email_names_the_program_and_the_alert_id_and_no_patient_code_or_clinical_text(
    addressed: Any, system: Any, mailoutbox: list[Any]
) -> None:
    alert = serious_event(addressed, system, term="seizure after a large dose")
    note = Notification.objects.get(alert_id=alert.pk, recipient="alice@clinic.example")
    assert tasks.attempt(note.pk) == "sent"
    [message] = mail.outbox
    assert message.to == ["alice@clinic.example"]
    assert message.subject == "kratomwatch: urgent alert for a patient in Pain clinic"
    assert f"Alert id: {alert.pk}" in message.body
    assert "http://127.0.0.1:8000/clinic/alerts/?severity=urgent" in message.body
    text = message.subject + message.body
    for secret in ("P-001", "seizure", "hospital", alert.title, alert.reason, "grade", "mg"):
        assert secret.lower() not in text.lower(), secret
    note.refresh_from_db()
    assert note.status == "sent" and note.attempts == 1 and note.sent_at is not None
    event = AuditEvent.objects.filter(action="notification.sent", object_id=str(note.pk)).get()
    assert event.detail["alert_id"] == alert.pk and event.detail["channel"] == "email"


def test_a_program_without_any_address_gets_a_failed_record_not_silence(world: Any, system: Any) -> None:
    alert = serious_event(world, system)
    [note] = Notification.objects.filter(alert_id=alert.pk)
    assert note.status == "failed" and note.recipient == ""
    assert "no care-team member of Pain clinic has an email address" in note.last_error
    # Once someone has an address, retry addresses the alert to them.
    actions.set_contact_email(actor=system, user=world.alice, email="alice@clinic.example")
    assert actions.retry_failed(actor=system) == 1
    assert list(Notification.objects.filter(alert_id=alert.pk).values_list("recipient", "status")) == [
        ("alice@clinic.example", "pending")
    ]


def test_a_failed_send_is_retried_with_backoff_then_succeeds(
    addressed: Any, system: Any, settings: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", closed_port(), False
    settings.EMAIL_TIMEOUT = 2
    settings.KRATOMWATCH_NOTIFY_BACKOFF_SECONDS = 30
    alert = serious_event(addressed, system)
    note = Notification.objects.get(alert_id=alert.pk, recipient="alice@clinic.example")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert tasks.attempt(note.pk) == "pending"
    note.refresh_from_db()
    assert note.attempts == 1 and note.status == "pending" and "ConnectionRefused" in note.last_error
    assert dt.timedelta(seconds=25) < note.next_attempt_at - note.created_at < dt.timedelta(seconds=60)
    assert len(callbacks) == 1  # the next attempt is queued, to run after the backoff
    from django_tasks_db.models import DBTaskResult

    retry = DBTaskResult.objects.filter(task_path="kratomwatch.notifications.tasks.deliver").latest("enqueued_at")
    assert retry.args_kwargs["args"] == [note.pk] and retry.run_after is not None
    assert abs((retry.run_after - note.next_attempt_at).total_seconds()) < 1
    # The mail server is back.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert tasks.attempt(note.pk) == "sent"
    note.refresh_from_db()
    assert note.attempts == 2 and note.last_error == "" and len(mail.outbox) == 1
    # A message already sent is never sent again, whoever asks.
    assert tasks.attempt(note.pk) == "skipped" and len(mail.outbox) == 1


def test_after_every_attempt_failed_the_message_is_failed_listed_and_can_be_retried(
    addressed: Any, system: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", closed_port(), False
    settings.EMAIL_TIMEOUT = 2
    settings.KRATOMWATCH_NOTIFY_MAX_ATTEMPTS = 3
    alert = serious_event(addressed, system)
    note = Notification.objects.get(alert_id=alert.pk, recipient="alice@clinic.example")
    assert [tasks.attempt(note.pk) for _ in range(3)] == ["pending", "pending", "failed"]
    note.refresh_from_db()
    assert note.status == "failed" and note.attempts == 3 and note.last_error
    assert AuditEvent.objects.filter(action="notification.failed", object_id=str(note.pk)).count() == 1
    assert tasks.attempt(note.pk) == "skipped"

    result = CliRunner().invoke(app, ["notifications", "list", "--failed"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "alice@clinic.example" in result.output and "failed" in result.output
    assert "pa@clinic.example" not in result.output  # still pending: not failed

    result = CliRunner().invoke(app, ["notifications", "retry", str(note.pk)])
    assert result.exit_code == 0 and "queued again: 1" in result.output
    note.refresh_from_db()
    assert note.status == "pending" and note.attempts == 0


def test_the_webhook_gets_signed_json_with_no_patient_detail(
    addressed: Any, system: Any, settings: Any, receiver: Any
) -> None:
    settings.KRATOMWATCH_ALERT_WEBHOOK_URL = receiver.url
    settings.KRATOMWATCH_ALERT_WEBHOOK_SECRET = "s3cret-shared-with-the-pager"
    alert = serious_event(addressed, system)
    hook = Notification.objects.get(alert_id=alert.pk, channel=Channel.WEBHOOK)
    assert tasks.attempt(hook.pk) == "sent"
    [request] = receiver.requests
    body = request["body"]
    assert json.loads(body) == {
        "event": "alert.urgent",
        "alert_id": alert.pk,
        "program": "Pain clinic",
        "url": "http://127.0.0.1:8000/clinic/alerts/",
    }
    expected = "sha256=" + hmac.new(b"s3cret-shared-with-the-pager", body, hashlib.sha256).hexdigest()
    assert request["headers"]["X-Kratomwatch-Signature"] == expected
    assert request["headers"]["Content-Type"] == "application/json"
    assert b"P-001" not in body and b"seizure" not in body
    # A wrong secret does not verify.
    wrong = "sha256=" + hmac.new(b"guess", body, hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(wrong, request["headers"]["X-Kratomwatch-Signature"])


def test_a_webhook_that_answers_an_error_is_retried(addressed: Any, system: Any, settings: Any, receiver: Any) -> None:
    settings.KRATOMWATCH_ALERT_WEBHOOK_URL = receiver.url
    settings.KRATOMWATCH_ALERT_WEBHOOK_SECRET = "s"
    receiver.status = 503
    alert = serious_event(addressed, system)
    hook = Notification.objects.get(alert_id=alert.pk, channel=Channel.WEBHOOK)
    assert tasks.attempt(hook.pk) == "pending"
    hook.refresh_from_db()
    assert hook.last_error == "webhook answered HTTP 503" and hook.attempts == 1
    receiver.status = 204
    assert tasks.attempt(hook.pk) == "sent"
    assert len(receiver.requests) == 2


def test_an_unsigned_webhook_is_not_called(addressed: Any, system: Any, settings: Any, receiver: Any) -> None:
    settings.KRATOMWATCH_ALERT_WEBHOOK_URL = receiver.url
    settings.KRATOMWATCH_ALERT_WEBHOOK_SECRET = ""
    alert = serious_event(addressed, system)
    hook = Notification.objects.get(alert_id=alert.pk, channel=Channel.WEBHOOK)
    assert tasks.attempt(hook.pk) == "pending"
    hook.refresh_from_db()
    assert "KRATOMWATCH_ALERT_WEBHOOK_SECRET" in hook.last_error and receiver.requests == []


def test_a_lost_task_is_queued_again_and_a_claimed_message_is_not_sent_twice(
    addressed: Any, system: Any, mailoutbox: list[Any]
) -> None:
    alert = serious_event(addressed, system)
    note = Notification.objects.get(alert_id=alert.pk, recipient="alice@clinic.example")
    later = note.created_at + dt.timedelta(minutes=5)
    assert actions.requeue_stale(now=later) == 2  # both care-team messages, their tasks never ran
    assert actions.requeue_stale(now=later) == 0
    claimed = actions.claim(note.pk)
    assert claimed is not None and actions.claim(note.pk) is None  # a second worker gets nothing
    # A worker that died while sending: after the stale delay the message goes back to the queue.
    assert actions.requeue_stale(now=later + dt.timedelta(minutes=11)) >= 1
    note.refresh_from_db()
    assert note.status == Status.PENDING


def test_an_open_alert_raised_to_urgent_is_announced_once(addressed: Any, system: Any) -> None:
    from kratomwatch.alerts.actions import evaluate_patients

    alert = serious_event(addressed, system)
    # As if an earlier evaluation had graded it high and nobody had been told yet.
    Alert.objects.filter(pk=alert.pk).update(severity="high", severity_rank=3)
    Notification.objects.filter(alert_id=alert.pk).delete()
    evaluate_patients([addressed.patient.pk])
    alert.refresh_from_db()
    assert alert.severity == "urgent"
    assert sorted(Notification.objects.filter(alert_id=alert.pk).values_list("recipient", flat=True)) == [
        "alice@clinic.example",
        "pa@clinic.example",
    ]
    evaluate_patients([addressed.patient.pk])  # still urgent: nothing more
    assert Notification.objects.filter(alert_id=alert.pk).count() == 2
