"""D15: a refused patient read (another program's code, or a code that does not exist) leaves one audit event,
the same for both, and the reader still gets the same 404 as for a code that does not exist."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections, transaction
from django.test import Client

from kratomwatch import access
from kratomwatch.audit.log import REFUSED_READ
from kratomwatch.audit.models import AuditEvent


def _request_finished() -> None:
    """Send Django's request_finished as a server does at the end of a request (without closing the test's
    database connection, as Django's test client does)."""
    request_finished.disconnect(close_old_connections)
    try:
        request_finished.send(sender=None)
    finally:
        request_finished.connect(close_old_connections)


def _refused() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=REFUSED_READ).order_by("id"))


def _api(world: Any, user: str, path: str) -> Any:
    return Client().get(f"/api/v1{path}", HTTP_AUTHORIZATION=f"Bearer {world.tokens[user]}")


def test_api_refused_read_is_audited_and_looks_like_a_missing_code(world: Any) -> None:
    foreign = _api(world, "alice", f"/patients/{world.foreign_patient.code}")
    missing = _api(world, "alice", "/patients/NOPE-404")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["error"]["code"] == missing.json()["error"]["code"]
    events = _refused()
    assert len(events) == 2
    for event, code in zip(events, (world.foreign_patient.code, "NOPE-404"), strict=True):
        assert event.actor_id == world.alice.pk and event.actor_label == "alice"
        assert event.patient_code == code and event.detail["requested_code"] == code
        assert event.program_id is None  # nothing about the other program is written down
        assert event.remote_addr == "127.0.0.1"
    assert {e.object_id for e in events} == {""}


def test_api_allowed_read_is_not_a_refusal(world: Any) -> None:
    assert _api(world, "alice", f"/patients/{world.patient.code}").status_code == 200
    assert _refused() == []


def test_api_patient_reading_another_record_is_audited(world: Any) -> None:
    assert _api(world, "carol", f"/patients/{world.foreign_patient.code}/doses").status_code == 404
    [event] = _refused()
    assert event.actor_label == "carol" and event.patient_code == world.foreign_patient.code


def test_web_refused_read_is_audited(world: Any) -> None:
    bob = Client()
    bob.force_login(world.bob)
    foreign = bob.get(f"/clinic/patients/{world.patient.code}/")
    missing = bob.get("/clinic/patients/NOPE-404/")
    assert foreign.status_code == missing.status_code == 404
    events = _refused()
    assert [(e.actor_label, e.patient_code) for e in events] == [("bob", world.patient.code), ("bob", "NOPE-404")]


def test_odd_codes_are_stored_safely(world: Any) -> None:
    code = "X\x00" + "y" * 300
    response = _api(world, "alice", "/patients/" + code.replace("\x00", "%00"))
    assert response.status_code in (404, 400)
    with pytest.raises(access.NotFound):
        access.get_patient_for(world.alice, code)
    event = _refused()[-1]
    assert "\x00" not in event.patient_code and len(event.patient_code) <= 64
    assert len(event.detail["requested_code"]) <= 200


def test_refusal_inside_a_rolled_back_transaction_is_written_when_the_request_ends(world: Any) -> None:
    with pytest.raises(access.NotFound), transaction.atomic():
        access.get_patient_for(world.alice, world.foreign_patient.code)
    assert _refused() == []  # rolled back with the request's transaction
    _request_finished()
    [event] = _refused()
    assert event.actor_label == "alice" and event.patient_code == world.foreign_patient.code
    assert event.detail["after_rollback"] is True
    _request_finished()
    assert len(_refused()) == 1  # written once


def test_refusal_inside_a_committed_transaction_is_not_written_twice(world: Any) -> None:
    with transaction.atomic(), contextlib.suppress(access.NotFound):
        access.get_patient_for(world.alice, "NOPE-1")
    _request_finished()
    assert len(_refused()) == 1
