"""Writes for users, memberships and API tokens (audited)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from kratomwatch.accounts.models import ApiToken, Membership, Program, Role, hash_token
from kratomwatch.audit.log import Actor, record
from kratomwatch.core.errors import Conflict, InputError, NotFound

ROLES = (*Role.values, "patient", "staff")


@transaction.atomic
def create_user(
    *,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    program_slug: str | None = None,
    patient_code: str | None = None,
    with_token: bool = False,
    check_password: bool = True,
) -> tuple[Any, str | None]:
    from kratomwatch.records.models import Patient

    user_model = get_user_model()
    if role not in ROLES:
        raise InputError("role", role, f"role {role!r} is not one of: {', '.join(ROLES)}")
    if not username.strip() or user_model.objects.filter(username=username).exists():
        raise InputError("username", username, f"username {username!r} is empty or already taken")
    if check_password:
        try:
            validate_password(password)
        except ValidationError as exc:
            raise InputError("password", "***", " ".join(exc.messages)) from None
    program = None
    if role in Role.values:
        if not program_slug:
            raise InputError("program", None, f"role {role} needs --program")
        program = Program.objects.filter(slug=program_slug).first()
        if program is None:
            raise InputError("program", program_slug, f"no program with slug {program_slug!r}")
    patient = None
    if role == "patient":
        patient = Patient.objects.filter(code=patient_code or "").first()
        if patient is None:
            raise InputError(
                "patient_code",
                patient_code,
                f"role patient needs an existing --patient-code, got {patient_code!r}",
            )
        if patient.user_id is not None:
            raise InputError("patient_code", patient_code, "that patient already has a login")
    user = user_model.objects.create_user(
        username=username, password=password, is_staff=role == "staff", is_superuser=role == "staff"
    )
    if program is not None:
        Membership.objects.create(user=user, program=program, role=role)
    if patient is not None:
        patient.user = user
        patient.save(update_fields=["user"])
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
def confirm_totp_device(*, actor: Actor, device: Any) -> Any:
    """Confirm a TOTP device whose code the user just proved, and drop the user's other unconfirmed ones."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    record(actor, "auth.2fa.enrol", object_type="otp_device", object_id=device.pk)
    return device
