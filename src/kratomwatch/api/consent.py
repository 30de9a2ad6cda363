"""Consent endpoints: documents per program, a patient's scope status, signing, withdrawal, overrides.

The status names the state of care consent (``never_consented``, ``active``, ``withdrawn``,
``withdrawn_with_override``, ``never_consented_with_override``) and an active override: grounds, reason, the role
of who gave it (no name) and its expiry. An override (D6) covers the care team's recording only; its rules are in
``consent.actions``.

Contract: access through ``kratomwatch.access`` (signing and withdrawing are the patient's own: anyone else gets
403; publishing needs a program admin; an override a care role); documents and signed records are read through
``consent.queries`` anchored to the fetched program or patient; scope status is ``consent.status``; writes go
through ``consent.actions``.
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status

from kratomwatch import access
from kratomwatch.api.limits import Id
from kratomwatch.audit.log import Actor
from kratomwatch.consent import actions, queries, status
from kratomwatch.consent.models import CareOverride, ConsentDocument, OverrideGrounds, Scope
from kratomwatch.core.errors import Forbidden, NotFound
from kratomwatch.records.models import Patient

router = Router(tags=["consent"])


class DocumentIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=20)
    scopes: list[Scope] = Field(min_length=1)


class DocumentOut(Schema):
    id: int
    program_id: int
    version: int
    title: str
    body: str
    scopes: list[str]
    published_at: dt.datetime


class ScopeOut(Schema):
    scope: str
    active: bool
    signed_version: int | None
    latest_version: int | None
    needs_reconsent: bool
    signed_at: dt.datetime | None
    record_id: int | None


class OverrideOut(Schema):
    id: int
    grounds: str
    grounds_label: str
    reason: str
    clinician_role: str = Field(description="the role of who gave it (clinician, program_admin, staff); no name")
    created_at: dt.datetime
    expires_at: dt.datetime


class CareStateOut(Schema):
    state: str = Field(description=", ".join(status.CARE_STATES))
    withdrawn_at: dt.datetime | None
    override: OverrideOut | None = Field(description="the override active now (care-team recording only)")
    overrides_used: int = Field(description="overrides given since the withdrawal (or before the first signature)")
    overrides_allowed: int = Field(description="the program's limit per withdrawal (program choice)")


class ConsentOut(Schema):
    patient_code: str
    latest_document: DocumentOut | None
    scopes: list[ScopeOut]
    care: CareStateOut


class SignIn(Schema):
    document_id: int
    scopes: list[Scope] = Field(min_length=1)
    typed_name: str = Field(min_length=2, max_length=200)


class WithdrawIn(Schema):
    scope: Scope


class OverrideIn(Schema):
    grounds: str = Field(
        description="one of: " + "; ".join(f"{g.value} ({g.label})" for g in OverrideGrounds if g != "unstated")
    )
    reason: str = Field(max_length=2000, description=f"at least {actions.MIN_REASON} characters")


def _own(request: HttpRequest, code: str) -> Patient:
    patient = access.get_patient_for(request.user, code, purpose="consent")
    if not access.is_own_record(request.user, patient):
        raise Forbidden("patient_code", code, "only the patient can sign or withdraw their own consent")
    return patient


def _override_out(item: CareOverride) -> dict[str, Any]:
    return {
        "id": item.pk,
        "grounds": item.grounds,
        "grounds_label": OverrideGrounds(item.grounds).label,
        "reason": item.reason,
        "clinician_role": item.clinician_role,
        "created_at": item.created_at,
        "expires_at": item.expires_at,
    }


def _status_out(patient: Patient, document: ConsentDocument | None = None) -> dict[str, Any]:
    latest = document or status.latest_document(patient.program_id)
    care = status.care_state(patient)
    return {
        "patient_code": patient.code,
        "latest_document": latest,
        "scopes": status.scope_status(patient),
        "care": {
            "state": care.state,
            "withdrawn_at": care.withdrawn_at,
            "override": _override_out(care.override) if care.override else None,
            "overrides_used": care.overrides_used,
            "overrides_allowed": care.overrides_allowed,
        },
    }


@router.get("/programs/{program_id}/consent-documents", response=list[DocumentOut])
def list_documents(request: HttpRequest, program_id: Id) -> Any:
    return queries.documents_of(access.get_program_for(request.user, program_id))


@router.post("/programs/{program_id}/consent-documents", response={201: DocumentOut})
def publish(request: HttpRequest, program_id: Id, payload: DocumentIn) -> Any:
    program = access.get_program_for(request.user, program_id)
    access.require_care_role(request.user, program, admin=True)
    scopes = [str(s) for s in payload.scopes]
    doc = actions.publish_document(
        actor=Actor.of(request.user), program=program, title=payload.title, body=payload.body, scopes=scopes
    )
    return Status(201, doc)


@router.get("/patients/{code}/consent", response=ConsentOut)
def get_consent(request: HttpRequest, code: str) -> Any:
    return _status_out(access.get_patient_for(request.user, code, purpose="consent"))


@router.post("/patients/{code}/consent/sign", response={201: ConsentOut})
def sign(request: HttpRequest, code: str, payload: SignIn) -> Any:
    patient = _own(request, code)
    document = queries.document_of(patient, payload.document_id)
    if document is None:
        raise NotFound("document_id", payload.document_id, f"consent document {payload.document_id} not found")
    scopes = [str(s) for s in payload.scopes]
    actions.sign(
        actor=Actor.of(request.user), patient=patient, document=document, scopes=scopes, typed_name=payload.typed_name
    )
    return Status(201, _status_out(patient, document))


@router.post("/patients/{code}/consent/withdraw", response=ConsentOut)
def withdraw(request: HttpRequest, code: str, payload: WithdrawIn) -> Any:
    patient = _own(request, code)
    actions.withdraw(actor=Actor.of(request.user), patient=patient, scope=str(payload.scope))
    return _status_out(patient)


@router.get("/patients/{code}/consent/records/{record_id}/pdf")
def signed_pdf(request: HttpRequest, code: str, record_id: Id) -> HttpResponse:
    patient = access.get_patient_for(request.user, code, purpose="consent_pdf")
    rec = queries.record_of(patient, record_id)
    if rec is None:
        raise NotFound("record_id", record_id, f"consent record {record_id} not found")
    response = HttpResponse(bytes(rec.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="consent-{patient.code}-{rec.pk}.pdf"'
    response["X-Content-SHA256"] = rec.pdf_sha256
    return response


@router.post("/patients/{code}/consent/override", response={201: OverrideOut})
def override(request: HttpRequest, code: str, payload: OverrideIn) -> Any:
    """The care team records without care consent for a limited time: grounds and a reason required; 409 while
    consent is active, while another override is active (naming its expiry), or once the withdrawal had its
    overrides. Never covers the patient's own self-reports or research."""
    patient = access.get_writable_patient_for(request.user, code, consent=False)
    item = actions.override_care_consent(
        actor=Actor.of(request.user),
        patient=patient,
        clinician=request.user,
        grounds=payload.grounds,
        reason=payload.reason,
    )
    return Status(201, _override_out(item))
