"""TOTP two-factor: required for clinicians/admins/staff when KRATOMWATCH_REQUIRE_2FA is on; off in DEBUG demos."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from kratomwatch.audit.models import AuditEvent
from tests.security.conftest import totp_now


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_off_mode_lets_demo_logins_straight_in(world: Any, settings: Any) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False
    assert _client(world.alice).get("/clinic/").status_code == 200


def test_default_follows_debug() -> None:
    import subprocess
    import sys

    code = "from django.conf import settings; print(settings.KRATOMWATCH_REQUIRE_2FA)"
    env_debug = {"KRATOMWATCH_DEBUG": "true", "DJANGO_SETTINGS_MODULE": "kratomwatch.settings"}
    env_prod = {**env_debug, "KRATOMWATCH_DEBUG": "false", "KRATOMWATCH_SECRET_KEY": "x" * 60}
    import os

    for env, expected in ((env_debug, "False"), (env_prod, "True")):
        full = {k: v for k, v in os.environ.items() if not k.startswith("KRATOMWATCH_") or k == "KRATOMWATCH_HOME"}
        out = subprocess.run(
            [sys.executable, "-c", "import django; django.setup(); " + code],
            env={**full, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip().splitlines()[-1] == expected


@pytest.mark.parametrize("who", ["alice", "admin", "staff"])
def test_required_roles_are_sent_to_enrolment(world: Any, require_2fa: Any, who: str) -> None:
    client = _client(getattr(world, who))
    for path in ("/", "/audit/", "/assessments/P-001/", "/account/tokens/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/account/2fa/setup/?next="), path


def test_patient_is_not_required(world: Any, require_2fa: Any) -> None:
    assert _client(world.carol).get("/me/").status_code == 200


def test_enrol_then_pages_open_and_next_login_asks_for_code(world: Any, require_2fa: Any) -> None:
    client = _client(world.alice)
    page = client.get("/account/2fa/setup/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "otpauth://totp/" in body
    assert 'src="data:image/svg+xml' in body
    device = TOTPDevice.objects.get(user=world.alice, confirmed=False)
    assert client.post("/account/2fa/setup/", {"otp_token": "000000"}).status_code == 400
    device.refresh_from_db()
    device.throttle_reset()  # django-otp delays the next try after a failure
    response = client.post("/account/2fa/setup/", {"otp_token": totp_now(device), "next": "/audit/"})
    assert response.status_code == 302 and response["Location"] == "/audit/"
    assert client.get("/clinic/").status_code == 200
    assert AuditEvent.objects.filter(action="auth.2fa.enrol", actor_label="alice").exists()

    fresh = _client(world.alice)  # a new session: password only, not yet verified
    response = fresh.get("/assessments/P-001/")
    assert response["Location"].startswith("/account/2fa/verify/")
    # With a device already enrolled, the set-up page cannot be used to add another one before verifying.
    assert fresh.get("/account/2fa/setup/")["Location"].startswith("/account/2fa/verify/")
    assert fresh.post("/account/2fa/verify/", {"otp_token": "123456"}).status_code == 400
    device.refresh_from_db()
    device.throttle_reset()
    device.last_t = -1
    device.save()
    response = fresh.post("/account/2fa/verify/", {"otp_token": totp_now(device), "next": "/assessments/P-001/"})
    assert response["Location"] == "/assessments/P-001/"
    assert fresh.get("/assessments/P-001/").status_code == 200
    assert AuditEvent.objects.filter(action="auth.2fa.verify_failed").exists()


def test_open_redirect_is_refused(world: Any, require_2fa: Any) -> None:
    client = _client(world.alice)
    device = TOTPDevice.objects.create(user=world.alice, name="x", confirmed=False)
    response = client.post("/account/2fa/setup/", {"otp_token": totp_now(device), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_api_tokens_are_unaffected_but_unverified_sessions_are_anonymous(world: Any, require_2fa: Any) -> None:
    token = Client().get("/api/v1/patients/P-001", HTTP_AUTHORIZATION=f"Bearer {world.tokens['alice']}")
    assert token.status_code == 200
    session = _client(world.alice).get("/api/v1/patients/P-001")
    assert session.status_code == 401
    assert Client().get("/api/v1/health").status_code == 200
