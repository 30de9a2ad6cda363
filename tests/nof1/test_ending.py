"""When a trial ends: the questionnaire schedules go back to what they were, and the daily sweep completes trials
past their last period (on the patient's own date)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kratomwatch.assessments import actions as assessment_actions
from kratomwatch.assessments.models import Schedule
from kratomwatch.audit.models import AuditEvent
from kratomwatch.nof1 import actions, queries
from kratomwatch.nof1.models import Trial

pytestmark = pytest.mark.django_db


def _schedules(patient: Any) -> dict[str, tuple[int, dt.date, bool]]:
    return {s.instrument_id: (s.every_days, s.start, s.active) for s in Schedule.objects.filter(patient=patient)}


def test_stopping_restores_a_schedule_the_patient_had_and_turns_off_the_trials_own(
    world: Any, system: Any, signed: Trial
) -> None:
    patient = world.patient
    earlier = patient.local_today() - dt.timedelta(days=3)
    assessment_actions.set_schedule(
        actor=system, patient=patient, instrument_id="pain_nrs", every_days=7, start=earlier
    )
    trial = actions.start_trial(actor=system, trial=signed, user=world.alice)
    during = _schedules(patient)
    assert during["pain_nrs"][0] == 1 and during["peg"][2] is True  # the trial's daily rating and weekly PEG
    assert trial.prior_schedules == {
        "pain_nrs": {"every_days": 7, "start": earlier.isoformat(), "active": True},
        "peg": None,
    }
    actions.stop_trial(actor=system, trial=trial, user=world.alice, reason="Pain 9 or more on three days")
    after = _schedules(patient)
    assert after["pain_nrs"] == (7, earlier, True), "the weekly rating the patient had before is back"
    assert after["peg"][2] is False, "the schedule the trial created no longer reminds the patient"
    assert AuditEvent.objects.filter(action="assessment_schedule.deactivate", patient_code=patient.code).exists()


def test_the_sweep_completes_only_trials_past_their_last_day_in_the_patients_zone(
    world: Any, system: Any, signed: Trial
) -> None:
    patient = world.patient
    design = queries.design_of(signed)
    today = patient.local_today()
    trial = actions.start_trial(
        actor=system, trial=signed, user=world.alice, start_date=today - dt.timedelta(days=design.total_days - 1)
    )
    assert max(p.end for p in queries.periods_of(trial)) == today
    assert actions.complete_ended_trials(actor=system) == 0, "its last day is today: still running"
    trial.refresh_from_db()
    assert trial.status == "active"
    tomorrow_there = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(12), ZoneInfo(patient.time_zone))
    assert actions.complete_ended_trials(actor=system, now=tomorrow_there) == 1
    trial.refresh_from_db()
    assert trial.status == "completed" and trial.ended_at is not None
    assert _schedules(patient)["pain_nrs"][2] is False
    assert actions.complete_ended_trials(actor=system, now=tomorrow_there) == 0, "done once"


def test_the_adherence_tolerance_is_the_programs_setting(world: Any, system: Any) -> None:
    from kratomwatch.alerts import actions as alert_actions
    from kratomwatch.nof1 import results
    from tests.nof1.conftest import run_in_past, trial_in

    both_30 = [
        actions.ConditionIn("A", "Usual regimen", "", True, 30.0, None),
        actions.ConditionIn("B", "Reduced regimen", "", False, 30.0, None),  # B's doses are 15 mg: 50 % under
    ]
    trial = actions.create_trial(
        actor=system, patient=world.patient, user=world.alice, design=trial_in(conditions=both_30)
    )
    trial = actions.sign_as_clinician(actor=system, trial=trial, user=world.alice)
    trial = actions.sign_as_patient(actor=system, trial=trial, signed_name="Carol Patient")
    trial = run_in_past(world, system, trial)

    def flagged() -> set[str]:
        return {row.condition for row in results.analyse_trial(trial, draws=2000).adherence if row.deviation}

    assert flagged() == {"B"}, "50 % under the target is beyond the default 20 %"
    alert_actions.set_rule_config(
        actor=system, program=world.patient.program, overrides={"nof1_adherence_tolerance_percent": 60}
    )
    assert flagged() == set(), "within the program's 60 %"
