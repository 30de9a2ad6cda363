"""Read-side consent rules: which scopes are active, who must re-consent, who is in research scope, and the state of
care consent (never given, active, withdrawn, withdrawn with a clinician's override).

An override counts only for the care team's recording (``care_allowed(..., care_team=True)``): never for the
patient's own self-reports and never for research. It counts while it is unexpired, not ended, and belongs to the
current gap in consent (the withdrawal it followed is still the patient's latest, or the patient has still never
consented)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from kratomwatch.accounts.program_settings import consent_override_policy
from kratomwatch.consent.models import CareOverride, ConsentDocument, ConsentRecord, OverrideGrounds
from kratomwatch.records.models import Patient

NEVER_CONSENTED = "never_consented"
NEVER_CONSENTED_WITH_OVERRIDE = "never_consented_with_override"
ACTIVE = "active"
WITHDRAWN = "withdrawn"
WITHDRAWN_WITH_OVERRIDE = "withdrawn_with_override"
CARE_STATES = (NEVER_CONSENTED, NEVER_CONSENTED_WITH_OVERRIDE, ACTIVE, WITHDRAWN, WITHDRAWN_WITH_OVERRIDE)


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


def last_care_withdrawal(patient: Patient) -> ConsentRecord | None:
    """The patient's most recently withdrawn care signature, or None if they never withdrew one."""
    return (
        ConsentRecord.objects.filter(patient=patient, scope="care", withdrawn_at__isnull=False)
        .order_by("-withdrawn_at", "-pk")
        .first()
    )


def active_override(patient: Patient, now: dt.datetime | None = None) -> CareOverride | None:
    """The override that lets the care team record now, or None (consent active, none given, expired or ended)."""
    if has_active(patient, "care"):
        return None
    when = now or timezone.now()
    withdrawal = last_care_withdrawal(patient)
    return (
        CareOverride.objects.filter(
            patient=patient, expires_at__gt=when, created_at__lte=when, ended_at__isnull=True, withdrawal=withdrawal
        )
        .order_by("-expires_at")
        .first()
    )


def care_allowed(patient: Patient, now: dt.datetime | None = None, *, care_team: bool = False) -> bool:
    """May care data be recorded now? With active care consent, always. Without it, only when ``care_team`` (the
    care team records, not the patient) and a clinician's override is active. The default is the patient's own
    self-report, which an override never covers."""
    if has_active(patient, "care"):
        return True
    return care_team and active_override(patient, now) is not None


@dataclass(frozen=True)
class CareState:
    """The state of a patient's care consent, as the API and the consent page show it."""

    state: str
    withdrawn_at: dt.datetime | None
    override: CareOverride | None
    overrides_used: int
    overrides_allowed: int

    @property
    def grounds_label(self) -> str:
        return OverrideGrounds(self.override.grounds).label if self.override else ""


def overrides_in_gap(patient: Patient, withdrawal: ConsentRecord | None) -> int:
    """How many overrides the current gap in consent (this withdrawal, or never consented) has had."""
    return CareOverride.objects.filter(patient=patient, withdrawal=withdrawal).count()


def care_state(patient: Patient, now: dt.datetime | None = None) -> CareState:
    """Never consented, active, withdrawn, or withdrawn with an active override (and never consented with one)."""
    allowed = consent_override_policy(patient.program_id).per_withdrawal
    if has_active(patient, "care"):
        return CareState(ACTIVE, None, None, 0, allowed)
    withdrawal = last_care_withdrawal(patient)
    override = active_override(patient, now)
    used = overrides_in_gap(patient, withdrawal)
    if withdrawal is None:
        state = NEVER_CONSENTED_WITH_OVERRIDE if override else NEVER_CONSENTED
        return CareState(state, None, override, used, allowed)
    state = WITHDRAWN_WITH_OVERRIDE if override else WITHDRAWN
    return CareState(state, withdrawal.withdrawn_at, override, used, allowed)


def with_active_scope(patients: QuerySet[Patient], scope: str) -> QuerySet[Patient]:
    """Set-based: the patients of ``patients`` whose ``scope`` consent is active now (for research exports)."""
    active = ConsentRecord.objects.filter(patient=OuterRef("pk"), scope=scope, withdrawn_at__isnull=True)
    return patients.filter(Exists(active))
