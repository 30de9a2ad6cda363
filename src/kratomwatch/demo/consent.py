"""Consent: every demo patient signs care consent; most also research consent, and two have withdrawn it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from kratomwatch.accounts.models import Program
from kratomwatch.audit.log import Actor
from kratomwatch.consent import actions as consent_actions
from kratomwatch.demo._scope import patients_of
from kratomwatch.demo.data import CONSENT_TEXT, CONSENT_TITLE

CARE_ONLY_EVERY = 6  # every sixth patient (by code) signs for care only
RESEARCH_WITHDRAWN = (3, 8)  # these patients (by code) have withdrawn research consent


def sign_consents(actor: Actor, programs: Iterable[Program], now: dt.datetime) -> None:
    """Publish the consent document in each program and have its patients (by code) sign it."""
    for program in programs:
        document = consent_actions.publish_document(
            actor=actor,
            program=program,
            title=CONSENT_TITLE,
            body=CONSENT_TEXT,
            scopes=["care", "research"],
            now=now,
        )
        for index, patient in enumerate(patients_of(program)):
            scopes = ["care"] if index % CARE_ONLY_EVERY == CARE_ONLY_EVERY - 1 else ["care", "research"]
            consent_actions.sign(
                actor=actor,
                patient=patient,
                document=document,
                scopes=scopes,
                typed_name=f"Demo patient {patient.code}",
                now=now,
            )
            if index in RESEARCH_WITHDRAWN:
                consent_actions.withdraw(actor=actor, patient=patient, scope="research", now=now)
