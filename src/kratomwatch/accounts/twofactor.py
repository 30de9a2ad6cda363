"""Who must use two-factor authentication, and the TOTP device helpers behind the enrolment pages.

Clinicians, program admins and staff must enrol and verify a TOTP device (django-otp) when
``settings.KRATOMWATCH_REQUIRE_2FA`` is on. Patients and researchers may enrol but are not required to.
API bearer tokens are unaffected (a token is a separate, revocable credential).
"""

from __future__ import annotations

import base64
from typing import Any

import segno
from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from kratomwatch.accounts.models import Membership, Role

TWO_FACTOR_ROLES = (Role.CLINICIAN, Role.PROGRAM_ADMIN)
DEVICE_NAME = "authenticator app"


def enforced() -> bool:
    return bool(getattr(settings, "KRATOMWATCH_REQUIRE_2FA", True))


def requires_2fa(user: Any) -> bool:
    """True for staff and for anyone with a clinician or program-admin membership."""
    if not user or not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return bool(Membership.objects.filter(user=user, role__in=TWO_FACTOR_ROLES).exists())


def is_verified(user: Any) -> bool:
    check = getattr(user, "is_verified", None)
    return bool(check()) if callable(check) else False


def has_confirmed_device(user: Any) -> bool:
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def pending_device(user: Any) -> TOTPDevice:
    """The user's unconfirmed device (created on first use); its secret is shown on the enrolment page."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def secret_base32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def qr_data_uri(uri: str) -> str | None:
    """An SVG QR code as a data: URI (allowed by the CSP img-src), or None if segno is missing."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5))


def check_token(device: TOTPDevice, token: str) -> bool:
    """Verify a 6-digit code, honouring django-otp's per-device failure throttling."""
    token = token.strip().replace(" ", "")
    if not token.isdigit():
        return False
    allowed, _ = device.verify_is_allowed()
    return bool(allowed) and bool(device.verify_token(token))
