"""N-of-1 trial writes: design checked naming the field, signatures freezing the protocol, start storing the seeded
schedule and the questionnaire schedules, stop and withdrawal, completion; every write audited."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from kratomwatch.assessments.models import Schedule
from kratomwatch.audit.models import AuditEvent
from kratomwatch.core import nof1_design
from kratomwatch.core.errors import Conflict, InputError
from kratomwatch.nof1 import actions, queries
from kratomwatch.nof1.models import CONSENT_SCOPE, Trial, TrialStatus

pytestmark = pytest.mark.django_db

Design = Callable[..., actions.TrialIn]


def events(trial: Trial, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type="nof1_trial", object_id=str(trial.pk), action=action))


def test_a_draft_keeps_the_clinicians_design_and_is_audited(world: Any, draft: Trial) -> None:
    assert draft.status == TrialStatus.DRAFT
    assert draft.seed == 20261202
    conditions = queries.conditions_of(draft)
    assert [(c.code, c.is_reference, c.target_mitragynine_mg) for c in conditions] == [
        ("A", True, 30.0),
        ("B", False, 15.0),
    ]
    assert draft.secondary_instruments == [{"instrument_id": "peg", "every_days": 7}]
    assert draft.mcid == 1.0 and draft.mcid_program_choice and draft.mcid_source == "program choice"
    [event] = events(draft, "nof1.create")
    assert event.patient_code == world.patient.code and event.detail["conditions"] == ["A", "B"]


def test_without_a_seed_one_is_drawn_and_recorded(world: Any, system: Any, design: Design) -> None:
    trial = actions.create_trial(actor=system, patient=world.patient, user=world.alice, design=design(seed=None))
    assert 0 <= trial.seed < 2**63


def _reference_less() -> list[actions.ConditionIn]:
    return [actions.ConditionIn("A", "Usual"), actions.ConditionIn("B", "Reduced")]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"conditions": _reference_less()}, "reference", "reference condition"),
        ({"washout_days": 5}, "washout_days", "shorter than the period"),
        ({"blocks": 1}, "blocks", "between 2"),
        (
            {"conditions": [actions.ConditionIn("A", "Usual", is_reference=True), actions.ConditionIn("A", "Less")]},
            "conditions",
            "named twice",
        ),
        (
            {
                "conditions": [
                    actions.ConditionIn("A", "U", is_reference=True),
                    actions.ConditionIn("B", "R", is_reference=True),
                ]
            },
            "conditions",
            "only one condition",
        ),
        ({"primary_instrument": "nope"}, "primary_instrument", "nope"),
        ({"secondary_instruments": [("pain_nrs", 1)]}, "secondary_instruments.0.instrument_id", "already"),
        ({"measure_every_days": 0}, "measure_every_days", "from 1"),
        ({"mcid_program_choice": False}, "mcid_source", "published source"),
        ({"mcid": -1.0}, "mcid", "above 0"),
        ({"title": "  "}, "title", "required"),
        (
            {
                "conditions": [
                    actions.ConditionIn("A", "U", is_reference=True, target_mitragynine_mg=-5),
                    actions.ConditionIn("B", "R"),
                ]
            },
            "conditions.0.target_mitragynine_mg",
            "between 0",
        ),
        ({"seed": 2**63}, "seed", "seed"),
    ],
)
def test_a_bad_design_is_refused_naming_the_field_and_saves_nothing(
    world: Any, system: Any, design: Design, changes: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InputError) as problem:
        actions.create_trial(actor=system, patient=world.patient, user=world.alice, design=design(**changes))
    assert problem.value.field == field
    assert words in problem.value.message
    assert not queries.trials_of(world.patient).exists()


def test_a_published_mcid_keeps_its_source(world: Any, system: Any, design: Design) -> None:
    trial = actions.create_trial(
        actor=system,
        patient=world.patient,
        user=world.alice,
        design=design(primary_instrument="gad7", mcid=4.0, mcid_source="Toussaint 2020", mcid_program_choice=False),
    )
    assert (trial.mcid, trial.mcid_source, trial.mcid_program_choice) == (4.0, "Toussaint 2020", False)


def test_signatures_freeze_the_protocol_and_record_the_consent_scope(world: Any, system: Any, draft: Trial) -> None:
    with pytest.raises(Conflict, match="clinician signs the protocol first"):
        actions.sign_as_patient(actor=system, trial=draft, signed_name="Carol")
    trial = actions.sign_as_clinician(actor=system, trial=draft, user=world.alice)
    assert trial.status == TrialStatus.DRAFT, "the patient has not signed yet"
    pdf = bytes(trial.protocol_pdf or b"")
    assert pdf.startswith(b"%PDF") and trial.protocol_sha256 == hashlib.sha256(pdf).hexdigest()
    with pytest.raises(InputError) as unnamed:
        actions.sign_as_patient(actor=system, trial=trial, signed_name=" ")
    assert unnamed.value.field == "signed_name"
    trial = actions.sign_as_patient(actor=system, trial=trial, signed_name="Carol Patient")
    assert trial.status == TrialStatus.SIGNED and trial.patient_signed_at is not None
    [event] = events(trial, "nof1.sign.patient")
    assert event.detail["scope"] == CONSENT_SCOPE and event.detail["protocol_sha256"] == trial.protocol_sha256


def test_a_change_after_the_clinician_signed_clears_the_signature_and_after_the_patient_signed_is_refused(
    world: Any, system: Any, draft: Trial, design: Design
) -> None:
    trial = actions.sign_as_clinician(actor=system, trial=draft, user=world.alice)
    trial = actions.update_trial(actor=system, trial=trial, user=world.alice, design=design(period_days=6))
    assert trial.period_days == 6
    assert trial.clinician_signed_at is None and trial.protocol_pdf is None and trial.protocol_sha256 == ""
    assert events(trial, "nof1.update")[0].detail["clinician_signature_cleared"] is True
    trial = actions.sign_as_clinician(actor=system, trial=trial, user=world.alice)
    trial = actions.sign_as_patient(actor=system, trial=trial, signed_name="Carol")
    with pytest.raises(Conflict):
        actions.update_trial(actor=system, trial=trial, user=world.alice, design=design())


def test_start_stores_the_seeded_schedule_and_the_questionnaire_schedules(
    world: Any, system: Any, signed: Trial
) -> None:
    today = world.patient.local_today()
    trial = actions.start_trial(actor=system, trial=signed, user=world.alice)
    assert trial.status == TrialStatus.ACTIVE and trial.start_date == today
    expected = nof1_design.schedule(queries.design_of(trial), trial.seed, today)
    assert queries.slots_of(trial) == expected
    schedules = {
        s.instrument_id: (s.every_days, s.start, s.active) for s in Schedule.objects.filter(patient=world.patient)
    }
    assert schedules["pain_nrs"] == (1, today, True)
    assert schedules["peg"] == (7, today, True)
    assert events(trial, "nof1.start")[0].detail["periods"] == 4
    with pytest.raises(Conflict):
        actions.start_trial(actor=system, trial=trial, user=world.alice)


def test_only_a_signed_trial_starts_and_one_trial_runs_at_a_time(
    world: Any, system: Any, draft: Trial, signed: Trial, design: Design
) -> None:
    other = actions.create_trial(actor=system, patient=world.patient, user=world.alice, design=design())
    with pytest.raises(Conflict, match="both people signed"):
        actions.start_trial(actor=system, trial=other, user=world.alice)
    actions.start_trial(actor=system, trial=signed, user=world.alice)
    other = actions.sign_as_clinician(actor=system, trial=other, user=world.alice)
    other = actions.sign_as_patient(actor=system, trial=other, signed_name="Carol")
    with pytest.raises(Conflict, match="already has a running"):
        actions.start_trial(actor=system, trial=other, user=world.alice)


def test_a_start_date_far_off_is_refused(world: Any, system: Any, signed: Trial) -> None:
    with pytest.raises(InputError) as problem:
        actions.start_trial(
            actor=system,
            trial=signed,
            user=world.alice,
            start_date=world.patient.local_today() + dt.timedelta(days=200),
        )
    assert problem.value.field == "start_date"
    assert Trial.objects.get(pk=signed.pk).status == TrialStatus.SIGNED


def test_stop_needs_a_reason_and_withdrawal_stops_without_deleting(world: Any, system: Any, signed: Trial) -> None:
    trial = actions.start_trial(actor=system, trial=signed, user=world.alice)
    with pytest.raises(InputError) as problem:
        actions.stop_trial(actor=system, trial=trial, user=world.alice, reason="")
    assert problem.value.field == "reason"
    trial = actions.withdraw(actor=system, trial=trial, reason="I would rather not go on")
    assert trial.status == TrialStatus.STOPPED and trial.withdrawn and trial.stop_reason.startswith("Withdrawn by")
    assert len(queries.periods_of(trial)) == 4, "nothing recorded is deleted"
    assert events(trial, "nof1.withdraw")[0].detail["scope"] == CONSENT_SCOPE
    with pytest.raises(Conflict, match="already ended"):
        actions.stop_trial(actor=system, trial=trial, user=world.alice, reason="again")


def test_complete_if_ended_completes_only_after_the_last_period(world: Any, system: Any, signed: Trial) -> None:
    trial = actions.start_trial(actor=system, trial=signed, user=world.alice)
    last = queries.periods_of(trial)[-1].end
    assert actions.complete_if_ended(actor=system, trial=trial, today=last).status == TrialStatus.ACTIVE
    trial = actions.complete_if_ended(actor=system, trial=trial, today=last + dt.timedelta(days=1))
    assert trial.status == TrialStatus.COMPLETED and trial.ended_at is not None
    assert len(events(trial, "nof1.complete")) == 1


def test_starting_a_trial_hands_the_patient_to_the_alert_hook_through_the_schedules(
    world: Any, system: Any, signed: Trial, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kratomwatch.records import writes

    calls: list[set[int]] = []
    real = writes.reevaluate

    def spy(patient_ids: Any) -> None:
        calls.append(set(patient_ids))
        real(patient_ids)

    monkeypatch.setattr(writes, "reevaluate", spy)
    actions.start_trial(actor=system, trial=signed, user=world.alice)
    assert calls == [{world.patient.pk}], "set_schedule is the declared alert-input write; the trial evaluates once"
