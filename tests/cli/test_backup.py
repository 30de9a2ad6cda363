"""``kratomwatch backup`` / ``restore``: a round trip leaves every table identical (row counts and a checksum of
the ordered rows) and the audit trail verifying; bad input is one plain line and exit code 1.

Runs on the database of the suite: SQLite files, or two fresh PostgreSQL databases next to the test database.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import new_database

SEED = Path(__file__).parents[1] / "jobs" / "seed_worker_db.py"
KRATOMWATCH = Path(sys.executable).with_name("kratomwatch")


@pytest.fixture
def source_url(tmp_path: Path) -> Iterator[str]:
    yield from new_database(tmp_path, "backup_src")


@pytest.fixture
def target_url(tmp_path: Path) -> Iterator[str]:
    yield from new_database(tmp_path, "backup_dst")


def _env(tmp_path: Path, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "KRATOMWATCH_HOME": str(tmp_path),
        "KRATOMWATCH_DEBUG": "1",
        "DATABASE_URL": url,
        "KRATOMWATCH_AUDIT_KEY": "backup-test-key-" + "b" * 40,
        "KRATOMWATCH_AUDIT_ANCHOR_FILE": str(tmp_path / "anchors.jsonl"),
        "KRATOMWATCH_AUDIT_CHECKPOINT_EVERY": "5",
        "KRATOMWATCH_EMAIL_BACKEND": "",
        "KRATOMWATCH_EMAIL_HOST": "",
    }


def _run(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(SEED)] if args == ("seed",) else [str(KRATOMWATCH), *args]
    return subprocess.run(
        cmd, env=_env(tmp_path, url), capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False
    )


def _snapshot(url: str) -> dict[str, tuple[int, str]]:
    """Every table: (row count, SHA-256 of its rows in order)."""
    if url.startswith("sqlite:///"):
        import sqlite3

        db: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
        names = [
            r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        ]
    else:
        import psycopg

        db = psycopg.connect(url)
        names = [r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    out = {}
    try:
        for name in sorted(names):
            rows = sorted(repr(tuple(r)) for r in db.execute(f'SELECT * FROM "{name}"').fetchall())
            out[name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    finally:
        db.close()
    return out


def _one_plain_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    text = (done.stdout + done.stderr).strip()
    assert "Traceback" not in text
    assert len(text.splitlines()) == 1, text
    return text


def test_round_trip_keeps_every_table_and_the_audit_trail(tmp_path: Path, source_url: str, target_url: str) -> None:
    for step in (("migrate",), ("seed",), ("audit", "checkpoint")):
        done = _run(tmp_path, source_url, *step)
        assert done.returncode == 0, (step, done.stdout, done.stderr)
    backup = tmp_path / "kratomwatch.backup"
    done = _run(tmp_path, source_url, "backup", "--out", str(backup))
    assert done.returncode == 0, done.stderr
    assert "backup written" in done.stdout and backup.stat().st_size > 0
    before = _snapshot(source_url)
    assert before["audit_auditevent"][0] >= 5 and before["audit_auditcheckpoint"][0] >= 2
    assert before["records_patient"][0] == 1 and before["alerts_alert"][0] >= 1

    done = _run(tmp_path, target_url, "restore", str(backup), "--yes")
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "audit verify" in done.stdout and "OK" in done.stdout
    after = _snapshot(target_url)
    assert after == before
    verified = _run(tmp_path, target_url, "audit", "verify")
    assert verified.returncode == 0, verified.stdout
    assert "events checked: OK" in verified.stdout

    # a second restore into the now full database is refused, naming it, and changes nothing
    again = _one_plain_line(_run(tmp_path, target_url, "restore", str(backup), "--yes"))
    assert "is not empty" in again and target_url.rsplit("/", 1)[-1] in again
    assert _snapshot(target_url) == before

    # the backup never overwrites a file
    exists = _one_plain_line(_run(tmp_path, source_url, "backup", "--out", str(backup)))
    assert "already exists" in exists


def test_restore_refuses_bad_input(tmp_path: Path, target_url: str) -> None:
    missing = _one_plain_line(_run(tmp_path, target_url, "restore", str(tmp_path / "nope.backup"), "--yes"))
    assert "does not exist" in missing
    junk = tmp_path / "notes.txt"
    junk.write_text("not a backup\n")
    wrong = _one_plain_line(_run(tmp_path, target_url, "restore", str(junk), "--yes"))
    assert "is not a kratomwatch backup" in wrong
    other = tmp_path / "other.backup"
    other.write_bytes(b"PGDMP" + b"\0" * 64 if target_url.startswith("sqlite") else b"SQLite format 3\x00" + b"\0" * 84)
    mismatch = _one_plain_line(_run(tmp_path, target_url, "restore", str(other), "--yes"))
    assert "backup but the configured database is" in mismatch
    # nothing was created in the target
    if target_url.startswith("sqlite:///"):
        assert not Path(target_url.removeprefix("sqlite:///")).exists()
    else:
        assert _snapshot(target_url) == {}


def test_backup_before_migrate_is_a_plain_line(tmp_path: Path, source_url: str) -> None:
    done = _run(tmp_path, source_url, "backup", "--out", str(tmp_path / "b.backup"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "migrate" in done.stderr
