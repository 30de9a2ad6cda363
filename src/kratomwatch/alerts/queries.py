"""One read module for alert lists, shared by the web queue, the API and the CLI (like ``audit/queries.py``).

Scoping (which alerts a user may see) is decided by ``kratomwatch.access.alerts_for``; this module filters and
orders a scoped queryset. The queue order is the one clinicians triage by: most severe first, then the most
recently seen, then the oldest id.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from kratomwatch.alerts.models import Alert, AlertStatus
from kratomwatch.core.errors import InputError
from kratomwatch.core.rules import SEVERITY_RANK

STATUS_FILTERS: tuple[str, ...] = ("active", *AlertStatus.values, "all")
"""``active`` = open or acknowledged (everything not yet resolved); ``all`` = every status."""
SEVERITIES: tuple[str, ...] = tuple(SEVERITY_RANK)
QUEUE_ORDER = ("-severity_rank", "-last_seen_at", "id")
SORTS: dict[str, tuple[str, ...]] = {
    "severity": QUEUE_ORDER,
    "newest": ("-last_seen_at", "-id"),
    "oldest": ("first_seen_at", "id"),
    "patient": ("patient__code", *QUEUE_ORDER),
}
"""Queue orders by name: most severe first (the default), most recently seen, longest waiting, by patient code."""


@dataclass(frozen=True)
class AlertFilter:
    """What to show; every field optional. Values are checked by :meth:`checked` (InputError names the field)."""

    status: str = "active"
    severity: str | None = None
    rule: str | None = None
    program_id: int | None = None
    patient_id: int | None = None
    patient_code: str | None = None
    sort: str = "severity"

    def checked(self) -> AlertFilter:
        if self.status not in STATUS_FILTERS:
            raise InputError("status", self.status, f"status must be one of: {', '.join(STATUS_FILTERS)}")
        if self.severity is not None and self.severity not in SEVERITIES:
            raise InputError("severity", self.severity, f"severity must be one of: {', '.join(SEVERITIES)}")
        if self.sort not in SORTS:
            raise InputError("sort", self.sort, f"sort must be one of: {', '.join(SORTS)}")
        return self


def apply(qs: QuerySet[Alert], f: AlertFilter) -> QuerySet[Alert]:
    """Filter an access-scoped alert queryset and put it in the chosen order (queue order by default)."""
    f.checked()
    if f.status == "active":
        qs = qs.exclude(status=AlertStatus.RESOLVED)
    elif f.status != "all":
        qs = qs.filter(status=f.status)
    if f.severity:
        qs = qs.filter(severity=f.severity)
    if f.rule:
        qs = qs.filter(rule_id=f.rule)
    if f.program_id is not None:
        qs = qs.filter(patient__program_id=f.program_id)
    if f.patient_id is not None:
        qs = qs.filter(patient_id=f.patient_id)
    if f.patient_code:
        qs = qs.filter(patient__code__iexact=f.patient_code.strip())
    return qs.order_by(*SORTS[f.sort])


def rule_ids(qs: QuerySet[Alert]) -> list[str]:
    """The distinct rule ids in a scoped queryset (for a filter menu)."""
    return sorted(set(qs.order_by().values_list("rule_id", flat=True).distinct()))
