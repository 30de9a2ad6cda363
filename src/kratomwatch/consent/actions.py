"""Writes for consent: publish a document version, sign, withdraw, clinician override and its end. All audited.

A clinician's override of missing care consent (D6) needs one of the listed grounds and a reason of at least
:data:`MIN_REASON` characters; it lasts the program's override hours (``accounts.program_settings``, default 72,
ceiling 168); it is refused while care consent is active, while another override is active (409 naming its
expiry), and once the current gap in consent (a withdrawal, or never consented) has had the program's number of
overrides (default 1): then the patient must consent again. An override ends when it expires or when the patient
signs care consent again; either end is audited (``consent.override.end``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from kratomwatch.accounts.models import Membership, Program
from kratomwatch.accounts.program_settings import consent_override_policy
from kratomwatch.audit.log import Actor, record
from kratomwatch.consent import status
from kratomwatch.consent.models import (
    GROUNDS_AFTER_WITHDRAWAL,
    GROUNDS_BEFORE_FIRST_SIGNATURE,
    CareOverride,
    ConsentDocument,
    ConsentRecord,
    Scope,
)
from kratomwatch.consent.pdf import render_signed_copy
from kratomwatch.core.errors import Conflict, InputError
from kratomwatch.records.models import Patient
from kratomwatch.records.writes import alert_input_write

MIN_REASON = 20
"""The fewest characters of the written reason for an override (a sentence, not a word)."""


def _scopes(values: Sequence[str], field: str = "scopes") -> list[str]:
    if not values:
        raise InputError(field, list(values), "choose at least one scope")
    bad = [v for v in values if v not in Scope.values]
    if bad:
        raise InputError(field, bad[0], f"unknown consent scope {bad[0]!r}; use one of: {', '.join(Scope.values)}")
    return sorted(set(values))


@transaction.atomic
def publish_document(
    *, actor: Actor, program: Program, title: str, body: str, scopes: Sequence[str], now: dt.datetime | None = None
) -> ConsentDocument:
    """Publish the next version of a program's consent document; earlier signatures then need re-consent."""
    if not title.strip():
        raise InputError("title", title, "title must not be empty")
    if len(body.strip()) < 20:
        raise InputError("body", body[:40], "the consent text must be at least 20 characters")
    latest = ConsentDocument.objects.select_for_update().filter(program=program).aggregate(v=Max("version"))["v"]
    doc = ConsentDocument.objects.create(
        program=program,
        version=(latest or 0) + 1,
        title=title.strip(),
        body=body.strip(),
        scopes=_scopes(scopes),
        published_at=now or timezone.now(),
    )
    record(
        actor,
        "consent.publish",
        object_type="consent_document",
        object_id=doc.pk,
        program_id=program.pk,
        detail={"version": doc.version, "scopes": doc.scopes},
    )
    return doc


@alert_input_write()
def sign(
    *,
    actor: Actor,
    patient: Patient,
    document: ConsentDocument,
    scopes: Sequence[str],
    typed_name: str,
    now: dt.datetime | None = None,
) -> list[ConsentRecord]:
    """The patient signs ``scopes`` of ``document`` with their typed name; a frozen PDF is stored."""
    if document.program_id != patient.program_id:
        raise InputError("document_id", document.pk, "this consent document belongs to another program")
    latest = ConsentDocument.objects.filter(program=document.program).aggregate(v=Max("version"))["v"]
    if document.version != latest:
        raise InputError("document_id", document.pk, f"version {document.version} is superseded by version {latest}")
    chosen = _scopes(scopes)
    not_offered = [s for s in chosen if s not in document.scopes]
    if not_offered:
        raise InputError("scopes", not_offered[0], f"this document does not ask for {not_offered[0]!r}")
    name = " ".join(typed_name.split())
    if len(name) < 2 or len(name) > 200:
        raise InputError("typed_name", typed_name, "type your full name (2-200 characters) to sign")
    when = now or timezone.now()
    pdf, digest = render_signed_copy(
        program=document.program.name,
        title=document.title,
        version=document.version,
        body=document.body,
        scopes=chosen,
        patient_code=patient.code,
        signed_name=name,
        signed_at=when,
    )
    out = []
    for scope in chosen:
        # Signing again replaces an active signature of the same document and scope.
        ConsentRecord.objects.filter(patient=patient, document=document, scope=scope, withdrawn_at__isnull=True).update(
            withdrawn_at=when
        )
        out.append(
            ConsentRecord.objects.create(
                patient=patient,
                document=document,
                scope=scope,
                signed_name=name,
                signed_at=when,
                pdf=pdf,
                pdf_sha256=digest,
            )
        )
    if "care" in chosen:
        _end_overrides(actor, patient, when, reason="consented", ended_at=when)
    record(
        actor,
        "consent.sign",
        object_type="consent_document",
        object_id=document.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
        detail={"version": document.version, "scopes": chosen, "pdf_sha256": digest},
    )
    return out


