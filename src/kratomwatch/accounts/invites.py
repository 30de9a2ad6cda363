"""One-time invitations for a patient to create their own login: issue, look up, accept, revoke (all audited).

The token is 140 random bits written in Crockford base32 (28 characters, read out in groups of four); only its
SHA-256 is stored, so the database never holds a usable invite. An invite expires after :data:`INVITE_DAYS`,
is used at most once, and a new invite for the same patient revokes the open one. ``accounts`` sits below
``records``: the login itself is created by the caller's ``create_login`` (``records.actions.create_patient_login``)
inside :func:`accept_invite`'s transaction, so a refused password or username leaves the invite unused.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from kratomwatch.accounts.models import PatientInvite, hash_token
from kratomwatch.audit.log import Actor, record
from kratomwatch.core.errors import Conflict, InputError

INVITE_DAYS = 7
"""How long an invite stays valid."""

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford base32: no I, L, O or U, so a code read out loud is not misheard."""

TOKEN_CHARS = 28
"""28 characters of 5 bits: 140 random bits."""

_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})

T = TypeVar("T")


class InviteInvalid(InputError):
    """The token is unknown, used, revoked or expired (``reason`` says which, for the page)."""

    code = "invite_invalid"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__("invite", "***", message)
        self.reason = reason


@dataclass(frozen=True)
class IssuedInvite:
    invite: PatientInvite
    token: str

    @property
    def spoken(self) -> str:
        """The token in groups of four, to read out or type."""
        return "-".join(self.token[i : i + 4] for i in range(0, len(self.token), 4))


def new_token() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(TOKEN_CHARS))


def normalize(token: str) -> str:
    """A token as typed or read out (lower case, spaces or dashes, O for 0, I or L for 1) in its stored form."""
    return "".join(c for c in token.upper() if c not in " -").translate(_READ_AS)


def _program_of(patient: Any) -> int | None:
    return getattr(patient, "program_id", None)


@transaction.atomic
def create_invite(*, actor: Actor, patient: Any, created_by: Any, now: dt.datetime | None = None) -> IssuedInvite:
    """Issue a one-time invite for ``patient`` (who must have no login yet); an open earlier invite is revoked."""
    if getattr(patient, "user_id", None) is not None:
        raise Conflict("patient_code", patient.code, "this patient already has a login")
    when = now or timezone.now()
    revoked = PatientInvite.objects.filter(
        patient=patient, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=when
    ).update(revoked_at=when)
    token = new_token()
    invite = PatientInvite.objects.create(
        patient=patient,
        digest=hash_token(token),
        created_by=created_by if getattr(created_by, "pk", None) is not None else None,
        created_at=when,
        expires_at=when + dt.timedelta(days=INVITE_DAYS),
    )
    record(
        actor,
        "patient.invite.create",
        object_type="patient_invite",
        object_id=invite.pk,
        program_id=_program_of(patient),
        patient_code=patient.code,
        detail={"expires_at": invite.expires_at.isoformat(), "revoked_earlier": revoked},
    )
    return IssuedInvite(invite, token)


def open_invite(patient: Any, now: dt.datetime | None = None) -> PatientInvite | None:
    """The patient's unused, unrevoked, unexpired invite, if any (``patient`` came from ``kratomwatch.access``)."""
    return (
        PatientInvite.objects.filter(
            patient=patient, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now or timezone.now()
        )
        .order_by("-created_at")
        .first()
    )


def _check(invite: PatientInvite | None, now: dt.datetime) -> PatientInvite:
    if invite is None:
        raise InviteInvalid("unknown", "This invitation link or code is not known.")
    if invite.used_at is not None:
        raise InviteInvalid("used", "This invitation has already been used.")
    if invite.revoked_at is not None:
        raise InviteInvalid("revoked", "This invitation was withdrawn by the care team.")
    if invite.expires_at <= now:
        raise InviteInvalid("expired", "This invitation has expired.")
    return invite


def find_invite(token: str, now: dt.datetime | None = None) -> PatientInvite:
    """The valid invite for ``token`` (as typed), or :class:`InviteInvalid`."""
    invite = PatientInvite.objects.select_related("patient").filter(digest=hash_token(normalize(token))).first()
    return _check(invite, now or timezone.now())


@transaction.atomic
def accept_invite(
    *, actor: Actor, token: str, create_login: Callable[[Any], T], now: dt.datetime | None = None
) -> tuple[Any, T]:
    """Use the invite once: ``create_login(patient)`` makes the login, then the invite is marked used.

    Returns the patient and what ``create_login`` returned. Anything it raises (a taken username, a weak
    password) rolls the whole acceptance back, so the invite can be used again."""
    when = now or timezone.now()
    invite = _check(PatientInvite.objects.select_for_update().filter(digest=hash_token(normalize(token))).first(), when)
    patient = invite.patient
    result = create_login(patient)
    invite.used_at = when
    invite.used_by_id = getattr(patient, "user_id", None)
    invite.save(update_fields=["used_at", "used_by"])
    record(
        actor,
        "patient.invite.accept",
        object_type="patient_invite",
        object_id=invite.pk,
        program_id=_program_of(patient),
        patient_code=patient.code,
    )
    return patient, result


@transaction.atomic
def revoke_invite(*, actor: Actor, patient: Any, now: dt.datetime | None = None) -> int:
    """Withdraw the patient's open invites; returns how many were open."""
    when = now or timezone.now()
    count = PatientInvite.objects.filter(
        patient=patient, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=when
    ).update(revoked_at=when)
    record(
        actor,
        "patient.invite.revoke",
        object_type="patient",
        object_id=patient.pk,
        program_id=_program_of(patient),
        patient_code=patient.code,
        detail={"revoked": count},
    )
    return count
