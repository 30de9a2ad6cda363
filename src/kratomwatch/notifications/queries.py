"""Selectors of notifications (for the command line and pages) and of a patient's reminder choice."""

from __future__ import annotations

from django.db.models import QuerySet

from kratomwatch.notifications.models import Notification, ReminderPreference, Status
from kratomwatch.records.models import Patient


def notifications(*, failed: bool = False, limit: int = 50) -> QuerySet[Notification]:
    """The latest notifications, newest first; ``failed``: only those that failed after every attempt."""
    qs = Notification.objects.select_related("program").order_by("-created_at", "-id")
    if failed:
        qs = qs.filter(status=Status.FAILED)
    return qs[:limit]


def reminders_on(patient: Patient) -> bool:
    """Whether the patient asked for questionnaire reminders (off until they turn it on)."""
    return ReminderPreference.objects.filter(patient=patient, questionnaires=True).exists()


def user_named(username: str) -> object | None:
    """The login called ``username`` (for ``kratomwatch notifications contact``), or None."""
    from django.contrib.auth import get_user_model  # noqa: PLC0415  (the user model is known once apps are ready)

    return get_user_model().objects.filter(username=username).first()
