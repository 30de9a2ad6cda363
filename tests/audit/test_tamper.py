"""D7: every tampering case of the security review (T1-T9) is detected by ``kratomwatch audit verify``.

The database refuses UPDATE/DELETE (and TRUNCATE) of audit rows; cases that need it drop the triggers inside the
test (``guard.triggers_removed``), as an attacker with schema rights would. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from typer.testing import CliRunner

from kratomwatch.audit import checkpoints, guard
from kratomwatch.audit.log import verify
from kratomwatch.audit.models import AuditCheckpoint, AuditEvent
from kratomwatch.cli import audit as cli_audit

runner = CliRunner()


def _cli(*args: str) -> Any:
    app = typer.Typer()
    app.command("noop")(lambda: None)
    cli_audit.register(app)
    return runner.invoke(app, ["audit", *args])


def _middle() -> AuditEvent:
    events = list(AuditEvent.objects.order_by("id"))
    return events[len(events) // 2]


def test_control_untampered_trail_verifies(trail: Any, audit_env: Path) -> None:
    report = verify()
    assert report.ok, report.problems
    assert report.events == AuditEvent.objects.count() > 30
    assert report.checkpoints >= 3  # every 10 events, plus the explicit one
    assert 4 <= report.anchors <= report.checkpoints  # the world's own checkpoints were never committed
    lines = [json.loads(x) for x in audit_env.read_text().splitlines()]
    assert lines[-1]["last_event_id"] == AuditEvent.objects.order_by("-id").first().id  # type: ignore[union-attr]
    result = _cli("verify")
    assert result.exit_code == 0, result.output
    assert "events checked: OK" in result.output


@pytest.mark.django_db
def test_triggers_are_installed() -> None:
    assert guard.installed() == 4


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("T1 action", {"action": "tampered"}),
        ("T2 patient code", {"patient_code": "KW-999"}),
        ("T3 time", {"at": F("at") + dt.timedelta(seconds=1)}),
        ("label", {"actor_label": "someone-else"}),
        ("detail", {"detail": {"i": -1}}),
    ],
)
def test_edited_field_is_detected(trail: Any, case: str, change: dict[str, Any]) -> None:
    victim = _middle()
    with guard.triggers_removed():
        assert AuditEvent.objects.filter(pk=victim.pk).update(**change) == 1
    report = verify()
    assert not report.ok, case
    assert report.first_bad_id == victim.pk
    assert "does not match its hash" in report.problems[0]
    result = _cli("verify")
    assert result.exit_code == 1
    assert f"BROKEN at event id {victim.pk}" in result.output


def test_t4_actor_id_changed_is_detected(trail: Any) -> None:
    victim = AuditEvent.objects.filter(actor=trail.alice).order_by("id").last()
    assert victim is not None
    with guard.triggers_removed():
        AuditEvent.objects.filter(pk=victim.pk).update(actor=trail.bob)  # the label still says alice
    report = verify()
    assert not report.ok
    assert report.first_bad_id == victim.pk


def test_t4_downgrading_the_hash_version_is_detected(trail: Any) -> None:
    victim = _middle()
    with guard.triggers_removed():
        AuditEvent.objects.filter(pk=victim.pk).update(hash_version=1, actor=trail.staff)
    report = verify()
    assert not report.ok and report.first_bad_id == victim.pk


def test_t5_deleted_middle_event_is_detected(trail: Any) -> None:
    victim = _middle()
    with guard.triggers_removed():
        AuditEvent.objects.filter(pk=victim.pk).delete()
    report = verify()
    assert not report.ok
    assert any("does not follow" in p for p in report.problems)


def test_t6_deleted_tail_is_detected(trail: Any) -> None:
    last_ids = list(AuditEvent.objects.order_by("-id").values_list("id", flat=True)[:25])
    with guard.triggers_removed():
        AuditEvent.objects.filter(id__in=last_ids).delete()
    report = verify()
    assert not report.ok
    assert report.problems[0].startswith("the trail is shorter than")
    result = _cli("verify")
    assert result.exit_code == 1
    assert "BROKEN" in result.output and "shorter" in result.output


def test_t7_wiped_table_is_detected(trail: Any) -> None:
    with guard.triggers_removed():
        AuditEvent.objects.all().delete()
    report = verify()
    assert report.events == 0 and not report.ok
    assert "the table has 0 events" in report.problems[0]


def test_t7_wiped_table_and_checkpoints_is_detected_by_the_anchor_file(trail: Any) -> None:
    with guard.triggers_removed():
        AuditCheckpoint.objects.all().delete()
        AuditEvent.objects.all().delete()
    report = verify()
    assert not report.ok
    assert "anchor line" in report.problems[0] and "the table has 0 events" in report.problems[0]


def _rehash_from(start_id: int) -> None:
    """What an attacker with write access does after an edit: recompute every later hash and prev_hash."""
    prev = AuditEvent.objects.filter(id__lt=start_id).order_by("-id").values_list("hash", flat=True).first()
    for event in AuditEvent.objects.filter(id__gte=start_id).order_by("id"):
        event.prev_hash = prev or checkpoints.GENESIS
        new = event.compute_hash()
        AuditEvent.objects.filter(pk=event.pk).update(prev_hash=event.prev_hash, hash=new)
        prev = new


def test_t8_recomputed_chain_is_detected(trail: Any) -> None:
    victim = _middle()
    with guard.triggers_removed():
        AuditEvent.objects.filter(pk=victim.pk).update(action="tampered", actor=trail.staff)
        _rehash_from(victim.pk)
    from kratomwatch.audit.log import verify_chain

    assert verify_chain().ok  # the chain alone is fooled, as the review found
    report = verify()
    assert not report.ok
    assert "no longer has the hash" in report.problems[0]


def test_t8_recomputed_chain_with_forged_checkpoints_is_detected(trail: Any) -> None:
    """The attacker also rewrites the checkpoints, but cannot sign them without the key."""
    victim = _middle()
    with guard.triggers_removed():
        AuditEvent.objects.filter(pk=victim.pk).update(action="tampered")
        _rehash_from(victim.pk)
        head = AuditEvent.objects.order_by("-id").first()
        assert head is not None
        AuditCheckpoint.objects.all().delete()
        forged = AuditCheckpoint(
            created_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
            last_event_id=head.id,
            event_count=AuditEvent.objects.count(),
            head_hash=head.hash,
            key_id=checkpoints.key_id(checkpoints.audit_key()),
            signature="0" * 64,
        )
        forged.save()
    report = verify()
    assert not report.ok
    text = "\n".join(report.problems)
    assert "invalid signature" in text
    assert "no longer has the hash" in text  # the anchor file still holds the true heads


def test_altered_anchor_line_is_detected(trail: Any, audit_env: Path) -> None:
    lines = audit_env.read_text().splitlines()
    d = json.loads(lines[-1])
    d["event_count"] += 5
    lines[-1] = json.dumps(d)
    audit_env.write_text("\n".join(lines) + "\n")
    report = verify()
    assert not report.ok and "invalid signature" in report.problems[0]


def test_checkpoint_signed_with_another_key_is_named(trail: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRATOMWATCH_AUDIT_KEY", "another-key-" + "z" * 40)
    report = verify()
    assert not report.ok and "signed with another key" in report.problems[0]


def test_missing_key_in_production_is_a_plain_problem(trail: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KRATOMWATCH_AUDIT_KEY")
    monkeypatch.setenv("KRATOMWATCH_DEBUG", "0")
    report = verify()
    assert not report.ok and "KRATOMWATCH_AUDIT_KEY must be set" in report.problems[0]
    result = _cli("checkpoint")
    assert result.exit_code == 1 and "KRATOMWATCH_AUDIT_KEY must be set" in result.output


def test_t9_orm_and_sql_changes_are_refused_by_the_database(trail: Any) -> None:
    victim = _middle()
    with pytest.raises(RuntimeError):
        victim.save()
    with pytest.raises(RuntimeError):
        victim.delete()
    attempts = [
        lambda: AuditEvent.objects.filter(pk=victim.pk).update(action="x"),
        lambda: AuditEvent.objects.filter(pk=victim.pk).delete(),
        lambda: AuditEvent.objects.all().delete(),
        lambda: AuditCheckpoint.objects.all().update(event_count=0),
        lambda: AuditCheckpoint.objects.all().delete(),
    ]
    with connection.cursor() as cur:
        attempts.append(lambda: cur.execute("UPDATE audit_auditevent SET actor_id = NULL"))
        attempts.append(lambda: cur.execute("DELETE FROM audit_auditevent"))
        if connection.vendor == "postgresql":
            # (the deferred foreign-key checks of this test's own inserts are settled first)
            attempts.append(lambda: cur.execute("SET CONSTRAINTS ALL IMMEDIATE; TRUNCATE audit_auditevent"))
            attempts.append(lambda: cur.execute("SET CONSTRAINTS ALL IMMEDIATE; TRUNCATE audit_auditcheckpoint"))
        for attempt in attempts:
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                attempt()
    report = verify()
    assert report.ok, report.problems


def test_checkpoints_every_n_events_and_count(trail: Any) -> None:
    cps = list(AuditCheckpoint.objects.order_by("id"))
    for a, b in itertools.pairwise(cps):
        assert b.last_event_id > a.last_event_id
    last = cps[-1]
    assert last.event_count == AuditEvent.objects.filter(id__lte=last.last_event_id).count()


def _legacy_event(n: int) -> AuditEvent:
    """An event as written before hash version 2 (its hash does not cover the actor's user id)."""
    prev = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or checkpoints.GENESIS
    event = AuditEvent(
        at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        actor_label="legacy",
        action="legacy.event",
        object_type="thing",
        object_id=str(n),
        detail={},
        prev_hash=prev,
        hash_version=1,
    )
    event.hash = event.compute_hash()
    event.save()
    return event


@pytest.mark.django_db
def test_an_upgraded_trail_with_legacy_events_verifies(system: Any) -> None:
    from kratomwatch.audit.log import record

    for n in range(3):
        _legacy_event(n)
    record(system, "test.event", object_type="thing")
    assert verify().ok


@pytest.mark.django_db
def test_a_legacy_event_after_a_new_one_is_flagged(system: Any) -> None:
    from kratomwatch.audit.log import record

    record(system, "test.event", object_type="thing")
    bad = _legacy_event(9)
    report = verify()
    assert not report.ok and report.first_bad_id == bad.id
    assert "hash version went back" in report.problems[0]
