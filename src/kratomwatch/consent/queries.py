"""Read selectors for consent documents and a patient's signed records.

Contract: functions take a program or a patient already fetched through ``kratomwatch.access`` and read only rows
anchored to it; they check no permission and write nothing. "Missing" and "another program's / patient's" both
give None, so a caller's ``NotFound`` never reveals existence. Which scopes are active, and who must re-consent,
is ``consent.status``.
"""

from __future__ import annotations

from django.db.models import QuerySet

from kratomwatch.accounts.models import Program
from kratomwatch.consent.models import ConsentDocument, ConsentRecord
from kratomwatch.records.models import Patient


def documents_of(program: Program) -> QuerySet[ConsentDocument]:
    """The program's published consent documents, newest version first."""
    return ConsentDocument.objects.filter(program=program).order_by("-version")


def document_of(patient: Patient, document_id: int) -> ConsentDocument | None:
    """A consent document of the patient's program by id, or None."""
    return ConsentDocument.objects.filter(pk=document_id, program_id=patient.program_id).first()


def record_of(patient: Patient, record_id: int) -> ConsentRecord | None:
    """One signed consent record of this patient by id (with its PDF), or None."""
    return ConsentRecord.objects.filter(pk=record_id, patient=patient).first()


def last_withdrawal(patient: Patient, scope: str) -> ConsentRecord | None:
    """The patient's most recently withdrawn signature of ``scope`` (its ``withdrawn_at`` says when), or None."""
    return (
        ConsentRecord.objects.filter(patient=patient, scope=scope, withdrawn_at__isnull=False)
        .order_by("-withdrawn_at")
        .first()
    )
