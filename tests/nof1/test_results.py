"""What a trial measured and what it says: the engine's input from the record (local days, missing days, washout,
measured mg), the analysis through core.nof1, adherence, the chart's series, the patient's running view, the
published MCID, the care-plan target and the stopping-rule review."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pytest

from kratomwatch.assessments import actions as assessment_actions
from kratomwatch.careplans import actions as careplan_actions
from kratomwatch.nof1 import actions, queries, results
from kratomwatch.nof1.models import Trial, TrialStatus
from tests.nof1.conftest import run_in_past, trial_in, urgent_alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished(world: Any, system: Any, signed: Trial) -> Trial:
    trial = run_in_past(world, system, signed, effect=-3.0, skip=1)
    return actions.complete_if_ended(actor=system, trial=trial, today=world.patient.local_today())


def test_the_engines_input_is_one_row_per_period_day_with_washout_missing_days_and_mg(finished: Trial) -> None:
    data = results.trial_data(finished)
    periods = queries.periods_of(finished)
    assert data.day.tolist() == list(range(4 * 5)), "run-in days are not analysed"
    assert data.washout is not None and int(data.washout.sum()) == 4, "one washout day per period"
    assert int(np.isnan(data.outcome).sum()) == 1, "the unmeasured day is missing, not zero"
    assert data.block is not None and sorted(set(data.block.tolist())) == [1, 2]
    assert data.condition[0] == periods[0].condition.code
    assert data.exposure_mg is not None
    expected = [30.0 if c == "A" else 15.0 for c in data.condition]
    assert data.exposure_mg.tolist() == pytest.approx(expected), "2 g or 1 g of 15 mg/g leaf a day"


def test_two_ratings_on_one_local_day_are_averaged(world: Any, system: Any, finished: Trial) -> None:
    day = queries.periods_of(finished)[0].analysed_from + dt.timedelta(days=1)
    from zoneinfo import ZoneInfo

    before = results.trial_data(finished)
    index = (day - queries.periods_of(finished)[0].start).days
    first = before.outcome[index]
    assessment_actions.record_assessment(
        actor=system,
        patient=world.patient,
        instrument_id="pain_nrs",
        answers=[int(first) + 2],
        administered_at=dt.datetime.combine(day, dt.time(23, 30), tzinfo=ZoneInfo(world.patient.time_zone)),
        source="self_report",
    )
    assert results.trial_data(finished).outcome[index] == pytest.approx(first + 1)


def test_the_analysis_finds_the_known_effect_with_adherence_and_the_series(finished: Trial) -> None:
    out = results.analyse_trial(finished, draws=4000)
    assert out.complete and out.reason is None and out.analysis is not None
    b = out.analysis.bayes["B"]
    assert b.interval_95[0] < -3.0 < b.interval_95[1]
    assert b.effect == pytest.approx(-3.0, abs=1.0)
    assert b.prob_better > 0.95
    assert b.prob_better_by_mcid is not None and b.prob_better_by_mcid > 0.9
    assert out.analysis.exposure_adjusted is not None
    assert len(out.series) == finished.run_in_days + 20
    assert [r["role"] for r in out.series[:2]] == ["run-in", "run-in"]
    assert {r["mitragynine_mg"] for r in out.series} == {30.0, 15.0}
    assert [a.position for a in out.adherence] == [1, 2, 3, 4]
    assert all(a.deviation is None for a in out.adherence), "the doses met the targets"


def test_a_trial_just_started_has_no_analysis_yet_and_says_why(world: Any, system: Any, signed: Trial) -> None:
    trial = actions.start_trial(actor=system, trial=signed, user=world.alice)
    out = results.analyse_trial(trial, draws=1000)
    assert out.analysis is None and out.reason is not None and out.reason.startswith("not enough")
    assert out.complete is False
    draft = actions.create_trial(actor=system, patient=world.patient, user=world.alice, design=trial_in())
    assert results.analyse_trial(draft).reason == "the trial has not started"


def test_adherence_shows_a_deviation_from_the_target(world: Any, system: Any) -> None:
    design = trial_in(
        conditions=[
            actions.ConditionIn("A", "Usual", "", True, 60.0, None),
            actions.ConditionIn("B", "Reduced", "", False, 15.0, None),
        ]
    )
    trial = actions.create_trial(actor=system, patient=world.patient, user=world.alice, design=design)
    trial = actions.sign_as_clinician(actor=system, trial=trial, user=world.alice)
    trial = actions.sign_as_patient(actor=system, trial=trial, signed_name="Carol")
    trial = run_in_past(world, system, trial)
    rows = results.analyse_trial(trial, draws=1000).adherence
    flagged = {r.condition for r in rows if r.deviation}
    assert flagged == {"A"}, "30 mg/day taken against a target of 60"


def test_today_view_names_the_period_the_day_and_the_condition_unless_blinded(
    world: Any, system: Any, signed: Trial
) -> None:
    today = world.patient.local_today()
    trial = actions.start_trial(actor=system, trial=signed, user=world.alice)
    view = results.today_view(trial, today)
    assert view["state"] == "run-in" and view["run_in"] and view["days_left"] == 22
    assert [m["instrument_id"] for m in view["measures"]] == ["pain_nrs", "peg"], "both are due on the first day"
    first = queries.periods_of(trial)[0]
    view = results.today_view(trial, first.start)
    assert (view["state"], view["period"], view["periods"], view["day_of_period"]) == ("washout", 1, 4, 1)
    assert view["condition"]["code"] == first.condition.code and view["blinded_text"] is None
    view = results.today_view(trial, first.start + dt.timedelta(days=2))
    assert view["state"] == "analysed" and view["day_of_period"] == 3
    assert results.today_view(trial, queries.periods_of(trial)[-1].end + dt.timedelta(days=1))["state"] == "ended"

    trial.blinded = True
    trial.save(update_fields=["blinded"])
    view = results.today_view(trial, first.start)
    assert view["condition"] is None and "hidden until the trial ends" in view["blinded_text"]
    assert results.schedule_hidden(trial)


def test_the_published_mcid_comes_with_its_source_and_none_is_invented() -> None:
    gad7 = results.published_mcid("gad7")
    assert gad7 is not None and gad7[0] == 4.0 and "Toussaint" in gad7[1]
    assert results.published_mcid("peg") is None
    assert results.published_mcid("pain_nrs") is None
    assert results.published_mcid("no-such") is None


def test_the_care_plan_target_is_read_back_as_the_clinician_entered_it(world: Any, system: Any) -> None:
    today = world.patient.local_today()
    assert results.care_plan_target(world.patient, today) is None
    careplan_actions.save_care_plan(
        actor=system,
        patient=world.patient,
        goals="Taper",
        modalities=[],
        taper=[(today - dt.timedelta(days=10), 40.0), (today + dt.timedelta(days=5), 30.0)],
    )
    assert results.care_plan_target(world.patient, today) == 40.0
    assert results.care_plan_target(world.patient, today + dt.timedelta(days=6)) == 30.0


def test_an_urgent_alert_during_a_running_trial_asks_to_review_the_stopping_rules(
    world: Any, system: Any, signed: Trial
) -> None:
    trial = actions.start_trial(actor=system, trial=signed, user=world.alice)
    assert results.stopping_review(trial) == []
    urgent_alert(world, system)
    [review] = results.stopping_review(trial)
    assert review["severity"] == "urgent" and "Review the stopping rules" in review["message"]
    trial = actions.stop_trial(actor=system, trial=trial, user=world.alice, reason="Stopping rule: safety review")
    assert trial.status == TrialStatus.STOPPED and results.stopping_review(trial) == []


def test_the_protocol_hides_a_blinded_order_and_commits_to_the_seed(world: Any, system: Any) -> None:
    trial = actions.create_trial(actor=system, patient=world.patient, user=world.alice, design=trial_in(blinded=True))
    ctx = results.protocol_context(trial)
    assert ctx["order"] is None and ctx["seed"] is None
    assert len(ctx["seed_sha256"]) == 64
    open_trial = actions.create_trial(actor=system, patient=world.patient, user=world.alice, design=trial_in())
    ctx = results.protocol_context(open_trial)
    assert ctx["seed"] == 20261202 and len(ctx["order"]) == 4
    assert ctx["mcid_label"] == "a program choice, not a published value"
    assert not math.isnan(ctx["total_days"])
