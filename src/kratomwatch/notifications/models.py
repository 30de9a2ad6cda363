"""What was sent, to whom, how it went; and the patients' own choice of reminders.

Writes go through ``notifications.actions`` only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from kratomwatch.accounts.models import Program
from kratomwatch.records.models import Patient


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class Status(models.TextChoices):
    PENDING = "pending", "Waiting to be sent (or to be tried again)"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed after every attempt"


class Kind(models.TextChoices):
    URGENT_ALERT = "alert.urgent", "Urgent alert"
    ALERT_DIGEST = "alert.digest", "Daily summary of open alerts"
    QUESTIONNAIRE_REMINDER = "reminder.questionnaire", "Questionnaire reminder"


class Notification(models.Model):
    """One message to one recipient on one channel. ``dedupe_key`` makes each message exist once."""

    kind = models.CharField(max_length=40, choices=Kind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.CharField(max_length=500, help_text="Email address or webhook URL")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    alert_id = models.BigIntegerField(null=True, blank=True, help_text="The urgent alert this message is about")
    subject = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True, help_text="Webhook body")
    dedupe_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notification_due")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=Status.values), name="notification_status_valid"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="notification_channel_valid"),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="notification_sent_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel} #{self.pk} ({self.status})"


class ReminderPreference(models.Model):
    """A patient's own choice: email me when a questionnaire is overdue (off unless the patient turns it on)."""

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="reminder_preference")
    questionnaires = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.patient_id} reminders {'on' if self.questionnaires else 'off'}"
