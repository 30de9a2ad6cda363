"""Stored alerts. Writes go through ``alerts.actions`` only; program thresholds live in ``accounts.ProgramSettings``.

An ``Alert`` is a :class:`kratomwatch.core.rules.Finding` kept in the record: at most one alert that is not
resolved per (patient, rule, subject) - a partial unique index, identical on SQLite and PostgreSQL. An alert
whose condition no longer holds stays open (``condition_cleared_at`` is set) until a clinician resolves it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from kratomwatch.records.models import Patient


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class AlertSeverity(models.TextChoices):
    URGENT = "urgent", "Urgent"
    HIGH = "high", "High"
    MODERATE = "moderate", "Moderate"
    INFO = "info", "Info"


class Alert(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="alerts")
    rule_id = models.CharField(max_length=40)
    subject_key = models.CharField(max_length=255)
    severity = models.CharField(max_length=10, choices=AlertSeverity.choices)
    severity_rank = models.PositiveSmallIntegerField(help_text="4 urgent .. 1 info, for ordering the queue")
    title = models.CharField(max_length=255)
    reason = models.TextField()
    sources = models.JSONField(default=list, blank=True)
    evidence_as_of = models.DateField(null=True, blank=True)
    program_settings = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    evaluated_as_of = models.DateField(help_text="as_of date of the last evaluation that saw the condition")
    condition_cleared_at = models.DateTimeField(
        null=True, blank=True, help_text="When an evaluation no longer found the condition (the alert stays open)"
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-severity_rank", "-last_seen_at", "id"]
        indexes = [
            models.Index(fields=["status", "severity_rank", "last_seen_at"], name="alert_queue"),
            models.Index(fields=["patient", "status"], name="alert_patient_status"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "rule_id", "subject_key"],
                condition=~Q(status="resolved"),
                name="alert_one_unresolved_per_subject",
            ),
            models.CheckConstraint(condition=Q(status__in=AlertStatus.values), name="alert_status_valid"),
            models.CheckConstraint(condition=Q(severity__in=AlertSeverity.values), name="alert_severity_valid"),
            models.CheckConstraint(
                condition=~Q(status="resolved") | (Q(resolved_at__isnull=False) & ~Q(resolution_note="")),
                name="alert_resolved_has_note",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.rule_id} {self.subject_key} ({self.status})"
