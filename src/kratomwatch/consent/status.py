"""Read-side consent rules: which scopes are active, who must re-consent, who is in research scope."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from kratomwatch.consent.models import CareOverride, ConsentDocument, ConsentRecord
from kratomwatch.records.models import Patient


@dataclass(frozen=True)
class ScopeStatus:
    scope: str
    active: bool
    signed_version: int | None
    latest_version: int | None
    needs_reconsent: bool
    signed_at: dt.datetime | None
    record_id: int | None


def latest_document(program_id: int) -> ConsentDocument | None:
    return ConsentDocument.objects.filter(program_id=program_id).order_by("-version").first()


def scope_status(patient: Patient) -> list[ScopeStatus]:
    latest = latest_document(patient.program_id)
    active = {
        r.scope: r
        for r in ConsentRecord.objects.filter(patient=patient, withdrawn_at__isnull=True)
        .select_related("document")
        .order_by("signed_at")
    }
    scopes = sorted(set(latest.scopes if latest else []) | set(active))
    out = []
    for scope in scopes:
        rec = active.get(scope)
        signed = rec.document.version if rec else None
        newest = latest.version if latest and scope in latest.scopes else None
        out.append(
            ScopeStatus(
                scope,
                rec is not None,
                signed,
                newest,
                newest is not None and (signed is None or signed < newest),
                rec.signed_at if rec else None,
                rec.pk if rec else None,
            )
        )
    return out


def has_active(patient: Patient, scope: str) -> bool:
    return ConsentRecord.objects.filter(patient=patient, scope=scope, withdrawn_at__isnull=True).exists()


def care_allowed(patient: Patient, now: dt.datetime | None = None) -> bool:
    """Care data may be recorded with active care consent or an unexpired clinician override."""
    when = now or timezone.now()
    return has_active(patient, "care") or CareOverride.objects.filter(patient=patient, expires_at__gt=when).exists()


def with_active_scope(patients: QuerySet[Patient], scope: str) -> QuerySet[Patient]:
    """Set-based: the patients of ``patients`` whose ``scope`` consent is active now (for research exports)."""
    active = ConsentRecord.objects.filter(patient=OuterRef("pk"), scope=scope, withdrawn_at__isnull=True)
    return patients.filter(Exists(active))
