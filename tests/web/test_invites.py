"""Patient invitations: a one-time link or code (>= 128 random bits, stored only as a hash) that lets a newly
enrolled patient choose their own username and password; expiry, single use, revocation and the audit trail."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from kratomwatch.accounts import invites
from kratomwatch.accounts.models import PatientInvite, hash_token
from kratomwatch.audit.models import AuditEvent
from kratomwatch.records import actions
from kratomwatch.records.models import Patient

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-river-stone-7"


@pytest.fixture(autouse=True)
def _no_2fa(settings: Any) -> None:
    settings.KRATOMWATCH_REQUIRE_2FA = False


@pytest.fixture
def newcomer(world: Any, system: Any) -> Patient:
    return actions.create_patient(
        actor=system,
        program=world.program,
        code="P-050",
        birth_year=1990,
        sex="female",
        time_zone="America/New_York",
        jurisdiction="US-NY",
    )


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def issue(world: Any, code: str = "P-050") -> tuple[str, str]:
    """Create an invite on the page; returns (the link's path, the spoken code) shown once."""
    response = login(world.alice).post(f"/clinic/patients/{code}/invite/", {"action": "create"})
    assert response.status_code == 200
    html = response.content.decode()
    link = re.search(r'id="invite-link" href="https?://[^/]+(/invite/[^"]+/)"', html)
    spoken = re.search(r'<kbd id="invite-code">([^<]+)</kbd>', html)
    assert link and spoken, html
    assert response["Cache-Control"] == "no-store"
    return link.group(1), spoken.group(1)


def accept(path: str, username: str = "newpatient", password: str = PASSWORD, again: str | None = None) -> Any:
    data = {"username": username, "password": password, "password2": password if again is None else again}
    return Client().post(path, data)


def test_token_has_at_least_128_bits_and_only_its_hash_is_stored(world: Any, newcomer: Patient) -> None:
    assert invites.TOKEN_CHARS * math.log2(len(invites.ALPHABET)) >= 128
    path, spoken = issue(world)
    token = path.split("/")[2]
    assert len(token) == invites.TOKEN_CHARS
    invite = PatientInvite.objects.get(patient=newcomer)
    assert invite.digest == hash_token(token) and token not in invite.digest
    assert invite.expires_at - invite.created_at == dt.timedelta(days=7)
    assert spoken.replace("-", "") == token
    assert AuditEvent.objects.filter(action="patient.invite.create", patient_code="P-050").exists()


def test_full_cycle_the_patient_logs_in_and_sees_only_their_own_record(world: Any, newcomer: Patient) -> None:
    path, _ = issue(world)
    page = Client().get(path)
    assert page.status_code == 200 and "Create your login" in page.content.decode()
    done = accept(path)
    assert done.status_code == 200 and "Your login is ready" in done.content.decode()
    assert 'href="/login/?next=/me/"' in done.content.decode()
    newcomer.refresh_from_db()
    user = get_user_model().objects.get(username="newpatient")
    assert newcomer.user_id == user.pk
    assert PatientInvite.objects.get(patient=newcomer).used_at is not None
    assert AuditEvent.objects.filter(action="patient.invite.accept", patient_code="P-050").exists()
    assert AuditEvent.objects.filter(action="patient.login.link", patient_code="P-050").exists()
    client = Client()
    response = client.post("/login/", {"username": "newpatient", "password": PASSWORD, "next": "/me/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/me/"
    html = response.content.decode()
    assert "P-050" in html and "P-001" not in html
    assert client.get("/clinic/patients/P-001/").status_code == 403
    assert client.get("/me/p/P-001/").status_code == 404


def test_the_code_typed_with_dashes_and_lower_case_works(world: Any, newcomer: Patient) -> None:
    _, spoken = issue(world)
    typed = spoken.lower().replace("-", " ").replace("0", "o")
    response = Client().get("/invite/", {"code": typed})
    assert response.status_code == 302
    assert accept(response["Location"]).status_code == 200
    newcomer.refresh_from_db()
    assert newcomer.user_id is not None


def test_reuse_is_refused(world: Any, newcomer: Patient) -> None:
    path, _ = issue(world)
    assert accept(path).status_code == 200
    again = accept(path, username="someoneelse")
    assert again.status_code == 410 and "already been used" in again.content.decode()
    assert Client().get(path).status_code == 410
    assert not get_user_model().objects.filter(username="someoneelse").exists()


def test_expired_and_unknown_tokens_get_a_plain_page(world: Any, newcomer: Patient) -> None:
    path, _ = issue(world)
    PatientInvite.objects.filter(patient=newcomer).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    expired = accept(path)
    assert expired.status_code == 410 and "expired" in expired.content.decode()
    unknown = Client().get("/invite/" + "A" * 28 + "/")
    assert unknown.status_code == 404 and "not known" in unknown.content.decode()
    newcomer.refresh_from_db()
    assert newcomer.user_id is None


def test_a_weak_password_leaves_the_invite_usable(world: Any, newcomer: Patient) -> None:
    path, _ = issue(world)
    weak = accept(path, password="short")
    assert weak.status_code == 400 and 'id="e-password"' in weak.content.decode()
    mismatch = accept(path, again="a-different-password-9")
    assert mismatch.status_code == 400 and "not the same" in mismatch.content.decode()
    taken = accept(path, username="carol")
    assert taken.status_code == 400 and "username is taken" in taken.content.decode()
    assert PatientInvite.objects.get(patient=newcomer).used_at is None
    assert accept(path).status_code == 200
    assert PatientInvite.objects.get(patient=newcomer).used_at is not None


def test_revoke_and_a_new_invite_replaces_the_open_one(world: Any, newcomer: Patient) -> None:
    first, _ = issue(world)
    second, _ = issue(world)
    assert Client().get(first).status_code == 410
    response = login(world.alice).post("/clinic/patients/P-050/invite/", {"action": "revoke"})
    assert response.status_code == 302
    assert Client().get(second).status_code == 410
    assert AuditEvent.objects.filter(action="patient.invite.revoke", patient_code="P-050").exists()


def test_no_invite_for_a_patient_with_a_login_and_permissions(world: Any, newcomer: Patient) -> None:
    refused = login(world.alice).post("/clinic/patients/P-001/invite/", {"action": "create"})
    assert refused.status_code == 409 and "already has a login" in refused.content.decode()
    assert not PatientInvite.objects.filter(patient=world.patient).exists()
    assert login(world.bob).post("/clinic/patients/P-050/invite/", {"action": "create"}).status_code == 404
    assert login(world.carol).post("/clinic/patients/P-050/invite/", {"action": "create"}).status_code == 403
    assert not PatientInvite.objects.filter(patient=newcomer).exists()
