"""Run as a script by test_worker.py in a fresh database: a program, a clinician with an address, a patient with
care consent, and one write that raises an urgent alert (a serious adverse event). Prints the alert's id."""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kratomwatch.settings")

import django

django.setup()

from kratomwatch.accounts import actions as accounts  # noqa: E402
from kratomwatch.alerts.models import Alert  # noqa: E402
from kratomwatch.audit.log import Actor  # noqa: E402
from kratomwatch.notifications import actions as notify  # noqa: E402
from kratomwatch.records import actions as records  # noqa: E402

system = Actor.system("seed")
program = accounts.create_program(actor=system, slug="pain", name="Pain clinic")
alice, _ = accounts.create_user(
    actor=system, username="alice", password="correct-horse-battery-9", role="clinician", program_slug="pain"
)
notify.set_contact_email(actor=system, user=alice, email="alice@clinic.example")
patient = records.create_patient(
    actor=system,
    program=program,
    code="SEED-042",
    birth_year=1980,
    sex="female",
    time_zone="America/Chicago",
    jurisdiction="US-TX",
)
today = dt.datetime.now(ZoneInfo("America/Chicago")).date()
ae = records.record_adverse_event(
    actor=system,
    patient=patient,
    term="seizure",
    onset=today - dt.timedelta(days=1),
    grade=3,
    seriousness=["hospitalization"],
)
print(Alert.objects.get(subject_key=f"ae:{ae.pk}").pk)
