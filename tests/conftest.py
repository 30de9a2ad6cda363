"""Shared fixtures: personas (alice the clinician, bob the other clinic's clinician, carol the patient),
a program with a small catalogue, and helpers. Runs on SQLite, or PostgreSQL when DATABASE_URL is set."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest

os.environ.setdefault("KRATOMWATCH_HOME", os.path.join(os.path.dirname(__file__), "..", "var", "test-home"))


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hasher() -> Any:
    """Tests hash with MD5: Argon2 costs about 0.6 s a hash here and every ``world`` makes five users.

    Production keeps Argon2 (``kratomwatch.settings``; ``tests/security/test_login.py`` checks it).
    """
    from django.test.utils import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def system() -> Any:
    from kratomwatch.audit.log import Actor

    return Actor.system("test")


class _WorldRows:
    """The rows the ``world`` fixture adds, kept so that later tests get them back by a few INSERTs.

    ``world`` is built for real in the first test that asks for it, per ``_world_key`` (and again when this copy is
    older than ``MAX_AGE`` or from another calendar day in UTC or in a world patient's zone, since its rows are
    dated from the clock). Its new rows are read back as SQL literals: ``quote()`` on SQLite, the row's text form on
    PostgreSQL, which parses back into the same row. Later tests insert them, unchanged (same ids, same audit chain),
    inside their own transaction, which is rolled back as before; they get a deep copy of the Python objects the build
    returned.
    A test whose own data would collide with these rows, or that runs outside a transaction, gets a fresh build.
    """

    MAX_AGE = dt.timedelta(minutes=10)
    ZONES = ("UTC", "America/Chicago", "Europe/London")

    def __init__(self, world: Any, rows: dict[str, list[str]], built_at: dt.datetime) -> None:
        self.world = world
        self.rows = rows
        self.built_at = built_at
        self.days = self._days(built_at)

    @classmethod
    def _days(cls, now: dt.datetime) -> tuple[dt.date, ...]:
        from zoneinfo import ZoneInfo

        return tuple(now.astimezone(ZoneInfo(zone)).date() for zone in cls.ZONES)

    def fresh(self, now: dt.datetime) -> bool:
        return now - self.built_at < self.MAX_AGE and self._days(now) == self.days

    @staticmethod
    def table_rows(connection: Any) -> dict[str, list[str]]:
        """Every row of every table, each as one SQL-literal string (column order as in the table)."""
        quote = connection.ops.quote_name
        tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
        out: dict[str, list[str]] = {}
        with connection.cursor() as cursor:
            for table in tables:
                if connection.vendor == "postgresql":
                    cursor.execute(f"SELECT t::text FROM {quote(table)} AS t")
                else:
                    cursor.execute(f"SELECT * FROM {quote(table)} LIMIT 0")
                    columns = " || ',' || ".join(f"quote({quote(c[0])})" for c in cursor.description)
                    cursor.execute(f"SELECT {columns} FROM {quote(table)}")
                out[table] = [row[0] for row in cursor.fetchall()]
        return out

    @classmethod
    def added(cls, before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, list[str]] | None:
        """The rows in ``after`` that ``before`` lacks, or None if a row of ``before`` changed or went away."""
        rows: dict[str, list[str]] = {}
        for table, now_rows in after.items():
            old = set(before.get(table, ()))
            if not old <= set(now_rows):
                return None
            new = [row for row in now_rows if row not in old]
            if new:
                rows[table] = new
        return rows

    def insert(self, connection: Any) -> bool:
        """Insert the rows in a savepoint; False (and nothing inserted) if they collide with the test's own."""
        from django.db import IntegrityError, transaction

        quote = connection.ops.quote_name
        try:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                for table, rows in self.rows.items():
                    if connection.vendor == "postgresql":
                        cursor.execute(
                            f"INSERT INTO {quote(table)} SELECT (r::{quote(table)}).* FROM unnest(%s::text[]) AS r",
                            [rows],
                        )
                    else:
                        for start in range(0, len(rows), 200):
                            values = ", ".join(f"({row})" for row in rows[start : start + 200])
                            cursor.execute(f"INSERT INTO {quote(table)} VALUES {values}")
        except IntegrityError:
            return False
        return True


_world_rows: dict[str, _WorldRows] = {}


@pytest.fixture
def world(db: Any, system: Any) -> Any:
    """The personas, programs and catalogue above, in the test's own transaction (see ``_WorldRows``)."""
    import copy

    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    key = _world_key(connection)
    if not connection.in_atomic_block:
        return _build_world(system)
    saved = _world_rows.get(key)
    if saved is not None and saved.fresh(now) and saved.insert(connection):
        return copy.deepcopy(saved.world)
    before = _WorldRows.table_rows(connection)
    w = _build_world(system)
    rows = _WorldRows.added(before, _WorldRows.table_rows(connection))
    if rows is not None and (saved is None or not saved.fresh(now)):
        _world_rows[key] = _WorldRows(copy.deepcopy(w), rows, now)
    return w


