"""Care plans: goals, modalities and an optional clinician-entered taper schedule.

A taper schedule is the clinician's plan, entered by the clinician. kratomwatch records it and charts
actual exposure against it; it never proposes or computes a kratom dose.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from kratomwatch.records.models import Patient


class Modality(models.TextChoices):
    COUNSELLING = "counselling", "Counselling"
    CBT = "cbt", "Cognitive behavioural therapy"
    SUPPORT_GROUP = "support_group", "Support group"
    PHYSIOTHERAPY = "physiotherapy", "Physiotherapy"
    MOUD = "moud", "Medication for opioid use disorder"
    OTHER = "other", "Other"


class CarePlan(models.Model):
    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="care_plan")
    goals = models.TextField(blank=True)
    modalities = models.JSONField(default=list, blank=True)
    notes = models.TextField(blank=True)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")


class TaperStep(models.Model):
    """From ``start`` (inclusive) the clinician's daily target is ``target_mg`` of mitragynine."""

    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="taper_steps")
    start = models.DateField()
    target_mg = models.FloatField()

    class Meta:
        ordering = ["start"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "start"], name="taper_step_unique_start"),
            models.CheckConstraint(condition=Q(target_mg__gte=0), name="taper_target_non_negative"),
        ]
