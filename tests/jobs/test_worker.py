"""`kratomwatch worker` as the operator runs it: two worker processes race on one database.

Proves (the CI proof of the schedule and of the urgent email): each daily job, due at 00:00 in the schedule's zone,
is run by exactly one of the two workers; the urgent alert written just before is in KRATOMWATCH_HOME/mail/ within
a minute with no patient code or clinical text. Runs against a fresh SQLite file, or a fresh PostgreSQL database
when the suite runs on PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import new_database

SEED = Path(__file__).with_name("seed_worker_db.py")
KRATOMWATCH = Path(sys.executable).with_name("kratomwatch")


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    yield from new_database(tmp_path, "worker")


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return list(db.execute(sql).fetchall())
    import psycopg

    with psycopg.connect(url) as db:
        return list(db.execute(sql).fetchall())  # type: ignore[arg-type]


def test_two_workers_run_each_scheduled_job_once_and_the_urgent_email_arrives(
    tmp_path: Path, database_url: str
) -> None:
    env = {
        **os.environ,
        "KRATOMWATCH_HOME": str(tmp_path),
        "KRATOMWATCH_DEBUG": "1",  # a development key under KRATOMWATCH_HOME; the worker serves no page
        "DATABASE_URL": database_url,
        "KRATOMWATCH_SWEEP_AT": "00:00",
        "KRATOMWATCH_DIGEST_AT": "00:00",
        "KRATOMWATCH_REMINDERS_AT": "00:00",
        "KRATOMWATCH_SWEEP_ZONE": "UTC",
        "KRATOMWATCH_EMAIL_BACKEND": "",
        "KRATOMWATCH_EMAIL_HOST": "",
    }
    run = {"env": env, "capture_output": True, "text": True, "timeout": 300, "cwd": tmp_path}
    migrated = subprocess.run([str(KRATOMWATCH), "migrate"], **run, check=False)
    assert migrated.returncode == 0, migrated.stderr
    seeded = subprocess.run([sys.executable, str(SEED)], **run, check=False)
    assert seeded.returncode == 0, seeded.stderr
    alert_id = int(seeded.stdout.strip().splitlines()[-1])
    written = time.monotonic()

    workers = [
        subprocess.Popen(
            [str(KRATOMWATCH), "worker", "--burst", "--worker-id", name],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("worker-a", "worker-b")
    ]
    outputs = [w.communicate(timeout=240) for w in workers]
    for w, (out, err) in zip(workers, outputs, strict=True):
        assert w.returncode == 0, out + err

    mails = sorted((tmp_path / "mail").glob("*.log"))
    assert mails, "no mail file"
    assert time.monotonic() - written < 60
    text = "\n".join(m.read_text() for m in mails)
    assert "Subject: kratomwatch: urgent alert for a patient in Pain clinic" in text
    assert f"Alert id: {alert_id}" in text and "To: alice@clinic.example" in text
    assert "SEED-042" not in text and "seizure" not in text.lower()

    runs = query(database_url, "SELECT job, worker_id FROM jobs_scheduledrun ORDER BY job")
    assert [job for job, _ in runs] == ["alert-digest", "questionnaire-reminders", "registry-sweep"]
    tasks = query(
        database_url,
        "SELECT task_path, status FROM django_tasks_database_dbtaskresult WHERE task_path LIKE 'kratomwatch.jobs.%'",
    )
    assert sorted(tasks) == [
        ("kratomwatch.jobs.tasks.alert_digest", "SUCCESSFUL"),
        ("kratomwatch.jobs.tasks.questionnaire_reminders", "SUCCESSFUL"),
        ("kratomwatch.jobs.tasks.registry_sweep", "SUCCESSFUL"),
    ]
    assert query(database_url, "SELECT count(*) FROM audit_auditevent WHERE action = 'alert.sweep'") == [(1,)]
    sent = query(database_url, "SELECT status, attempts FROM notifications_notification WHERE alert_id IS NOT NULL")
    assert sent == [("sent", 1)]
    # Each worker says what it scheduled; together, each job once.
    said = " ".join(out for out, _ in outputs)
    for job in ("registry-sweep", "alert-digest", "questionnaire-reminders"):
        assert said.count(f"{job}@") == 1, said

    # A third worker the same day schedules nothing more.
    again = subprocess.run([str(KRATOMWATCH), "worker", "--once"], **run, check=False)
    assert again.returncode == 0 and "scheduled nothing" in again.stdout, again.stdout + again.stderr
    assert len(query(database_url, "SELECT id FROM jobs_scheduledrun")) == 3