@alert_input_write()
def withdraw(*, actor: Actor, patient: Patient, scope: str, now: dt.datetime | None = None) -> int:
    """Withdraw every active signature of ``scope``; returns how many were withdrawn."""
    _scopes([scope], "scope")
    when = now or timezone.now()
    count = ConsentRecord.objects.filter(patient=patient, scope=scope, withdrawn_at__isnull=True).update(
        withdrawn_at=when
    )
    if count == 0:
        raise InputError("scope", scope, f"there is no active {scope!r} consent to withdraw")
    record(
        actor,
        "consent.withdraw",
        object_type="patient",
        object_id=patient.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
        detail={"scope": scope},
    )
    return count


def _role(clinician: Any, patient: Patient) -> str:
    """The clinician's role in the patient's program, as the patient is told (no name: patient pages show none)."""
    role = Membership.objects.filter(user=clinician, program_id=patient.program_id).values_list("role", flat=True)
    return str(role.first() or ("staff" if getattr(clinician, "is_staff", False) else "clinician"))


def _end_overrides(
    actor: Actor, patient: Patient, now: dt.datetime, *, reason: str, ended_at: dt.datetime | None = None
) -> int:
    """End the patient's open overrides: every one (``ended_at`` given: the patient consented; one already past its
    expiry is recorded as expired), or only those past their expiry. Each end is one audit event."""
    open_ = CareOverride.objects.select_for_update().filter(patient=patient, ended_at__isnull=True)
    if ended_at is None:
        open_ = open_.filter(expires_at__lte=now)
    count = 0
    for item in open_.order_by("pk"):
        end = item.expires_at if ended_at is None or item.expires_at <= ended_at else ended_at
        item.ended_at = end
        item.end_reason = "expired" if end == item.expires_at else reason
        item.save(update_fields=["ended_at", "end_reason"])
        record(
            actor,
            "consent.override.end",
            object_type="care_override",
            object_id=item.pk,
            program_id=patient.program_id,
            patient_code=patient.code,
            detail={
                "reason": item.end_reason,
                "ended_at": end.isoformat(),
                "expires_at": item.expires_at.isoformat(),
            },
        )
        count += 1
    return count


@transaction.atomic
def close_lapsed_overrides(*, actor: Actor, now: dt.datetime | None = None) -> int:
    """Record the end of every override past its expiry whose end is not yet recorded (for a scheduled job; the
    consent actions do it for their own patient). Returns how many were closed; changes no access (an expired
    override already counts for nothing)."""
    when = now or timezone.now()
    patients = Patient.objects.filter(
        pk__in=CareOverride.objects.filter(ended_at__isnull=True, expires_at__lte=when).values("patient_id")
    ).order_by("pk")
    return sum(_end_overrides(actor, p, when, reason="expired") for p in patients)


@alert_input_write()
def override_care_consent(
    *,
    actor: Actor,
    patient: Patient,
    clinician: Any,
    grounds: str,
    reason: str,
    now: dt.datetime | None = None,
) -> CareOverride:
    """A clinician documents why the care team records care data without active care consent (time-limited,
    limited in number, care-team recording only; see the module docstring)."""
    when = now or timezone.now()
    # One override decision per patient at a time: a concurrent second one waits here, then sees the first.
    Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True).first()
    _end_overrides(actor, patient, when, reason="expired")
    if status.has_active(patient, "care"):
        raise Conflict("consent", "care", f"{patient.code} has active care consent: no override is needed")
    withdrawal = status.last_care_withdrawal(patient)
    allowed = GROUNDS_AFTER_WITHDRAWAL if withdrawal else GROUNDS_BEFORE_FIRST_SIGNATURE
    if grounds not in [g.value for g in allowed]:
        choices = "; ".join(f"{g.value} ({g.label})" for g in allowed)
        after = " after a withdrawal" if withdrawal else ""
        raise InputError("grounds", grounds, f"choose the grounds for an override{after}: {choices}")
    text = " ".join(reason.split())
    if len(text) < MIN_REASON:
        raise InputError("reason", reason, f"document the reason for the override (at least {MIN_REASON} characters)")
    active = status.active_override(patient, when)
    if active is not None:
        raise Conflict(
            "consent",
            "override",
            f"an override for {patient.code} is already active until {active.expires_at.isoformat()} (UTC); "
            "overrides do not stack",
        )
    policy = consent_override_policy(patient.program_id)
    used = status.overrides_in_gap(patient, withdrawal)
    if used >= policy.per_withdrawal:
        gap = "since the patient withdrew care consent" if withdrawal else "before the patient's first signature"
        raise Conflict(
            "consent",
            "override",
            f"{patient.code} has had {used} override(s) {gap}, the program's limit of {policy.per_withdrawal}: "
            "the patient must consent again",
        )
    override = CareOverride.objects.create(
        patient=patient,
        clinician=clinician,
        clinician_role=_role(clinician, patient),
        grounds=grounds,
        reason=text,
        created_at=when,
        expires_at=when + dt.timedelta(hours=policy.hours),
        withdrawal=withdrawal,
    )
    record(
        actor,
        "consent.override",
        object_type="care_override",
        object_id=override.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
        detail={
            "grounds": grounds,
            "reason": text,
            "clinician_role": override.clinician_role,
            "hours": policy.hours,
            "expires_at": override.expires_at.isoformat(),
            "after_withdrawal_at": withdrawal.withdrawn_at.isoformat()
            if withdrawal and withdrawal.withdrawn_at
            else None,
            "number_in_gap": used + 1,
            "allowed_in_gap": policy.per_withdrawal,
        },
    )
    return override
