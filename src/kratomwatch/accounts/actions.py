"""Writes for users, memberships and API tokens (audited)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from kratomwatch.accounts.models import ApiToken, Membership, Program, Role, hash_token
from kratomwatch.audit.log import Actor, record
from kratomwatch.core.errors import Conflict, InputError, NotFound

ROLES = (*Role.values, "staff")
"""Roles ``create_user`` gives; a patient's login comes from their record (records.actions.create_patient_login)."""


@transaction.atomic
def create_account(
    *,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    is_staff: bool = False,
    with_token: bool = False,
    check_password: bool = True,
    program: Program | None = None,
) -> tuple[Any, str | None]:
    """A user account (checked name and password) with an optional API token; ``role`` labels the audit event."""
    user_model = get_user_model()
    if not username.strip() or user_model.objects.filter(username=username).exists():
        raise InputError("username", username, f"username {username!r} is empty or already taken")
    if check_password:
        try:
            validate_password(password)
        except ValidationError as exc:
            raise InputError("password", "***", " ".join(exc.messages)) from None
    user = user_model.objects.create_user(
        username=username, password=password, is_staff=is_staff, is_superuser=is_staff
    )
    raw = issue_token(actor=actor, user=user, name="cli") if with_token else None
    record(
        actor,
        "user.create",
        object_type="user",
        object_id=user.pk,
        program_id=program.pk if program else None,
        detail={"role": role},
    )
    return user, raw


@transaction.atomic
def create_user(
    *,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    program_slug: str | None = None,
    with_token: bool = False,
    check_password: bool = True,
) -> tuple[Any, str | None]:
    """A staff user, or a user with a role (clinician, program admin, researcher) in one program."""
    if role == "patient":
        raise InputError("role", role, "a patient's login is created from their patient record (give the patient code)")
    if role not in ROLES:
        raise InputError("role", role, f"role {role!r} is not one of: {', '.join((*ROLES, 'patient'))}")
    program = None
    if role in Role.values:
        if not program_slug:
            raise InputError("program", None, f"role {role} needs --program")
        program = Program.objects.filter(slug=program_slug).first()
        if program is None:
            raise InputError("program", program_slug, f"no program with slug {program_slug!r}")
    user, raw = create_account(
        actor=actor,
        username=username,
        password=password,
        role=role,
        is_staff=role == "staff",
        with_token=with_token,
        check_password=check_password,
        program=program,
    )
    if program is not None:
        Membership.objects.create(user=user, program=program, role=role)
    return user, raw


@transaction.atomic
def issue_token(*, actor: Actor, user: Any, name: str) -> str:
    raw = ApiToken.new_raw()
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:8], digest=hash_token(raw))
    record(actor, "token.create", object_type="api_token", object_id=token.pk, detail={"user": user.pk})
    return raw


@transaction.atomic
def revoke_token(*, actor: Actor, token: ApiToken) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record(actor, "token.revoke", object_type="api_token", object_id=token.pk, detail={"user": token.user_id})


@transaction.atomic
def create_program(*, actor: Actor, slug: str, name: str) -> Program:
    if not slug.strip() or not name.strip():
        raise InputError(
            "slug" if not slug.strip() else "name",
            slug if not slug.strip() else name,
            "program slug and name must not be empty",
        )
    if Program.objects.filter(slug=slug).exists():
        raise Conflict("slug", slug, f"a program with slug {slug!r} already exists")
    program = Program.objects.create(slug=slug, name=name)
    record(
        actor,
        "program.create",
        object_type="program",
        object_id=program.pk,
        program_id=program.pk,
        detail={"slug": slug},
    )
    return program


@transaction.atomic
def remove_membership(*, actor: Actor, program: Program, user_id: int) -> int:
    """Remove a user's roles in ``program`` (their account and audit history are kept).

    Returns the number of roles removed; ``NotFound`` when the user has none there.
    """
    removed, _ = Membership.objects.filter(program=program, user_id=user_id).delete()
    if not removed:
        raise NotFound("user_id", user_id, f"user {user_id} has no role in this program")
    record(actor, "membership.remove", object_type="user", object_id=user_id, program_id=program.pk)
    return removed


@transaction.atomic
def change_role(*, actor: Actor, program: Program, user_id: int, role: str) -> Membership:
    """Give a user who has a role in ``program`` a different one there (their roles there become just ``role``).

    ``NotFound`` when the user has no role in the program; a patient's login is not a role (InputError)."""
    if role not in Role.values:
        raise InputError("role", role, f"role {role!r} is not one of: {', '.join(Role.values)}")
    current = Membership.objects.select_for_update().filter(program=program, user_id=user_id)
    before = sorted(current.values_list("role", flat=True))
    if not before:
        raise NotFound("user_id", user_id, f"user {user_id} has no role in this program")
    current.exclude(role=role).delete()
    membership, _ = Membership.objects.get_or_create(program=program, user_id=user_id, role=role)
    record(
        actor,
        "membership.change",
        object_type="user",
        object_id=user_id,
        program_id=program.pk,
        detail={"before": before, "after": role},
    )
    return membership


@transaction.atomic
def confirm_totp_device(*, actor: Actor, device: Any) -> Any:
    """Confirm a TOTP device whose code the user just proved, and drop the user's other unconfirmed ones."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    record(actor, "auth.2fa.enrol", object_type="otp_device", object_id=device.pk)
    return device
