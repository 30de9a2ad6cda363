"""The checkpoints in operation: the worker's daily sweep takes one, and outside the test harness the database
refuses a ``flush`` of the audit tables (only Django's test runner may empty a test database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from kratomwatch.audit.models import AuditCheckpoint, AuditEvent
from kratomwatch.jobs import scheduler

KRATOMWATCH = Path(sys.executable).with_name("kratomwatch")


def test_the_daily_sweep_takes_a_signed_checkpoint(world: Any, django_capture_on_commit_callbacks: Any) -> None:
    before = AuditCheckpoint.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        result = scheduler.run_now("registry-sweep")
    checkpoint = AuditCheckpoint.objects.order_by("-id").first()
    assert checkpoint is not None and AuditCheckpoint.objects.count() == before + 1
    assert result["audit_checkpoint"] == checkpoint.id
    assert checkpoint.last_event_id == AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()


def test_a_production_flush_is_refused_by_the_database(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "KRATOMWATCH_HOME": str(tmp_path),
        "KRATOMWATCH_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kw.sqlite3'}",
        "KRATOMWATCH_AUDIT_KEY": "flush-test-key-" + "f" * 40,
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False
        )

    assert run(str(KRATOMWATCH), "migrate").returncode == 0
    seeded = run(str(KRATOMWATCH), "audit", "checkpoint")
    assert seeded.returncode == 0, seeded.stderr
    flush = run(sys.executable, "-m", "kratomwatch.manage", "flush", "--noinput")
    assert flush.returncode != 0
    assert "couldn't be flushed" in flush.stderr  # the trigger refused the DELETE (Django words it so)
    verified = run(str(KRATOMWATCH), "audit", "verify")
    assert verified.returncode == 0, verified.stdout
    assert "OK (1 checkpoints, 1 anchors)" in verified.stdout
