"""/account/tokens/: list, create (shown once), revoke own tokens only; every change audited."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from kratomwatch.accounts.models import ApiToken
from kratomwatch.audit.models import AuditEvent


def test_create_show_once_use_and_revoke(world: Any) -> None:
    client = Client()
    client.force_login(world.carol)
    page = client.get("/account/tokens/")
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    response = client.post("/account/tokens/", {"name": "my phone"}, follow=True)  # post-redirect-get
    assert response.redirect_chain == [("/account/tokens/", 302)]
    raw = re.search(r'id="new-token">(kw_[^<]+)<', response.content.decode()).group(1)
    assert raw not in client.get("/account/tokens/").content.decode()  # shown once
    api = Client()
    assert api.get("/api/v1/patients/P-001", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    token = ApiToken.objects.get(user=world.carol, name="my phone")
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 302
    assert api.get("/api/v1/patients/P-001", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    actions = set(AuditEvent.objects.filter(actor_label="carol").values_list("action", flat=True))
    assert {"token.create", "token.revoke"} <= actions


def test_cannot_see_or_revoke_someone_elses_token(world: Any) -> None:
    client = Client()
    client.force_login(world.bob)
    alice_token = ApiToken.objects.get(user=world.alice)
    assert alice_token.prefix not in client.get("/account/tokens/").content.decode()
    assert client.post(f"/account/tokens/{alice_token.pk}/revoke/").status_code == 404
    assert client.get(f"/account/tokens/{alice_token.pk}/revoke/").status_code == 405
    alice_token.refresh_from_db()
    assert alice_token.revoked_at is None


def test_name_is_required_and_anonymous_is_sent_to_login(world: Any) -> None:
    client = Client()
    assert client.get("/account/tokens/")["Location"].startswith("/login/")
    client.force_login(world.alice)
    assert client.post("/account/tokens/", {"name": "  "}).status_code == 400
