"""Reading the audit trail: the filters shared by the /audit/ page and the CLI.

Who may see which events is decided by ``kratomwatch.access.audit_events_for`` (staff and the command-line operator:
every event; program admins: their programs' events).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from kratomwatch.audit.models import AuditEvent
from kratomwatch.core.errors import InputError


def parse_date(field: str, value: str | None) -> dt.date | None:
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(field, value, f"{field} must be a date as YYYY-MM-DD, got {value!r}") from None


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    patient_code: str = ""
    since: dt.date | None = None
    until: dt.date | None = None

    def as_detail(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items() if v not in ("", None)}


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def apply(events: QuerySet[AuditEvent], f: AuditFilter) -> QuerySet[AuditEvent]:
    """Exact actor and patient code, action prefix (``patient.read`` matches every patient read), dates inclusive."""
    if f.actor:
        events = events.filter(actor_label=f.actor)
    if f.action:
        events = events.filter(action__startswith=f.action)
    if f.patient_code:
        events = events.filter(patient_code=f.patient_code)
    if f.since:
        events = events.filter(at__gte=_day_start(f.since))
    if f.until:
        events = events.filter(at__lt=_day_start(f.until + dt.timedelta(days=1)))
    return events


def as_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "program_id": event.program_id,
        "patient_code": event.patient_code,
        "remote_addr": event.remote_addr,
        "detail": event.detail,
        "hash": event.hash,
    }


def created_by(action: str, object_id: object, *, user_id: int) -> bool:
    """Whether the event ``action`` (e.g. ``dose.create``) of ``object_id`` was appended by this user."""
    return AuditEvent.objects.filter(action=action, object_id=str(object_id), actor_id=user_id).exists()


RECORD_CHANGE_SUFFIXES = (".create", ".void", ".correct")
RECORD_CHANGE_TYPES = ("dose", "medication", "lab", "adverse_event")


def record_changes(patient_code: str, *, limit: int = 20) -> list[AuditEvent]:
    """The latest entries created, voided or corrected in one patient's record, newest first (the clinician
    page's "Changes to this record"). The caller has already resolved the patient through access."""
    actions = [f"{t}{s}" for t in RECORD_CHANGE_TYPES for s in RECORD_CHANGE_SUFFIXES]
    return list(AuditEvent.objects.filter(patient_code=patient_code, action__in=actions).order_by("-id")[:limit])
