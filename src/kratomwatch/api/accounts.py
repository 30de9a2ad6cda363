"""Program user management for program admins (and staff): list members, add a user, remove a role.

Contract: a program admin of the program (or staff) only (``access.require_care_role(admin=True)``, else 403);
a patient login is linked only to a patient of this program fetched through ``kratomwatch.access``; writes go
through ``accounts.actions``.
"""

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from kratomwatch import access
from kratomwatch.accounts.actions import create_user, remove_membership
from kratomwatch.accounts.models import Membership
from kratomwatch.api.limits import Id
from kratomwatch.audit.log import Actor
from kratomwatch.core.errors import NotFound
from kratomwatch.records.actions import create_patient_login

router = Router(tags=["program users"])


class MemberOut(Schema):
    id: int
    username: str
    role: str


class UserIn(Schema):
    username: str = Field(min_length=2, max_length=150, pattern=r"^[A-Za-z0-9_.@+-]+$")
    password: str = Field(min_length=10, max_length=200)
    role: Literal["clinician", "program_admin", "researcher", "patient"]
    patient_code: str | None = Field(default=None, description="For role patient: the patient's code in this program")


@router.get("/programs/{program_id}/users", response=list[MemberOut])
def list_members(request: HttpRequest, program_id: Id) -> Any:
    program = access.get_program_for(request.user, program_id)
    access.require_care_role(request.user, program, admin=True)
    members = [
        {"id": m.pk, "username": m.user.get_username(), "role": m.role}
        for m in Membership.objects.filter(program=program).select_related("user").order_by("user__username")
    ]
    patients = [
        {"id": p.user_id, "username": p.user.get_username(), "role": "patient"}
        for p in access.patients_for(request.user)
        .filter(program=program, user__isnull=False)
        .select_related("user")
        .order_by("code")
        if p.user is not None
    ]
    return members + patients


@router.post("/programs/{program_id}/users", response={201: MemberOut})
def add_user(request: HttpRequest, program_id: Id, payload: UserIn) -> Any:
    program = access.get_program_for(request.user, program_id)
    access.require_care_role(request.user, program, admin=True)
    if payload.role == "patient":
        # The patient must belong to this program: fetched through the access path.
        patient = access.get_patient_for(request.user, payload.patient_code or "", purpose="create_login")
        if patient.program_id != program.pk:
            raise NotFound("patient_code", payload.patient_code, "patient not found in this program")
        user, _ = create_patient_login(
            actor=Actor.of(request.user), patient=patient, username=payload.username, password=payload.password
        )
        return Status(201, {"id": user.pk, "username": user.get_username(), "role": payload.role})
    user, _ = create_user(
        actor=Actor.of(request.user),
        username=payload.username,
        password=payload.password,
        role=payload.role,
        program_slug=program.slug,
    )
    return Status(201, {"id": user.pk, "username": user.get_username(), "role": payload.role})


@router.delete("/programs/{program_id}/users/{user_id}", response={204: None})
def remove_role(request: HttpRequest, program_id: Id, user_id: Id) -> Any:
    """Remove a user's roles in this program (their account and audit history are kept)."""
    program = access.get_program_for(request.user, program_id)
    access.require_care_role(request.user, program, admin=True)
    remove_membership(actor=Actor.of(request.user), program=program, user_id=user_id)
    return Status(204, None)
