"""Saved cohorts of a program's research workspace: a name and a definition (the filters of
``research.cohort.CohortDefinition``), never participant rows. Written by ``research/actions.py`` only."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from kratomwatch.accounts.models import Program


class Cohort(models.Model):
    """A named cohort definition of one program (unique name per program)."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="cohorts")
    name = models.CharField(max_length=200)
    definition = models.JSONField(default=dict, blank=True, help_text="The filters (research.cohort)")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["program_id", "name"]
        constraints = [models.UniqueConstraint(fields=["program", "name"], name="research_cohort_unique_name")]

    def __str__(self) -> str:
        return self.name
