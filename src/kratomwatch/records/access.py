"""The only read path for patient data. Every view, API router and CLI command fetches through here.

Rules: staff see every program; clinicians and program admins see the patients of their programs;
a patient sees only their own record; researchers see no identifiable record. Reads of a single
patient are audited.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from kratomwatch.accounts.models import Program, Role
from kratomwatch.audit.log import Actor, record
from kratomwatch.core.errors import InputError
from kratomwatch.records.models import Patient

CARE_ROLES = (Role.CLINICIAN, Role.PROGRAM_ADMIN)


class NotFound(InputError):
    """The object does not exist or the user may not see it (the two are indistinguishable on purpose)."""

    code = "not_found"


def programs_for(user: Any) -> QuerySet[Program]:
    if not user or not user.is_authenticated:
        return Program.objects.none()
    if user.is_staff:
        return Program.objects.all()
    return Program.objects.filter(memberships__user=user, memberships__role__in=CARE_ROLES).distinct()


def patients_for(user: Any) -> QuerySet[Patient]:
    if not user or not user.is_authenticated:
        return Patient.objects.none()
    if user.is_staff:
        return Patient.objects.all()
    care = Patient.objects.filter(program__in=programs_for(user))
    own = Patient.objects.filter(user=user)
    return (care | own).distinct()


def can_manage_program(user: Any, program: Program) -> bool:
    if not user or not user.is_authenticated:
        return False
    return bool(user.is_staff) or program.memberships.filter(user=user, role__in=CARE_ROLES).exists()


def get_program_for(user: Any, program_id: int) -> Program:
    program = programs_for(user).filter(pk=program_id).first()
    if program is None:
        raise NotFound("program_id", program_id, f"program {program_id} not found")
    return program


def get_patient_for(user: Any, code: str, *, actor: Actor | None = None, purpose: str = "view") -> Patient:
    """Fetch one patient the user may see, and audit the read."""
    patient = patients_for(user).select_related("program").filter(code=code).first()
    if patient is None:
        raise NotFound("patient_code", code, f"patient {code!r} not found")
    record(
        actor or Actor.of(user),
        f"patient.read.{purpose}",
        object_type="patient",
        object_id=patient.pk,
        program_id=patient.program_id,
        patient_code=patient.code,
    )
    return patient


def audit_list(
    user: Any,
    what: str,
    *,
    actor: Actor | None = None,
    count: int | None = None,
    program_id: int | None = None,
) -> None:
    """Audit a list read of patient data (who looked at which list)."""
    record(
        actor or Actor.of(user),
        f"list.{what}",
        object_type=what,
        program_id=program_id,
        detail={"count": count} if count is not None else {},
    )
