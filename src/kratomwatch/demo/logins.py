"""One login per role: staff, clinician, program admin, researcher and patient (KW-001) in the demo program,
and a clinician of the other clinic. The care-team logins get a demo address (``<login>@demo.example``) so an
urgent alert reaches an inbox (the file email backend writes it under KRATOMWATCH_HOME/mail/)."""

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
from kratomwatch.notifications.actions import set_contact_email
from kratomwatch.records import actions

CARE_TEAM_ROLES = frozenset({"clinician", "program_admin"})


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
        user, _token = account_actions.create_user(
            actor=actor,
            username=username,
            password=password,
            role=role,
            program_slug=OTHER_SLUG if username == OTHER_CLINIC_LOGIN else DEMO_SLUG,
            check_password=False,
        )
        if role in CARE_TEAM_ROLES:
            set_contact_email(actor=actor, user=user, email=f"{username}@demo.example")
