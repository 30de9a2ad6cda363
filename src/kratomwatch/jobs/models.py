"""Rows of the schedule (one per daily job and local date) and of long jobs' progress.

Written by ``jobs.scheduler`` and ``jobs.progress`` only.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class ScheduledRun(models.Model):
    """A daily job taken for one local date. The unique (job, local_date) is what stops two workers double-running."""

    job = models.CharField(max_length=60)
    local_date = models.DateField()
    zone = models.CharField(max_length=64)
    due_at = models.DateTimeField()
    enqueued_at = models.DateTimeField()
    worker_id = models.CharField(max_length=64, blank=True)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-local_date", "job"]
        constraints = [models.UniqueConstraint(fields=["job", "local_date"], name="scheduled_run_once_per_day")]

    def __str__(self) -> str:
        return f"{self.job} {self.local_date}"


class ProgressStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class JobProgress(models.Model):
    """A long job (sweep, export, import): how far it is, and where its result is when done."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=60)
    status = models.CharField(max_length=10, choices=ProgressStatus.choices, default=ProgressStatus.RUNNING)
    done = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(null=True, blank=True, help_text="Unknown until the job has counted")
    result_path = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ProgressStatus.values), name="job_progress_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.status} {self.done}/{self.total}"
