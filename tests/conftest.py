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


@pytest.fixture
def world(db: Any, system: Any) -> Any:
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
