"""The database itself refuses to change or remove audit rows (migration 0003 installs these triggers).

PostgreSQL: a BEFORE UPDATE OR DELETE row trigger and a BEFORE TRUNCATE statement trigger on the event and
checkpoint tables raise an error. SQLite: BEFORE UPDATE and BEFORE DELETE triggers ``RAISE(ABORT, ...)`` (SQLite
has no TRUNCATE). So ``QuerySet.update()``/``.delete()``, raw SQL and a stray ``flush`` all fail.

Only someone with the right to change the schema (drop a trigger) gets past this; the signed checkpoints and the
anchor file (``audit/checkpoints.py``) catch what they do next.

``triggers_removed()`` drops and re-creates the triggers inside one transaction; Django's test harness uses it
(through :func:`allow_test_flush`) to empty a test database between transactional tests, and the tamper tests use
it to play an attacker with schema rights.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections, transaction
from django.db.backends.base.operations import BaseDatabaseOperations
from django.test import utils as test_utils

TABLES = ("audit_auditevent", "audit_auditcheckpoint")
MESSAGE = "the audit trail is append-only"

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION kratomwatch_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}: % on % refused', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def create_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        sql = [_PG_FUNCTION]
        for t in TABLES:
            sql.append(
                f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
                "FOR EACH ROW EXECUTE FUNCTION kratomwatch_audit_append_only()"
            )
            sql.append(
                f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} "
                "FOR EACH STATEMENT EXECUTE FUNCTION kratomwatch_audit_append_only()"
            )
        return sql
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER {t}_no_{op.lower()} BEFORE {op} ON {t} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: {op} on {t} refused'); END"
            for t in TABLES
            for op in ("UPDATE", "DELETE")
        ]
    return []


def drop_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {t}_{suffix} ON {t}" for t in TABLES for suffix in ("append_only", "no_truncate")
        ]
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {t}_no_{op}" for t in TABLES for op in ("update", "delete")]
    return []


def installed(using: str = "default") -> int:
    """How many append-only triggers the database has (4 on both vendors when installed)."""
    conn = connections[using]
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            cur.execute("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE %s", ["audit_audit%"])
        else:
            cur.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit_audit%'")
        row = cur.fetchone()
    return int(row[0]) if row else 0


@contextmanager
def triggers_removed(using: str = "default") -> Iterator[None]:
    """Drop the triggers for the block and put them back (one transaction; an error rolls both back)."""
    conn = connections[using]
    with transaction.atomic(using=using):
        with conn.cursor() as cur:
            for sql in drop_sql(conn.vendor):
                cur.execute(sql)
        yield
        with conn.cursor() as cur:
            for sql in create_sql(conn.vendor):
                cur.execute(sql)


def _under_test_harness() -> bool:
    return hasattr(test_utils._TestState, "saved_data")


def allow_test_flush() -> None:
    """Let Django's test harness empty a *test* database between transactional tests (its ``flush``).

    Outside ``setup_test_environment`` (a real server, ``manage.py flush`` in production) the triggers stay and
    the flush fails, so nobody wipes the trail by accident.
    """
    original = BaseDatabaseOperations.execute_sql_flush
    if getattr(original, "_kratomwatch_audit", False):
        return

    def execute_sql_flush(self: Any, sql_list: Iterable[str]) -> None:
        vendor = self.connection.vendor
        statements = list(sql_list)
        if _under_test_harness() and any(t in sql for sql in statements for t in TABLES):
            statements = [*drop_sql(vendor), *statements, *create_sql(vendor)]
        original(self, statements)

    execute_sql_flush._kratomwatch_audit = True  # type: ignore[attr-defined]
    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]