def pytest_runtest_setup(item: Any) -> None:
    """A transactional test empties the database when it ends (pytest-django's flush), rows the saved world may
    point at included: the next ``world`` is built afresh."""
    marker = item.get_closest_marker("django_db")
    fixtures = set(getattr(item, "fixturenames", ()))
    if fixtures & {"transactional_db", "live_server"} or (marker is not None and marker.kwargs.get("transaction")):
        _world_rows.clear()


def _world_key(connection: Any) -> str:
    """What the world's rows depend on besides the clock: the database, the ``KRATOMWATCH_*`` environment (the
    audit tests sign checkpoints with a key of their own) and the settings in force (a test may override some)."""
    from django.conf import settings

    environment = sorted((k, v) for k, v in os.environ.items() if k.startswith("KRATOMWATCH_"))
    values = sorted((name, repr(getattr(settings, name))) for name in dir(settings) if name.isupper())
    return repr((connection.vendor, connection.settings_dict["NAME"], environment, values))


def _build_world(system: Any) -> Any:
    from kratomwatch.accounts import actions as account_actions
    from kratomwatch.accounts.actions import create_user, issue_token
    from kratomwatch.records import actions, writes

    class World:
        pass

    w = World()
    # One alert evaluation for the whole world instead of one per write (nothing here raises an alert).
    with writes.batch():
        w.program = account_actions.create_program(actor=system, slug="pain", name="Pain clinic")
        w.other_program = account_actions.create_program(actor=system, slug="other", name="Other clinic")
        w.leaf = actions.create_product(actor=system, program=w.program, vendor="V", name="Leaf", form="leaf_powder")
        w.leaf_cert_lot = actions.create_lot(
            actor=system, product=w.leaf, lot_code="L1", certificate=actions.CertificateIn("mg/g", 15.0, 0.2)
        )
        w.leaf_plain_lot = actions.create_lot(actor=system, product=w.leaf, lot_code="L2")
        w.shot = actions.create_product(actor=system, program=w.program, vendor="V", name="Shot", form="liquid_extract")
        w.shot_lot = actions.create_lot(actor=system, product=w.shot, lot_code="S1")
        w.caps = actions.create_product(actor=system, program=w.program, vendor="V", name="Caps", form="capsule")
        w.caps_lot = actions.create_lot(
            actor=system,
            product=w.caps,
            lot_code="C1",
            unit_mass_mg=500.0,
            certificate=actions.CertificateIn("mg/unit", 8.0, 0.4),
        )
        w.patient = actions.create_patient(
            actor=system,
            program=w.program,
            code="P-001",
            birth_year=1980,
            sex="female",
            time_zone="America/Chicago",
            jurisdiction="US-TX",
            conditions=["chronic_pain"],
        )
        w.foreign_patient = actions.create_patient(
            actor=system,
            program=w.other_program,
            code="Q-001",
            birth_year=1975,
            sex="male",
            time_zone="Europe/London",
            jurisdiction="GB",
        )
        pw = "correct-horse-battery-9"
        w.alice, _ = create_user(actor=system, username="alice", password=pw, role="clinician", program_slug="pain")
        w.bob, _ = create_user(actor=system, username="bob", password=pw, role="clinician", program_slug="other")
        w.carol, _ = actions.create_patient_login(actor=system, patient=w.patient, username="carol", password=pw)
        w.admin, _ = create_user(actor=system, username="pa", password=pw, role="program_admin", program_slug="pain")
        w.staff, _ = create_user(actor=system, username="root", password=pw, role="staff")
        w.tokens = {
            u.username: issue_token(actor=system, user=u, name="t") for u in (w.alice, w.bob, w.carol, w.admin, w.staff)
        }
        w.now = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
        # Care data is recorded only with active care consent (kratomwatch.consent.guard).
        from kratomwatch.consent import actions as consent_actions

        for prog, patient in ((w.program, w.patient), (w.other_program, w.foreign_patient)):
            doc = consent_actions.publish_document(
                actor=system,
                program=prog,
                title="Consent",
                body="Monitoring consent for kratomwatch tests.",
                scopes=["care", "research"],
            )
            consent_actions.sign(
                actor=system, patient=patient, document=doc, scopes=["care", "research"], typed_name="Test Patient"
            )
    return w
