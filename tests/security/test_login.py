"""Login throttling (django-axes), sign-in auditing, and the client address on audited web reads."""

from __future__ import annotations

from typing import Any

from django.test import Client

from kratomwatch.audit.models import AuditEvent

PASSWORD = "correct-horse-battery-9"


def test_sixth_attempt_after_five_failures_is_refused_even_with_the_right_password(world: Any) -> None:
    client = Client()
    for _ in range(5):
        response = client.post("/login/", {"username": "alice", "password": "wrong-password-x"})
        assert response.status_code in (200, 429)
        assert "_auth_user_id" not in client.session
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert "Too many failed" in response.content.decode()
    assert AuditEvent.objects.filter(action__startswith="auth.login_", detail__username="alice").count() >= 5


def test_a_few_failures_then_the_right_password_logs_in_and_is_audited(world: Any) -> None:
    client = Client()
    for _ in range(3):
        client.post("/login/", {"username": "alice", "password": "wrong-password-x"})
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(world.alice.pk)
    event = AuditEvent.objects.filter(action="auth.login").latest("id")
    assert event.actor_label == "alice"
    assert event.remote_addr == "127.0.0.1"


def test_lockout_is_per_username_and_address(world: Any) -> None:
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(6):
        attacker.post("/login/", {"username": "alice", "password": "wrong-password-x"})
    assert attacker.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 429
    office = Client(REMOTE_ADDR="198.51.100.7")
    assert office.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302


def test_web_reads_record_the_remote_address(world: Any) -> None:
    client = Client(REMOTE_ADDR="192.0.2.44")
    client.force_login(world.alice)
    assert client.get("/assessments/P-001/").status_code == 200
    event = AuditEvent.objects.filter(action__startswith="patient.read").latest("id")
    assert event.patient_code == "P-001"
    assert event.remote_addr == "192.0.2.44"
    listing = Client(REMOTE_ADDR="2001:db8::1")
    listing.force_login(world.alice)
    assert listing.get("/clinic/").status_code == 200
    assert AuditEvent.objects.filter(action="list.clinic_dashboard").latest("id").remote_addr == "2001:db8::1"


def test_actor_outside_a_request_has_no_address(world: Any) -> None:
    from kratomwatch.audit.log import Actor, remote_addr_context

    assert Actor.of(world.alice).remote_addr is None
    with remote_addr_context("not-an-ip"):
        assert Actor.of(world.alice).remote_addr is None
    with remote_addr_context("10.0.0.1"):
        assert Actor.of(world.alice).remote_addr == "10.0.0.1"
        assert Actor.of(world.alice, "10.0.0.2").remote_addr == "10.0.0.2"


def test_production_settings_hash_passwords_with_argon2_while_tests_use_a_fast_hasher() -> None:
    """The suite's MD5 hasher (tests/conftest.py) must never leak into the production settings module."""
    from django.conf import settings as live
    from django.contrib.auth.hashers import make_password

    from kratomwatch import settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert live.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]
    assert make_password("correct-horse-battery-9").startswith("md5$")
