"""The demo's completed n-of-1 trial carries the dates of its story (designed and signed before it started, ended
after its last period), not the moment the demo was loaded; the actions stamp the clock when no instant is given."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


def test_the_demo_trial_is_stamped_on_its_own_days(world: Any, system: Any) -> None:
    import numpy as np

    from kratomwatch.demo import nof1 as demo_nof1

    now = timezone.now()
    trial = demo_nof1.create_trial(system, world.patient, world.alice, now, np.random.default_rng(0), signed_name="T P")
    assert trial.status == "completed"
    zone = ZoneInfo(world.patient.time_zone)
    start = trial.start_date
    last = trial.periods.order_by("-end").values_list("end", flat=True).first()
    assert trial.created_at < trial.clinician_signed_at < trial.patient_signed_at < trial.started_at < trial.ended_at
    assert trial.created_at.astimezone(zone).date() == start - dt.timedelta(days=7)
    assert trial.started_at.astimezone(zone).date() == start
    assert trial.ended_at.astimezone(zone).date() == last + dt.timedelta(days=1)
    assert trial.ended_at < now - dt.timedelta(days=5)


def test_without_an_instant_the_actions_stamp_the_clock(world: Any, system: Any) -> None:
    from kratomwatch.nof1 import actions
    from tests.nof1.conftest import trial_in

    before = timezone.now()
    trial = actions.create_trial(actor=system, patient=world.patient, user=world.alice, design=trial_in())
    trial = actions.sign_as_clinician(actor=system, trial=trial, user=world.alice)
    assert before <= trial.created_at <= trial.clinician_signed_at <= timezone.now()
