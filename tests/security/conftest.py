"""Helpers for the security tests: TOTP codes and a logged-in client per persona."""

from __future__ import annotations

from typing import Any

import pytest


def totp_now(device: Any) -> str:
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def require_2fa(settings: Any) -> Any:
    settings.KRATOMWATCH_REQUIRE_2FA = True
    return settings
