"""Writes for consent: publish a document version, sign, withdraw, clinician override. All audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from kratomwatch.accounts.models import Program
from kratomwatch.audit.log import Actor, record
from kratomwatch.consent.models import CareOverride, ConsentDocument, ConsentRecord, Scope
from kratomwatch.consent.pdf import render_signed_copy
from kratomwatch.core.errors import InputError
from kratomwatch.records.models import Patient
from kratomwatch.records.writes import alert_input_write

#: How long a clinician's documented override of missing care consent lasts (a program setting).
OVERRIDE_DAYS = 30


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


@alert_input_write()
def override_care_consent(
    *, actor: Actor, patient: Patient, clinician: Any, reason: str, now: dt.datetime | None = None
) -> CareOverride:
    """A clinician documents why care data is recorded without active care consent (time-limited)."""
    if len(reason.strip()) < 10:
        raise InputError("reason", reason, "document the reason for the override (at least 10 characters)")
    when = now or timezone.now()
    override = CareOverride.objects.create(
        patient=patient,
        clinician=clinician,
        reason=reason.strip(),
        created_at=when,
        expires_at=when + dt.timedelta(days=OVERRIDE_DAYS),
    )
    record(
        actor,
        "consent.override",
        object_type="patient",
        object_id=patient.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
        detail={"expires_at": override.expires_at.isoformat()},
    )
    return override
