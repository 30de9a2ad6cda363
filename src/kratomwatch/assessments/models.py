"""Stored assessments and assessment schedules.

An ``Assessment`` keeps the raw answers exactly as given (item order, ``null`` for a blank) next to what
the pure core computed from them (every scale at full precision, the band, the flags, validity), and the
version of the definition that scored them. Writes go through ``assessments.actions`` only.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from kratomwatch.records.models import Patient


class AssessmentSource(models.TextChoices):
    SELF_REPORT = "self_report", "Self-report"
    CLINICIAN = "clinician", "Clinician"
    IMPORT = "import", "Import"


class Assessment(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="assessments")
    instrument_id = models.CharField(max_length=32)
    instrument_version = models.CharField(max_length=16, help_text="Version of the definition that scored it")
    answers = models.JSONField(help_text="One answer per item in item order; null for a blank")
    supervised = models.BooleanField(default=False)
    missing_policy = models.CharField(max_length=16)
    scores = models.JSONField(help_text="Every scale id -> value at full precision (null when invalid)")
    total = models.FloatField(null=True, blank=True, help_text="Value of the primary scale")
    band_id = models.CharField(max_length=32, blank=True)
    band_label = models.CharField(max_length=64, blank=True)
    flags = models.JSONField(default=list, blank=True, help_text="Flag ids raised by the core")
    reasons = models.JSONField(default=list, blank=True, help_text="Why a scale is invalid")
    valid = models.BooleanField(help_text="Every scale of the instrument could be computed")
    administered_at = models.DateTimeField()
    source = models.CharField(max_length=12, choices=AssessmentSource.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-administered_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "instrument_id", "administered_at"], name="assessment_patient_instr_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "instrument_id", "administered_at"], name="assessment_unique_time"
            ),
            models.CheckConstraint(condition=~Q(instrument_id=""), name="assessment_instrument_not_empty"),
            models.CheckConstraint(condition=Q(source__in=AssessmentSource.values), name="assessment_source_valid"),
            # A fully valid assessment always has a primary score; a band needs a score.
            models.CheckConstraint(condition=Q(valid=False) | Q(total__isnull=False), name="assessment_valid_total"),
            models.CheckConstraint(
                condition=Q(band_id="") | Q(total__isnull=False), name="assessment_band_needs_total"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.instrument_id} {self.administered_at:%Y-%m-%d}"


class Schedule(models.Model):
    """A patient should complete ``instrument_id`` every ``every_days`` days from ``start``."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="assessment_schedules")
    instrument_id = models.CharField(max_length=32)
    every_days = models.PositiveIntegerField()
    start = models.DateField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["instrument_id"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "instrument_id"], name="schedule_unique"),
            models.CheckConstraint(condition=Q(every_days__gt=0), name="schedule_every_days_positive"),
            models.CheckConstraint(condition=~Q(instrument_id=""), name="schedule_instrument_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.instrument_id} every {self.every_days} d"
