"""The audit CLI (verify, list) and the /audit/ page (staff: all; program admins: their programs; audited)."""

from __future__ import annotations

import json
from typing import Any

import typer
from django.test import Client
from typer.testing import CliRunner

from kratomwatch.audit.guard import triggers_removed
from kratomwatch.audit.models import AuditEvent
from kratomwatch.cli import audit as cli_audit

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("noop")(lambda: None)
    cli_audit.register(app)
    return app


def test_verify_ok_then_broken(world: Any) -> None:
    result = runner.invoke(_app(), ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "events checked: OK" in result.output
    victim = AuditEvent.objects.order_by("id")[3]
    with triggers_removed():  # the database refuses the edit; play someone who can drop its triggers
        AuditEvent.objects.filter(pk=victim.pk).update(action="tampered")
    result = runner.invoke(_app(), ["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at event id {victim.pk}" in result.output


def test_list_filters_and_json(world: Any) -> None:
    alice = Client()
    alice.force_login(world.alice)
    alice.get("/assessments/P-001/")
    result = runner.invoke(_app(), ["audit", "list", "--patient", "P-001", "--actor", "alice", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows and all(r["patient_code"] == "P-001" and r["actor"] == "alice" for r in rows)
    assert runner.invoke(_app(), ["audit", "list", "--since", "2000-01-01"]).exit_code == 0
    assert json.loads(runner.invoke(_app(), ["audit", "list", "--since", "2999-01-01", "--json"]).output) == []
    bad = runner.invoke(_app(), ["audit", "list", "--since", "yesterday"])
    assert bad.exit_code == 2


def test_audit_page_permissions_scoping_and_self_audit(world: Any) -> None:
    bob = Client()
    bob.force_login(world.bob)
    bob.get("/api/v1/patients/Q-001")  # a read in the other program
    for user in (world.alice, world.bob, world.carol):
        client = Client()
        client.force_login(user)
        assert client.get("/audit/").status_code == 403
    assert Client().get("/audit/")["Location"].startswith("/login/")

    staff = Client()
    staff.force_login(world.staff)
    page = staff.get("/audit/", {"patient": "Q-001"})
    assert page.status_code == 200 and "Q-001" in page.content.decode()

    pa = Client()
    pa.force_login(world.admin)
    alice = Client()
    alice.force_login(world.alice)
    alice.get("/assessments/P-001/")
    page = pa.get("/audit/", {"actor": "alice", "action": "patient.read"})
    body = page.content.decode()
    assert page.status_code == 200 and "P-001" in body
    assert "Q-001" not in pa.get("/audit/", {"patient": "Q-001"}).content.decode().split("<tbody>")[1]
    assert pa.get("/audit/", {"since": "garbage"}).status_code == 400
    assert pa.get("/audit/", {"since": "2000-01-01", "until": "2999-12-31", "page": "2"}).status_code == 200
    reads = AuditEvent.objects.filter(action="audit.read", actor_label="pa")
    assert reads.count() == 4
    assert reads.first().detail["filters"] == {"actor": "alice", "action": "patient.read"}


def test_pagination(world: Any, system: Any) -> None:
    from kratomwatch.audit.log import record

    for i in range(120):
        record(system, "test.bulk", object_type="x", object_id=i)
    staff = Client()
    staff.force_login(world.staff)
    body = staff.get("/audit/", {"action": "test.bulk"}).content.decode()
    assert "Page 1 of 3" in body and "page=2" in body
    assert "Page 3 of 3" in staff.get("/audit/", {"action": "test.bulk", "page": "3"}).content.decode()
