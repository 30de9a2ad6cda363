"""Consent endpoints: documents per program, a patient's scope status, signing, withdrawal, overrides."""

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from kratomwatch import access
from kratomwatch.api.records import actor_of, require_care
from kratomwatch.consent import actions, status
from kratomwatch.consent.models import ConsentDocument, ConsentRecord, Scope

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


class ConsentOut(Schema):
    patient_code: str
    latest_document: DocumentOut | None
    scopes: list[ScopeOut]


class SignIn(Schema):
    document_id: int
    scopes: list[Scope] = Field(min_length=1)
    typed_name: str = Field(min_length=2, max_length=200)


class WithdrawIn(Schema):
    scope: Scope


class OverrideIn(Schema):
    reason: str = Field(min_length=10)


def _own(request: HttpRequest, code: str) -> Any:
    patient = access.get_patient_for(request.user, code, actor=actor_of(request), purpose="consent")
    if patient.user_id != getattr(request.user, "pk", None):
        raise HttpError(403, "only the patient can sign or withdraw their own consent")
    return patient


@router.get("/programs/{program_id}/consent-documents", response=list[DocumentOut])
def list_documents(request: HttpRequest, program_id: int) -> Any:
    program = access.get_program_for(request.user, program_id)
    return ConsentDocument.objects.filter(program=program)


@router.post("/programs/{program_id}/consent-documents", response={201: DocumentOut})
def publish(request: HttpRequest, program_id: int, payload: DocumentIn) -> Any:
    program = access.get_program_for(request.user, program_id)
    require_care(request, program, admin=True)
    doc = actions.publish_document(
        actor=actor_of(request),
        program=program,
        title=payload.title,
        body=payload.body,
        scopes=[str(s) for s in payload.scopes],
    )
    return Status(201, doc)


@router.get("/patients/{code}/consent", response=ConsentOut)
def get_consent(request: HttpRequest, code: str) -> Any:
    patient = access.get_patient_for(request.user, code, actor=actor_of(request), purpose="consent")
    return {
        "patient_code": patient.code,
        "latest_document": status.latest_document(patient.program_id),
        "scopes": status.scope_status(patient),
    }


@router.post("/patients/{code}/consent/sign", response={201: ConsentOut})
def sign(request: HttpRequest, code: str, payload: SignIn) -> Any:
    patient = _own(request, code)
    document = ConsentDocument.objects.filter(pk=payload.document_id, program_id=patient.program_id).first()
    if document is None:
        raise access.NotFound("document_id", payload.document_id, f"consent document {payload.document_id} not found")
    actions.sign(
        actor=actor_of(request),
        patient=patient,
        document=document,
        scopes=[str(s) for s in payload.scopes],
        typed_name=payload.typed_name,
    )
    return Status(
        201, {"patient_code": patient.code, "latest_document": document, "scopes": status.scope_status(patient)}
    )


@router.post("/patients/{code}/consent/withdraw", response=ConsentOut)
def withdraw(request: HttpRequest, code: str, payload: WithdrawIn) -> Any:
    patient = _own(request, code)
    actions.withdraw(actor=actor_of(request), patient=patient, scope=str(payload.scope))
    return {
        "patient_code": patient.code,
        "latest_document": status.latest_document(patient.program_id),
        "scopes": status.scope_status(patient),
    }


@router.get("/patients/{code}/consent/records/{record_id}/pdf")
def signed_pdf(request: HttpRequest, code: str, record_id: int) -> HttpResponse:
    patient = access.get_patient_for(request.user, code, actor=actor_of(request), purpose="consent_pdf")
    rec = ConsentRecord.objects.filter(pk=record_id, patient=patient).first()
    if rec is None:
        raise access.NotFound("record_id", record_id, f"consent record {record_id} not found")
    response = HttpResponse(bytes(rec.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="consent-{patient.code}-{rec.pk}.pdf"'
    response["X-Content-SHA256"] = rec.pdf_sha256
    return response


@router.post("/patients/{code}/consent/override", response={201: dict[str, Any]})
def override(request: HttpRequest, code: str, payload: OverrideIn) -> Any:
    patient = access.get_patient_for(request.user, code, actor=actor_of(request), purpose="consent_override")
    require_care(request, patient.program)
    item = actions.override_care_consent(
        actor=actor_of(request), patient=patient, clinician=request.user, reason=payload.reason
    )
    return Status(201, {"id": item.pk, "expires_at": item.expires_at.isoformat()})
