"""One login per role: staff, clinician, program admin, researcher and patient (KW-001) in the demo program,
and a clinician of the other clinic."""

from __future__ import annotations

from kratomwatch import access
from kratomwatch.access import operator
from kratomwatch.accounts import actions as account_actions
from kratomwatch.audit.log import Actor
from kratomwatch.demo.data import (
    DEMO_LOGINS,
    DEMO_SLUG,
    LOGIN_ROLES,
    OTHER_CLINIC_LOGIN,
    OTHER_SLUG,
    PATIENT_LOGIN_CODE,
)
from kratomwatch.records import actions


def create_logins(actor: Actor) -> None:
    """The :data:`DEMO_LOGINS`; the synthetic password skips the strength check."""
    for username, password, _label in DEMO_LOGINS:
        role = LOGIN_ROLES[username]
        if role == "patient":
            patient = access.get_patient_for(operator("demo"), PATIENT_LOGIN_CODE, actor=actor, purpose="create_login")
            actions.create_patient_login(
                actor=actor, patient=patient, username=username, password=password, check_password=False
            )
            continue
        account_actions.create_user(
            actor=actor,
            username=username,
            password=password,
            role=role,
            program_slug=OTHER_SLUG if username == OTHER_CLINIC_LOGIN else DEMO_SLUG,
            check_password=False,
        )
